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
    asked for.

    The last loop's object is kept aside for the next `get`, which streams call once per
    message: a `WeakKeyDictionary` lookup is a Python function and a new weak reference each
    time. It is kept with a weak reference to its loop, whose callback lets it go with the
    loop, and as one tuple, so that a thread with another loop never reads half of it.
    """

    __slots__ = ("_by_loop", "_last", "_make")

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = (
            weakref.WeakKeyDictionary()
        )
        self._last: tuple[weakref.ref[asyncio.AbstractEventLoop], T] | None = None

    def get(self) -> T:
        """Return the running loop's object, making it on first use."""
        loop = asyncio.get_running_loop()
        last = self._last
        if last is not None and last[0]() is loop:
            return last[1]
        found = self._by_loop.get(loop)
        if found is None:
            found = self._by_loop[loop] = self._make()
        self._last = (weakref.ref(loop, self._forget), found)
        return found

    def _forget(self, loop: "weakref.ref[asyncio.AbstractEventLoop]") -> None:
        last = self._last
        if last is not None and last[0] is loop:
            self._last = None

    def all(self) -> list[T]:
        """Return the objects of every loop that has one (from any thread: a copy)."""
        return list(self._by_loop.values())

    def clear(self) -> None:
        """Forget every loop's object: the next `get` makes a new one (settings changed)."""
        self._last = None
        self._by_loop.clear()
