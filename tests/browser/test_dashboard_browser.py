"""The staff dashboard in a real browser: live while a job runs, and on the polling fallback.

Runs a real uvicorn server and run_worker on Postgres and Redis, drives Debian's chromium (the
`browser_context` fixture of tests/browser/conftest.py) and keeps a screenshot as an artifact.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, Route

from jobs import services
from tests.support.journeys import walk
from tests.support.servers import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACT = ROOT / "test-artifacts" / "dashboard.png"
TOKEN = {"name": "Dashboard Coin", "template": "token"}
JOB_MS = 60_000


def _record_journeys() -> None:
    """Record a plausible day of developer journeys, so the funnel has something to show."""
    reached = [10, 8, 7, 5, 5, 4, 4, 3]  # visitors per stage
    start = timezone.now() - timedelta(hours=3)
    for v in range(reached[0]):
        stages = sum(v < count for count in reached)
        walk(f"visitor-{v}", stages, at=start + timedelta(minutes=v))


def _stat(page: Page, key: str) -> str:
    return page.text_content(f'[data-stat="{key}"] dd') or ""


def _wait_stat(page: Page, key: str, value: str, timeout_ms: float = JOB_MS) -> None:
    page.wait_for_function(
        "([key, value]) => document.querySelector(`[data-stat='${key}'] dd`)"
        "?.textContent === value",
        arg=[key, value],
        timeout=timeout_ms,
    )


def _job_percent(page: Page, job_id: str) -> float:
    return float(
        page.get_attribute(f'[data-panel="running"] g.bar[data-key="{job_id}"]', "data-value") or 0
    )


def test_staff_watch_a_job_run_and_the_counters_move_without_a_reload(
    start_web, start_worker, open_dashboard, owner
):
    _record_journeys()
    web = start_web()
    page = open_dashboard(web.url)
    page.wait_for_selector('#dash-connection[data-state="live"]')
    assert page.text_content("#dash-connection") == "Live"
    assert (
        page.get_attribute('[data-panel="funnel"] g[data-key="step:basics"]', "data-value") == "8"
    )
    assert _stat(page, "started") == "0"
    assert page.is_visible('[data-panel="running"] .empty')

    start_worker(JOBS_STEP_PACE_S="0.6")
    job = services.job_create(owner=owner, params=TOKEN)
    job_id = str(job.pk)
    page.wait_for_selector(f'[data-panel="running"] g.bar[data-key="{job_id}"]', timeout=JOB_MS)
    _wait_stat(page, "started", "1")
    first = _job_percent(page, job_id)
    page.wait_for_function(
        "([id, first]) => Number(document.querySelector("
        "`[data-panel='running'] g.bar[data-key='${id}']`)?.dataset.value) > first",
        arg=[job_id, first],
        timeout=JOB_MS,
    )
    assert "Dashboard Coin (Fungible token)" in page.text_content('[data-panel="running"] svg')
    assert "step " in page.text_content(f'g.bar[data-key="{job_id}"]')
    assert int(_stat(page, "open_streams")) >= 1  # this very dashboard's stream
    ARTIFACT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACT), full_page=True)

    _wait_stat(page, "succeeded", "1")
    page.wait_for_selector('[data-panel="running"] .empty', timeout=JOB_MS)
    assert _stat(page, "success_rate") == "100 %"
    assert page.evaluate("window.__sameDocument") is True, "updated in place, never reloaded"
    assert page.text_content("#dash-connection") == "Live"


def test_when_the_stream_is_refused_the_dashboard_polls_and_says_so(
    start_web, browser_context, open_dashboard, owner
):
    web = start_web()

    def bad_gateway(route: Route) -> None:
        route.fulfill(status=502, body="proxy error")

    browser_context.route("**/dashboard/events**", bad_gateway)
    page = open_dashboard(web.url)
    page.wait_for_selector('#dash-connection[data-state="polling"]')
    assert "Polling" in page.text_content("#dash-connection")

    job = services.job_create(owner=owner, params=TOKEN)  # no worker: it stays queued
    _wait_stat(page, "started", "1", timeout_ms=20_000)
    _wait_stat(page, "unfinished", "1", timeout_ms=20_000)
    assert page.evaluate("window.__sameDocument") is True
    services.job_request_cancel(job=job)
    _wait_stat(page, "cancelled", "1", timeout_ms=20_000)
