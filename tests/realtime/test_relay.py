"""The one relay loop (realtime/relay.py), in process, on the hub of the loop and real Redis.

The truth behind a channel is a list here: the relay takes its replay as a function, so these
tests need no database; the doorbell source reads the same list.
"""

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aredis

from realtime import envelope, metrics
from realtime.hub import get_hub
from realtime.message import Message
from realtime.relay import PING, Head, relay
from realtime.stages import Trace
from tests.support.hub import run_on_hub
from tests.support.sse import SSEEvent, parse_lines
from tests.support.waits import until

CHANNEL = "test:relay"
TRUTH: list[Message] = []


def truth_after(cursors: dict[str, int]) -> list[tuple[str, Message]]:
    """The doorbell source of these tests: what TRUTH holds past each cursor."""
    return [(CHANNEL, m) for m in TRUTH if m.id > cursors.get(CHANNEL, m.id)]


@pytest.fixture(autouse=True)
def _relay_settings(settings: Any) -> None:
    TRUTH.clear()
    settings.REALTIME_DB_DOORBELL_SOURCE = f"{__name__}.truth_after"
    settings.REALTIME_HEARTBEAT_S = 0.5
    settings.REALTIME_MAX_STREAM_AGE_S = 20


async def _replay(after: int) -> list[Message]:
    return [m for m in TRUTH if m.id > after]


def _message(id_: int, *, final: bool = False, event: str = "e") -> Message:
    return Message(id=id_, event=event, data=f'{{"n":{id_}}}', ts=time.time(), final=final)


async def _record(message: Message, redis_url: str, *, publish: bool = True) -> None:
    """Record `message` in the truth, then ring the doorbell (as a writer does after commit)."""
    TRUTH.append(message)
    if publish:
        client = aredis.Redis.from_url(redis_url)
        try:
            await client.publish(CHANNEL, envelope.pack(message))
        finally:
            await client.aclose()


async def _collect(stream: AsyncIterator[bytes], timeout: float = 10) -> bytes:
    chunks: list[bytes] = []
    async with asyncio.timeout(timeout):
        async for chunk in stream:
            chunks.append(chunk)
    return b"".join(chunks)


async def _open(cursor: int, *, gapless: bool = True) -> AsyncIterator[bytes]:
    """Open a relay as realtime/opening.py does: subscribed first (live on Redis once the link
    is up), then the truth read."""
    hub = get_hub()
    await hub.settled_state(10)
    sub = await hub.subscribe(CHANNEL)
    head = Head(subscription=sub, backlog=await _replay(cursor))
    return relay(head=head, cursor=cursor, replay=_replay, gapless=gapless)


def _events(raw: bytes) -> tuple[list[SSEEvent], list[SSEEvent], list[str]]:
    controls: list[SSEEvent] = []
    events, comments, _ = parse_lines(raw.decode().split("\n"), controls=controls)
    return events, controls, comments


def test_replay_then_live_in_order_once_and_the_final_message_ends_it(settings):
    async def scenario() -> bytes:
        TRUTH.extend([_message(1), _message(2)])
        task = asyncio.create_task(_collect(await _open(0)))
        for n in (3, 4):
            await _record(_message(n), settings.REDIS_URL)
        await _record(_message(5, final=True), settings.REDIS_URL)
        return await task

    events, controls, _ = _events(run_on_hub(scenario))
    assert [e.id for e in events] == ["1", "2", "3", "4", "5"]
    assert controls[0].event == "ready" and controls[0].json["heartbeat_s"] == 0.5


def test_an_overflowing_queue_is_caught_up_from_the_truth_with_nothing_lost(settings):
    settings.REALTIME_QUEUE_SIZE = 2

    async def scenario() -> tuple[bytes, float, float]:
        overflows, resyncs = (
            metrics.local_value("realtime_queue_overflows_total"),
            metrics.local_value("realtime_stream_resyncs_total"),
        )
        TRUTH.append(_message(1))
        stream = await _open(0)
        await anext(stream)  # ready
        head = await anext(stream)  # the replay is read and its one message sent
        client = aredis.Redis.from_url(settings.REDIS_URL)
        try:  # a burst far larger than the queue, while the reader does not read
            for n in range(2, 51):
                TRUTH.append(_message(n, final=n == 50))
                await client.publish(CHANNEL, envelope.pack(TRUTH[-1]))
        finally:
            await client.aclose()
        await until(lambda: metrics.local_value("realtime_queue_overflows_total") > overflows)
        raw = head + await _collect(stream)
        return (
            raw,
            metrics.local_value("realtime_queue_overflows_total") - overflows,
            (metrics.local_value("realtime_stream_resyncs_total") - resyncs),
        )

    raw, overflows, resyncs = run_on_hub(scenario)
    events, _, _ = _events(raw)
    assert [int(e.id) for e in events] == list(range(1, 51))
    assert overflows >= 1 and resyncs >= 1


