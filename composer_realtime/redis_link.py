"""Everything that talks to Redis: publishing, the hub's pub/sub link, shared counters.

This and `cluster_link` (the hub's link to a Redis Cluster) are the only modules that import
`redis`. Clients are built lazily from settings and dropped when `REDIS_URL` changes (tests
switch it). `REDIS_URL` alone says which Redis: `redis://…` for one server, or
`redis+cluster://host:port,host:port` for a Redis Cluster (any of its nodes; the rest are
discovered), where events go by sharded pub/sub (SPUBLISH/SSUBSCRIBE) and `cluster_nodes` is
the one place that tells the two apart.
"""

import asyncio
import atexit
import logging
import os
import threading
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Iterable
from typing import Any, Protocol

import redis
import redis.asyncio as aredis
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.retry import Retry as SyncRetry

logger = logging.getLogger(__name__)

RedisError = redis.RedisError
# A cluster client also raises errors of its own outside RedisError (no node reachable, a
# slot not covered during a failover): callers that fall back on failure catch these.
FAILURES = (redis.RedisError, redis.exceptions.RedisClusterException, OSError)
SyncClient = redis.Redis | redis.RedisCluster
_sync_client: SyncClient | None = None
_TIMEOUT_S = 2.0
CLUSTER_SCHEME = "redis+cluster"


def configured() -> bool:
    """Return True when a Redis URL is configured."""
    return bool(settings.REDIS_URL)


def cluster_nodes(url: str) -> list[tuple[str, int]] | None:
    """Return the (host, port) nodes of a `redis+cluster://` URL; None for any other URL.

    Raises ValueError, naming the culprit, when a cluster URL's node list is malformed.
    """
    scheme, _, rest = url.partition("://")
    if scheme != CLUSTER_SCHEME:
        return None
    nodes = [_node(item) for item in rest.split("/", 1)[0].split(",") if item.strip()]
    if not nodes:
        raise ValueError(f"{url!r} names no node: write {CLUSTER_SCHEME}://host:port,host:port")
    return nodes


def _node(item: str) -> tuple[str, int]:
    host, _, port = item.strip().rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{item.strip()!r} is not host:port with a port from 1 to 65535")
    return host.strip("[]"), int(port)


def sync_client() -> SyncClient:
    """Return the process-wide synchronous client (publishing, rate limits, counters)."""
    global _sync_client
    if _sync_client is None:
        nodes = cluster_nodes(settings.REDIS_URL)
        if nodes is None:
            _sync_client = redis.Redis.from_url(
                settings.REDIS_URL,
                socket_timeout=_TIMEOUT_S,
                socket_connect_timeout=_TIMEOUT_S,
                retry=SyncRetry(NoBackoff(), 1),
            )
        else:
            _sync_client = redis.RedisCluster(
                startup_nodes=[redis.cluster.ClusterNode(host, port)  # type: ignore[no-untyped-call]
                               for host, port in nodes],
                socket_timeout=_TIMEOUT_S,
                socket_connect_timeout=_TIMEOUT_S,
                retry=SyncRetry(ExponentialBackoff(cap=0.5, base=0.05), 2),
            )
    return _sync_client


class Publisher:
    """Publishes from one background thread, in the order given.

    A writer used to wait for its publish after each commit: two round trips in a row. Now
    the publish of one event overlaps the database round trip of the next, and messages that
    wait together go in one pipelined round trip. Each is still published after its commit,
    a thread wake-up later. A message that never reaches Redis (it refused it, or the process
    died first) loses nothing: the database holds the event, and listeners catch up from it at
    the next message they get (a gap in the ids) or, while Redis is down, from the hub's
    database poll.
    """

    MAX_PENDING = 10_000
    """Messages waiting at most; past it the oldest are dropped (and caught up as above)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pending: deque[tuple[str, str]] = deque()
        self._busy = False
        self._dropped = 0
        self._thread: threading.Thread | None = None

    def submit(self, channel: str, payload: str) -> None:
        """Queue `payload` for `channel`; never waits for Redis."""
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="redis-publisher",
                                                daemon=True)
                self._thread.start()
            if len(self._pending) >= self.MAX_PENDING:
                self._pending.popleft()
                self._dropped += 1
            self._pending.append((channel, payload))
            self._cond.notify_all()

    def flush(self, timeout_s: float) -> bool:
        """Wait until every queued message was sent (or failed); return False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout_s)

    def after_fork(self) -> None:
        """Forget the parent's thread and messages (a forked child has neither)."""
        self._cond = threading.Condition()
        self._pending.clear()
        self._busy = False
        self._thread = None

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._pending))
                batch, dropped = list(self._pending), self._dropped
                self._pending.clear()
                self._dropped, self._busy = 0, True
            try:
                if dropped:
                    logger.warning("%d message(s) dropped unpublished (Redis too slow); "
                                   "listeners will catch up from the database", dropped)
                _send(batch)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()


