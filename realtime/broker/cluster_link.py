"""The hub's link to a Redis Cluster: sharded pub/sub, one connection per master it needs.

A job's channel lives on the shard that owns its hash slot: SPUBLISH sends a message to that
shard only (classic PUBLISH is broadcast to every node of a cluster), and SSUBSCRIBE listens
there. The link keeps the cluster's slot map (CLUSTER SLOTS, asked of any node it knows),
opens one connection to each master that owns a wanted channel's slot, and subscribes each
channel on it.

It never re-subscribes silently. When one shard's connection ends (its master died, an
error, a garbled reply) or Redis drops a channel itself (`sunsubscribe` from the server: its
slot moved), the hub is told which channels were lost (`on_lost`): it reads the database for
them until they are confirmed again on their new owner, and once more after that, while the
streams on the other shards stay live. Only when no node of the cluster answers is the
whole link down (`on_state(False)`), as the single-Redis link is when its server is.

A shard whose path goes silent (its master stopped or frozen, a NAT that dropped the flow: no
reset, no error) is found by the same ping as the single link's (broker/liveness.py): a ping
unanswered past REALTIME_REDIS_HEALTH_TIMEOUT_S ends that shard's connection like a failure,
so its channels are read from the database and the slot map is asked again (the frozen
master's replica may take over meanwhile).
"""

import asyncio
import logging
import math
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable

import redis
import redis.asyncio as aredis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

from realtime import metrics
from realtime.broker.clients import CLUSTER_SCHEME, FAILURES, TIMEOUT_S, cluster_nodes, keepalive
from realtime.broker.liveness import Health, Heartbeat, LinkSilent
from realtime.broker.protocol import (
    BatchSpacing,
    OnLost,
    OnMessage,
    OnSubscribed,
    take_confirmation,
)

logger = logging.getLogger(__name__)

Address = tuple[str, int]
_MAX_DELAY_S = 2.0
_REMAP_S = 0.5


class _Shard:
    """One master's pub/sub connection and the channels the link keeps on it."""

    def __init__(self, address: Address) -> None:
        self.address = address
        self.wanted: set[str] = set()
        """Channels this master owns that the hub wants (set by the link)."""
        self.subscribed: set[str] = set()
        """Channels SSUBSCRIBEd on the current connection (confirmed or not)."""
        self.live: set[str] = set()
        """Subscribed channels whose last SSUBSCRIBE was confirmed."""
        self.pending: dict[str, int] = {}
        self.dropping: dict[str, int] = {}  # SUNSUBSCRIBEs sent and not yet answered
        self.connected = False
        self.failing = False
        """True from a failure until the next connection: channels given now are not live."""
        self.changed = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def reset(self) -> set[str]:
        """Forget the connection's state; return every channel that was or would be on it."""
        lost = self.subscribed | self.wanted
        self.subscribed, self.live = set(), set()
        self.pending.clear()
        self.dropping.clear()
        self.connected = False
        return lost