def test_a_final_message_below_the_cursor_still_ends_the_stream(settings):
    async def scenario() -> bytes:
        task = asyncio.create_task(_collect(await _open(999)))
        await _record(_message(1), settings.REDIS_URL)
        await _record(_message(2, final=True), settings.REDIS_URL)
        return await task

    events, _, _ = _events(run_on_hub(scenario))
    assert events == []  # the client claimed to have everything: it gets nothing twice


def test_heartbeats_keep_coming_while_only_old_messages_arrive(settings):
    async def scenario() -> bytes:
        TRUTH.extend([_message(1), _message(2)])
        stream = await _open(2)
        chunks = [await anext(stream)]
        started = time.monotonic()
        client = aredis.Redis.from_url(settings.REDIS_URL)

        async def repeat_old() -> None:
            while time.monotonic() - started < 1.6:
                await client.publish(CHANNEL, envelope.pack(_message(2)))
                await asyncio.sleep(0.05)

        noise = asyncio.create_task(repeat_old())
        try:
            async with asyncio.timeout(5):
                while time.monotonic() - started < 1.6:
                    chunks.append(await anext(stream))
        finally:
            await noise
            await client.aclose()
            await stream.aclose()
        return b"".join(chunks)

    raw = run_on_hub(scenario)
    assert raw.count(PING) >= 2, raw  # heartbeat 0.5 s over 1.6 s of old messages only


def test_a_draining_hub_ends_streams_with_a_spread_retry_in_the_closing_event(settings):
    async def scenario() -> bytes:
        task = asyncio.create_task(_collect(await _open(0)))
        get_hub().drain()
        return await task

    raw = run_on_hub(scenario)
    _, controls, _ = _events(raw)
    closing = controls[-1]
    assert closing.event == "closing" and closing.json["retry_ms"] >= 1000
    assert f"retry: {closing.json['retry_ms']}\nevent: closing\n".encode() in raw


def test_a_state_channel_takes_any_newer_id_without_a_catch_up(settings):
    async def scenario() -> tuple[bytes, float]:
        resyncs = metrics.local_value("realtime_stream_resyncs_total")
        task = asyncio.create_task(_collect(await _open(0, gapless=False)))
        for n in (100, 250):
            await _record(_message(n), settings.REDIS_URL)
        await _record(_message(900, final=True), settings.REDIS_URL)
        return await task, metrics.local_value("realtime_stream_resyncs_total") - resyncs

    raw, resyncs = run_on_hub(scenario)
    events, _, _ = _events(raw)
    assert [e.id for e in events] == ["100", "250", "900"] and resyncs == 0


def test_a_live_message_from_a_writer_is_timed_stage_by_stage(settings):
    names = ("statement", "commit", "publish", "redis", "fanout", "socket")

    def counts() -> dict[str, float]:
        return {
            name: metrics.local_value("realtime_event_stage_seconds_count", {"stage": name})
            for name in names
        }

    async def scenario() -> tuple[bytes, dict[str, float]]:
        before = counts()
        streams = [asyncio.create_task(_collect(await _open(0))) for _ in range(3)]
        message = _message(1, final=True)
        TRUTH.append(message)
        trace = Trace(sent=time.time(), statement_s=0.0002, commit_s=0.001, publish_s=0.0001)
        client = aredis.Redis.from_url(settings.REDIS_URL)
        try:
            await client.publish(CHANNEL, envelope.pack(message, trace))
        finally:
            await client.aclose()
        raw = (await asyncio.gather(*streams))[0]
        await asyncio.sleep(0)  # the pass that wrote it is over: its observations are written
        return raw, {name: counts()[name] - before[name] for name in names}

    raw, grew = run_on_hub(scenario)
    assert [e.id for e in _events(raw)[0]] == ["1"]
    # The writer's stages and redis once for this process, fanout and socket once per stream.
    assert grew == {"statement": 1, "commit": 1, "publish": 1, "redis": 1, "fanout": 3, "socket": 3}
