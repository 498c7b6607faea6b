"""The one live-stream loop: replay from the truth, relay the live messages, end by itself.

Both the job stream and the dashboard stream are this loop, opened by realtime/opening.py.
Besides the channel's messages, a stream carries control events:

- `event: ready` opens every stream, with the `retry:` field in its block and data
  `{"heartbeat_s": <float>}`: proves that bytes get through (a buffering proxy holds it back)
  and tells the client how long silence may last before the stream counts as stalled. Its
  `id:` is the stream's cursor, the id after which it sends (0 on a stream with none), so that
  a client that keeps the last id it saw (EventSource's lastEventId, httpx-sse's `sse.id`) and
  drops right after `ready` resumes from where it asked, not from the start. An `id: 0` is a
  cursor like any other: EventSource sends `Last-Event-ID: 0` back, which means "from the
  start", as no header does (an empty `id:` would reset it instead).
- `event: ping`, data `{}`, whenever nothing was written for `REALTIME_HEARTBEAT_S`: the
  heartbeat. It carries a comment line too (`: keep-alive`), but EventSource hides comments
  from pages, so only a named event lets the client notice that heartbeats stopped. It has
  no `id:`, nor has `closing`: they never move the client's cursor.
- `event: closing` when the process shuts down, with a `retry:` spread over
  `REALTIME_DRAIN_SPREAD_S` in its block and data `{"retry_ms": <int>}`: come back later.
"""

import json
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from django.conf import settings

from realtime import metrics, stages
from realtime.hub import get_hub
from realtime.message import Message
from realtime.sse import encode_event
from realtime.subscription import Subscription

PING = b": keep-alive\n" + encode_event(event="ping", data="{}")
"""The heartbeat: a comment for proxies and logs, a named event for the page's client."""

Replay = Callable[[int], Awaitable[list[Message]]]
"""Return the channel's messages after the given id, in order, from the truth."""


def retry_ms() -> int:
    """Return a randomized reconnection delay so that clients do not come back in step."""
    base = int(settings.REALTIME_RETRY_MS)
    return base + random.randint(0, base)  # noqa: S311 - jitter, not security


def drain_retry_ms() -> int:
    """Return a reconnection delay spread over REALTIME_DRAIN_SPREAD_S, for a shutdown."""
    spread_ms = int(settings.REALTIME_DRAIN_SPREAD_S * 1000)
    return int(settings.REALTIME_RETRY_MS) // 2 + random.randint(0, spread_ms)  # noqa: S311


def ready_event(cursor: int) -> bytes:
    """Return the `ready` control event that opens every stream, `retry:` in its block and
    the stream's `cursor` as its id."""
    return encode_event(
        event="ready",
        id=str(cursor),
        retry_ms=retry_ms(),
        data=json.dumps({"heartbeat_s": settings.REALTIME_HEARTBEAT_S}),
    )


def closing_event() -> bytes:
    """Return the `closing` control event that ends every stream of a draining process."""
    delay = drain_retry_ms()
    return encode_event(event="closing", retry_ms=delay, data=json.dumps({"retry_ms": delay}))


@dataclass(frozen=True, slots=True)
class Head:
    """The start of a stream: a subscription taken first, then what the truth held after the
    cursor (read after subscribing, so that nothing falls between the two)."""

    subscription: Subscription
    backlog: list[Message]


async def relay(
    *, head: Head, cursor: int, replay: Replay, gapless: bool = True
) -> AsyncIterator[bytes]:
    """Yield SSE text for every message after `cursor` on the head's channel, once and in
    order, then unsubscribe.

    Sends the head's backlog, then what the subscription brings, skipping ids already sent;
    catches up through `replay` on an overflow or, on a `gapless` channel (ids 1, 2, 3 …), on
    any gap; a channel that is not gapless carries whole states, where a newer id simply
    replaces what came before. Sends the control events (see the module docstring) and ends
    after the final message or `REALTIME_MAX_STREAM_AGE_S`.
    """
    hub = get_hub()
    sub, backlog = head.subscription, head.backlog
    channel = sub.channel
    del head  # this frame lives as long as the stream: keep no replay in it once sent
    # try/finally rather than a context manager: its generator and frame would be held per
    # open stream. The subscription goes back however the stream ends (finished, client
    # gone, cancelled).
    try:
        metrics.STREAMS_OPENED.inc()
        yield ready_event(cursor)
        wrote = time.monotonic()
        deadline = wrote + settings.REALTIME_MAX_STREAM_AGE_S
        hub.note_cursor(channel, backlog[-1].id if backlog else cursor)
        message: Message | None = None
        while True:
            for message in backlog:
                if message.id > cursor:
                    yield message.sse
                    cursor, wrote = message.id, time.monotonic()
                if message.final:  # at or below the cursor too: the channel has ended
                    return
            backlog, message = [], None  # sent: neither is held while the stream waits
            now = time.monotonic()
            if now >= deadline:
                return
            quiet_left = wrote + settings.REALTIME_HEARTBEAT_S - now
            if quiet_left <= 0:
                yield PING
                wrote = now
                continue
            item = await sub.get(min(quiet_left, deadline - now))
            if gapless and isinstance(item, Message) and item.id == cursor + 1:
                # The live path, most of a fan-out: the next message, sent as it comes.
                now = time.monotonic()  # (no local of its own: this frame is held per stream)
                yield item.sse
                cursor, wrote = item.id, time.monotonic()
                stages.observe_written(item, took=now, wrote=wrote)
                if item.final:
                    return
                del item  # not held through the next wait
                continue
            if item == "closing":  # shutting down: come back later, spread out
                yield closing_event()
                return
            backlog = await _next_batch(item, cursor, replay, gapless)
            del item  # in `backlog` if it is to be sent; not held through the next wait
    finally:
        hub.unsubscribe(sub)


async def _next_batch(
    item: Message | str, cursor: int, replay: Replay, gapless: bool
) -> list[Message]:
    """Return what to send for a queue item other than the next live message: itself,
    nothing, or a catch-up from the truth."""
    if isinstance(item, Message):
        if item.id <= cursor:
            return [item] if item.final else []
        if not gapless:
            return [item]
    if item == "timeout":
        return []
    metrics.STREAM_RESYNCS.inc()
    return await replay(cursor)