class ClusterLink:
    """Sharded pub/sub for a whole process, with the interface of `PubSubLink`
    plus `on_lost`, told of the channels of one lost shard."""

    def __init__(
        self,
        *,
        url: str,
        wanted: Callable[[], Iterable[str]],
        on_message: OnMessage,
        on_subscribed: OnSubscribed,
        on_state: Callable[[bool], Awaitable[None]],
        on_lost: OnLost,
    ) -> None:
        nodes = cluster_nodes(url)
        if nodes is None:
            raise ValueError(f"not a {CLUSTER_SCHEME}:// URL: {url!r}")
        self._known: list[Address] = nodes
        self._wanted = wanted
        self._on_message = on_message
        self._on_subscribed = on_subscribed
        self._on_state = on_state
        self._on_lost = on_lost
        self._owners: list[Address | None] = [None] * REDIS_CLUSTER_HASH_SLOTS
        self._slots: dict[str, int] = {}
        self._shards: dict[Address, _Shard] = {}
        self._tasks: set[asyncio.Task[None]] = set()  # shard tasks, stopped ones included
        self._wake = asyncio.Event()
        self._stale = False
        self._up = False
        self._health = Health.from_settings()

    def reconcile(self, channel: str | None = None) -> None:
        """Ask the link to bring its subscriptions in line with `wanted()` (every channel's
        place on its shard is looked at again, whichever `channel` changed)."""
        self._wake.set()

    def is_live(self, channel: str) -> bool:
        """Return True when `channel` is subscribed on its shard, confirmed, not being
        dropped (see `PubSubLink.is_live`)."""
        return any(channel in shard.live for shard in self._shards.values())

    async def run(self) -> None:
        """Stay mapped and connected until cancelled, backing off while no node answers."""
        delay = 0.1
        try:
            while True:
                try:
                    await self._supervise()
                except Exception as exc:
                    metrics.REDIS_LINK_ERRORS.inc()
                    logger.warning("redis cluster link lost: %s", exc)
                if self._up:
                    delay = 0.1
                self._stop_shards()
                self._up = False
                await self._on_state(False)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _MAX_DELAY_S)
        finally:
            await self._close_shards()

    async def _supervise(self) -> None:
        """Map the cluster, then place the wanted channels on their shards at each change."""
        await self._refresh_map()
        self._up = True
        await self._on_state(True)
        self._wake.set()
        spacing = BatchSpacing()
        while True:
            await spacing.wait()  # what changes meanwhile joins the next placement
            await self._wait_for_change()
            if self._stale:
                self._stale = False
                await self._refresh_map()
            self._assign()
            spacing.sent()

    async def _wait_for_change(self) -> None:
        """Wait to be woken; while a shard is failing, ask for the slot map every
        _REMAP_S as well: its replica may have taken over meanwhile."""
        failing = any(shard.failing for shard in self._shards.values())
        try:
            async with asyncio.timeout(_REMAP_S if failing else None):
                await self._wake.wait()
        except TimeoutError:
            self._stale = True
        self._wake.clear()

    def _mark_stale(self) -> None:
        """Ask for the slot map again: a shard failed, maybe over to its replica."""
        self._stale = True
        self._wake.set()

    async def _refresh_map(self) -> None:
        """Read the slot map from the first known node that answers; raise if none does."""
        failures: list[str] = []
        for address in list(self._known):
            try:
                self._owners, discovered = _parse_slots(await _cluster_slots(address))
            except FAILURES as exc:
                failures.append(f"{address[0]}:{address[1]}: {exc}")
                continue
            # The node that answered is asked first next time: one that is frozen costs
            # TIMEOUT_S every time it is asked.
            self._known = list(dict.fromkeys([address, *self._known, *discovered]))
            return
        raise redis.ConnectionError(f"no cluster node answered: {'; '.join(failures)}")

    def _assign(self) -> None:
        """Give each shard the wanted channels its master owns; start and stop shards (a
        shard with no channel left is closed: a connection only for each master needed)."""
        wanted = set(self._wanted())
        for channel in self._slots.keys() - wanted:
            del self._slots[channel]
        for channel in wanted - self._slots.keys():
            self._slots[channel] = key_slot(channel.encode())
        placed: defaultdict[Address, set[str]] = defaultdict(set)
        unplaced: list[str] = []
        for channel, slot in self._slots.items():
            owner = self._owners[slot]
            if owner is None:
                unplaced.append(channel)
            else:
                placed[owner].add(channel)
        lost = self._place(placed, wanted)
        if unplaced:  # no master owns the slot right now: ask again shortly
            lost.update(unplaced)
            asyncio.get_running_loop().call_later(0.5, self._mark_stale)
        if lost:
            self._on_lost(lost)

    def _place(self, placed: dict[Address, set[str]], wanted: set[str]) -> set[str]:
        """Hand the shards their channels; return the wanted channels that cannot be live
        yet: moved off a shard that held them, or given to a shard that is failing."""
        lost: set[str] = set()
        for address in self._shards.keys() - placed.keys():
            shard = self._shards.pop(address)
            lost |= shard.subscribed & wanted
            _cancel(shard)
        for address, channels in placed.items():
            shard = self._shards.get(address) or self._start_shard(address)
            if channels == shard.wanted:
                continue
            lost |= (shard.subscribed - channels) & wanted
            if shard.failing:
                lost |= channels - shard.wanted
            shard.wanted = channels
            shard.changed.set()
        return lost

    def _start_shard(self, address: Address) -> _Shard:
        shard = self._shards[address] = _Shard(address)
        shard.task = asyncio.create_task(self._keep_shard(shard), name=f"hub-redis-{address[1]}")
        self._tasks.add(shard.task)
        shard.task.add_done_callback(self._tasks.discard)
        return shard

    def _stop_shards(self) -> None:
        for shard in self._shards.values():
            _cancel(shard)
        self._shards.clear()

    async def _close_shards(self) -> None:
        self._stop_shards()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _keep_shard(self, shard: _Shard) -> None:
        """Keep one master's connection until cancelled; after any failure tell the hub
        which channels were lost, ask for the slot map again and reconnect."""
        delay = 0.1
        while True:
            reason = "connection"
            try:
                await self._shard_session(shard)
            except FAILURES as exc:
                reason = "health_check" if isinstance(exc, LinkSilent) else reason
                logger.warning("redis cluster shard %s:%d lost: %s", *shard.address, exc)
            except Exception:
                logger.exception(
                    "redis cluster shard %s:%d link failed; reconnecting", *shard.address
                )
            metrics.REDIS_LINK_ERRORS.inc()
            if shard.connected:
                metrics.REDIS_LINK_LOSSES.labels(link="shard", reason=reason).inc()
                delay = 0.1
            shard.failing = True
            lost = shard.reset()
            if lost:
                self._on_lost(lost)
            self._mark_stale()
            await asyncio.sleep(delay)
            delay = min(delay * 2, _MAX_DELAY_S)

    async def _shard_session(self, shard: _Shard) -> None:
        host, port = shard.address
        # RESP2: every pub/sub reply is a plain array read in order (RESP3 would hand them
        # to a push handler instead).
        connection = aredis.Connection(
            host=host,
            port=port,
            protocol=2,
            socket_connect_timeout=TIMEOUT_S,
            socket_timeout=TIMEOUT_S,
            retry=AsyncRetry(NoBackoff(), 0),
            **keepalive(f"redis://{host}:{port}"),
        )

        async def ping() -> None:
            await connection.send_command("PING")

        beat = Heartbeat(self._health, ping)
        try:
            await connection.connect()  # type: ignore[no-untyped-call]
            await self._health.first_answer(
                ping, lambda: connection.read_response(timeout=math.inf)
            )
            shard.connected, shard.failing = True, False
            shard.changed.set()
            async with asyncio.TaskGroup() as group:
                group.create_task(self._write(shard, connection))
                group.create_task(self._read(shard, connection, beat))
                group.create_task(beat.run())
        except* Exception as failed:
            raise failed.exceptions[0] from None
        finally:
            await connection.disconnect()

    async def _write(self, shard: _Shard, connection: aredis.Connection) -> None:
        """Send SSUBSCRIBE/SUNSUBSCRIBE whenever the shard's channels change, pipelined
        (one command per hash slot: a command may not span slots)."""
        while True:
            await shard.changed.wait()
            shard.changed.clear()
            add, drop = shard.wanted - shard.subscribed, shard.subscribed - shard.wanted
            shard.subscribed = set(shard.wanted)
            shard.live -= drop
            for channel in add:
                shard.pending[channel] = shard.pending.get(channel, 0) + 1
            for channel in drop:
                shard.dropping[channel] = shard.dropping.get(channel, 0) + 1
            commands = [("SSUBSCRIBE", *group) for group in _by_slot(add)]
            commands += [("SUNSUBSCRIBE", *group) for group in _by_slot(drop)]
            if commands:
                await connection.send_packed_command(connection.pack_commands(commands))

    async def _read(self, shard: _Shard, connection: aredis.Connection, beat: Heartbeat) -> None:
        """Hand every message on; a read error ends the session (no silent reconnect)."""
        while True:
            response = await connection.read_response(timeout=math.inf)
            beat.heard()
            kind, channel, data = _unpack(response)
            if kind == b"smessage":
                self._deliver(channel, data)
            elif kind == b"ssubscribe":
                self._confirm(shard, channel)
            elif kind == b"sunsubscribe":
                self._dropped(shard, channel)

    def _deliver(self, channel: str, data: bytes) -> None:
        self._on_message(channel, data)  # raw: the hub checks the envelope in its guard

    def _confirm(self, shard: _Shard, channel: str) -> None:
        if take_confirmation(
            channel, pending=shard.pending, subscribed=shard.subscribed, live=shard.live
        ):
            self._on_subscribed(channel)

    def _dropped(self, shard: _Shard, channel: str) -> None:
        """Take a `sunsubscribe`: the answer to ours, or Redis dropping the channel itself
        because its slot moved to another master."""
        ours = shard.dropping.pop(channel, 0)
        if ours > 1:
            shard.dropping[channel] = ours - 1
        if ours or channel not in shard.subscribed:
            return
        logger.warning(
            "redis cluster shard %s:%d dropped %s (its slot moved)", *shard.address, channel
        )
        shard.subscribed.discard(channel)
        shard.live.discard(channel)
        shard.pending.pop(channel, None)
        self._on_lost([channel])
        self._mark_stale()


