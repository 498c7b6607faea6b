"""The job page in Chromium through network faults that make no noise (issue 23).

A seeded TCP fault proxy (tests/support/faultproxy.py) sits between the browser and a real
uvicorn server; the job's events are recorded by the test itself at a steady pace
(tests/support/scripted.py), so every event's `ts` is known. Each scenario asserts what the
person sees (never "Live" while nothing arrives), every event exactly once and in order, and a
recovery bound. The page's stall window is 2 heartbeats, at least 5 s: REALTIME_HEARTBEAT_S is
2 s here, so 5 s. A screenshot of each state lands in test-artifacts/faults/.

The default suite runs the smoke subset; `-m faults` runs every row (docs/reliability.md
holds the table these tests measure).
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Page

from jobs import services
from jobs.models import Job
from tests.support.faultproxy import FaultProxy
from tests.support.faultreport import fault_row
from tests.support.placements import Placement, serve_behind
from tests.support.proxy import Proxy
from tests.support.scripted import ScriptedJob, lateness
from tests.support.servers import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TOKEN = {"name": "Fault Coin", "template": "token"}
STALL_S = 5.0  # the page's stall window: 2 heartbeats (2 s), at least 5 s
ARTIFACTS = ROOT / "test-artifacts" / "faults"
OpenPage = Callable[[str, Job, Any], Page]


@dataclass
class Seen:
    """What the page showed, from the timeline of tests/browser/conftest.py."""

    arrivals: dict[int, float]
    """When each seq's line appeared (time.time()); a seq shown twice fails the test."""
    states: list[tuple[float, str]]
    """Every connection state, with when it began."""

    def first_state(self, state: str, after: float) -> float:
        return next(t for t, s in self.states if s == state and t >= after)

    def states_between(self, start: float, end: float) -> list[str]:
        return [s for t, s in self.states if start <= t < end]


def _seen(page: Page) -> Seen:
    arrivals: dict[int, float] = {}
    states: list[tuple[float, str]] = []
    for entry in page.evaluate("window.__timeline"):
        if "seq" in entry:
            assert entry["seq"] not in arrivals, f"seq {entry['seq']} shown twice"
            arrivals[entry["seq"]] = entry["t"] / 1000
        elif "state" in entry:
            states.append((entry["t"] / 1000, entry["state"]))
    return Seen(arrivals, states)


def _shoot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _wait_state(page: Page, state: str, timeout_s: float) -> None:
    page.wait_for_selector(f'#connection[data-state="{state}"]', timeout=timeout_s * 1000)


def _wait_timeline_state(page: Page, state: str, *, after: float, timeout_s: float) -> None:
    """Wait until the page has shown `state` since `after`, however briefly."""
    page.wait_for_function(
        "([state, after]) => window.__timeline.some((e) => e.state === state && e.t >= after)",
        arg=[state, after * 1000],
        timeout=timeout_s * 1000,
    )


def _assert_every_event_once_in_order(page: Page, scripted: ScriptedJob) -> Seen:
    seen = _seen(page)
    log = page.eval_on_selector_all("#job-log li", "items => items.map(li => +li.dataset.seq)")
    assert log == [seq for seq, _ in scripted.recorded], "every event once, in order"
    assert sorted(seen.arrivals) == log
    return seen


@pytest.fixture
def faulty_page(
    start_web, server_env, settings, owner, open_job_page: OpenPage
) -> Iterator[Callable[..., tuple[Page, FaultProxy, ScriptedJob]]]:
    """Return a function that opens a live job page with a fault proxy on one path of a new
    web server (tests/support/placements.py) and starts recording the job's events for
    `duration_s`."""
    proxies: list[FaultProxy] = []

    def open_page(
        duration_s: float, placement: Placement = "client-server", **env: str
    ) -> tuple[Page, FaultProxy, ScriptedJob]:
        placed = serve_behind(
            placement,
            start_web=start_web,
            redis_url=settings.REDIS_URL,
            database_url=server_env("composer-web")["DATABASE_URL"],
            lifetime_s=duration_s + 120,
            **env,
        )
        proxies.append(placed.proxy)
        job = services.job_create(owner=owner, params=TOKEN)
        page = open_job_page(placed.base_url, job, owner)
        _wait_state(page, "live", 20)
        return page, placed.proxy, ScriptedJob(job, duration_s=duration_s).start()

    yield open_page
    for proxy in proxies:
        proxy.stop()


