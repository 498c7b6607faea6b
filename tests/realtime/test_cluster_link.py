"""The hub over a real Redis Cluster (3 masters, 3 replicas): sharded pub/sub, one connection
per shard, and a master killed mid-stream while the other shards stay live."""

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
from redis.crc import key_slot

from jobs import selectors, services
from jobs.models import Job, JobStatus
from realtime import metrics, publisher
from realtime.broker import clients
from realtime.hub import Hub
from realtime.message import Message
from realtime.subscription import Subscription
from tests.support.eventsource import Followed, follow
from tests.support.redis_cluster import Address, Cluster
from tests.support.servers import closing_connection

pytestmark = [pytest.mark.cluster]

PARAMS = {"name": "Shard Coin", "template": "token"}


@pytest.fixture(scope="session")
def redis_cluster() -> Cluster:
    """Return the private cluster of `scripts/services cluster`, started if it is not up."""
    cluster = Cluster()
    cluster.ensure()
    return cluster


@pytest.fixture
def on_cluster(redis_cluster: Cluster, settings: Any) -> Iterator[Cluster]:
    """Point this process's publisher and counters at the cluster for one test."""
    settings.REDIS_URL = redis_cluster.url
    yield redis_cluster
    assert publisher.PUBLISHER.flush(10)


@pytest.fixture
def restores(redis_cluster: Cluster) -> Iterator[Cluster]:
    """Hand the cluster to a test that kills a node; make it whole again afterwards."""
    yield redis_cluster
    redis_cluster.ensure()


async def _until_io(predicate: Any, timeout: float = 10) -> None:
    """`_until` for a predicate that asks Redis: off the loop, so the link keeps running."""
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(predicate):
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.05)


def _hub(url: str, source: Any = None) -> Hub:
    return Hub(redis_url=url, queue_size=64, poll_s=0.1, source=source or (lambda cursors: []))


async def _until(predicate: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.01)


async def _drain(sub: Subscription, count: int, timeout: float = 10) -> list[Message | str]:
    """Return the next `count` messages of `sub` (or its signals), waiting at most `timeout`."""
    got: list[Message | str] = []
    deadline = time.monotonic() + timeout
    while len([g for g in got if isinstance(g, Message)]) < count:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"got {got} of {count}")
        item = await sub.get(remaining)
        if item != "timeout":
            got.append(item)
    return got


async def _drain_to(sub: Subscription, last: int, timeout: float = 10) -> list[Message | str]:
    """Return what `sub` gets until a message with id `last` or above (or its signals)."""
    got: list[Message | str] = []
    deadline = time.monotonic() + timeout
    while not any(isinstance(g, Message) and g.id >= last for g in got):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"got {got} up to {last}")
        item = await sub.get(remaining)
        if item != "timeout":
            got.append(item)
    return got


def _ids(items: list[Message | str]) -> list[int | str]:
    return [i.id if isinstance(i, Message) else i for i in items]


def test_a_cluster_url_is_read_as_its_nodes_and_a_bad_one_is_refused():
    assert clients.cluster_nodes("redis+cluster://a:7101, b:7102/0") == [("a", 7101), ("b", 7102)]
    assert clients.cluster_nodes("redis://127.0.0.1:6379/0") is None
    for bad in (
        "redis+cluster://",
        "redis+cluster://a",
        "redis+cluster://a:x",
        "redis+cluster://a:70000",
    ):
        with pytest.raises(ValueError):
            clients.cluster_nodes(bad)


def test_a_malformed_cluster_url_fails_the_system_check(settings):
    from realtime.checks import check_realtime_settings

    settings.REDIS_URL = "redis+cluster://127.0.0.1:x"
    assert [p.id for p in check_realtime_settings(None)] == ["realtime.E006"]
    settings.REDIS_URL = "http://127.0.0.1:6379"
    assert [p.id for p in check_realtime_settings(None)] == ["realtime.E007"]
    settings.REDIS_URL = "redis+cluster://127.0.0.1:7101,127.0.0.1:7102"
    assert check_realtime_settings(None) == []


