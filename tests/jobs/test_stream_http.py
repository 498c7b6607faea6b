"""The stream and status endpoints as HTTP clients nobody here wrote see them, on a real server.

Each test pins a defect that independent SSE clients (npm eventsource, httpx-sse,
sseclient-py) or bad input found: a 204 with a body's headers, a non-coding Content-Encoding,
405s, `retry:` in a data-less block, cursors past the end, metrics, query floods, a channel
that carries garbage.
"""

import asyncio
import time
from typing import Any

import httpx
import pytest
import redis

from jobs import services
from jobs.models import EventType
from tests.support.jobs import succeeded_job
from tests.support.metrics import metric
from tests.support.servers import closing_connection
from tests.support.sse import read_stream
from tests.support.sse import read_stream_blocking as _stream
from tests.support.waits import until

pytestmark = pytest.mark.django_db(transaction=True)

PARAMS = {"name": "Wire Coin", "template": "token"}


def _first_bytes(
    url: str, cookies: dict[str, str], size: int = 200, headers: dict[str, str] | None = None
) -> tuple[httpx.Headers, bytes]:
    with httpx.stream("GET", url, cookies=cookies, headers=headers, timeout=10) as response:
        raw = b""
        for chunk in response.iter_raw():
            raw += chunk
            if len(raw) >= size or b"\n\n" in raw:
                break
        return response.headers, raw


def test_a_finished_job_answers_a_bare_204(start_web, owner, session_cookies):
    web = start_web()
    job = succeeded_job(owner=owner)
    response = httpx.get(
        f"{web.url}/api/jobs/{job.pk}/events",
        cookies=session_cookies(owner),
        headers={"Last-Event-ID": str(job.last_seq)},
    )
    assert response.status_code == 204 and response.content == b""
    assert "content-length" not in response.headers
    assert "content-type" not in response.headers


def test_a_stream_opens_with_retry_in_the_ready_block_and_no_content_encoding(
    start_web, owner, session_cookies
):
    web = start_web()
    job = services.job_create(owner=owner, params=PARAMS)
    headers, raw = _first_bytes(f"{web.url}/api/jobs/{job.pk}/events", session_cookies(owner))
    assert "content-encoding" not in headers
    assert headers["cache-control"] == "no-cache, no-transform"
    block = raw.split(b"\n\n")[0].decode().split("\n")
    assert block[0].startswith("retry: ") and int(block[0][7:]) >= 1000
    assert block[1] == "id: 0", "ready carries the stream's cursor: none asked, 0"
    assert block[2] == "event: ready" and block[3].startswith('data: {"heartbeat_s": ')


@pytest.mark.parametrize(
    ("cursor", "ready_id"),
    [
        ({"Last-Event-ID": "1"}, "1"),
        ({"Last-Event-ID": "99"}, "1"),
        ({}, "0"),
        ({"Last-Event-ID": "0"}, "0"),  # what EventSource sends back after `id: 0`
    ],
    ids=["at-the-end", "past-the-end", "none", "zero"],
)
def test_ready_carries_the_cursor_the_stream_sends_after(
    start_web, owner, session_cookies, cursor, ready_id
):
    """A client that keeps the last id it saw and drops right after `ready` resumes where it
    asked (a cursor past the job's end counts as its end), never from the start."""
    web = start_web()
    job = services.job_create(owner=owner, params=PARAMS)  # one event so far: seq 1
    _, raw = _first_bytes(
        f"{web.url}/api/jobs/{job.pk}/events", session_cookies(owner), headers=cursor
    )
    block = raw.split(b"\n\n")[0].decode().split("\n")
    assert block[1:3] == [f"id: {ready_id}", "event: ready"]


