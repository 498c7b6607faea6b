"""Liveness of a pub/sub connection: a ping every few seconds, and a deadline to hear back.

A pub/sub connection only reads. When its path goes silent (an idle flow dropped by a NAT or a
load balancer, a frozen proxy, a stopped server) nothing arrives and nothing fails: no reset,
no error, the read waits for ever, and the hub would believe a dead link live. TCP keepalive
does not see it either when something in between answers for the far end (a proxy). So each
link pings Redis on the pub/sub connection itself every `interval_s` (Redis answers PING there
too) and counts the connection dead when a ping has heard nothing back, neither its reply nor
any message, within `timeout_s`: the link then ends the connection as it does on any failure
(the hub reads the database meanwhile) and makes a new one. A new connection counts as up only
once it has answered a first ping within the same deadline.

redis-py's `health_check_interval` does not do this on an async pub/sub read loop: its PING is
sent only when a read starts, so a read that blocks never sends the next one, and nothing
bounds the wait for the reply.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import redis
from django.conf import settings


class LinkSilent(redis.ConnectionError):
    """A pub/sub connection heard nothing within the deadline after a ping."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Health:
    """How a link checks that its connection still carries bytes."""

    interval_s: float
    """Seconds between pings."""
    timeout_s: float
    """Seconds a ping may go unanswered (no reply, no message) before the link is down."""

    @classmethod
    def from_settings(cls) -> "Health":
        """Return the health check of REALTIME_REDIS_HEALTH_CHECK_S and _TIMEOUT_S."""
        return cls(
            interval_s=settings.REALTIME_REDIS_HEALTH_CHECK_S,
            timeout_s=settings.REALTIME_REDIS_HEALTH_TIMEOUT_S,
        )

    async def first_answer(
        self, ask: Callable[[], Awaitable[object]], answer: Callable[[], Awaitable[object]]
    ) -> None:
        """Run `ask()`, then `answer()`, both within `timeout_s`; raise LinkSilent after it
        (a path that accepts the connection and then says nothing)."""
        try:
            async with asyncio.timeout(self.timeout_s):
                await ask()
                await answer()
        except TimeoutError:
            raise LinkSilent(f"no answer to a first ping within {self.timeout_s:g} s") from None


class Heartbeat:
    """Ping one connection every `interval_s`; `run` raises LinkSilent once a ping has heard
    nothing back for `timeout_s`. The connection's reader calls `heard` on every reply."""

    __slots__ = ("_health", "_heard", "_ping")

    def __init__(self, health: Health, ping: Callable[[], Awaitable[object]]) -> None:
        self._health = health
        self._ping = ping
        self._heard = 0.0

    def heard(self) -> None:
        """Take note that the connection delivered a reply or a message just now."""
        self._heard = asyncio.get_running_loop().time()

    async def run(self) -> None:
        """Ping until cancelled; raise LinkSilent when the path has gone quiet."""
        loop = asyncio.get_running_loop()
        interval, timeout = self._health.interval_s, self._health.timeout_s
        waiting: float | None = None  # when the oldest ping not answered yet was sent
        next_ping = loop.time()
        while True:
            now = loop.time()
            if waiting is not None and self._heard >= waiting:
                waiting = None
            if waiting is not None and now - waiting >= timeout:
                raise LinkSilent(f"a ping went unanswered for {now - waiting:.1f} s")
            if now >= next_ping:
                waiting = now if waiting is None else waiting
                next_ping = now + interval
                await self._send_ping()
            wake = next_ping if waiting is None else min(next_ping, waiting + timeout)
            await asyncio.sleep(max(0.0, wake - loop.time()))

    async def _send_ping(self) -> None:
        # A write blocks only once the socket's buffer is full: on a path that stopped
        # taking bytes, which is what this is looking for.
        timeout = self._health.timeout_s
        try:
            async with asyncio.timeout(timeout):
                await self._ping()
        except TimeoutError:
            raise LinkSilent(f"a ping could not be sent within {timeout:g} s") from None