def test_rate_limits_count_in_the_cluster_both_windows_of_a_key_on_one_slot(on_cluster):
    from realtime import ratelimit

    scope = f"test-{time.monotonic_ns()}"
    verdicts = [ratelimit.hit(scope=scope, key="user:1", limit=2) for _ in range(3)]
    assert [v.allowed for v in verdicts] == [True, True, False]
    assert ratelimit._redis_retry_at == 0, "counted in the cluster, not in-process"
    current, previous, _ = ratelimit._window(scope, "user:1", 60)
    assert key_slot(current.encode()) == key_slot(previous.encode())
    assert int(clients.sync_client().get(current)) == 3

    async def on_the_loop() -> bool:
        try:
            return (await ratelimit.ahit(scope=scope, key="user:1", limit=3)).allowed
        finally:
            await clients.async_client().aclose()

    assert asyncio.run(on_the_loop()) is False  # the fourth hit, through the asyncio client
    assert int(clients.sync_client().get(current)) == 4


def test_events_on_three_shards_reach_every_subscriber_once_and_in_order(on_cluster):
    cluster = on_cluster
    channels = [cluster.channel_on(master, "test:shards") for master in cluster.masters()]
    assert len({cluster.owner(c) for c in channels}) == 3

    async def scenario() -> dict[str, list[list[int | str]]]:
        hub = _hub(cluster.url)
        hub.start()
        try:
            await _until(lambda: hub.state() == "redis")
            subs = {c: [await hub.subscribe(c), await hub.subscribe(c)] for c in channels}
            assert not any(s.resync for pair in subs.values() for s in pair), (
                "subscribe returns once SSUBSCRIBE is confirmed on the channel's shard"
            )
            counts = await asyncio.to_thread(
                lambda: [cluster.shard_subscribers(c) for c in channels]
            )
            assert counts == [1, 1, 1], "one subscription per process, on the channel's own master"
            for n in range(1, 51):  # interleaved, through the real background publisher
                for channel in channels:
                    hub_publish(channel, n)
            return {c: [_ids(await _drain(s, 50)) for s in pair] for c, pair in subs.items()}
        finally:
            await hub.close()

    got = asyncio.run(scenario())
    for channel in channels:
        assert got[channel] == [list(range(1, 51))] * 2, channel


def hub_publish(channel: str, n: int) -> None:
    publisher.publish(channel, Message(id=n, event="e", data=f'{{"n":{n}}}'))


def test_a_released_channel_is_dropped_from_its_shard_and_wanted_again_is_live(on_cluster):
    cluster = on_cluster
    channel = cluster.channel_on(cluster.masters()[1], "test:release")

    async def scenario() -> None:
        hub = _hub(cluster.url)
        hub.start()
        try:
            await _until(lambda: hub.state() == "redis")
            hub.unsubscribe(await hub.subscribe(channel))
            again = await hub.subscribe(channel)
            assert not again.resync  # live at once, or confirmed anew: no database detour
            hub_publish(channel, 1)
            assert _ids(await _drain(again, 1)) == [1]
            hub.unsubscribe(again)
            await _until_io(lambda: cluster.shard_subscribers(channel) == 0)
        finally:
            await hub.close()

    asyncio.run(scenario())


def test_a_message_that_is_not_utf8_is_dropped_and_the_link_keeps_going(on_cluster):
    cluster = on_cluster
    channel = cluster.channel_on(cluster.masters()[2], "test:garbage")
    raw = redis.Redis(port=cluster.owner(channel)[1])
    dropped_before = metrics.local_value("realtime_messages_malformed_total")

    async def scenario() -> list[int | str]:
        hub = _hub(cluster.url)
        hub.start()
        try:
            await _until(lambda: hub.state() == "redis")
            sub = await hub.subscribe(channel)
            await hub.watch(channel)  # its epoch counts the losses of its shard's link
            epoch = hub.confirmed_epoch(channel)
            assert epoch is not None
            raw.spublish(channel, b"\xff\xfe not utf-8")
            hub_publish(channel, 1)
            got = _ids(await _drain(sub, 1))
            assert hub.confirmed_epoch(channel) == epoch, "no shard was restarted for it"
            return got
        finally:
            await hub.close()

    try:
        assert asyncio.run(scenario()) == [1]
    finally:
        raw.close()
    assert metrics.local_value("realtime_messages_malformed_total") == dropped_before + 1


