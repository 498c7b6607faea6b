"""The generic live stream: subscribe, replay from the truth, relay, end by itself."""

import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from django.conf import settings

from composer_realtime import metrics
from composer_realtime.hub import get_hub, subscription_guard
from composer_realtime.sse import Message, encode_comment, encode_retry

Replay = Callable[[int], Awaitable[list[Message]]]
"""Return the channel's messages after the given id, in order, from the database."""


def retry_ms() -> int:
    """Return a randomized reconnection delay so that clients do not come back in step."""
    base = int(settings.REALTIME_RETRY_MS)
    return base + random.randint(0, base)  # noqa: S311 - jitter, not security


async def relay(*, channel: str, cursor: int, replay: Replay) -> AsyncIterator[bytes]:
    """Yield SSE text for every message after `cursor` on `channel`, once and in order.

    Subscribes before reading the database so nothing falls between the two, skips ids
    already sent, catches up from the database on any gap or overflow, sends heartbeats,
    and ends after the final message or `REALTIME_MAX_STREAM_AGE_S`.
    """
    hub = get_hub()
    sub = await hub.subscribe(channel)
    with subscription_guard(hub, sub):
        yield encode_retry(retry_ms())
        deadline = time.monotonic() + settings.REALTIME_MAX_STREAM_AGE_S
        backlog: list[Message] = await replay(cursor)
        hub.note_cursor(channel, backlog[-1].id if backlog else cursor)
        while True:
            for message in backlog:
                if message.id <= cursor:
                    continue
                yield message.sse
                cursor = message.id
                if message.final:
                    return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            item = await sub.get(min(settings.REALTIME_HEARTBEAT_S, remaining))
            backlog = await _next_batch(item, cursor, replay)
            if item == "timeout":
                yield encode_comment("keep-alive")


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

