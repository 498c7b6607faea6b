"""The hub's Redis link (realtime/broker/link.py), in process, against the real Redis.

Whatever reaches a subscribed channel, and whatever goes wrong below the hub, live delivery
must survive or be restored with a catch-up: never stop quietly.
"""

import asyncio
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis.asyncio as aredis

from realtime import envelope, metrics
from realtime.hub import Hub
from realtime.message import Message
from tests.support.faultproxy import FaultProxy
from tests.support.waits import until

CHANNEL = "test:link"
TRUTH: list[Message] = []  # what "the database" holds; the doorbell source reads it


def _truth_after(cursors: dict[str, int]) -> list[tuple[str, Message]]:
    return [(CHANNEL, m) for m in TRUTH if CHANNEL in cursors and m.id > cursors[CHANNEL]]


def _hub(redis_url: str) -> Hub:
    TRUTH.clear()
    return Hub(redis_url=redis_url, queue_size=8, poll_s=0.05, source=_truth_after)


def _packed(id_: int) -> str:
    return envelope.pack(Message(id=id_, event="e", data="{}"))


def _run(
    redis_url: str, scenario: Callable[[Hub, aredis.Redis], Any], publish_url: str = ""
) -> Any:
    """Run `scenario` with a started hub on `redis_url` and a client of `publish_url` (the
    same Redis, by default the same way)."""

    async def main() -> Any:
        hub = _hub(redis_url)
        hub.start()
        client = aredis.Redis.from_url(publish_url or redis_url)
        try:
            await until(lambda: hub.state() == "redis")
            return await scenario(hub, client)
        finally:
            await client.aclose()
            await hub.close()

    return asyncio.run(main())


def test_a_message_that_is_not_utf8_is_dropped_and_counted_and_the_link_stays(settings):
    async def scenario(hub: Hub, client: aredis.Redis) -> tuple[Any, float, float, str]:
        sub = await hub.subscribe(CHANNEL)
        await hub.watch(CHANNEL)  # its epoch counts the link's losses
        malformed, epoch = (
            metrics.local_value("realtime_messages_malformed_total"),
            hub.confirmed_epoch(CHANNEL),
        )
        await client.publish(CHANNEL, b"\xff\xfe")
        await client.publish(CHANNEL, "not an envelope at all")
        await client.publish(CHANNEL, _packed(1))
        got = await sub.get(2.0)
        return (
            got,
            metrics.local_value("realtime_messages_malformed_total") - malformed,
            epoch,
            hub.confirmed_epoch(CHANNEL),
        )

    got, malformed, epoch_before, epoch_after = _run(settings.REDIS_URL, scenario)
    assert isinstance(got, Message) and got.id == 1
    assert malformed == 2 and epoch_before is not None and epoch_after == epoch_before


def test_a_failure_below_the_hub_restarts_the_link_and_catches_up_from_the_truth(settings):
    async def scenario(hub: Hub, client: aredis.Redis) -> tuple[Any, Any, float, int]:
        sub = await hub.subscribe(CHANNEL)
        await hub.watch(CHANNEL)  # its epoch counts the link's losses
        failures, epoch = (
            metrics.local_value("realtime_redis_link_failures_total"),
            hub.confirmed_epoch(CHANNEL),
        )
        assert epoch is not None
        hub.note_cursor(CHANNEL, 0)  # what a relay does once it has read the truth
        deliver = hub._deliver

        def broken_once(channel: str, message: Message) -> None:
            hub._deliver = deliver  # type: ignore[method-assign]
            raise RuntimeError("a bug in delivery")

        hub._deliver = broken_once  # type: ignore[method-assign]
        TRUTH.append(Message(id=1, event="e", data="{}"))
        await client.publish(CHANNEL, _packed(1))
        first = await sub.get(5.0)  # lost with the link, then read from the truth
        await until(lambda: hub.confirmed_epoch(CHANNEL) is not None)  # live again
        await client.publish(CHANNEL, _packed(2))
        second = await sub.get(5.0)
        now = hub.confirmed_epoch(CHANNEL)
        return (
            first,
            second,
            metrics.local_value("realtime_redis_link_failures_total") - failures,
            (now or 0) - epoch,
        )

    first, second, failures, epochs = _run(settings.REDIS_URL, scenario)
    assert isinstance(first, Message) and first.id == 1, "caught up from the truth"
    assert isinstance(second, Message) and second.id == 2, "live again after the restart"
    assert failures == 1 and epochs == 1


async def _on_redis(client: aredis.Redis, pattern: str) -> set[str]:
    """Return the channels matching `pattern` that some connection is subscribed to."""
    return {name.decode() for name in await client.pubsub_channels(pattern)}


async def _until_on_redis(client: aredis.Redis, pattern: str, expected: set[str]) -> None:
    for _ in range(500):
        if await _on_redis(client, pattern) == expected:
            return
        await asyncio.sleep(0.01)
    assert await _on_redis(client, pattern) == expected


