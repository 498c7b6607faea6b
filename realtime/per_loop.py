"""One object per event loop: made on first use in a loop, gone with the loop.

asyncio objects (futures, timers, clients, tasks) belong to the loop that made them, and a
process may run several loops over its life (a test per loop, `asyncio.run` in a thread), so
what the transport keeps per process it keeps per loop: the hub, the shared timers, the Redis
asyncio client, the batched stream starts, the dashboard's publisher. Keyed weakly: a loop
that is closed and dropped takes its object with it.
"""

import asyncio
import weakref
from collections.abc import Callable


class PerLoop[T]:
    """The `T` of each event loop, made by `make()` inside that loop the first time it is
    asked for."""

    __slots__ = ("_by_loop", "_make")

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = (
            weakref.WeakKeyDictionary()
        )

    def get(self) -> T:
        """Return the running loop's object, making it on first use."""
        loop = asyncio.get_running_loop()
        found = self._by_loop.get(loop)
        if found is None:
            found = self._by_loop[loop] = self._make()
        return found

    def all(self) -> list[T]:
        """Return the objects of every loop that has one (from any thread: a copy)."""
        return list(self._by_loop.values())

    def clear(self) -> None:
        """Forget every loop's object: the next `get` makes a new one (settings changed)."""
        self._by_loop.clear()
