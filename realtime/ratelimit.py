"""Rate limits per key: a sliding-window counter, shared across processes through Redis.

The estimate is the classic sliding window counter: the hits of the current fixed window plus
the previous window's hits weighted by how much of that window still lies within the last
`window_s` seconds. Two integers per key, one Redis round trip per hit.

When Redis is not configured, or fails, each process counts on its own: a generous limit stays
roughly right, and an outage must never turn every request into an error. After a failure,
Redis is left alone for a few seconds so a dead server does not cost a timeout per request.
"""

import logging
import math
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from realtime.broker import clients

logger = logging.getLogger(__name__)

_PREFIX = "composer:rl:"
_REDIS_COOLDOWN_S = 5.0


@dataclass(frozen=True, kw_only=True, slots=True)
class Verdict:
    """Whether one request may pass."""

    allowed: bool
    """True when the request is within the limit."""
    retry_after_s: int = 0
    """When refused: whole seconds until a new request would pass (at least 1)."""


ALLOWED = Verdict(allowed=True)


class LocalCounter:
    """In-process window counters with expiry, the stand-in for Redis."""

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()
        self._next_prune = 0.0

    def window_hit(self, *, current: str, previous: str, ttl_s: int) -> tuple[int, int]:
        """Count one hit in `current`; return (hits in `current`, hits in `previous`)."""
        now = time.monotonic()
        with self._lock:
            self._prune(now)
            hits = self._live(current, now) + 1
            self._counts[current] = (hits, now + ttl_s)
            return hits, self._live(previous, now)

    def clear(self) -> None:
        """Forget every count."""
        with self._lock:
            self._counts.clear()

    def _live(self, name: str, now: float) -> int:
        hits, expires = self._counts.get(name, (0, now))
        return hits if expires > now else 0

    def _prune(self, now: float) -> None:
        # Amortised: one sweep per second keeps memory bounded by the active keys.
        if now < self._next_prune:
            return
        self._next_prune = now + 1.0
        for name in [n for n, (_, expires) in self._counts.items() if expires <= now]:
            del self._counts[name]


local_counter = LocalCounter()
_redis_retry_at = 0.0


def hit(*, scope: str, key: str, limit: int, window_s: int = 60) -> Verdict:
    """Count one request of `key` in `scope`; refuse it beyond `limit` per `window_s` seconds.

    A `limit` of 0 or less means no limit (and nothing is counted).
    """
    if limit <= 0:
        return ALLOWED
    current, previous, fraction = _window(scope, key, window_s)
    hits, before = _count(current, previous, window_s * 2)
    return verdict(current=hits, previous=before, fraction=fraction, limit=limit, window_s=window_s)


async def ahit(*, scope: str, key: str, limit: int, window_s: int = 60) -> Verdict:
    """`hit` for the event loop: the same counters, read through the loop's Redis client."""
    if limit <= 0:
        return ALLOWED
    current, previous, fraction = _window(scope, key, window_s)
    hits, before = await _acount(current, previous, window_s * 2)
    return verdict(current=hits, previous=before, fraction=fraction, limit=limit, window_s=window_s)


def _window(scope: str, key: str, window_s: int) -> tuple[str, str, float]:
    """Return the counter names of the current and previous windows, and how much of the
    current one has passed."""
    index, into = divmod(time.time(), window_s)
    # The key in braces is a hash tag: both windows of a key share a Redis Cluster slot, so the
    # MULTI that counts a hit (one slot per transaction) works there too.
    name = f"{namespace()}{scope}:{{{key}}}:"
    return f"{name}{int(index)}", f"{name}{int(index) - 1}", into / window_s


def namespace() -> str:
    """Return the prefix of every counter, one per database.

    Keys such as user ids only mean something within one database, and one Redis may serve
    several (staging and production, parallel test runs).
    """
    return f"{_PREFIX}{settings.DATABASES['default']['NAME']}:"


def verdict(*, current: int, previous: int, fraction: float, limit: int, window_s: int) -> Verdict:
    """Return the verdict for the counts, `fraction` of the current window having passed."""
    if previous * (1 - fraction) + current <= limit:
        return ALLOWED
    # Wait until the estimate leaves room for one more hit, assuming no other hits come.
    room = limit - 1
    if current <= room:  # refused, so previous > 0: wait for its weight to fade enough
        seconds = (1 - (room - current) / previous - fraction) * window_s
    else:  # wait for the next window, then for this one's weight (as the previous) to fade
        seconds = (2 - fraction - room / current) * window_s
    return Verdict(allowed=False, retry_after_s=max(1, math.ceil(seconds)))


def _count(current: str, previous: str, ttl_s: int) -> tuple[int, int]:
    """Count the hit in Redis when it is usable, else in this process."""
    if _redis_usable():
        try:
            return clients.window_hit(current=current, previous=previous, ttl_s=ttl_s)
        except clients.FAILURES as exc:
            _redis_failed(exc)
    return local_counter.window_hit(current=current, previous=previous, ttl_s=ttl_s)


async def _acount(current: str, previous: str, ttl_s: int) -> tuple[int, int]:
    """`_count` on the event loop."""
    if _redis_usable():
        try:
            return await clients.awindow_hit(current=current, previous=previous, ttl_s=ttl_s)
        except clients.FAILURES as exc:
            _redis_failed(exc)
    return local_counter.window_hit(current=current, previous=previous, ttl_s=ttl_s)


def _redis_usable() -> bool:
    return clients.configured() and time.monotonic() >= _redis_retry_at


def _redis_failed(exc: Exception) -> None:
    global _redis_retry_at
    _redis_retry_at = time.monotonic() + _REDIS_COOLDOWN_S
    logger.warning(
        "rate limits counted in-process for %.0f s, Redis failed: %s", _REDIS_COOLDOWN_S, exc
    )


@receiver(setting_changed)
def _reset_on_setting_change(*, setting: str, **kwargs: object) -> None:
    global _redis_retry_at
    if setting == "REDIS_URL":
        _redis_retry_at = 0.0
