"""The small event flag held per channel and per connection (realtime/flag.py), in process."""

import asyncio

import pytest

from realtime.flag import Flag


def test_waiters_wake_when_set_and_a_set_flag_does_not_wait():
    async def scenario() -> tuple[bool, bool]:
        flag = Flag()
        waiters = [asyncio.ensure_future(flag.wait()) for _ in range(3)]
        await asyncio.sleep(0)
        assert not any(w.done() for w in waiters)
        flag.set()
        async with asyncio.timeout(5):
            await asyncio.gather(*waiters)
            await flag.wait()  # set: returns at once
        return flag.is_set(), flag._waiters is None

    assert asyncio.run(scenario()) == (True, True)


def test_clear_makes_later_waiters_wait_for_the_next_set():
    async def scenario() -> bool:
        flag = Flag()
        flag.set()
        flag.clear()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await flag.wait()
        return flag.is_set()

    assert asyncio.run(scenario()) is False


def test_a_waiter_that_gives_up_leaves_nothing_behind():
    async def scenario() -> list[object]:
        flag = Flag()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.02):
                await flag.wait()
        return flag._waiters or []

    assert asyncio.run(scenario()) == []