def test_the_link_keeps_on_redis_exactly_the_channels_wanted_as_they_come_and_go(settings):
    # The writer looks only at the channels that changed since it last ran (a new
    # connection: at every channel); what Redis holds must be what the hub wants, always.
    prefix = "test:link:set:"

    async def scenario(hub: Hub, client: aredis.Redis) -> None:
        subs = [await hub.subscribe(f"{prefix}{n}") for n in range(40)]
        await _until_on_redis(client, f"{prefix}*", {f"{prefix}{n}" for n in range(40)})
        for sub in subs[::2]:
            hub.unsubscribe(sub)  # the even ones go …
        await hub.watch(f"{prefix}0")  # … but one is watched, and one wanted again at once
        again = await hub.subscribe(f"{prefix}2")
        hub.unsubscribe(subs[1])
        hub.unsubscribe(subs[1])  # twice is once
        wanted = {f"{prefix}{n}" for n in range(3, 40, 2)} | {f"{prefix}0", f"{prefix}2"}
        await _until_on_redis(client, f"{prefix}*", wanted)

        epoch = hub.confirmed_epoch(f"{prefix}0")
        await client.client_kill_filter(_type="pubsub")  # a new connection: all from nothing
        await until(lambda: hub.confirmed_epoch(f"{prefix}0") not in (None, epoch))
        await _until_on_redis(client, f"{prefix}*", wanted)

        hub.unwatch(f"{prefix}0")
        hub.unsubscribe(again)
        for sub in subs[3::2]:
            hub.unsubscribe(sub)
        await _until_on_redis(client, f"{prefix}*", set())

    _run(settings.REDIS_URL, scenario)


def test_a_hub_counts_as_link_down_until_its_link_is_up_and_not_after_it_closes(settings):
    down = "realtime_redis_link_down"
    before = metrics.local_value(down)

    async def main() -> tuple[float, float]:
        hub = _hub(settings.REDIS_URL)
        waiting = metrics.local_value(down) - before  # made, not connected yet
        hub.start()
        try:
            await until(lambda: hub.state() == "redis")
            return waiting, metrics.local_value(down) - before
        finally:
            await hub.close()

    assert asyncio.run(main()) == (1, 0)
    assert metrics.local_value(down) == before, "a closed hub is no hub with a link down"


def _through(proxy: FaultProxy, redis_url: str) -> str:
    """Return `redis_url` with its host and port replaced by the proxy's."""
    parts = urlsplit(redis_url)
    return urlunsplit(parts._replace(netloc=proxy.url_host_port))


def _down_count(reason: str) -> float:
    labels = {"link": "single", "reason": reason}
    return metrics.local_value("realtime_redis_link_losses_total", labels)


@pytest.mark.parametrize("new_flows", [False, True], ids=["every-flow", "old-flows-only"])
def test_a_silent_path_is_noticed_by_the_ping_read_from_the_truth_and_replaced(settings, new_flows):
    """A blackholed path: no byte either way, nothing closed. Without the ping the link would
    wait for ever; with it the hub reads the database within CHECK + TIMEOUT, and the link
    comes back over a new connection (as soon as new flows pass, or after the heal)."""
    settings.REALTIME_REDIS_HEALTH_CHECK_S = 0.3
    settings.REALTIME_REDIS_HEALTH_TIMEOUT_S = 0.6
    bound = 0.3 + 0.6 + 5  # the health check's own bound, and slack for a loaded machine
    with FaultProxy(_redis_port(settings.REDIS_URL), seed=23, lifetime_s=60) as proxy:

        async def scenario(hub: Hub, client: aredis.Redis) -> dict[str, Any]:
            silent_before = _down_count("health_check")
            sub = await hub.subscribe(CHANNEL)
            hub.note_cursor(CHANNEL, 0)
            await client.publish(CHANNEL, _packed(1))
            got = [await sub.get(5.0)]
            proxy.blackhole(new_flows=new_flows)
            await until(lambda: hub.state() != "redis", timeout=bound)
            TRUTH.append(Message(id=2, event="e", data="{}"))
            got.append(await sub.get(5.0))  # from the database, the path still dead
            if not new_flows:
                await asyncio.sleep(1.0)
                assert hub.state() != "redis", "no new connection comes up over a dead path"
                proxy.heal()
            await until(lambda: hub.state() == "redis" and hub._confirmed[CHANNEL].is_set(), bound)
            await client.publish(CHANNEL, _packed(3))
            got.append(await sub.get(5.0))
            return {"got": got, "silent": _down_count("health_check") - silent_before}

        found = _run(_through(proxy, settings.REDIS_URL), scenario, settings.REDIS_URL)
    ids = [m.id if isinstance(m, Message) else m for m in found["got"]]
    assert ids == [1, 2, 3]
    assert found["silent"] == 1, "one outage, counted once as a missed health check"


def _redis_port(redis_url: str) -> int:
    return urlsplit(redis_url).port or 6379


def test_channels_wanted_in_a_storm_are_subscribed_in_few_batches(settings):
    """Opens that come faster than one per BATCH_GAP_S share SUBSCRIBE commands: the writer
    holds its batches that far apart, so 40 channels wanted one loop pass apart (the writer
    could run between any two) take a handful of commands, not 40 (each a write to Redis and
    a command for it to run). Every channel is still confirmed live."""

    async def scenario(hub: Hub, client: aredis.Redis) -> tuple[int, list[bool]]:
        before = await _subscribe_calls(client)
        opens = []
        for n in range(40):
            opens.append(asyncio.create_task(hub.subscribe(f"{CHANNEL}:storm:{n}")))
            await asyncio.sleep(0)  # one pass of the loop: the writer's turn
        subs = await asyncio.gather(*opens)
        calls = await _subscribe_calls(client) - before
        live = [not sub.resync for sub in subs]  # resync: not confirmed within the timeout
        for sub in subs:
            hub.unsubscribe(sub)
        return calls, live

    calls, live = _run(settings.REDIS_URL, scenario)
    assert all(live)
    assert 1 <= calls <= 10, f"{calls} SUBSCRIBE commands for 40 channels"


async def _subscribe_calls(client: aredis.Redis) -> int:
    stats = await client.info("commandstats")
    return int(stats.get("cmdstat_subscribe", {}).get("calls", 0))
