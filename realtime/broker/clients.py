"""Redis clients, built lazily from settings and dropped when `REDIS_URL` changes.

One synchronous client per process (publishing, rate limits from sync views) and one asyncio
client per event loop (rate limits on the loop). Both fail fast: a dead Redis must cost a
request at most one short timeout, never a retry storm.

`REDIS_URL` alone says which Redis: `redis://…` for one server, or
`redis+cluster://host:port,host:port` for a Redis Cluster (any of its nodes; the rest are
discovered), where events go by sharded pub/sub (SPUBLISH/SSUBSCRIBE). `cluster_nodes` is the
one place that tells the two apart.
"""

import socket
from typing import Any

import redis
import redis.asyncio as aredis
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.retry import Retry as SyncRetry

from realtime.per_loop import PerLoop

RedisError = redis.RedisError
FAILURES = (redis.RedisError, redis.exceptions.RedisClusterException, OSError)
"""What a client may raise when Redis fails: a cluster client also raises errors of its own
outside RedisError (no node reachable, a slot not covered during a failover)."""
TIMEOUT_S = 2.0
"""Connect and read timeout of every client (and of the pub/sub links' connects)."""
QUICK_TIMEOUT_S = 0.25
"""Connect and read timeout of a PUBLISH sent from a writer's own thread (realtime/publisher.py):
what a Redis that stopped answering costs that writer, once; its messages then go by the
background thread."""
CLUSTER_SCHEME = "redis+cluster"
_RETRIED = (redis.ConnectionError,)
"""What one Redis client tries once more: a pooled connection that Redis closed meanwhile (a
restart) fails at once and a new one works. A timeout is not retried: on a path gone silent
the second try would only wait as long again (a poll waited 4 s instead of 2)."""
_KEEPALIVE: dict[str, Any] = {
    "socket_keepalive": True,
    "socket_keepalive_options": {
        socket.TCP_KEEPIDLE: 5,
        socket.TCP_KEEPINTVL: 2,
        socket.TCP_KEEPCNT: 3,
        socket.TCP_USER_TIMEOUT: 10_000,
    },
}


SyncClient = redis.Redis | redis.RedisCluster
AsyncClient = aredis.Redis | aredis.RedisCluster
Batch = list[tuple[str, str]]
_sync_client: SyncClient | None = None
_quick_client: redis.Redis | None = None


