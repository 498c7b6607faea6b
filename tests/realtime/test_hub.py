"""The hub over real Redis: channel lifetime, overflow and outages resync from the database."""

import asyncio
import threading
import time
from typing import Any

import httpx
import pytest
import redis
import redis.asyncio as aredis
from django.db import transaction

from jobs import progress, services
from jobs.models import EventType
from realtime import envelope
from realtime.hub import Hub
from realtime.message import Message
from tests.support.metrics import metric, wait_for_streams, wait_readyz
from tests.support.sse import read_stream
from tests.support.waits import until

pytestmark = pytest.mark.django_db(transaction=True)

PARAMS = {"name": "Hub Coin", "template": "token"}


def _packed(id_: int) -> str:
    return envelope.pack(Message(id=id_, event="e", data="{}"))


def _stream_in_thread(
    url: str, cookies: dict[str, str], out: dict[str, Any], **kwargs: Any
) -> threading.Thread:
    async def go() -> None:
        async with httpx.AsyncClient(cookies=cookies) as client:
            out["result"] = await read_stream(client, url, **kwargs)

    thread = threading.Thread(target=lambda: asyncio.run(go()))
    thread.start()
    return thread


def _numsub(url: str, channel: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        return int(dict(client.pubsub_numsub(channel))[channel.encode()])
    finally:
        client.close()


def _wait_for(predicate: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.05)


def test_a_channel_is_subscribed_with_its_first_stream_and_released_with_its_last(
    start_web, owner, session_cookies, settings
):
    web = start_web()
    cookies = session_cookies(owner)
    job = services.job_create(owner=owner, params=PARAMS)
    url = f"{web.url}/api/jobs/{job.pk}/events"
    first, second = {}, {}
    threads = [
        _stream_in_thread(url, cookies, first, timeout=30),
        _stream_in_thread(url, cookies, second, timeout=30),
    ]
    _wait_for(lambda: _numsub(settings.REDIS_URL, job.channel) == 1)  # one per process

    services.job_finish_cancelled(job=job)
    for thread in threads:
        thread.join(timeout=20)

    _wait_for(lambda: _numsub(settings.REDIS_URL, job.channel) == 0)
    assert [e.seq for e in first["result"].events] == [1, 2]
    assert [e.seq for e in second["result"].events] == [1, 2]


def test_a_stream_whose_queue_overflows_catches_up_from_the_database(
    start_web, owner, session_cookies, monkeypatch, settings
):
    web = start_web(REALTIME_QUEUE_SIZE="2")
    cookies = session_cookies(owner)
    job = services.job_create(owner=owner, params=PARAMS)
    out: dict[str, Any] = {}
    thread = _stream_in_thread(f"{web.url}/api/jobs/{job.pk}/events", cookies, out, timeout=40)
    wait_for_streams(web.url, 1)

    # A burst the reader cannot keep up with, far larger than the queue: the 100 doorbells go
    # in one pipeline, so they reach the hub in one read. (Published one by one, as the
    # writer's thread does, a fast reader may take each before the next: no overflow.)
    doorbells: list[tuple[str, Message]] = []
    with monkeypatch.context() as patch:
        patch.setattr(
            progress, "publish", lambda channel, message, _: doorbells.append((channel, message))
        )
        with transaction.atomic():
            for percent in range(100):
                services.job_report_progress(job=job, percent=percent)
    with redis.Redis.from_url(settings.REDIS_URL) as client, client.pipeline(False) as burst:
        for channel, message in doorbells:
            burst.publish(channel, envelope.pack(message))
        burst.execute()
    services.job_finish_cancelled(job=job)
    thread.join(timeout=40)

    seqs = [e.seq for e in out["result"].events]
    assert seqs == list(range(1, 103))
    assert metric(web.url, "realtime_queue_overflows_total") >= 1, "the queue did overflow"
    assert metric(web.url, "realtime_stream_resyncs_total") >= 1, "and a catch-up followed"


def test_redis_stopped_mid_job_then_restarted_loses_nothing(
    start_web, owner, session_cookies, private_redis, settings
):
    private_redis.start()
    settings.REDIS_URL = private_redis.url  # this process publishes there too
    web = start_web(REDIS_URL=private_redis.url)
    cookies = session_cookies(owner)
    job = services.job_create(owner=owner, params=PARAMS)
    out: dict[str, Any] = {}
    thread = _stream_in_thread(f"{web.url}/api/jobs/{job.pk}/events", cookies, out, timeout=60)
    wait_for_streams(web.url, 1)

    services.job_report_progress(job=job, percent=10, message="before the outage")
    private_redis.kill()
    for percent in (20, 30, 40):  # published into the void; the database has them
        services.job_report_progress(job=job, percent=percent, message="during the outage")
        time.sleep(0.3)
    wait_readyz(web, "unreachable")  # the hub knows: its database doorbell delivers
    restarted_at = time.time()
    private_redis.start()
    wait_readyz(web, "ok")
    services.job_report_progress(job=job, percent=50, message="after the outage")
    services.job_finish_cancelled(job=job)
    thread.join(timeout=30)

    events = out["result"].events
    assert [e.seq for e in events] == list(range(1, 8))
    assert [e.json["percent"] for e in events if e.event == EventType.PROGRESS_UPDATE] == [
        10,
        20,
        30,
        40,
        50,
    ]
    outage = [e for e in events if e.json["message"] == "during the outage"]
    assert len(outage) == 3
    assert all(e.received < restarted_at for e in outage), (
        "while Redis is down the database doorbell delivers; nothing waits for Redis"
    )


def _in_process_hub(redis_url: str) -> Hub:
    return Hub(redis_url=redis_url, queue_size=8, poll_s=0.25, source=lambda cursors: [])


def test_a_channel_wanted_again_before_the_link_dropped_it_is_live_at_once(settings):
    # The link never unsubscribes it, so no new confirmation comes: the hub must not wait for
    # one (it used to wait 2 s and send the stream to the database for nothing).
    async def scenario() -> Message | str:
        hub = _in_process_hub(settings.REDIS_URL)
        hub.start()
        publisher = aredis.Redis.from_url(settings.REDIS_URL)
        try:
            await until(lambda: hub.state() == "redis")
            hub.unsubscribe(await hub.subscribe("test:again"))
            again = await hub.subscribe("test:again")
            assert not again.resync
            await publisher.publish("test:again", _packed(1))
            return await again.get(2.0)
        finally:
            await publisher.aclose()
            await hub.close()

    got = asyncio.run(scenario())
    assert isinstance(got, Message) and got.id == 1


def test_a_watched_channel_keeps_its_newest_id_while_the_link_holds(settings):
    async def scenario() -> None:
        hub = _in_process_hub(settings.REDIS_URL)
        hub.start()
        publisher = aredis.Redis.from_url(settings.REDIS_URL)
        try:
            await until(lambda: hub.state() == "redis")
            assert hub.head("test:watched") is None
            await hub.watch("test:watched")
            assert hub.confirmed_epoch("test:watched") is not None  # live on Redis
            assert hub.head("test:watched") == 0
            assert _numsub(settings.REDIS_URL, "test:watched") == 1

            hub.settle("test:watched", 4)  # what the database said after the watch began
            await publisher.publish("test:watched", _packed(5))
            await until(lambda: hub.head("test:watched") == 5)
            hub.settle("test:watched", 3)  # an older read never moves it back
            assert hub.head("test:watched") == 5 and not hub.subscribed("test:watched")

            hub.unwatch("test:watched")
            assert hub.head("test:watched") is None
            assert hub.confirmed_epoch("test:watched") is None
            await until(lambda: _numsub(settings.REDIS_URL, "test:watched") == 0)
        finally:
            await publisher.aclose()
            await hub.close()

    asyncio.run(scenario())


def test_a_channel_is_subscribed_from_its_first_subscription_to_its_last():
    async def scenario() -> list[bool]:
        hub = _in_process_hub("")  # no Redis: nothing to confirm
        seen = [hub.subscribed("test:count")]
        first, second = await hub.subscribe("test:count"), await hub.subscribe("test:count")
        seen.append(hub.subscribed("test:count"))
        hub.unsubscribe(first)
        hub.unsubscribe(first)  # again: a no-op
        seen.append(hub.subscribed("test:count"))
        hub.unsubscribe(second)
        return [*seen, hub.subscribed("test:count")]

    assert asyncio.run(scenario()) == [False, True, True, False]