@pytest.mark.parametrize(
    ("new_flows", "dead_s"),
    [
        pytest.param(False, 20, id="every-flow-20s"),
        pytest.param(False, 60, id="every-flow-60s", marks=pytest.mark.faults),
        pytest.param(True, 20, id="old-flows-20s", marks=pytest.mark.faults),
    ],
)
def test_a_blackholed_path_says_reconnecting_within_the_stall_window_and_catches_up_after(
    new_flows: bool, dead_s: float, faulty_page, capsys
) -> None:
    """No byte moves either way, nothing is closed: the page must notice by itself. With
    `new_flows` only the connections open at the time die (a NAT forgot them)."""
    page, proxy, scripted = faulty_page(duration_s=dead_s + 14)
    time.sleep(3)
    _shoot(page, "blackhole-1-live")
    dead_at = time.time()
    proxy.blackhole(new_flows=new_flows)
    _wait_timeline_state(page, "reconnecting", after=dead_at, timeout_s=STALL_S + 10)
    if not new_flows:  # else the page may be live again already, over a new connection
        _shoot(page, "blackhole-2-reconnecting")
    time.sleep(max(0.0, dead_at + dead_s - time.time()))
    if not new_flows:
        _shoot(page, "blackhole-3-still-dead")
    healed_at = time.time()
    proxy.heal()
    scripted.wait(timeout=dead_s + 60)
    _wait_state(page, "finished", 30)
    _shoot(page, "blackhole-4-finished")

    seen = _assert_every_event_once_in_order(page, scripted)
    noticed = seen.first_state("reconnecting", after=dead_at) - dead_at
    back_at = dead_at if new_flows else healed_at
    late = lateness(seen.arrivals, scripted.recorded, healed_at=back_at)
    held = [seen.arrivals[seq] for seq, ts in scripted.recorded if dead_at <= ts < back_at]
    live_again = seen.first_state("live", after=dead_at) - back_at
    fault = f"blackhole {dead_s} s, {'old flows' if new_flows else 'every flow'}"
    with capsys.disabled():
        print(
            _row(
                fault,
                seen,
                dead_at,
                noticed_s=noticed,
                held_shown_s=max(held, default=back_at) - back_at,
                live_again_s=live_again,
                late_s=late,
            )
        )
    assert noticed <= STALL_S + 1
    if not new_flows:  # nothing can get through: the page must not claim otherwise
        assert "live" not in seen.states_between(dead_at, healed_at)
    assert late <= 10


def _row(
    fault: str, seen: Seen, began: float, placement: str = "client-server", **figures: float
) -> str:
    """Report the scenario's figures and the states the person saw from `began` on."""
    states = seen.states_between(began, time.time())
    saw = [s for i, s in enumerate(states) if i == 0 or states[i - 1] != s]
    return fault_row(
        client="Chromium", placement=placement, fault=fault, **figures, saw=" > ".join(saw)
    )


LASTING = {
    "latency": lambda proxy: proxy.latency(300, jitter_ms=200),
    "bandwidth": lambda proxy: proxy.bandwidth(4096),
    "slices": lambda proxy: proxy.slices(1),
}


@pytest.mark.faults
@pytest.mark.parametrize("fault", sorted(LASTING))
def test_a_slow_or_sliced_path_stays_live_and_loses_nothing(fault: str, faulty_page, capsys):
    page, proxy, scripted = faulty_page(duration_s=12)
    began = time.time()
    LASTING[fault](proxy)
    scripted.wait(timeout=60)
    _wait_state(page, "finished", 30)

    seen = _assert_every_event_once_in_order(page, scripted)
    late = lateness(seen.arrivals, scripted.recorded, healed_at=began)
    with capsys.disabled():
        print(_row(fault, seen, began, late_s=late))
    assert "reconnecting" not in seen.states_between(began, time.time())
    assert late <= 3