def test_a_shard_connection_cut_by_the_server_restarts_that_shard_alone(on_cluster):
    cluster = on_cluster
    cut, kept = cluster.masters()[:2]
    channel, other = cluster.channel_on(cut, "test:cut"), cluster.channel_on(kept, "test:kept")
    killer = redis.Redis(port=cut[1])
    errors_before = metrics.local_value("realtime_redis_link_errors_total")

    async def scenario() -> tuple[list[int | str], list[int | str], bool]:
        hub = _hub(cluster.url)
        hub.start()
        try:
            await _until(lambda: hub.state() == "redis")
            sub, still = await hub.subscribe(channel), await hub.subscribe(other)
            await hub.watch(channel)  # its epoch counts the losses of its shard's link
            epoch = hub.confirmed_epoch(channel)
            assert epoch is not None
            assert killer.client_kill_filter(_type="pubsub") >= 1  # the server drops us
            # Told: that shard's channels were lost (None while lost, a later epoch once live).
            await _until(lambda: hub.confirmed_epoch(channel) != epoch)
            assert hub._link is not None and hub._link.is_live(other)  # the other stays live
            await _until(lambda: hub._link is not None and hub._link.is_live(channel))
            hub_publish(channel, 1)
            hub_publish(other, 1)
            up = hub.state() == "redis"
            return _ids(await _drain_to(sub, 1)), _ids(await _drain_to(still, 1)), up
        finally:
            await hub.close()

    try:
        moved, stayed, up = asyncio.run(scenario())
    finally:
        killer.close()
    assert moved == [1] and stayed == [1] and up, "the link as a whole never went down"
    assert metrics.local_value("realtime_redis_link_errors_total") > errors_before


def _jobs_on_each_master(cluster: Cluster, owner: Any) -> dict[Address, Job]:
    """Return one new job per master (job ids are random: make them until each has one)."""
    found: dict[Address, Job] = {}
    for _ in range(60):
        job = services.job_create(owner=owner, params=PARAMS)
        found.setdefault(cluster.owner(job.channel), job)
        if len(found) == 3:
            return found
    raise RuntimeError("no job on some master after 60 tries")


def _as_stream_sees(items: list[Message | str]) -> list[int]:
    """Return the ids a stream would send: each once, skipping any at or below the last
    sent (the queue may carry a message twice, by Redis and by the database catch-up)."""
    sent: list[int] = []
    for item in items:
        if isinstance(item, Message) and item.id > (sent[-1] if sent else 1):
            sent.append(item.id)
    return sent


@pytest.mark.failover
@pytest.mark.django_db(transaction=True)
def test_a_killed_master_costs_its_channels_a_database_catch_up_and_others_nothing(
    on_cluster, restores, owner
):
    cluster = on_cluster
    jobs = _jobs_on_each_master(cluster, owner)
    doomed, *others = cluster.masters()
    report = closing_connection(services.job_report_progress)

    async def scenario() -> tuple[dict[Address, list[Message | str]], float, float, float]:
        hub = _hub(cluster.url, source=closing_connection(selectors.hub_messages_after))
        hub.start()
        got: dict[Address, list[Message | str]] = {m: [] for m in jobs}
        try:
            await _until(lambda: hub.state() == "redis")
            subs = {m: await hub.subscribe(job.channel) for m, job in jobs.items()}
            # The hub reads the database once after its link came up (for what was committed
            # before); let that pass before the streams' cursors exist, so that any later
            # read is the lost shard's.
            await _until(lambda: not hub._catch_up)
            for job in jobs.values():
                hub.note_cursor(job.channel, 1)  # seq 1 (queued): the stream's replay
                await asyncio.to_thread(report, job=job, percent=10)
            for master, sub in subs.items():
                got[master] += await _drain_to(sub, 2)

            cluster.kill(doomed)
            killed_at = time.monotonic()
            for percent in (20, 30, 40):  # on the doomed shard: published into the failover
                for job in jobs.values():
                    await asyncio.to_thread(report, job=job, percent=percent)
            for master in others:
                got[master] += await _drain_to(subs[master], 5)
            others_done_after = time.monotonic() - killed_at
            got[doomed] += await _drain_to(subs[doomed], 5, timeout=30)  # from the database
            channel = jobs[doomed].channel
            await _until_io(lambda: cluster.owner(channel) != doomed, timeout=30)
            promoted_after = time.monotonic() - killed_at  # as the slot map says
            await _until(
                lambda: hub._link is not None and hub._link.is_live(channel), timeout=30
            )  # SSUBSCRIBE confirmed by the promoted replica
            resubscribed_after = time.monotonic() - killed_at
            await _until_io(lambda: cluster.shard_subscribers(channel) == 1, timeout=30)
            assert await asyncio.to_thread(cluster.wait_failover, doomed) != doomed
            for job in jobs.values():
                await asyncio.to_thread(report, job=job, percent=50)
            for master, sub in subs.items():
                got[master] += await _drain_to(sub, 6)
        finally:
            await hub.close()
        return got, others_done_after, promoted_after, resubscribed_after

    got, others_done_after, promoted_after, resubscribed_after = asyncio.run(scenario())
    for master in jobs:
        assert _as_stream_sees(got[master]) == [2, 3, 4, 5, 6], (master, got[master])
    for master in others:
        assert got[master] == [m for m in got[master] if isinstance(m, Message)]
        assert [m.id for m in got[master] if isinstance(m, Message)] == [2, 3, 4, 5, 6], (
            "the other shards' streams stayed live: no resync, no repeat"
        )
    print(
        f"\nthe other shards' three events were all delivered {others_done_after * 1000:.0f} "
        f"ms after the kill, while the killed shard failed over (the slot map named its "
        f"replica {promoted_after:.1f} s after the kill); its channel was live again on the "
        f"promoted replica {resubscribed_after:.1f} s after the kill"
    )


