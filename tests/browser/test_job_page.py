"""The job page in a real browser: live over SSE, by polling when SSE fails, one stream per job.

Each test runs a real uvicorn server and run_worker on Postgres and Redis, and drives Debian's
chromium. Timings are printed, not asserted (benchmarks measure, tests assert behaviour).
"""

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page

from jobs import services
from jobs.models import Job
from jobs.pipeline import STEPS
from tests.support.proxy import Proxy

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TOKEN = {"name": "Browser Coin", "template": "token"}
JOB_MS = 40_000  # a whole job, start to finish, at the test pace
OpenPage = Callable[[str, Job, Any], Page]


def _log(page: Page) -> list[dict[str, Any]]:
    return page.eval_on_selector_all(
        "#job-log li",
        "items => items.map(li => ({seq: Number(li.dataset.seq), via: li.dataset.via,"
        " text: li.querySelector('.text').textContent}))",
    )


def _timeline(page: Page) -> list[dict[str, Any]]:
    return page.evaluate("window.__timeline")


def _wait_state(page: Page, state: str, timeout_ms: float = 20_000) -> None:
    page.wait_for_selector(f'#connection[data-state="{state}"]', timeout=timeout_ms)


def _wait_log(page: Page, length: int, timeout_ms: float = 20_000) -> None:
    page.wait_for_function(
        "n => document.querySelectorAll('#job-log li').length >= n", arg=length, timeout=timeout_ms
    )


def _assert_every_event_exactly_once(page: Page, job: Job) -> list[dict[str, Any]]:
    job.refresh_from_db()
    log = _log(page)
    assert [item["seq"] for item in log] == list(range(1, job.last_seq + 1))
    return log


def _assert_finished_with_download(page: Page) -> None:
    assert page.text_content("#job-percent") == "100 %"
    assert page.eval_on_selector("#job-progress", "bar => bar.value") == 100
    assert page.eval_on_selector_all(
        "#job-steps > li", "items => items.map(li => li.className)"
    ) == ["step done"] * len(STEPS)
    assert page.is_visible("#job-download a")
    assert page.text_content("#connection") == "Finished"


def _states(page: Page, after: float = 0) -> list[str]:
    return [e["state"] for e in _timeline(page) if "state" in e and e["t"] >= after * 1000]


def test_the_page_shows_every_step_live_reaches_100_and_offers_the_download(
    start_web, start_worker, owner, open_job_page: OpenPage
):
    web = start_web()
    job = services.job_create(owner=owner, params=TOKEN)
    page = open_job_page(web.url, job, owner)
    _wait_state(page, "live")
    assert page.text_content("#connection") == "Live"

    start_worker(JOBS_STEP_PACE_S="0.3")
    _wait_state(page, "finished", JOB_MS)

    _assert_finished_with_download(page)
    log = _assert_every_event_exactly_once(page, job)
    assert {item["via"] for item in log[1:]} == {"sse"}
    shown = [item["text"] for item in log]
    assert all(f"{label}…" in shown for _, label, _ in STEPS), shown
    assert "polling" not in _states(page)
    download = page.request.get(web.url + (page.get_attribute("#job-download a", "href") or ""))
    assert download.status == 200 and download.headers["content-type"] == "application/zip"


@pytest.fixture
def proxy(start_web) -> Iterator[Proxy]:
    """Return a proxy in front of a fresh web server (see tests.support.proxy)."""
    web = start_web()
    front = Proxy(web.port).start()
    yield front
    front.stop()


def _first(page: Page, after: float = 0, **match: str) -> float:
    """Return when the page first showed something matching `match`, as time.time()."""
    return (
        next(
            e["t"]
            for e in _timeline(page)
            if e["t"] >= after * 1000 and all(e.get(k) == v for k, v in match.items())
        )
        / 1000
    )


