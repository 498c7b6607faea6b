"""The per-process hub: one doorbell for the whole process, fanned out to local readers.

Streams subscribe to a channel and read `Message`s from their `Subscription`
(realtime/subscription.py). The hub learns of new messages from Redis pub/sub when
`REDIS_URL` is set, and by polling the database (once per interval for the whole process,
through `REALTIME_DB_DOORBELL_SOURCE`) when it is not, or while Redis is unreachable. A
subscription that may have missed something (its queue overflowed, the link dropped) is
marked `resync`: its reader must catch up from the database, the truth.

A channel can also be *watched* without a subscription: the hub then keeps the newest id it has
seen on it, and counts the link's losses (its epoch), so that a caller who read the database
after the watch was confirmed knows, for as long as the epoch holds, the channel's newest id
without reading again (the status endpoint's 304s, jobs/poll_shortcut.py).

The hub's background tasks (the link, the database doorbell) are supervised: one that fails is
logged, counted and started again, and a link that fails counts as a lost link.
"""

import asyncio
import logging
import time
from collections import ChainMap
from collections.abc import Awaitable, Callable, Collection, KeysView
from contextlib import suppress
from typing import Any, Literal

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from realtime import envelope, metrics, stages
from realtime.broker.links import open_link
from realtime.broker.protocol import Link
from realtime.doorbell import DatabaseDoorbell, DoorbellSource
from realtime.flag import Flag
from realtime.message import Message
from realtime.per_loop import PerLoop
from realtime.subscription import Subscription

logger = logging.getLogger(__name__)

HubState = Literal["redis", "database", "redis lost"]
CONFIRM_TIMEOUT_S = 2.0
"""How long a new listener waits for Redis to confirm its channel before it reads the
database anyway (its replay then covers the unconfirmed window)."""
_RESTART_DELAY_S = 1.0