@pytest.mark.failover
def test_a_slot_handed_to_another_master_is_followed_there(on_cluster, restores):
    cluster = on_cluster
    moving, staying = cluster.masters()[:2]
    channel, other = (
        cluster.channel_on(moving, "test:moved"),
        cluster.channel_on(staying, "test:stays"),
    )

    async def scenario() -> tuple[list[int | str], list[int | str], int, int]:
        hub = _hub(cluster.url)
        hub.start()
        try:
            await _until(lambda: hub.state() == "redis")
            sub, still = await hub.subscribe(channel), await hub.subscribe(other)
            await hub.watch(channel)  # its epoch counts the losses of its shard's link
            epoch = hub.confirmed_epoch(channel)
            assert epoch is not None
            new = await asyncio.to_thread(cluster.hand_over, moving)
            assert await asyncio.to_thread(cluster.owner, channel) == new != moving
            # The old master, now a replica, sends `sunsubscribe`: the link follows the slot.
            await _until_io(lambda: cluster.shard_subscribers(channel) == 1, timeout=20)
            hub_publish(channel, 1)
            hub_publish(other, 1)
            got = (_ids(await _drain(sub, 1)), _ids(await _drain(still, 1)))
            await _until(lambda: hub.confirmed_epoch(channel) is not None)  # live again
            return (*got, epoch, hub.confirmed_epoch(channel))
        finally:
            await hub.close()

    moved, stayed, epoch_before, epoch_after = asyncio.run(scenario())
    assert moved == [1] and stayed == [1]
    assert epoch_after > epoch_before, "the hub was told the moved channel was lost a while"


@pytest.mark.failover
def test_a_stream_through_a_master_failover_loses_and_repeats_nothing(
    on_cluster, restores, start_web, start_worker, owner, session_cookies
):
    cluster = on_cluster
    web = start_web(REDIS_URL=cluster.url)
    job = services.job_create(owner=owner, params=PARAMS)
    doomed = cluster.owner(job.channel)
    url = f"{web.url}/api/jobs/{job.pk}/events"
    cookies = session_cookies(owner)

    async def scenario() -> Followed:
        async with httpx.AsyncClient(cookies=cookies) as client:
            reader = asyncio.create_task(follow(client, url, give_up_s=90))
            await _until_io(lambda: cluster.shard_subscribers(job.channel) == 1)
            await asyncio.to_thread(start_worker, REDIS_URL=cluster.url, JOBS_STEP_PACE_S="0.4")
            await asyncio.to_thread(_wait_job_running, job)
            await asyncio.sleep(1.0)  # a few steps live on the doomed shard first
            cluster.kill(doomed)
            return await reader

    followed = asyncio.run(scenario())
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert followed.seqs == list(range(1, job.last_seq + 1)), "every event once, in order"
    assert followed.answers == [200] and followed.dropped == 0, "the person saw no error"


