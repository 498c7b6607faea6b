"""Panels: the figures in words, with their charts."""

import uuid
from datetime import UTC, datetime

from dashboard import panels
from dashboard.selectors import DayCounts, RunningJob, TemplateStats


def _running(i: int) -> RunningJob:
    return RunningJob(
        id=str(uuid.UUID(int=i)),
        name=f"Coin {i}",
        template="token",
        status="running",
        percent=i,
        step="Render contracts",
        step_index=2,
        step_total=9,
    )


def test_the_running_panel_draws_each_job_with_its_step():
    html = panels.running_panel(jobs=[_running(40)])
    assert 'data-stat="running">1<' in html
    assert f'data-key="{uuid.UUID(int=40)}" data-value="40"' in html
    assert "40 % — step 2 of 9: Render contracts" in html
    assert "Coin 40 (Fungible token)" in html


def test_the_running_panel_says_when_more_jobs_run_than_it_draws():
    html = panels.running_panel(jobs=[_running(i) for i in range(panels.RUNNING_SHOWN + 1)])
    assert f'data-stat="running">{panels.RUNNING_SHOWN}+<' in html
    assert html.count('class="bar ') == panels.RUNNING_SHOWN
    assert "more are running" in html


def test_the_last_day_panel_states_rates_and_times_in_words():
    counts = DayCounts(
        by_status={
            "queued": 1,
            "running": 0,
            "cancelling": 0,
            "succeeded": 3,
            "failed": 1,
            "cancelled": 0,
        },
        templates=[TemplateStats(template="token", started=5, succeeded=3, failed=1)],
    )
    html = panels.last_day_panel(
        counts=counts,
        times=[0.5, 12.0, 130.0],
        per_hour=[0] * 24,
        first_hour=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert 'data-stat="success_rate"><dt>Success rate</dt><dd>75 %</dd>' in html
    assert "<dd>12.0 s</dd>" in html and "<dd>2 min 10 s</dd>" in html
    assert "25 % — 1 of 4 failed" in html
    assert "What became of the 5 jobs started" in html


def test_the_queue_panel_says_depth_oldest_wait_per_template_and_warns_without_workers():
    from dashboard.selectors import Queue, QueuedTemplate

    queue = Queue(
        depth=3,
        oldest_wait_s=75.0,
        workers_busy=0,
        templates=[
            QueuedTemplate(template="nft", queued=2, oldest_wait_s=75.0),
            QueuedTemplate(template="dao", queued=1, oldest_wait_s=4.0),
        ],
    )
    html = panels.queue_panel(queue=queue)
    assert 'data-stat="queued">3<' in html
    assert "<dd>75.0 s</dd>" in html and 'data-key="nft" data-value="2"' in html
    assert "NFT collection" in html and "DAO voting" in html  # labels, not keys
    assert "no worker is at work" in html
    empty = panels.queue_panel(
        queue=Queue(depth=0, oldest_wait_s=None, workers_busy=1, templates=[])
    )
    assert "No job is waiting." in empty and "no worker" not in empty