class Hub:
    """Fan-out from one doorbell to every local subscription; one per process and loop."""

    def __init__(
        self, *, redis_url: str, queue_size: int, poll_s: float, source: DoorbellSource
    ) -> None:
        self._queue_size = queue_size
        self._poll_s = poll_s
        self._source = source
        self._channels: dict[str, set[Subscription]] = {}
        self._cursors: dict[str, int] = {}
        self._confirmed: dict[str, Flag] = {}
        self._watched: dict[str, int] = {}
        self._epoch = 0
        self._redis_up = False
        self._link_up = asyncio.Event()
        self._catch_up = False
        self._tasks: list[asyncio.Task[None]] = []
        self._draining = False
        self._doorbell = DatabaseDoorbell(source=source, poll_s=poll_s)
        # Channels of a lost Redis Cluster shard: read from the database until confirmed again,
        # and then (as recovered) once more.
        self._lost: set[str] = set()
        self._recovered: set[str] = set()
        self._link: Link | None = None
        if redis_url:
            self._link = open_link(
                url=redis_url,
                wanted=self._wanted,
                on_message=self._on_redis_message,
                on_subscribed=self._on_subscribed,
                on_state=self._on_redis_state,
                on_lost=self._on_redis_lost,
            )
            metrics.link_down(down=True)  # until it connects

    def start(self) -> None:
        """Start the background tasks, supervised, on the running loop."""
        self._tasks.append(
            asyncio.create_task(
                _supervised("database doorbell", lambda: self._doorbell.run(self)), name="hub-db"
            )
        )
        if self._link is not None:
            self._tasks.append(
                asyncio.create_task(_supervised("redis link", self._run_link), name="hub-redis")
            )

    async def close(self) -> None:
        """Stop the background tasks (tests and shutdown)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._doorbell.close()
        if self._link is not None and not self._redis_up:
            metrics.link_down(down=False)  # this hub is gone, its link with it

    async def _run_link(self) -> None:
        assert self._link is not None
        try:
            await self._link.run()
        finally:  # it died (a bug below it): what it delivered may have gaps
            await self._on_redis_state(False)

    async def settled_state(self, wait_s: float) -> HubState:
        """Return `state()`, first waiting up to `wait_s` for a Redis link still coming up
        (a hub started a moment ago has not connected yet)."""
        if self._link is not None and not self._redis_up:
            with suppress(TimeoutError):
                async with asyncio.timeout(wait_s):
                    await self._link_up.wait()
        return self.state()

    def state(self) -> HubState:
        """Return where the hub learns of new messages: Redis, or the database (no Redis
        configured, or the link lost)."""
        if self._link is None:
            return "database"
        return "redis" if self._redis_up else "redis lost"

    async def subscribe(self, channel: str) -> Subscription:
        """Return a new subscription, live on the doorbell before this returns."""
        sub = Subscription(channel, self._queue_size)
        subs = self._channels.get(channel)
        if subs is None:
            subs = self._channels[channel] = set()
            if self._take(channel) and self._link is not None:
                self._link.reconcile(channel)
        subs.add(sub)
        metrics.STREAMS_OPEN.inc()
        if self._draining:
            sub.mark_closing()
        confirmed = self._confirmed[channel]
        if self._link is not None and self._redis_up and not confirmed.is_set():
            try:
                async with asyncio.timeout(CONFIRM_TIMEOUT_S):
                    await confirmed.wait()
            except TimeoutError:
                sub.resync = True  # the reader's replay covers the unconfirmed window
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Drop a subscription (again is a no-op); the channel is released with its last
        local subscriber."""
        subs = self._channels.get(sub.channel)
        if subs is None or sub not in subs:
            return
        metrics.STREAMS_OPEN.dec()
        subs.discard(sub)
        if not subs:
            del self._channels[sub.channel]
            self._cursors.pop(sub.channel, None)
            self._release(sub.channel)

    async def watch(self, channel: str) -> None:
        """Watch `channel`; return once its subscription is confirmed (or after
        CONFIRM_TIMEOUT_S, or at once while Redis is down: `confirmed_epoch` tells which)."""
        if channel not in self._watched:
            self._watched[channel] = 0
            if self._take(channel) and self._link is not None:
                self._link.reconcile(channel)
        confirmed = self._confirmed[channel]
        if self._link is not None and self._redis_up and not confirmed.is_set():
            with suppress(TimeoutError):
                async with asyncio.timeout(CONFIRM_TIMEOUT_S):
                    await confirmed.wait()

    def unwatch(self, channel: str) -> None:
        """Stop watching `channel` (again is a no-op)."""
        if self._watched.pop(channel, None) is not None and channel not in self._channels:
            self._release(channel)

    def confirmed_epoch(self, channel: str) -> int | None:
        """Return the link's epoch when `channel` is watched and live on Redis, else None.

        While the epoch returned stays `epoch`, every message published on the channel since
        this call reaches `head`.
        """
        confirmed = self._confirmed.get(channel)
        if (
            channel not in self._watched
            or confirmed is None
            or not confirmed.is_set()
            or not self._redis_up
        ):
            return None
        return self._epoch

    def head(self, channel: str) -> int | None:
        """Return the newest id seen on a watched channel (see `settle`), None if unwatched."""
        return self._watched.get(channel)

    def settle(self, channel: str, seen: int) -> None:
        """Record that the channel's newest id is at least `seen` (read from the database)."""
        if channel in self._watched and seen > self._watched[channel]:
            self._watched[channel] = seen

    def _wanted(self) -> KeysView[str]:
        """The channels a stream or a watcher of this process wants: a view, not a copy (the
        link asks it of a few channels at a time)."""
        return ChainMap[str, Any](self._channels, self._watched).keys()

    def _take(self, channel: str) -> bool:
        """Make `channel` wanted; return True when it was not already."""
        if channel in self._confirmed:
            return False
        confirmed = self._confirmed[channel] = Flag()
        if self._link is not None and self._redis_up and self._link.is_live(channel):
            confirmed.set()  # released and wanted again before the link dropped it
        return True

    def _release(self, channel: str) -> None:
        """Let the link drop `channel` once nothing wants it any more."""
        if channel in self._channels or channel in self._watched:
            return
        self._confirmed.pop(channel, None)
        self._lost.discard(channel)
        self._recovered.discard(channel)
        if self._link is not None:
            self._link.reconcile(channel)

    def drain(self) -> None:
        """Ask every stream of this process, and any that opens from now on, to end."""
        self._draining = True
        for subs in self._channels.values():
            for sub in subs:
                sub.mark_closing()

    def subscribed(self, channel: str) -> bool:
        """Return True while a stream of this process is subscribed to `channel`."""
        return channel in self._channels

    def publish_local(self, channel: str, message: Message) -> None:
        """Hand `message` to this process's subscribers of `channel` only (no doorbell).

        For messages made in this process for its own streams (dashboard snapshots): they
        bypass `_deliver` so the event counters keep measuring the doorbell's traffic.
        """
        for sub in self._channels.get(channel, ()):
            sub.put(message)

    def note_cursor(self, channel: str, seen: int) -> None:
        """Record that a reader has everything up to `seen` (from the database)."""
        if channel in self._channels:
            known = self._cursors.get(channel)
            self._cursors[channel] = seen if known is None else min(known, seen)

    def _deliver(self, channel: str, message: Message) -> None:
        seen = self._watched.get(channel)
        if seen is not None and message.id > seen:
            self._watched[channel] = message.id
        subs = self._channels.get(channel)
        if not subs:
            return
        if message.id > self._cursors.get(channel, 0):
            self._cursors[channel] = message.id
        for sub in subs:
            sub.put(message)
        metrics.EVENTS_DELIVERED.inc(len(subs))

    async def due_cursors(self) -> dict[str, int]:
        """Return the cursors of the channels the database doorbell must read now ({} when
        none): every subscribed channel without Redis, or after the link was lost or regained;
        with Redis up, only a lost cluster shard's channels (the others are live: reading
        them too would only repeat what Redis brings)."""
        if self._redis_up and not (self._catch_up or self._lost or self._recovered):
            return {}
        if self._catch_up and self._redis_up and not self._lost:
            # Wait for the subscriptions to be confirmed before the last read.
            await self._await_confirmations()
        only = None if self._catch_up or not self._redis_up else self._lost | self._recovered
        self._catch_up = False
        self._recovered = set()
        if only is None:
            return dict(self._cursors)
        return {channel: self._cursors[channel] for channel in only if channel in self._cursors}

    def read_failed(self) -> None:
        """Take note that a due read failed: the next interval reads everything again."""
        self._catch_up = True

    def deliver_if_new(self, channel: str, message: Message) -> None:
        """Hand on a message the database doorbell found, unless the hub had it already."""
        if message.id > self._cursors.get(channel, 0):
            self._deliver(channel, message)

    def _on_redis_message(self, channel: str, payload: bytes) -> None:
        try:
            message, trace = envelope.unpack_traced(payload, received=time.monotonic())
        except envelope.MalformedEnvelope:
            metrics.MESSAGES_MALFORMED.inc()
            logger.error("dropping a malformed message on %s: %r", channel, payload[:200])
            return
        if trace is not None:
            stages.observe_arrival(trace, now=time.time())
        self._deliver(channel, message)

    def _on_subscribed(self, channel: str) -> None:
        confirmed = self._confirmed.get(channel)
        if confirmed is not None:
            confirmed.set()
        if channel in self._lost:
            self._lost.discard(channel)
            self._recovered.add(channel)  # for what was committed before SSUBSCRIBE took hold

    def _on_redis_lost(self, channels: Collection[str]) -> None:
        """Take the news that `channels` lost their live link (a Redis Cluster shard went
        away; the others are still live): read the database for them until confirmed again.
        """
        self._epoch += 1  # what `head` knows of them may miss messages from now on
        logger.warning(
            "redis link lost for %d channel(s) (%s…): reading them from the database",
            len(channels),
            next(iter(channels), ""),
        )
        for channel in channels:
            confirmed = self._confirmed.get(channel)
            if confirmed is not None:
                confirmed.clear()
                self._lost.add(channel)

    async def _on_redis_state(self, up: bool) -> None:
        if up == self._redis_up:
            return
        self._redis_up = up
        metrics.link_down(down=not up)
        if up:
            self._link_up.set()
        else:
            self._link_up.clear()
        # Either way, read the database once more: while going down, for what was published
        # into the void; while coming up, for what was committed before SUBSCRIBE took hold.
        self._catch_up = True
        if not up:
            self._lost.clear()  # every channel reads the database now
            self._recovered.clear()
            self._epoch += 1
            for event in self._confirmed.values():
                event.clear()
        logger.warning("redis link %s", "up" if up else "down: polling the database")

    async def _await_confirmations(self) -> None:
        try:
            async with asyncio.timeout(CONFIRM_TIMEOUT_S):
                for event in list(self._confirmed.values()):
                    await event.wait()
        except TimeoutError:
            for subs in self._channels.values():
                for sub in subs:
                    sub.mark_resync()


