"""A small event flag for objects held once per open stream."""

import asyncio


class Flag:
    """`asyncio.Event`'s is_set / set / clear / wait, without the deque an Event allocates
    up front: the hub holds one per subscribed channel, and the HTTP protocol two per
    connection (composer_realtime/http_protocol.py)."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = False
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        """Return True once set (and until cleared)."""
        return self._set

    def set(self) -> None:
        """Set the flag and wake every waiter."""
        self._set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        """Unset the flag: later waiters wait for the next `set`."""
        self._set = False

    async def wait(self) -> None:
        """Return once the flag is set."""
        if self._set:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)  # timed out or cancelled
