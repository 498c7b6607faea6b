"""A silent database path (issue 23), end to end: a real web server whose DATABASE_URL goes
through a fault proxy that blackholes it (no byte either way, nothing closed), while a stream
is open, events keep being recorded (straight to the database, by this process) and clients
keep asking.

What must hold: `/readyz` answers 503 within 2 s; a poll answers 503 with Retry-After within
10 s; nothing answers 500 and nothing hangs; the stream that was open keeps its live events
(it holds no database connection, and Redis still rings); everything is back to 200 within
10 s of the heal. The default run freezes 12 s; the full 45 s runs under the `faults` marker.
"""

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

import httpx
import pytest
from django.db import connection

from api.services import token_create
from jobs import progress, services
from jobs.models import EventType
from tests.support.eventsource import Followed, follow
from tests.support.faultproxy import FaultProxy
from tests.support.metrics import wait_for_streams
from tests.support.servers import closing_connection
from tests.support.waits import until

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = {"name": "Frozen Coin", "template": "token"}
EVENT_EVERY_S = 0.5
ASK_EVERY_S = 0.25
FREEZES = [pytest.param(12.0, id="12s"), pytest.param(45.0, id="45s", marks=pytest.mark.faults)]


@dataclass
class Answer:
    """One request's outcome, times from the start of the freeze."""

    sent: float
    took: float
    status: int | str
    retry_after: str | None = None
    body: str = ""


