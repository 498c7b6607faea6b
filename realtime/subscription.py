"""A stream's bounded queue on one channel: what the hub hands it, and what it must do.

Small while idle, as most of thousands of open streams are: the queue exists only while it
holds messages, and a wait is one future, timed out by a timer shared with other waits
(realtime/alarms.py). A reader that may have missed something (its queue overflowed, the link
dropped) is told to `resync`: catch up from the database, the truth.
"""

import asyncio
from collections import deque
from typing import Literal

from realtime import metrics
from realtime.alarms import ALARMS, settle
from realtime.message import Message

Signal = Literal["resync", "timeout", "closing"]


class Subscription:
    """A stream's bounded queue on one channel."""

    __slots__ = ("_items", "_limit", "_waiter", "channel", "closing", "resync")

    def __init__(self, channel: str, limit: int) -> None:
        self.channel = channel
        self.closing = False
        self.resync = False
        self._items: deque[Message] | None = None
        self._limit = limit
        self._waiter: asyncio.Future[bool] | None = None

    def put(self, message: Message) -> None:
        """Queue a message; on overflow drop the queue and ask the reader to resync."""
        if self._items is None:
            self._items = deque()
        elif len(self._items) >= self._limit:
            metrics.QUEUE_OVERFLOWS.inc()
            self.mark_resync()
            return
        self._items.append(message)
        self._wake()

    def mark_closing(self) -> None:
        """Tell the reader to end its stream: this process is shutting down."""
        self.closing = True
        self._wake()

    def mark_resync(self) -> None:
        """Tell the reader it may have missed messages and must read the database."""
        self._items = None
        self.resync = True
        self._wake()

    async def get(self, wait_s: float) -> Message | Signal:
        """Return the next message, "resync" if the reader must catch up, "closing" if it
        must end, or "timeout"."""
        if self.closing:
            return "closing"
        if self._items is None and not self.resync:
            # The wait is inline, not a coroutine of its own: its frame is held per open stream.
            waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            alarms = ALARMS.get()
            slot = alarms.add(waiter, wait_s)
            try:
                woken = await waiter
            finally:
                self._waiter = None
                alarms.discard(slot, waiter)
            del waiter
            if not woken:
                return "timeout"
        if self.closing:
            return "closing"
        if self.resync or self._items is None:
            self.resync = False
            self._items = None
            return "resync"
        message = self._items.popleft()
        if not self._items:
            self._items = None
        return message

    def _wake(self) -> None:
        if self._waiter is not None:
            settle(self._waiter, True)
