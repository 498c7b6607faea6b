"""The hub's Redis link (realtime/broker/link.py), in process, against the real Redis.

Whatever reaches a subscribed channel, and whatever goes wrong below the hub, live delivery
must survive or be restored with a catch-up: never stop quietly.
"""

import asyncio
from collections.abc import Callable
from typing import Any

import redis.asyncio as aredis

from realtime import envelope, metrics
from realtime.hub import Hub
from realtime.message import Message
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


def _run(redis_url: str, scenario: Callable[[Hub, aredis.Redis], Any]) -> Any:
    async def main() -> Any:
        hub = _hub(redis_url)
        hub.start()
        client = aredis.Redis.from_url(redis_url)
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