@pytest.mark.parametrize("failure", ["503", "refuse"])
def test_with_the_stream_failing_from_the_start_the_page_completes_by_polling_and_says_so(
    failure, proxy: Proxy, start_worker, owner, open_job_page: OpenPage, capsys
):
    proxy.streams = failure
    job = services.job_create(owner=owner, params=TOKEN)
    page = open_job_page(proxy.url, job, owner)
    _wait_state(page, "polling", 15_000)
    saying = page.text_content("#connection") or ""
    start_worker(JOBS_STEP_PACE_S="0.3")
    _wait_state(page, "finished", JOB_MS)

    assert saying.startswith("Polling") and "live connection unavailable" in saying
    _assert_finished_with_download(page)
    log = _assert_every_event_exactly_once(page, job)
    assert {item["via"] for item in log[1:]} == {"poll"}
    polled = _first(page, state="polling") - proxy.spoiled_at[0]
    with capsys.disabled():
        print(
            f"\nSSE failing from the start ({failure}): first polled update "
            f"{polled * 1000:.0f} ms after the failed stream request"
        )


def test_a_stream_failing_mid_job_hands_over_to_polling_without_a_gap(
    proxy: Proxy, start_worker, owner, open_job_page: OpenPage, capsys
):
    job = services.job_create(owner=owner, params=TOKEN)
    page = open_job_page(proxy.url, job, owner)
    _wait_state(page, "live")
    start_worker(JOBS_STEP_PACE_S="1.0")  # five steps: the job outlasts the hand-over
    _wait_log(page, 4)

    proxy.streams = "503"  # a deploy: the stream drops and the reconnect gets 503
    proxy.drop_streams()
    failed = time.time()
    _wait_state(page, "polling", 15_000)
    _wait_state(page, "finished", JOB_MS)

    _assert_finished_with_download(page)
    log = _assert_every_event_exactly_once(page, job)
    assert {"sse", "poll"} <= {item["via"] for item in log}
    reconnect = proxy.spoiled_at[0] - failed
    polled = _first(page, after=failed, state="polling") - failed
    with capsys.disabled():
        print(
            f"\nSSE failing mid-job: first polled update {polled * 1000:.0f} ms after the "
            f"stream dropped ({reconnect * 1000:.0f} ms of it the browser's reconnect delay)"
        )


def test_while_polling_the_client_probes_the_stream_again_and_switches_back(
    proxy: Proxy, start_worker, owner, open_job_page: OpenPage
):
    proxy.streams = "503"
    job = services.job_create(owner=owner, params=TOKEN)
    page = open_job_page(proxy.url, job, owner)
    _wait_state(page, "polling", 15_000)

    proxy.streams = "pass"  # the deploy is over
    _wait_state(page, "live", 30_000)  # the first probe comes 15 s (± jitter) after failing
    polls_when_live = len(proxy.stream_requests("/status"))
    start_worker(JOBS_STEP_PACE_S="0.3")
    _wait_state(page, "finished", JOB_MS)

    log = _assert_every_event_exactly_once(page, job)
    assert {item["via"] for item in log[1:]} == {"sse"}
    assert len(proxy.stream_requests("/status")) <= polls_when_live + 1, "polling stopped"


def test_offline_while_polling_is_said_in_words_and_the_page_catches_up_when_back(
    proxy: Proxy, start_worker, owner, open_job_page: OpenPage, browser_context: BrowserContext
):
    proxy.streams = "503"
    job = services.job_create(owner=owner, params=TOKEN)
    page = open_job_page(proxy.url, job, owner)
    _wait_state(page, "polling", 15_000)

    browser_context.set_offline(True)
    _wait_state(page, "offline", 15_000)
    saying = page.text_content("#connection") or ""
    start_worker(JOBS_STEP_PACE_S="0.2")
    _wait_for_job(job, lambda j: j.is_finished)
    browser_context.set_offline(False)
    _wait_state(page, "finished", JOB_MS)

    assert saying.startswith("Offline")
    _assert_finished_with_download(page)
    _assert_every_event_exactly_once(page, job)


