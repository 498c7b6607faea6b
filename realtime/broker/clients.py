"""Redis clients, built lazily from settings and dropped when `REDIS_URL` changes.

One synchronous client per process (publishing, rate limits from sync views) and one asyncio
client per event loop (rate limits on the loop). Both fail fast: a dead Redis must cost a
request at most one short timeout, never a retry storm.
"""

import asyncio
import weakref
from typing import Any

import redis
import redis.asyncio as aredis
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry as SyncRetry

RedisError = redis.RedisError
TIMEOUT_S = 2.0
"""Connect and read timeout of every client (and of the pub/sub link's connect)."""

_sync_client: redis.Redis | None = None
_async_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aredis.Redis]" = (
    weakref.WeakKeyDictionary())


def configured() -> bool:
    """Return True when a Redis URL is configured."""
    return bool(settings.REDIS_URL)


def sync_client() -> redis.Redis:
    """Return the process-wide synchronous client."""
    global _sync_client
    if _sync_client is None:
        _sync_client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S,
            retry=SyncRetry(NoBackoff(), 1))
    return _sync_client


def async_client() -> aredis.Redis:
    """Return the running loop's client (an asyncio client belongs to one loop)."""
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        client = _async_clients[loop] = aredis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S,
            retry=AsyncRetry(NoBackoff(), 1))
    return client


def publish_batch(batch: list[tuple[str, str]]) -> None:
    """Publish each (channel, payload) in order, in one round trip; raise RedisError."""
    if len(batch) == 1:
        sync_client().publish(*batch[0])
        return
    pipe = sync_client().pipeline(transaction=False)
    for channel, payload in batch:
        pipe.publish(channel, payload)
    pipe.execute()


def ping() -> bool:
    """Return True when Redis answers a PING."""
    try:
        return bool(sync_client().ping())
    except RedisError:
        return False


def window_hit(*, current: str, previous: str, ttl_s: int) -> tuple[int, int]:
    """Count one hit in window `current`; return (hits in `current`, hits in `previous`).

    One round trip (INCR, EXPIRE, GET in a MULTI); raises RedisError when Redis cannot be
    reached, so the caller can fall back to counting in-process.
    """
    pipe = sync_client().pipeline(transaction=True)
    return _window_counts(_queue_window_hit(pipe, current, previous, ttl_s).execute())


async def awindow_hit(*, current: str, previous: str, ttl_s: int) -> tuple[int, int]:
    """`window_hit` through the running loop's client."""
    async with async_client().pipeline(transaction=True) as pipe:
        return _window_counts(await _queue_window_hit(pipe, current, previous,
                                                      ttl_s).execute())


def _queue_window_hit(pipe: Any, current: str, previous: str, ttl_s: int) -> Any:
    """Queue INCR, EXPIRE and GET of one hit on a (sync or asyncio) pipeline; return it."""
    return pipe.incr(current).expire(current, ttl_s).get(previous)


def _window_counts(replies: list[Any]) -> tuple[int, int]:
    hits, _, before = replies
    return int(hits), int(before or 0)


@receiver(setting_changed)
def _reset_on_setting_change(*, setting: str, **kwargs: object) -> None:
    global _sync_client
    if setting == "REDIS_URL":
        _sync_client = None
        _async_clients.clear()