def _new_hub() -> Hub:
    hub = Hub(
        redis_url=settings.REDIS_URL,
        queue_size=settings.REALTIME_QUEUE_SIZE,
        poll_s=settings.REALTIME_DB_POLL_S,
        source=import_string(settings.REALTIME_DB_DOORBELL_SOURCE),
    )
    hub.start()
    return hub


_HUBS = PerLoop(_new_hub)


def get_hub() -> Hub:
    """Return the hub of the running event loop, starting it on first use."""
    return _HUBS.get()


def drain_all() -> None:
    """Drain the hubs of this process (called when it is asked to shut down)."""
    for hub in _HUBS.all():
        hub.drain()


async def _supervised(name: str, run: Callable[[], Awaitable[None]]) -> None:
    """Run `run()` for ever: log, count and restart it whenever it fails."""
    while True:
        try:
            await run()
        except Exception:
            metrics.HUB_TASK_FAILURES.inc()
            logger.exception("hub %s failed; restarting it in %.0f s", name, _RESTART_DELAY_S)
        await asyncio.sleep(_RESTART_DELAY_S)


@receiver(setting_changed)
def _reset_on_setting_change(*, setting: str, **kwargs: object) -> None:
    if setting in {
        "REDIS_URL",
        "REALTIME_QUEUE_SIZE",
        "REALTIME_DB_POLL_S",
        "REALTIME_DB_DOORBELL_SOURCE",
    }:
        _HUBS.clear()
