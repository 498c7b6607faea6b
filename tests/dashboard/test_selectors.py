"""The dashboard's reads against rows made in the test: last day, running, status (the
funnel: test_funnel.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard import selectors
from jobs.models import Job

pytestmark = pytest.mark.django_db


def _job(
    *,
    status: str,
    template: str = "token",
    hours_ago: float = 1,
    took_s: float | None = None,
    **fields,
) -> Job:
    created = timezone.now() - timedelta(hours=hours_ago)
    if took_s is not None:
        fields.update(started_at=created, finished_at=created + timedelta(seconds=took_s))
    return Job.objects.create(
        name=f"{template} {status}", template=template, status=status, created_at=created, **fields
    )


def test_the_last_day_counts_jobs_per_status_and_template_in_one_query(django_assert_num_queries):
    for status in ["succeeded"] * 3 + ["failed", "cancelled", "running", "queued"]:
        _job(status=status)
    _job(status="succeeded", template="nft")
    _job(status="failed", template="nft")
    _job(status="failed", template="nft", hours_ago=30)  # before the period

    with django_assert_num_queries(1):
        counts = selectors.dashboard_day_counts(since=timezone.now() - timedelta(hours=24))

    assert counts.started == 9
    assert counts.by_status == {
        "queued": 1,
        "running": 1,
        "cancelling": 0,
        "succeeded": 4,
        "failed": 2,
        "cancelled": 1,
    }
    assert counts.success_rate == 4 / 6
    token, nft = counts.templates
    assert (token.template, token.started, token.failure_rate) == ("token", 7, 1 / 4)
    assert (nft.template, nft.started, nft.failure_rate) == ("nft", 2, 1 / 2)


def test_generation_times_are_those_of_successful_jobs_with_nearest_rank_percentiles():
    for took in (40, 10, 100, 30, 20):
        _job(status="succeeded", took_s=took)
    _job(status="failed", took_s=500)
    _job(status="succeeded", took_s=900, hours_ago=30)

    times = selectors.dashboard_generation_times(since=timezone.now() - timedelta(hours=24))

    assert times == [10, 20, 30, 40, 100]
    assert selectors.percentile(times, 0.5) == 30
    assert selectors.percentile(times, 0.95) == 100
    assert selectors.percentile([], 0.5) is None


def test_jobs_per_hour_ends_with_the_current_hour():
    now = timezone.now()
    for hours_ago in (0, 0, 1, 23, 30):
        Job.objects.create(name="x", template="token", created_at=now - timedelta(hours=hours_ago))

    counts = selectors.dashboard_jobs_per_hour(now=now)

    assert len(counts) == 24
    assert counts[-1] == 2 and counts[-2] == 1 and counts[0] == 1
    assert sum(counts) == 4


def test_running_jobs_carry_their_percent_and_step_longest_running_first():
    step = {"key": "contracts", "label": "Render contracts", "index": 2, "total": 12}
    late = _job(status="running", percent=10, step=step, started_at=timezone.now())
    early = _job(status="cancelling", percent=50, started_at=timezone.now() - timedelta(minutes=1))
    _job(status="queued")
    _job(status="succeeded")

    jobs = selectors.dashboard_running_jobs()

    assert [j.id for j in jobs] == [str(early.pk), str(late.pk)]
    assert (jobs[1].percent, jobs[1].step, jobs[1].step_index, jobs[1].step_total) == (
        10,
        "Render contracts",
        2,
        12,
    )
    assert jobs[0].step == "" and jobs[0].status == "cancelling"


def test_unfinished_jobs_by_status_names_every_unfinished_status_in_one_query(
    django_assert_num_queries,
):
    _job(status="running")
    _job(status="queued")
    _job(status="queued", hours_ago=100)
    _job(status="failed")

    with django_assert_num_queries(1):
        counts = selectors.jobs_count_unfinished_by_status()

    assert counts == {"queued": 2, "running": 1, "cancelling": 0}


def test_bucket_quantile_is_the_upper_bound_of_the_bucket_holding_it():
    bounds = [0.1, 1.0, float("inf")]

    assert selectors.bucket_quantile(bounds, [0, 0, 0], 0.5) is None
    assert selectors.bucket_quantile(bounds, [6, 3, 1], 0.5) == 0.1
    assert selectors.bucket_quantile(bounds, [6, 3, 1], 0.9) == 1.0
    assert selectors.bucket_quantile(bounds, [6, 3, 1], 0.99) == float("inf")


def test_realtime_figures_come_from_this_process_metrics():
    from realtime import metrics

    metrics.poller_seen(client="selectors-test-client")
    realtime = selectors.dashboard_realtime()

    assert realtime.polling_clients >= 1
    assert realtime.fallback_share is not None and 0 < realtime.fallback_share <= 1
    assert realtime.delay_buckets[-1][0] == float("inf")
    assert len(realtime.delay_buckets) == len(metrics.DELAY_BUCKETS) + 1


def test_the_queue_counts_queued_jobs_per_template_with_the_oldest_wait(django_assert_num_queries):
    from jobs import services

    for template in ("nft", "nft", "dao"):
        services.job_create(owner=None, params={"name": "Queued Coin", "template": template})
    Job.objects.filter(template="nft").update(created_at=timezone.now() - timedelta(minutes=2))
    running = services.job_create(owner=None, params={"name": "Busy Coin", "template": "token"})
    services.job_start(job=running)

    with django_assert_num_queries(1):
        queue = selectors.dashboard_queue(now=timezone.now())

    assert (queue.depth, queue.workers_busy) == (3, 1)
    assert [(t.template, t.queued) for t in queue.templates] == [("nft", 2), ("dao", 1)]
    assert queue.oldest_wait_s is not None and 115 < queue.oldest_wait_s < 200