def _wait_for_job(job: Job, predicate: Callable[[Job], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate(Job.objects.get(pk=job.pk)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job.pk} did not get there in {timeout}s")
        time.sleep(0.1)


def test_behind_a_buffering_proxy_the_client_notices_and_falls_back(
    proxy: Proxy, start_worker, owner, open_job_page: OpenPage, capsys
):
    proxy.streams = "buffer"
    job = services.job_create(owner=owner, params=TOKEN)
    opened = time.time()
    page = open_job_page(proxy.url, job, owner)
    _wait_state(page, "polling", 15_000)
    start_worker(JOBS_STEP_PACE_S="0.3")
    _wait_state(page, "finished", JOB_MS)

    assert proxy.held_streams >= 1
    assert "live" not in _states(page)
    _assert_finished_with_download(page)
    log = _assert_every_event_exactly_once(page, job)
    assert {item["via"] for item in log[1:]} == {"poll"}
    with capsys.disabled():
        print(
            f"\nbuffering proxy noticed {_first(page, state='polling') - opened:.1f} s "
            "after the page was requested"
        )


@pytest.mark.parametrize("how", ["graceful", "crash"])
def test_after_a_server_restart_mid_job_no_step_is_missing_or_shown_twice(
    how, start_web, start_worker, owner, open_job_page: OpenPage, capsys
):
    web = start_web()
    job = services.job_create(owner=owner, params=TOKEN)
    page = open_job_page(web.url, job, owner)
    _wait_state(page, "live")
    start_worker(JOBS_STEP_PACE_S="0.6")
    _wait_log(page, 4)

    stopped = time.time()
    if how == "graceful":
        web.proc.stop(timeout=5)
    else:
        web.proc.kill()
    seen_while_down = len(_log(page))
    start_web(port=web.port)
    _wait_state(page, "finished", 60_000)

    _assert_finished_with_download(page)
    log = _assert_every_event_exactly_once(page, job)
    assert len(log) > seen_while_down, "events recorded during the restart reached the page"
    resumed = next(e["t"] for e in _timeline(page) if e.get("seq", 0) > seen_while_down)
    with capsys.disabled():
        print(
            f"\nserver restart ({how}): first event after it shown "
            f"{resumed / 1000 - stopped:.1f} s after the stop; states "
            f"{_dedupe(_states(page, after=stopped))}"
        )


def _dedupe(states: list[str]) -> list[str]:
    return [s for i, s in enumerate(states) if i == 0 or states[i - 1] != s]


def test_two_tabs_on_one_job_use_one_stream_between_them(
    proxy: Proxy, start_worker, owner, open_job_page: OpenPage
):
    job = services.job_create(owner=owner, params=TOKEN)
    first = open_job_page(proxy.url, job, owner)
    _wait_state(first, "live")
    second = open_job_page(proxy.url, job, owner)
    second.wait_for_function(
        "document.getElementById('connection').textContent === 'Live (via another tab)'"
    )

    start_worker(JOBS_STEP_PACE_S="0.3")
    for page in (first, second):
        _wait_state(page, "finished", JOB_MS)

    assert [p.split("?")[0] for p in proxy.stream_requests()] == [f"/api/jobs/{job.pk}/events"]
    assert not proxy.stream_requests("/status")
    assert first.get_attribute("#connection", "data-role") == "leader"
    assert second.get_attribute("#connection", "data-role") == "follower"
    for page in (first, second):
        _assert_finished_with_download(page)
    assert {item["via"] for item in _assert_every_event_exactly_once(second, job)[1:]} == {"tab"}
    assert {item["via"] for item in _assert_every_event_exactly_once(first, job)[1:]} == {"sse"}


def test_when_the_leading_tab_closes_another_takes_over_without_losing_an_event(
    proxy: Proxy, start_worker, owner, open_job_page: OpenPage
):
    job = services.job_create(owner=owner, params=TOKEN)
    first = open_job_page(proxy.url, job, owner)
    _wait_state(first, "live")
    second = open_job_page(proxy.url, job, owner)
    second.wait_for_function(
        "document.getElementById('connection').textContent.endsWith('(via another tab)')"
    )
    start_worker(JOBS_STEP_PACE_S="0.5")
    _wait_log(second, 4)

    first.close()
    second.wait_for_selector('#connection[data-role="leader"]')
    _wait_state(second, "finished", JOB_MS)

    assert len(proxy.stream_requests()) == 2
    _assert_finished_with_download(second)
    vias = {item["via"] for item in _assert_every_event_exactly_once(second, job)[1:]}
    assert vias == {"tab", "sse"}
