"""Shared timers for waits (realtime/alarms.py), in process."""

import asyncio

from realtime.alarms import ALARMS, Alarms, settle


def test_a_wait_times_out_after_its_time_within_one_slot():
    async def scenario() -> tuple[bool, float]:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        started = loop.time()
        Alarms().add(waiter, 0.15)
        async with asyncio.timeout(10):
            return await waiter, loop.time() - started

    woken, took = asyncio.run(scenario())
    assert woken is False
    assert 0.15 - 0.005 <= took  # the loop may run a timer within its clock resolution


def test_waits_ending_in_the_same_slot_share_one_timer():
    async def scenario() -> tuple[int, list[bool], int]:
        loop = asyncio.get_running_loop()
        alarms = Alarms()
        waiters = [loop.create_future() for _ in range(300)]
        for waiter in waiters:
            alarms.add(waiter, 0.05)
        slots = len(alarms._slots)  # one loop timer each
        async with asyncio.timeout(10):
            woken = list(await asyncio.gather(*waiters))
        return slots, woken, len(alarms._slots)

    slots, woken, slots_after = asyncio.run(scenario())
    assert slots <= 2  # two when the waits straddle a slot boundary
    assert woken == [False] * 300 and slots_after == 0


def test_a_discarded_waiter_is_neither_held_nor_settled():
    async def scenario() -> tuple[bool, int]:
        loop = asyncio.get_running_loop()
        alarms = Alarms()
        kept, dropped = loop.create_future(), loop.create_future()
        alarms.add(kept, 0.05)
        alarms.discard(alarms.add(dropped, 0.05), dropped)
        async with asyncio.timeout(10):
            await kept
        return dropped.done(), sum(len(waiters) for waiters in alarms._slots.values())

    assert asyncio.run(scenario()) == (False, 0)


def test_settle_answers_once_and_never_overwrites():
    async def scenario() -> bool:
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        settle(waiter, True)
        settle(waiter, False)  # the timer firing after a wake-up: no InvalidStateError
        return waiter.result()

    assert asyncio.run(scenario()) is True


def test_each_loop_has_its_own_alarms():
    async def alarms() -> Alarms:
        return ALARMS.get()

    assert asyncio.run(alarms()) is not asyncio.run(alarms())
