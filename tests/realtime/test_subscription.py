"""A stream's bounded queue (realtime/subscription.py), in process: no Redis, no server."""

import asyncio

from realtime import metrics
from realtime.alarms import ALARMS
from realtime.message import Message
from realtime.subscription import Subscription


def _message(id_: int) -> Message:
    return Message(id=id_, event="e", data="{}")


def test_messages_come_out_in_order_and_an_idle_queue_holds_nothing():
    async def scenario() -> list[object]:
        sub = Subscription("c", limit=4)
        sub.put(_message(1))
        sub.put(_message(2))
        got = [await sub.get(1.0), await sub.get(1.0)]
        return [*got, sub._items]

    first, second, items = asyncio.run(scenario())
    assert (first.id, second.id, items) == (1, 2, None)


def test_an_empty_queue_times_out():
    async def scenario() -> object:
        return await Subscription("c", limit=4).get(0.05)

    assert asyncio.run(scenario()) == "timeout"


def test_an_overflow_drops_the_queue_counts_and_asks_for_a_resync_once():
    async def scenario() -> list[object]:
        sub = Subscription("c", limit=2)
        for n in range(1, 6):
            sub.put(_message(n))
        return [await sub.get(1.0), await sub.get(0.05)]

    before = metrics.local_value("realtime_queue_overflows_total")
    assert asyncio.run(scenario()) == ["resync", "timeout"]
    assert metrics.local_value("realtime_queue_overflows_total") > before


def test_a_waiting_reader_is_woken_by_a_message():
    async def scenario() -> object:
        sub = Subscription("c", limit=2)
        asyncio.get_running_loop().call_later(0.05, sub.put, _message(1))
        return await sub.get(5.0)

    got = asyncio.run(scenario())
    assert isinstance(got, Message) and got.id == 1


def test_closing_wins_over_waiting_messages():
    async def scenario() -> object:
        sub = Subscription("c", limit=2)
        sub.put(_message(1))
        sub.mark_closing()
        return await sub.get(1.0)

    assert asyncio.run(scenario()) == "closing"


def test_many_waiting_readers_share_timers_and_none_times_out_early():
    async def scenario() -> tuple[list[object], float, int, int]:
        loop = asyncio.get_running_loop()
        subs = [Subscription(f"c{i}", limit=2) for i in range(500)]
        started = loop.time()
        waits = [asyncio.ensure_future(sub.get(0.2)) for sub in subs]
        await asyncio.sleep(0)  # every reader is waiting now
        timers_while_waiting = len(ALARMS.get()._slots)
        results = await asyncio.gather(*waits)
        return results, loop.time() - started, timers_while_waiting, len(ALARMS.get()._slots)

    results, took, timers, timers_after = asyncio.run(scenario())
    assert results == ["timeout"] * 500
    assert took >= 0.2 - 0.005  # the loop may run a timer within its clock resolution
    assert timers <= 2  # one slot's timer (two if the waits straddle a slot boundary)
    assert timers_after == 0


def test_a_reader_woken_early_leaves_nothing_in_the_shared_timers():
    async def scenario() -> tuple[object, int]:
        sub = Subscription("c", limit=2)
        waiting = asyncio.ensure_future(sub.get(30))
        await asyncio.sleep(0)
        sub.put(_message(1))
        got = await waiting
        return got, sum(len(waiters) for waiters in ALARMS.get()._slots.values())

    got, left = asyncio.run(scenario())
    assert isinstance(got, Message) and got.id == 1
    assert left == 0  # a busy stream waits many times per heartbeat: nothing may pile up
