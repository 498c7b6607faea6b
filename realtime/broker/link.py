"""The hub's pub/sub link: one Redis connection for the whole process.

`run()` keeps it connected: it (re)subscribes to the `wanted()` channels, hands each raw
message to `on_message`, each subscription confirmation to `on_subscribed`, and calls
`on_state` with True when connected and False whenever the link is lost, for whatever reason
(Redis gone, a reply it cannot parse, a bug in a callback, a path gone silent): the hub must
know when messages may have been missed, so the link never reconnects silently and never dies
silently. A path that goes silent without an error is found by the link's ping
(broker/liveness.py): unanswered past REALTIME_REDIS_HEALTH_TIMEOUT_S, the connection is
dropped and replaced like one that failed.
"""

import asyncio
import logging
from collections.abc import Callable, Collection

import redis
import redis.asyncio as aredis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff

from realtime import metrics
from realtime.broker.clients import TIMEOUT_S, RedisError, keepalive
from realtime.broker.liveness import Health, Heartbeat, LinkSilent
from realtime.broker.protocol import (
    BatchSpacing,
    OnMessage,
    OnState,
    OnSubscribed,
    take_confirmation,
)

logger = logging.getLogger(__name__)


_FIRST_BACKOFF_S = 0.1
_MAX_BACKOFF_S = 2.0


class PubSubLink:
    """One pub/sub connection for a whole process (see the module docstring)."""

    def __init__(
        self,
        *,
        url: str,
        wanted: Callable[[], Collection[str]],
        on_message: OnMessage,
        on_subscribed: OnSubscribed,
        on_state: OnState,
    ) -> None:
        self._url = url
        self._wanted = wanted
        self._on_message = on_message
        self._on_subscribed = on_subscribed
        self._on_state = on_state
        self._changed = asyncio.Event()
        self._touched: set[str] | None = None
        """The channels whose wanting changed since the writer last looked; None: any may
        have (a new session), and the writer compares the whole sets."""
        self._subscribed: set[str] = set()
        self._live: set[str] = set()
        self._pending: dict[str, int] = {}  # SUBSCRIBEs sent and not yet confirmed
        self._health = Health.from_settings()
        self._up = False  # this session came up (a failure to connect again is no news)

    def reconcile(self, channel: str | None = None) -> None:
        """Ask the link to bring its subscriptions in line with `wanted()`: for `channel`,
        the one whose wanting changed, or for every channel (None).

        Told which channel changed, the writer looks at the channels changed since it last
        ran, not at every channel: in an open storm each batch of SUBSCRIBEs would otherwise
        compare sets of every wanted channel (a tenth of the CPU of an open, bench
        `--profile`)."""
        if channel is None:
            self._touched = None
        elif self._touched is not None:
            self._touched.add(channel)
        self._changed.set()

    def is_live(self, channel: str) -> bool:
        """Return True when `channel` is subscribed, confirmed, and not being dropped.

        A channel dropped and wanted again before the writer ran is never unsubscribed, so no
        new confirmation comes for it: who wants it again must ask this.
        """
        return channel in self._live

    async def run(self) -> None:
        """Stay connected until cancelled, backing off while Redis is unreachable."""
        delay = _FIRST_BACKOFF_S
        while True:
            try:
                await self._session()
            except (RedisError, OSError) as exc:
                self._count_down("health_check" if isinstance(exc, LinkSilent) else "connection")
                logger.warning("redis pub/sub link lost: %s", exc)
            except Exception:  # a bug must cost a resync, never live delivery for good
                metrics.LINK_FAILURES.inc()
                logger.exception("redis pub/sub link failed; restarting it")
            if self._up:
                delay = _FIRST_BACKOFF_S
            self._up = False
            self._subscribed.clear()
            self._live.clear()
            self._pending.clear()
            await self._on_state(False)
            await asyncio.sleep(delay)
            delay = min(delay * 2, _MAX_BACKOFF_S)

    def _count_down(self, reason: str) -> None:
        if self._up:  # one outage counts once, however many connects fail during it
            metrics.REDIS_LINK_LOSSES.labels(link="single", reason=reason).inc()

    async def _session(self) -> None:
        # RESP2: every pub/sub reply is a plain array read in order. RESP3 hands each message
        # to redis-py's push handler, which formats the whole message for a debug log line
        # whether or not it is logged: a third of what the hub spent on one message.
        client = aredis.Redis.from_url(
            self._url,
            protocol=2,
            socket_connect_timeout=TIMEOUT_S,
            retry=AsyncRetry(NoBackoff(), 0),
            **keepalive(self._url),
        )
        pubsub = client.pubsub()
        beat = Heartbeat(self._health, pubsub.ping)
        try:
            # Connects and hears back, or raises: Redis down, or a path that accepts the
            # connection and says nothing.
            await self._health.first_answer(pubsub.ping, pubsub.parse_response)
            self._up = True
            self.reconcile()  # a new connection: every wanted channel, from nothing
            await self._on_state(True)
            async with asyncio.TaskGroup() as group:
                group.create_task(self._write(pubsub))
                group.create_task(self._read(pubsub, beat))
                group.create_task(beat.run())
        except* Exception as failure:
            raise failure.exceptions[0] from None  # the group only wraps the first failure
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
            await client.aclose()

    async def _write(self, pubsub: aredis.client.PubSub) -> None:
        """Send SUBSCRIBE/UNSUBSCRIBE whenever the wanted channels change, in batches (at
        most one per BATCH_GAP_S)."""
        spacing = BatchSpacing()
        while True:
            await self._changed.wait()
            await spacing.wait()
            self._changed.clear()
            touched, self._touched = self._touched, set()
            wanted = self._wanted()
            if touched is None:
                every = set(wanted)
                add, drop = every - self._subscribed, self._subscribed - every
            else:
                subscribed = self._subscribed
                add = {c for c in touched if c in wanted and c not in subscribed}
                drop = {c for c in touched if c not in wanted and c in subscribed}
            self._subscribed |= add
            self._subscribed -= drop
            self._live -= drop
            for channel in add:
                self._pending[channel] = self._pending.get(channel, 0) + 1
            if add:
                await pubsub.subscribe(*add)
            if drop:
                await pubsub.unsubscribe(*drop)
            if add or drop:
                spacing.sent()

    async def _read(self, pubsub: aredis.client.PubSub, beat: Heartbeat) -> None:
        """Hand every message on; a read error ends the session (no silent reconnect)."""
        connection = pubsub.connection
        assert connection is not None
        while True:
            if not connection.is_connected:
                raise redis.ConnectionError("pub/sub connection closed")
            response = await pubsub.parse_response(block=True)
            beat.heard()
            kind, channel, data = _unpack(response)
            if kind == b"message":
                self._on_message(channel, data)
            elif kind == b"subscribe":
                self._confirm(channel)

    def _confirm(self, channel: str) -> None:
        if take_confirmation(
            channel, pending=self._pending, subscribed=self._subscribed, live=self._live
        ):
            self._on_subscribed(channel)


def _unpack(response: object) -> tuple[bytes, str, bytes]:
    """Return (kind, channel, data) of a raw pub/sub reply; other replies give kind b''.

    The data stays bytes: whoever reads it must expect anything a client may have published.
    """
    if isinstance(response, list) and len(response) == 3 and isinstance(response[0], bytes):
        kind, channel, data = response
        name = channel.decode(errors="replace") if isinstance(channel, bytes) else str(channel)
        return kind, name, data if isinstance(data, bytes) else str(data).encode()
    return b"", "", b""