def _send(batch: list[tuple[str, str]]) -> None:
    try:
        client = sync_client()
        if isinstance(client, redis.RedisCluster):
            _send_sharded(client, batch)
            return
        if len(batch) == 1:
            client.publish(*batch[0])
            return
        pipe = client.pipeline(transaction=False)
        for channel, payload in batch:
            pipe.publish(channel, payload)
        pipe.execute()
    except FAILURES as exc:
        _log_unsent(batch, exc)


def _log_unsent(batch: list[tuple[str, str]], exc: BaseException) -> None:
    logger.warning("publishing %d message(s) (first on %s) failed, listeners will catch up "
                   "from the database: %s", len(batch), batch[0][0], exc)


def _send_sharded(client: redis.RedisCluster, batch: list[tuple[str, str]]) -> None:
    """SPUBLISH `batch`, one pipeline per master, so that a master that is down (failing over)
    costs only its own messages; each channel keeps its order."""
    for node, items in _by_master(client, batch):
        try:
            if node is None:
                raise redis.ConnectionError("no master known for the slot")
            pipe = client.get_redis_connection(node).pipeline(transaction=False)
            for channel, payload in items:
                pipe.spublish(channel, payload)
            pipe.execute()
        except FAILURES:
            _send_one_by_one(client, items)


def _by_master(client: redis.RedisCluster, batch: list[tuple[str, str]]
               ) -> list[tuple[Any, list[tuple[str, str]]]]:
    """Return the batch's messages grouped by the master of their slot, in order (None for
    slots with no master known right now)."""
    groups: dict[str, tuple[Any, list[tuple[str, str]]]] = {}
    for channel, payload in batch:
        try:
            node = client.get_node_from_key(channel)  # type: ignore[no-untyped-call]
        except FAILURES:
            node = None
        groups.setdefault(node.name if node else "", (node, []))[1].append((channel, payload))
    return list(groups.values())


def _send_one_by_one(client: redis.RedisCluster, items: list[tuple[str, str]]) -> None:
    """Send through the cluster client, which re-reads the slot map after a connection error
    or MOVED and tries again: a master that failed over is replaced by its replica. When the
    first still fails, the rest (same master) is left to the database catch-up too."""
    for sent, (channel, payload) in enumerate(items):
        try:
            client.spublish(channel, payload)
        except FAILURES as exc:
            _log_unsent(items[sent:], exc)
            return


PUBLISHER = Publisher()
os.register_at_fork(after_in_child=PUBLISHER.after_fork)
atexit.register(PUBLISHER.flush, 2.0)


def publish(channel: str, payload: str) -> None:
    """Publish `payload` on `channel` soon, in order, from the background publisher."""
    PUBLISHER.submit(channel, payload)


def ping() -> bool:
    """Return True when Redis answers a PING."""
    try:
        return bool(sync_client().ping())
    except FAILURES:
        return False


@receiver(setting_changed)
def _reset_on_setting_change(*, setting: str, **kwargs: object) -> None:
    global _sync_client
    if setting == "REDIS_URL":
        _sync_client = None
        _async_clients.clear()


OnMessage = Callable[[str, str], None]
OnSubscribed = Callable[[str], None]


class Link(Protocol):
    """What the hub needs of its pub/sub link (one Redis, or a Redis Cluster)."""

    def reconcile(self) -> None:
        """Ask the link to bring its subscriptions in line with `wanted()`."""

    def is_live(self, channel: str) -> bool:
        """Return True when `channel` is subscribed, confirmed, and not being dropped."""

    async def run(self) -> None:
        """Stay connected until cancelled."""


def open_link(*, url: str, wanted: Callable[[], Iterable[str]], on_message: OnMessage,
              on_subscribed: OnSubscribed, on_state: Callable[[bool], Awaitable[None]],
              on_lost: Callable[[Collection[str]], None]) -> Link:
    """Return the hub's link for `url`: sharded pub/sub with a connection per shard on a
    Redis Cluster (which tells `on_lost` of the channels of a lost shard), else one
    connection."""
    if cluster_nodes(url) is None:
        return PubSubLink(url=url, wanted=wanted, on_message=on_message,
                          on_subscribed=on_subscribed, on_state=on_state)
    from composer_realtime.cluster_link import ClusterLink  # it builds on this module

    return ClusterLink(url=url, wanted=wanted, on_message=on_message,
                       on_subscribed=on_subscribed, on_state=on_state, on_lost=on_lost)