@pytest.mark.faults
def test_connections_reset_mid_job_reconnect_at_once_and_lose_nothing(faulty_page, capsys):
    page, proxy, scripted = faulty_page(duration_s=10)
    time.sleep(3)
    cut_at = time.time()
    proxy.reset()
    scripted.wait(timeout=60)
    _wait_state(page, "finished", 30)

    seen = _assert_every_event_once_in_order(page, scripted)
    late = lateness(seen.arrivals, scripted.recorded, healed_at=cut_at)
    with capsys.disabled():
        print(_row("reset", seen, cut_at, late_s=late))
    assert late <= 5


@pytest.mark.faults
def test_behind_a_proxy_that_buffers_streams_the_page_polls_and_never_says_live(
    start_web, owner, open_job_page: OpenPage, capsys
):
    web = start_web()
    proxy = Proxy(web.port, streams="buffer").start()
    try:
        job = services.job_create(owner=owner, params=TOKEN)
        page = open_job_page(proxy.url, job, owner)
        opened = time.time()
        scripted = ScriptedJob(job, duration_s=12).start()
        _wait_state(page, "polling", 20)
        _shoot(page, "buffering-polling")
        scripted.wait(timeout=60)
        _wait_state(page, "finished", 30)
    finally:
        proxy.stop()

    seen = _assert_every_event_once_in_order(page, scripted)
    late = lateness(seen.arrivals, scripted.recorded, healed_at=opened)
    with capsys.disabled():
        print(_row("buffering proxy", seen, opened, late_s=late))
    assert "live" not in [s for _, s in seen.states]
    assert late <= 10


@pytest.mark.faults
def test_a_silent_redis_path_keeps_the_page_live_and_no_event_later_than_5_s(faulty_page, capsys):
    """The server's own path to Redis blackholed 30 s: the hub reads the database meanwhile;
    the page's stream never notices (pings and events keep coming), so "Live" is the truth."""
    page, proxy, scripted = faulty_page(duration_s=40, placement="app-redis")
    time.sleep(3)
    dead_at = time.time()
    proxy.blackhole()
    time.sleep(30)
    proxy.heal()
    scripted.wait(timeout=60)
    _wait_state(page, "finished", 30)

    seen = _assert_every_event_once_in_order(page, scripted)
    late = lateness(seen.arrivals, scripted.recorded, healed_at=dead_at)
    with capsys.disabled():
        print(_row("blackhole 30 s", seen, dead_at, placement="app-redis", late_s=late))
    assert seen.states_between(dead_at, time.time()) == ["finished"]
    assert late <= 5


@pytest.mark.faults
def test_a_frozen_database_path_says_reconnecting_when_a_stream_cannot_reopen_and_recovers(
    faulty_page, capsys
):
    """The server's own path to PostgreSQL blackholed 45 s, streams ending every 10 s: a new
    stream needs the database, so the page must say so, then catch up after the heal."""
    page, proxy, scripted = faulty_page(
        duration_s=55, placement="app-postgres", REALTIME_MAX_STREAM_AGE_S="10"
    )
    time.sleep(3)
    dead_at = time.time()
    proxy.blackhole()
    _wait_timeline_state(page, "reconnecting", after=dead_at, timeout_s=30)
    _shoot(page, "database-frozen")
    time.sleep(max(0.0, dead_at + 45 - time.time()))
    healed_at = time.time()
    proxy.heal()
    scripted.wait(timeout=60)
    _wait_state(page, "finished", 30)

    seen = _assert_every_event_once_in_order(page, scripted)
    late = lateness(seen.arrivals, scripted.recorded, healed_at=healed_at)
    with capsys.disabled():
        print(_row("blackhole 45 s", seen, dead_at, placement="app-postgres", late_s=late))
    assert late <= 10