@pytest.mark.parametrize("name", ["events", "status"])
def test_head_answers_like_get_without_a_body(start_web, owner, session_cookies, name):
    web = start_web()
    cookies = session_cookies(owner)
    running = services.job_create(owner=owner, params=PARAMS)
    finished = succeeded_job(owner=owner)

    live = httpx.head(f"{web.url}/api/jobs/{running.pk}/{name}", cookies=cookies, timeout=5)
    stranger = httpx.head(f"{web.url}/api/jobs/{running.pk}/{name}", timeout=5)

    assert live.status_code == 200 and live.content == b""
    kind = "text/event-stream" if name == "events" else "application/json"
    assert live.headers["content-type"].startswith(kind)
    assert stranger.status_code == 404
    if name == "events":
        done = httpx.head(
            f"{web.url}/api/jobs/{finished.pk}/events?last_event_id=999", cookies=cookies, timeout=5
        )
        assert done.status_code == 204


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("name", ["events", "status"])
def test_other_methods_get_405_naming_what_is_allowed(
    start_web, owner, session_cookies, method, name
):
    web = start_web()
    job = services.job_create(owner=owner, params=PARAMS)
    response = httpx.request(
        method, f"{web.url}/api/jobs/{job.pk}/{name}", cookies=session_cookies(owner), timeout=5
    )
    assert response.status_code == 405
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD"}


def test_a_cursor_past_the_end_of_a_running_job_still_ends_with_the_job(
    start_web, owner, session_cookies
):
    web = start_web(REALTIME_HEARTBEAT_S="0.5")
    job = services.job_create(owner=owner, params=PARAMS)
    services.job_start(job=job)
    cookies = session_cookies(owner)

    async def go() -> Any:
        async with httpx.AsyncClient(cookies=cookies) as client:
            reader = asyncio.create_task(
                read_stream(
                    client,
                    f"{web.url}/api/jobs/{job.pk}/events",
                    headers={"Last-Event-ID": "999"},
                    timeout=20,
                )
            )
            await asyncio.sleep(1.2)  # the stream is open and waiting: time for heartbeats
            await asyncio.to_thread(
                closing_connection(services.job_report_progress), job=job, percent=50
            )
            await asyncio.to_thread(closing_connection(services.job_finish_cancelled), job=job)
            return await reader

    started = time.monotonic()
    result = asyncio.run(go())
    assert result.ended_by_server and time.monotonic() - started < 10
    assert [e.event for e in result.events] == [
        EventType.PROGRESS_UPDATE,
        EventType.COMPLETION_STATUS,
    ]
    assert [c.event for c in result.controls].count("ping") >= 1


def test_opened_streams_are_counted(start_web, owner, session_cookies):
    web = start_web()
    job = succeeded_job(owner=owner)
    before = metric(web.url, "realtime_streams_opened_total")
    _stream(f"{web.url}/api/jobs/{job.pk}/events", session_cookies(owner))
    assert metric(web.url, "realtime_streams_opened_total") == before + 1


@pytest.mark.parametrize("name", ["events", "status"])
def test_too_many_query_parameters_get_a_quick_400_even_under_debug(
    start_web, owner, session_cookies, name
):
    web = start_web(DEBUG="true")
    job = services.job_create(owner=owner, params=PARAMS)
    query = "&".join(f"p{n}=x" for n in range(1500))
    response = httpx.get(
        f"{web.url}/api/jobs/{job.pk}/{name}?{query}", cookies=session_cookies(owner), timeout=10
    )
    assert response.status_code == 400
    assert "query parameters" in response.json()["detail"]


def test_garbage_on_a_job_channel_is_dropped_and_live_delivery_goes_on(
    start_web, owner, session_cookies, settings
):
    web = start_web()
    job = services.job_create(owner=owner, params=PARAMS)
    services.job_start(job=job)
    cookies = session_cookies(owner)

    async def go() -> Any:
        async with httpx.AsyncClient(cookies=cookies) as client:
            reader = asyncio.create_task(
                read_stream(
                    client, f"{web.url}/api/jobs/{job.pk}/events", stop_after_seq=3, timeout=20
                )
            )
            publisher = redis.Redis.from_url(settings.REDIS_URL)
            try:
                await until(lambda: publisher.pubsub_numsub(job.channel)[0][1] >= 1, 10)
                publisher.publish(job.channel, b"\xff\xfe")
            finally:
                publisher.close()
            await asyncio.to_thread(
                closing_connection(services.job_report_progress), job=job, percent=50
            )
            return await reader

    result = asyncio.run(go())
    assert [e.seq for e in result.events] == [1, 2, 3]  # on the one connection: no reconnect
    assert metric(web.url, "realtime_messages_malformed_total") == 1
    assert metric(web.url, "realtime_stream_resyncs_total") == 0
    ready = httpx.get(f"{web.url}/readyz", timeout=5).json()
    assert ready["status"] == "ok" and ready["checks"]["redis"] == "ok"