class PubSubLink:
    """One pub/sub connection for a whole process.

    `run()` keeps it connected: it (re)subscribes to `wanted()` channels, hands each message
    to `on_message`, each subscription confirmation to `on_subscribed`, and calls `on_state`
    with True when connected and False when the link is lost. It never reconnects silently:
    the hub must know when messages may have been missed.
    """

    def __init__(
        self,
        *,
        url: str,
        wanted: Callable[[], Iterable[str]],
        on_message: OnMessage,
        on_subscribed: OnSubscribed,
        on_state: Callable[[bool], Awaitable[None]],
    ) -> None:
        self._url = url
        self._wanted = wanted
        self._on_message = on_message
        self._on_subscribed = on_subscribed
        self._on_state = on_state
        self._changed = asyncio.Event()
        self._subscribed: set[str] = set()
        self._live: set[str] = set()
        self._pending: dict[str, int] = {}  # SUBSCRIBEs sent and not yet confirmed

    def reconcile(self) -> None:
        """Ask the link to bring its subscriptions in line with `wanted()`."""
        self._changed.set()

    def is_live(self, channel: str) -> bool:
        """Return True when `channel` is subscribed, confirmed, and not being dropped.

        A channel dropped and wanted again before the writer ran is never unsubscribed, so no
        new confirmation comes for it: who wants it again must ask this.
        """
        return channel in self._live

    async def run(self) -> None:
        """Stay connected until cancelled, backing off while Redis is unreachable."""
        delay = 0.1
        while True:
            try:
                await self._session()
            except (RedisError, OSError) as exc:
                logger.warning("redis pub/sub link lost: %s", exc)
            self._subscribed.clear()
            self._live.clear()
            self._pending.clear()
            await self._on_state(False)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def _session(self) -> None:
        client = aredis.Redis.from_url(
            self._url, socket_connect_timeout=_TIMEOUT_S, retry=AsyncRetry(NoBackoff(), 0)
        )
        pubsub = client.pubsub()
        try:
            await pubsub.ping()  # connects, or raises while Redis is down
            self._changed.set()
            await self._on_state(True)
            async with asyncio.TaskGroup() as group:
                group.create_task(self._write(pubsub))
                group.create_task(self._read(pubsub))
        except* (RedisError, OSError) as group_error:
            raise group_error.exceptions[0] from None
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
            await client.aclose()

    async def _write(self, pubsub: aredis.client.PubSub) -> None:
        """Send SUBSCRIBE/UNSUBSCRIBE whenever the wanted channels change, in batches."""
        while True:
            await self._changed.wait()
            self._changed.clear()
            wanted = set(self._wanted())
            add, drop = wanted - self._subscribed, self._subscribed - wanted
            self._subscribed = wanted
            self._live -= drop
            for channel in add:
                self._pending[channel] = self._pending.get(channel, 0) + 1
            if add:
                await pubsub.subscribe(*add)
            if drop:
                await pubsub.unsubscribe(*drop)

    async def _read(self, pubsub: aredis.client.PubSub) -> None:
        """Hand every message on; a read error ends the session (no silent reconnect)."""
        connection = pubsub.connection
        assert connection is not None
        while True:
            if not connection.is_connected:
                raise redis.ConnectionError("pub/sub connection closed")
            response = await pubsub.parse_response(block=True)
            kind, channel, data = _unpack(response)
            if kind == b"message":
                self._on_message(channel, data)
            elif kind == b"subscribe":
                self._confirm(channel)

    def _confirm(self, channel: str) -> None:
        # Only the reply to the last SUBSCRIBE sent counts: an earlier one may precede an
        # UNSUBSCRIBE that Redis has processed since.
        pending = self._pending.pop(channel, 1) - 1
        if pending > 0:
            self._pending[channel] = pending
        elif channel in self._subscribed:
            self._live.add(channel)
            self._on_subscribed(channel)


def _unpack(response: object) -> tuple[bytes, str, str]:
    """Return (kind, channel, data) of a raw pub/sub reply; other replies give kind b''."""
    if isinstance(response, list) and len(response) == 3 and isinstance(response[0], bytes):
        kind, channel, data = response
        text = data.decode() if isinstance(data, bytes) else str(data)
        return kind, channel.decode(), text
    return b"", "", ""


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


AsyncClient = aredis.Redis | aredis.RedisCluster
_async_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncClient]" = (
    weakref.WeakKeyDictionary())


def async_client() -> AsyncClient:
    """Return the running loop's client (an asyncio client belongs to one loop)."""
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        client = _async_clients[loop] = _new_async_client()
    return client


def _new_async_client() -> AsyncClient:
    nodes = cluster_nodes(settings.REDIS_URL)
    if nodes is None:
        return aredis.Redis.from_url(
            settings.REDIS_URL,
            socket_timeout=_TIMEOUT_S,
            socket_connect_timeout=_TIMEOUT_S,
            retry=AsyncRetry(NoBackoff(), 1),
        )
    return aredis.RedisCluster(
        startup_nodes=[aredis.cluster.ClusterNode(host, port) for host, port in nodes],
        socket_timeout=_TIMEOUT_S,
        socket_connect_timeout=_TIMEOUT_S,
        retry=AsyncRetry(ExponentialBackoff(cap=0.5, base=0.05), 2),
    )