@closing_connection
def _wait_job_running(job: Job, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while Job.objects.get(pk=job.pk).status == JobStatus.QUEUED:
        if time.monotonic() > deadline:
            raise TimeoutError("the worker did not start the job")
        time.sleep(0.05)


EVENT_EVERY_S = 0.5
LATE_S = 5.0
"""The promise of issue 23: no event reaches a stream later than this after its `ts`."""


@pytest.mark.failover
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "freeze_s", [pytest.param(8.0, id="8s"), pytest.param(30.0, id="30s", marks=pytest.mark.faults)]
)
def test_a_frozen_master_delays_no_event_past_five_seconds_on_any_shard(
    on_cluster, restores, owner, freeze_s, capsys
):
    """SIGSTOP one master: a silent failure (its sockets stay open, its kernel still accepts
    connections, nothing answers). The link's ping finds that shard's connection dead, its
    channels are read from the database, the link follows the replica that takes over, and
    the other shards stay live; events keep coming on every shard at a steady rate."""
    cluster = on_cluster
    jobs = _jobs_on_each_master(cluster, owner)
    doomed = cluster.masters()[0]
    report = closing_connection(services.job_report_progress)

    async def scenario() -> dict[Address, list[tuple[Message, float]]]:
        hub = _hub(cluster.url, source=closing_connection(selectors.hub_messages_after))
        hub.start()
        got: dict[Address, list[tuple[Message, float]]] = {master: [] for master in jobs}
        readers: list[asyncio.Task[None]] = []
        frozen: int | None = None
        try:
            await _until(lambda: hub.state() == "redis")
            subs = {master: await hub.subscribe(job.channel) for master, job in jobs.items()}
            await _until(lambda: not hub._catch_up)
            for job in jobs.values():
                hub.note_cursor(job.channel, 1)
            readers = [asyncio.create_task(_arrivals(sub, got[m])) for m, sub in subs.items()]
            sent = 0

            async def produce(seconds: float) -> None:
                nonlocal sent
                until = time.monotonic() + seconds
                while time.monotonic() < until:
                    sent += 1
                    for job in jobs.values():
                        await asyncio.to_thread(report, job=job, percent=min(sent, 100))
                    await asyncio.sleep(EVENT_EVERY_S)

            await produce(2.0)
            frozen = cluster.freeze(doomed)
            await produce(freeze_s)
            os.kill(frozen, signal.SIGCONT)
            frozen = None
            await produce(3.0)
            last = 1 + sent
            await _until(lambda: all(_stream_ids(g)[-1:] == [last] for g in got.values()), 30)
        finally:
            if frozen is not None:
                os.kill(frozen, signal.SIGCONT)
            for reader in readers:
                reader.cancel()
            await hub.close()
        return got

    got = asyncio.run(scenario())
    late = {master: _first_delays(arrivals) for master, arrivals in got.items()}
    for master, arrivals in got.items():
        assert _stream_ids(arrivals) == list(range(2, len(_stream_ids(arrivals)) + 2)), master
    worst = {master: max(delays.values()) for master, delays in late.items()}
    with capsys.disabled():
        print(
            f"\none master frozen {freeze_s:.0f} s, an event per shard every {EVENT_EVERY_S} s: "
            f"worst delay after ts on the frozen shard {worst[doomed]:.2f} s, on the others "
            + ", ".join(f"{worst[m]:.2f} s" for m in jobs if m != doomed)
        )
    assert all(delay < LATE_S for delay in worst.values()), worst


async def _arrivals(sub: Subscription, into: list[tuple[Message, float]]) -> None:
    """Record every message `sub` gets, with when it arrived, until cancelled."""
    while True:
        item = await sub.get(60)
        if isinstance(item, Message):
            into.append((item, time.time()))


def _stream_ids(arrivals: list[tuple[Message, float]]) -> list[int]:
    """Return the ids a stream would send, each once, in order (see `_as_stream_sees`)."""
    return _as_stream_sees([message for message, _ in arrivals])


def _first_delays(arrivals: list[tuple[Message, float]]) -> dict[int, float]:
    """Return, per id, how long after its `ts` it first arrived."""
    delays: dict[int, float] = {}
    for message, at in arrivals:
        delays.setdefault(message.id, at - message.ts)
    return delays