@dataclass
class Watch:
    """Repeated requests to one URL, as a probe or a polling client makes them."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    answers: list[Answer] = field(default_factory=list)

    def first(self, status: int, after: float = 0.0) -> Answer | None:
        """Return the first answer with `status` among those sent at or after `after`."""
        return next((a for a in self.answers if a.status == status and a.sent >= after), None)


async def _ask(client: httpx.AsyncClient, url: str, headers: dict[str, str], t0: float) -> Answer:
    sent = time.monotonic()
    try:
        response = await client.get(url, headers=headers, timeout=60)
    except httpx.HTTPError as exc:
        return Answer(sent - t0, time.monotonic() - sent, type(exc).__name__)
    return Answer(
        sent - t0,
        time.monotonic() - sent,
        response.status_code,
        response.headers.get("Retry-After"),
        response.text[:300],
    )


async def _keep_asking(watch: Watch, t0: float, stop: asyncio.Event) -> None:
    async with httpx.AsyncClient() as client:
        while not stop.is_set():
            watch.answers.append(await _ask(client, watch.url, watch.headers, t0))
            await asyncio.sleep(ASK_EVERY_S)


def _database_url_through(proxy: FaultProxy) -> str:
    db = connection.settings_dict
    user = db["USER"] or "postgres"
    return f"postgres://{user}@127.0.0.1:{proxy.port}/{db['NAME']}?application_name=composer-web"


@pytest.mark.parametrize("freeze_s", FREEZES)
def test_a_silent_database_path_answers_503_quickly_keeps_streams_live_and_recovers(
    start_web, owner, session_cookies, freeze_s, capsys
):
    db_port = int(connection.settings_dict["PORT"] or 5432)
    with FaultProxy(db_port, seed=45, lifetime_s=freeze_s + 180) as proxy:
        web = start_web(DATABASE_URL=_database_url_through(proxy))
        bearer = {"Authorization": f"Bearer {token_create(user=owner, name='freeze')[1]}"}
        job = services.job_create(owner=owner, params=TOKEN)
        progress.job_start(job=job)
        stream_url = f"{web.url}/api/jobs/{job.pk}/events"
        readyz = Watch(f"{web.url}/readyz")
        polls = Watch(f"{web.url}/api/jobs/{job.pk}/status?since=0", bearer)
        cookies = session_cookies(owner)
        report = closing_connection(progress.job_report_progress)
        once: dict[str, Answer] = {}
        marks: dict[str, float] = {}

        async def produce(seconds: float) -> None:
            until = time.monotonic() + seconds
            while time.monotonic() < until:
                await asyncio.to_thread(report, job=job, percent=50, message="still going")
                await asyncio.sleep(EVENT_EVERY_S)

        async def while_frozen(t0: float) -> None:
            """A stream opened as the freeze begins; then, once the process knows (a poll got
            its 503), each kind of request once."""
            event_stream = {"Accept": "text/event-stream"}
            async with httpx.AsyncClient(cookies=cookies) as client:
                onset = asyncio.create_task(_ask(client, stream_url, event_stream, t0))
                with contextlib.suppress(TimeoutError):  # the asserts below say what was seen
                    await until(lambda: polls.first(503) is not None, timeout=freeze_s - 1)
                once["new stream at the onset"] = await onset
            asks = {
                "page": (f"{web.url}/jobs/{job.pk}/", {}),
                "new stream (EventSource)": (stream_url, {**bearer, **event_stream}),
                "new stream (program)": (stream_url, bearer),
                "another job's status": (f"{web.url}/api/jobs/{job.pk}/status", bearer),
            }
            async with httpx.AsyncClient(cookies=cookies) as client:
                for name, (url, headers) in asks.items():
                    once[name] = await _ask(client, url, headers, t0)
                sent = time.monotonic()
                created = await client.post(
                    f"{web.url}/api/jobs", json=TOKEN, headers=bearer, timeout=60
                )
                once["POST /api/jobs"] = Answer(
                    sent - t0,
                    time.monotonic() - sent,
                    created.status_code,
                    created.headers.get("Retry-After"),
                    created.text[:300],
                )

        async def scenario() -> Followed:
            async with httpx.AsyncClient(cookies=cookies) as client:
                reader = asyncio.create_task(follow(client, stream_url, give_up_s=freeze_s + 120))
                await asyncio.to_thread(wait_for_streams, web.url, 1)
                await produce(2.0)
                stop = asyncio.Event()
                proxy.blackhole()
                t0 = time.monotonic()
                watchers = [
                    asyncio.create_task(_keep_asking(watch, t0, stop)) for watch in (readyz, polls)
                ]
                await asyncio.gather(produce(freeze_s), while_frozen(t0))
                proxy.heal()
                marks["healed"] = time.monotonic() - t0
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline and not (
                    readyz.first(200, marks["healed"]) and polls.first(200, marks["healed"])
                ):
                    await produce(0.5)
                stop.set()
                await asyncio.gather(*watchers)
                await asyncio.to_thread(
                    closing_connection(progress.job_complete), job=job, artifact_name="x.zip"
                )
                return await reader

        followed = asyncio.run(scenario())

    healed = marks["healed"]
    during = [a for w in (readyz, polls) for a in w.answers] + list(once.values())
    assert not [a for a in during if a.status == 500 or isinstance(a.status, str)], during
    first_readyz_503 = readyz.first(503)
    first_poll_503 = polls.first(503)
    readyz_back = readyz.first(200, healed)
    poll_back = polls.first(200, healed)
    assert first_readyz_503 and first_poll_503 and readyz_back and poll_back, (readyz, polls)
    figures = {
        "/readyz 503 answered (from freeze)": first_readyz_503.sent + first_readyz_503.took,
        "slowest /readyz while frozen": max(a.took for a in readyz.answers if a.sent < healed),
        "poll 503 answered (from freeze)": first_poll_503.sent + first_poll_503.took,
        "/readyz 200 again (from heal)": readyz_back.sent + readyz_back.took - healed,
        "poll 200 again (from heal)": poll_back.sent + poll_back.took - healed,
    }
    delays = [e.received - e.ts_unix for e in followed.events[1:]]
    with capsys.disabled():
        print(f"\ndatabase path silent {freeze_s:.0f} s:")
        for name, seconds in figures.items():
            print(f"  {name}: {seconds:.2f} s")
        for name, answer in once.items():
            print(f"  {name}: {answer.status} in {answer.took:.2f} s")
        print(f"  open stream: {len(delays)} events, max delay after ts {max(delays):.2f} s")

    assert figures["/readyz 503 answered (from freeze)"] < 2.0 + ASK_EVERY_S
    assert figures["slowest /readyz while frozen"] < 2.0
    assert figures["poll 503 answered (from freeze)"] < 10.0
    assert first_poll_503.retry_after and first_poll_503.retry_after.isdigit()
    assert figures["/readyz 200 again (from heal)"] < 10.0
    assert figures["poll 200 again (from heal)"] < 10.0
    assert once["page"].status == 503 and once["page"].retry_after
    assert once["new stream (EventSource)"].status == 200
    onset = once["new stream at the onset"]
    assert onset.status == 200 and "event: busy" in onset.body
    assert onset.took < 10, "a stream open waiting on the frozen database answers, busy"
    assert "event: busy" in once["new stream (EventSource)"].body
    assert once["new stream (program)"].status == 503
    assert '"database_unavailable"' in once["new stream (program)"].body
    assert once["POST /api/jobs"].status == 503 and once["POST /api/jobs"].retry_after
    assert followed.seqs == list(range(1, followed.seqs[-1] + 1)), "every event once, in order"
    assert followed.answers == [200] and followed.dropped == 0, "the open stream stayed open"
    assert followed.events[-1].event == EventType.COMPLETION_STATUS
    assert max(delays) < 5.0, "the open stream's events stayed live through the freeze"
