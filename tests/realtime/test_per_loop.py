"""One object per event loop (realtime/per_loop.py), in process."""

import asyncio
import gc
import threading
import weakref

import pytest

from realtime.per_loop import PerLoop


class _Thing:
    """Something that belongs to the loop it was made in."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()


def test_a_loop_gets_the_same_object_every_time_and_another_loop_its_own():
    things = PerLoop(_Thing)

    async def twice() -> tuple[_Thing, _Thing]:
        return things.get(), things.get()

    first, again = asyncio.run(twice())
    other, _ = asyncio.run(twice())
    assert first is again
    assert other is not first and other.loop is not first.loop


def test_loops_in_other_threads_have_theirs_and_all_lists_every_live_one():
    things = PerLoop(_Thing)
    ready, done = threading.Barrier(3), threading.Event()
    made: list[_Thing] = []

    def run() -> None:
        async def hold() -> None:
            made.append(things.get())
            ready.wait(5)
            await asyncio.to_thread(done.wait, 5)

        asyncio.run(hold())

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    ready.wait(5)
    try:
        assert sorted(map(id, things.all())) == sorted(map(id, made))
        assert made[0] is not made[1]
    finally:
        done.set()
        for thread in threads:
            thread.join(5)


class _Plain:
    """Something that holds no reference to its loop (one that did would keep it alive)."""


def test_an_object_goes_with_its_loop_and_clear_forgets_the_living_ones():
    plain = PerLoop(_Plain)
    asyncio.run(_get(plain))
    gc.collect()
    assert plain.all() == [], "a closed, dropped loop takes its object with it"

    things = PerLoop(_Thing)

    async def cleared() -> bool:
        before = things.get()
        things.clear()
        return things.get() is before

    assert asyncio.run(cleared()) is False


def test_the_object_kept_aside_for_the_next_get_goes_with_its_loop_too():
    plain = PerLoop(_Plain)

    async def made() -> weakref.ref[_Plain]:
        first = plain.get()
        assert plain.get() is first  # the quick way, from the object kept aside
        return weakref.ref(first)

    kept = asyncio.run(made())
    gc.collect()
    assert kept() is None, "the loop is gone: nothing may hold its object"


def test_outside_a_running_loop_there_is_nothing_to_get():
    with pytest.raises(RuntimeError):
        PerLoop(_Thing).get()


async def _get(things: PerLoop[_Plain]) -> None:
    things.get()
