"""Shared timers for waits that mostly end the same way: by timing out.

Thousands of idle streams each wait for their next message or their heartbeat. A loop timer
(handle, libuv timer, context copy, arguments) per wait would be held by every one of them;
here the waits that end within the same ALARM_SLOT_S share one timer.
"""

import asyncio
import math

from realtime.per_loop import PerLoop

ALARM_SLOT_S = 0.1
"""How finely waits end: a wait of `s` seconds ends between `s` and `s` + this."""


def settle(waiter: "asyncio.Future[bool]", woken: bool) -> None:
    """Settle `waiter` with `woken` (True: something arrived; False: time is up) unless it is
    settled already."""
    if not waiter.done():
        waiter.set_result(woken)


class Alarms:
    """Time out waits with one loop timer per ALARM_SLOT_S slot, not one per waiting stream.

    A waiter woken early leaves its slot at once: a busy stream waits many times per heartbeat.
    """

    __slots__ = ("_slots",)  # no reference to the loop: `per_loop` keys on it weakly

    def __init__(self) -> None:
        self._slots: dict[int, set[asyncio.Future[bool]]] = {}

    def add(self, waiter: "asyncio.Future[bool]", wait_s: float) -> int:
        """Settle `waiter` with False once `wait_s` has passed, unless it is done by then;
        return its slot (for `discard`)."""
        loop = waiter.get_loop()
        slot = math.ceil((loop.time() + max(0.0, wait_s)) / ALARM_SLOT_S)
        waiters = self._slots.get(slot)
        if waiters is None:
            waiters = self._slots[slot] = set()
            loop.call_at(slot * ALARM_SLOT_S, self._fire, slot)
        waiters.add(waiter)
        return slot

    def discard(self, slot: int, waiter: "asyncio.Future[bool]") -> None:
        """Forget `waiter` (settled already, or no longer waited for)."""
        waiters = self._slots.get(slot)
        if waiters is not None:
            waiters.discard(waiter)

    def _fire(self, slot: int) -> None:
        for waiter in self._slots.pop(slot, ()):
            settle(waiter, False)


ALARMS = PerLoop(Alarms)
"""The alarms of each event loop (a loop's timers fire only on that loop)."""
