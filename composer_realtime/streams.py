"""The generic live stream: subscribe, replay from the truth, relay, end by itself.

Besides the channel's messages, a stream carries two control events, both without an `id:`
line so that they never move the browser's Last-Event-ID:

- `event: ready`, right after the `retry:` field, data `{"heartbeat_s": <float>}`: proves that
  bytes get through (a buffering proxy holds it back) and tells the client how long silence
  may last before the stream counts as stalled.
- `event: ping`, data `{}`, after `REALTIME_HEARTBEAT_S` without a message: the heartbeat.
  It carries a comment line too (`: keep-alive`), but EventSource hides comments from pages,
  so only a named event lets the client notice that heartbeats stopped.
"""

import json
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from django.conf import settings

from composer_realtime import metrics
from composer_realtime.hub import Subscription, get_hub, subscription_guard
from composer_realtime.sse import Message, encode_event, encode_retry

PING = b": keep-alive\n" + encode_event(event="ping", data="{}")
"""The heartbeat: a comment for proxies and logs, a named event for the page's client."""

Replay = Callable[[int], Awaitable[list[Message]]]
"""Return the channel's messages after the given id, in order, from the database."""


def retry_ms() -> int:
    """Return a randomized reconnection delay so that clients do not come back in step."""
    base = int(settings.REALTIME_RETRY_MS)
    return base + random.randint(0, base)  # noqa: S311 - jitter, not security


def drain_retry_ms() -> int:
    """Return a reconnection delay spread over REALTIME_DRAIN_SPREAD_S, for a shutdown."""
    spread_ms = int(settings.REALTIME_DRAIN_SPREAD_S * 1000)
    return int(settings.REALTIME_RETRY_MS) // 2 + random.randint(0, spread_ms)  # noqa: S311


def ready_event() -> bytes:
    """Return the `ready` control event that opens every stream."""
    return encode_event(event="ready",
                        data=json.dumps({"heartbeat_s": settings.REALTIME_HEARTBEAT_S}))


@dataclass(frozen=True, slots=True)
class Head:
    """The start of a stream made by its caller: a subscription taken first, then what the
    database held after the cursor (read after subscribing, so nothing falls between)."""

    subscription: Subscription
    backlog: list[Message]


async def relay(*, channel: str, cursor: int, replay: Replay,
                head: Head | None = None) -> AsyncIterator[bytes]:
    """Yield SSE text for every message after `cursor` on `channel`, once and in order.

    Subscribes before reading the database so nothing falls between the two (or takes both
    from `head`, for a caller that reads the database once for its own checks and the
    replay), skips ids already sent, catches up from the database on any gap or overflow,
    sends the `ready` event and heartbeats (see the module docstring), and ends after the
    final message or `REALTIME_MAX_STREAM_AGE_S`.
    """
    hub = get_hub()
    sub = head.subscription if head is not None else await hub.subscribe(channel)
    backlog = head.backlog if head is not None else None
    head = None  # this frame lives as long as the stream: keep no replay in it once sent
    with subscription_guard(hub, sub):
        yield encode_retry(retry_ms()) + ready_event()
        deadline = time.monotonic() + settings.REALTIME_MAX_STREAM_AGE_S
        if backlog is None:
            backlog = await replay(cursor)
        hub.note_cursor(channel, backlog[-1].id if backlog else cursor)
        while True:
            for message in backlog:
                if message.id <= cursor:
                    continue
                yield message.sse
                cursor = message.id
                if message.final:
                    return
            backlog = []  # sent: not held while the stream waits
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            item = await sub.get(min(settings.REALTIME_HEARTBEAT_S, remaining))
            if item == "closing":  # shutting down: come back later, spread out
                yield encode_retry(drain_retry_ms())
                return
            backlog = await _next_batch(item, cursor, replay)
            if item == "timeout":
                yield PING


async def _next_batch(item: Message | str, cursor: int, replay: Replay) -> list[Message]:
    """Return what to send for a queue item: itself, nothing, or a catch-up from the DB."""
    if isinstance(item, Message):
        if item.id <= cursor:
            return []
        if item.id == cursor + 1:
            metrics.DELIVERY_DELAY.observe(max(0.0, time.time() - item.ts))
            return [item]
    if item == "timeout":
        return []
    metrics.STREAM_RESYNCS.inc()
    return await replay(cursor)