class PublishFailed(Exception):
    """Some messages of a batch did not reach Redis."""

    def __init__(self, unsent: Batch, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.unsent = unsent


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


def keepalive(url: str) -> dict[str, Any]:
    """Return the client options that turn on TCP keepalive for `url` (none for unix://).

    A peer that vanished without a word (its machine gone, a NAT that dropped the flow) is
    noticed by the kernel within about 11 s on an idle connection, and data left
    unacknowledged for 10 s ends one that is sending. Neither sees a path that something in
    between still answers for (a proxy): the pub/sub links' ping (broker/liveness.py) does,
    and every command has TIMEOUT_S.
    """
    return {} if url.startswith("unix:") else _KEEPALIVE


def sync_client() -> SyncClient:
    """Return the process-wide synchronous client."""
    global _sync_client
    if _sync_client is None:
        nodes = cluster_nodes(settings.REDIS_URL)
        if nodes is None:
            _sync_client = redis.Redis.from_url(
                settings.REDIS_URL,
                socket_timeout=TIMEOUT_S,
                socket_connect_timeout=TIMEOUT_S,
                **keepalive(settings.REDIS_URL),
                retry=SyncRetry(NoBackoff(), 1, supported_errors=_RETRIED),
            )
        else:
            _sync_client = redis.RedisCluster(
                startup_nodes=[
                    redis.cluster.ClusterNode(host, port)  # type: ignore[no-untyped-call]
                    for host, port in nodes
                ],
                socket_timeout=TIMEOUT_S,
                socket_connect_timeout=TIMEOUT_S,
                **_KEEPALIVE,
                retry=SyncRetry(ExponentialBackoff(cap=0.5, base=0.05), 2),
            )
    return _sync_client


def async_client() -> AsyncClient:
    """Return the running loop's client (an asyncio client belongs to one loop)."""
    return _ASYNC_CLIENTS.get()


def _new_async_client() -> AsyncClient:
    nodes = cluster_nodes(settings.REDIS_URL)
    if nodes is None:
        return aredis.Redis.from_url(
            settings.REDIS_URL,
            socket_timeout=TIMEOUT_S,
            socket_connect_timeout=TIMEOUT_S,
            **keepalive(settings.REDIS_URL),
            retry=AsyncRetry(NoBackoff(), 1, supported_errors=_RETRIED),
        )
    return aredis.RedisCluster(
        startup_nodes=[aredis.cluster.ClusterNode(host, port) for host, port in nodes],
        socket_timeout=TIMEOUT_S,
        socket_connect_timeout=TIMEOUT_S,
        **_KEEPALIVE,
        retry=AsyncRetry(ExponentialBackoff(cap=0.5, base=0.05), 2),
    )


_ASYNC_CLIENTS = PerLoop(_new_async_client)


def publish_batch(batch: Batch) -> None:
    """Publish each (channel, payload), each channel in order; raise PublishFailed naming
    what did not go. One round trip on one Redis; on a cluster, SPUBLISH per master."""
    try:
        client = sync_client()
        if isinstance(client, redis.RedisCluster):
            _publish_sharded(client, batch)
        elif len(batch) == 1:
            client.publish(*batch[0])
        else:
            pipe = client.pipeline(transaction=False)
            for channel, payload in batch:
                pipe.publish(channel, payload)
            pipe.execute()
    except FAILURES as exc:
        raise PublishFailed(batch, exc) from exc


def can_publish_quick() -> bool:
    """Return True when a message may be published from a writer's thread: one Redis (a
    cluster's publish may retry through a failover, which no writer should wait for)."""
    return configured() and cluster_nodes(settings.REDIS_URL) is None


def publish_quick(channel: str, payload: str) -> None:
    """PUBLISH one message within QUICK_TIMEOUT_S (one Redis only); raise PublishFailed."""
    global _quick_client
    try:
        if _quick_client is None:
            _quick_client = redis.Redis.from_url(
                settings.REDIS_URL,
                socket_timeout=QUICK_TIMEOUT_S,
                socket_connect_timeout=QUICK_TIMEOUT_S,
                retry=SyncRetry(NoBackoff(), 0),
            )
        _quick_client.publish(channel, payload)
    except FAILURES as exc:
        raise PublishFailed([(channel, payload)], exc) from exc


def _publish_sharded(client: redis.RedisCluster, batch: Batch) -> None:
    """SPUBLISH `batch`, one pipeline per master, so that a master that is down (failing over)
    costs only its own messages."""
    by_master: dict[str, tuple[Any, Batch]] = {}
    for channel, payload in batch:
        node = client.get_node_from_key(channel)  # type: ignore[no-untyped-call]
        by_master.setdefault(node.name, (node, []))[1].append((channel, payload))
    unsent: Batch = []
    cause: BaseException | None = None
    for node, items in by_master.values():
        try:
            pipe = client.get_redis_connection(node).pipeline(transaction=False)
            for channel, payload in items:
                pipe.spublish(channel, payload)
            pipe.execute()
        except FAILURES:
            failed, cause = _publish_one_by_one(client, items)
            unsent += failed
    if unsent and cause is not None:
        raise PublishFailed(unsent, cause)


def _publish_one_by_one(
    client: redis.RedisCluster, items: Batch
) -> tuple[Batch, BaseException | None]:
    """Send through the cluster client, which re-reads the slot map after a connection error
    or MOVED and tries again: a master that failed over is replaced by its replica. When one
    still fails, it and the rest (same master) are returned unsent with the error."""
    for sent, (channel, payload) in enumerate(items):
        try:
            client.spublish(channel, payload)
        except FAILURES as exc:
            return items[sent:], exc
    return [], None


def ping() -> bool:
    """Return True when Redis answers a PING."""
    try:
        return bool(sync_client().ping())
    except FAILURES:
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
        return _window_counts(await _queue_window_hit(pipe, current, previous, ttl_s).execute())


def _queue_window_hit(pipe: Any, current: str, previous: str, ttl_s: int) -> Any:
    """Queue INCR, EXPIRE and GET of one hit on a (sync or asyncio) pipeline; return it."""
    return pipe.incr(current).expire(current, ttl_s).get(previous)


def _window_counts(replies: list[Any]) -> tuple[int, int]:
    hits, _, before = replies
    return int(hits), int(before or 0)


@receiver(setting_changed)
def _reset_on_setting_change(*, setting: str, **kwargs: object) -> None:
    global _sync_client, _quick_client
    if setting == "REDIS_URL":
        _sync_client = _quick_client = None
        _ASYNC_CLIENTS.clear()