def _cancel(shard: _Shard) -> None:
    if shard.task is not None:
        shard.task.cancel()


async def _cluster_slots(address: Address) -> object:
    client = aredis.Redis(
        host=address[0],
        port=address[1],
        socket_timeout=TIMEOUT_S,
        socket_connect_timeout=TIMEOUT_S,
        retry=AsyncRetry(NoBackoff(), 0),
    )
    try:
        return await client.execute_command("CLUSTER SLOTS")  # type: ignore[no-untyped-call]
    finally:
        await client.aclose()


def _parse_slots(reply: object) -> tuple[list[Address | None], list[Address]]:
    """Return the owner of each slot and every node named, from a raw CLUSTER SLOTS reply:
    [[start, end, [host, port, id, …] of the master, [host, port, …] of each replica], …]."""
    owners: list[Address | None] = [None] * REDIS_CLUSTER_HASH_SLOTS
    nodes: list[Address] = []
    if not isinstance(reply, list):
        raise redis.ResponseError(f"unexpected CLUSTER SLOTS reply: {reply!r:.200}")
    for start, end, primary, *replicas in reply:
        owner = _address(primary)
        owners[int(start) : int(end) + 1] = [owner] * (int(end) - int(start) + 1)
        nodes += [owner, *(_address(replica) for replica in replicas)]
    return owners, nodes


def _address(node: list[object]) -> Address:
    host = node[0].decode() if isinstance(node[0], bytes) else str(node[0])
    return host, int(str(node[1]))


def _by_slot(channels: Iterable[str]) -> list[list[str]]:
    groups: defaultdict[int, list[str]] = defaultdict(list)
    for channel in channels:
        groups[key_slot(channel.encode())].append(channel)
    return list(groups.values())


def _unpack(response: object) -> tuple[bytes, str, bytes]:
    """Return (kind, channel, data) of a raw pub/sub reply; other replies give kind b''."""
    if (
        isinstance(response, list)
        and len(response) == 3
        and isinstance(response[0], bytes)
        and isinstance(response[1], bytes)
    ):
        kind, channel, data = response
        return kind, channel.decode(errors="replace"), data if isinstance(data, bytes) else b""
    return b"", "", b""
