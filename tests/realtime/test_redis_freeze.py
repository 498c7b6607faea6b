"""A silent Redis path (issue 23), end to end: a real web server whose REDIS_URL goes through a
fault proxy that blackholes it (no byte either way, nothing closed), events recorded at a
steady rate, and a client following the job's stream over HTTP.

Every event must reach the stream once, in order, and none later than 5 s after its `ts`,
however long the path stays silent: the link's ping notices, the hub reads the database
meanwhile, and a new connection replaces the dead one, as soon as new flows pass (a NAT that
dropped the old one) or once the path heals (a frozen proxy).

The default run (CI) freezes 8 s, for one kind of path a day (REDIS_FREEZE_FLOWS=every-flow
or new-flows-pass names one); the other's 8 s and both of the full 30 s run under the `faults`
marker.
"""

import asyncio
import re
import statistics
import time
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from api.services import token_create
from jobs import progress, services
from jobs.models import EventType, Job, JobStatus
from realtime import publisher
from tests.support.eventsource import Followed, follow
from tests.support.faultproxy import FaultProxy
from tests.support.metrics import wait_for_streams, wait_readyz
from tests.support.rotation import of_the_day
from tests.support.servers import WebServer, closing_connection

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = {"name": "Freeze Coin", "template": "token"}
EVENT_EVERY_S = 0.25
LATE_S = 5.0
"""The promise: no event reaches a stream later than this after its `ts`."""
FLOWS = {"every-flow": False, "new-flows-pass": True}
SMOKE_FLOWS = of_the_day(list(FLOWS), named_by="REDIS_FREEZE_FLOWS")


def _freezes() -> list[object]:
    return [
        pytest.param(
            freeze_s,
            new_flows,
            marks=() if (freeze_s, flows) == (8.0, SMOKE_FLOWS) else pytest.mark.faults,
            id=f"{freeze_s:.0f}s-{flows}",
        )
        for freeze_s in (8.0, 30.0)
        for flows, new_flows in FLOWS.items()
    ]


def through(proxy: FaultProxy, redis_url: str) -> str:
    """Return `redis_url` with its host and port replaced by the proxy's."""
    return urlunsplit(urlsplit(redis_url)._replace(netloc=proxy.url_host_port))


def redis_port(redis_url: str) -> int:
    return urlsplit(redis_url).port or 6379


def link_downs(web: WebServer, reason: str) -> float:
    """Return the web process's count of single-link outages for `reason`."""
    text = httpx.get(f"{web.url}/metrics", timeout=5).text
    sample = f'realtime_redis_link_losses_total{{link="single",reason="{reason}"}}'
    match = re.search(rf"^{re.escape(sample)} ([0-9.e+-]+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


@pytest.mark.parametrize(("freeze_s", "new_flows"), _freezes())
def test_a_silent_redis_path_delays_no_event_more_than_five_seconds(
    start_web, owner, session_cookies, settings, freeze_s, new_flows, capsys
):
    with FaultProxy(redis_port(settings.REDIS_URL), seed=23, lifetime_s=freeze_s + 120) as proxy:
        web = start_web(REDIS_URL=through(proxy, settings.REDIS_URL))
        assert wait_readyz(web, "ok")["status"] == "ok"
        # This process records the events and publishes them straight to Redis: only the web
        # server's path is silent.
        job = services.job_create(owner=owner, params=TOKEN)
        url = f"{web.url}/api/jobs/{job.pk}/events"
        cookies = session_cookies(owner)
        producer = _Producer(job)

        async def scenario() -> Followed:
            async with httpx.AsyncClient(cookies=cookies) as client:
                reader = asyncio.create_task(follow(client, url, give_up_s=freeze_s + 90))
                await asyncio.to_thread(wait_for_streams, web.url, 1)
                await asyncio.to_thread(closing_connection(progress.job_start), job=job)
                await producer.run(2.0)
                proxy.blackhole(new_flows=new_flows)
                await producer.run(freeze_s)
                proxy.heal()
                await producer.run(3.0)
                await asyncio.to_thread(producer.finish)
                return await reader

        followed = asyncio.run(scenario())
        silent = link_downs(web, "health_check")

    assert followed.seqs == list(range(1, producer.last_seq + 1)), "every event once, in order"
    assert followed.answers == [200] and followed.dropped == 0, "one stream, never dropped"
    assert followed.events[-1].event == EventType.COMPLETION_STATUS
    delays = [event.received - event.ts_unix for event in followed.events[1:]]
    with capsys.disabled():
        print(
            f"\nredis path silent {freeze_s:.0f} s ({'new flows pass' if new_flows else 'all'}):"
            f" {len(delays)} events, delay after ts median {statistics.median(delays):.3f} s,"
            f" max {max(delays):.2f} s"
        )
    assert max(delays) < LATE_S, "no event later than 5 s after its ts"
    assert silent >= 1, "the outage was found by the health check, and counted"


class _Producer:
    """Records progress on a job at a steady rate, as a worker does (from this process)."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.sent = 0
        self.last_seq = job.last_seq
        self._report: Callable[..., object] = closing_connection(progress.job_report_progress)

    async def run(self, seconds: float) -> None:
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            self.sent += 1
            event = await asyncio.to_thread(
                self._report, job=self.job, percent=min(99, self.sent), message=f"#{self.sent}"
            )
            self.last_seq = event.seq  # type: ignore[attr-defined]
            await asyncio.sleep(EVENT_EVERY_S)

    @closing_connection
    def finish(self) -> None:
        event = progress.job_complete(job=self.job, artifact_name="freeze.zip")
        self.last_seq = event.seq
        self.job.refresh_from_db()
        assert self.job.status == JobStatus.SUCCEEDED


def test_with_redis_silent_nothing_that_publishes_waits_for_it(start_web, owner, settings):
    """A publish after commit into a silent Redis: the worker's writes and a web request that
    publishes (a job created through the API) answer without waiting for Redis; the event is
    in the database anyway, and a poll has it."""
    with FaultProxy(redis_port(settings.REDIS_URL), seed=5, lifetime_s=120) as proxy:
        silent_redis = through(proxy, settings.REDIS_URL)
        web = start_web(REDIS_URL=silent_redis)
        assert wait_readyz(web, "ok")["status"] == "ok"
        proxy.blackhole()
        auth = {"Authorization": f"Bearer {token_create(user=owner, name='freeze')[1]}"}

        started = time.monotonic()
        created = httpx.post(f"{web.url}/api/jobs", json=TOKEN, headers=auth, timeout=30)
        create_s = time.monotonic() - started
        assert created.status_code == 201, created.text
        polled = httpx.get(created.json()["status_url"], headers=auth, timeout=30)
        assert polled.status_code == 200 and [e["seq"] for e in polled.json()["events"]] == [1]

        # The worker's side, in this process: its publisher's Redis is the silent one too.
        settings.REDIS_URL = silent_redis
        job = services.job_create(owner=owner, params=TOKEN)
        started = time.monotonic()
        for percent in range(10, 60, 10):
            progress.job_report_progress(job=job, percent=percent)
        report_s = time.monotonic() - started
        assert publisher.PUBLISHER.flush(30), "the publisher thread gives up on a silent Redis"
        proxy.heal()
    assert create_s < 10, f"POST /api/jobs waited {create_s:.1f} s on a silent Redis"
    assert report_s < 5, f"5 progress reports waited {report_s:.1f} s on a silent Redis"
    assert Job.objects.get(pk=job.pk).last_seq == 6, "the events are in the database"
