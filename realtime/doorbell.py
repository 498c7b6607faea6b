"""The database doorbell: how a hub learns of new messages without Redis.

Once per interval for the whole process (never per stream), and only while the hub has no
live Redis link, must catch up after one, or has channels on a lost cluster shard, it asks
the configured source (`REALTIME_DB_DOORBELL_SOURCE`, a function of the domain) for every
message newer than what the hub's readers have, and hands them to the hub.
"""

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from django.db import connections

from realtime.message import Message

logger = logging.getLogger(__name__)

DoorbellSource = Callable[[dict[str, int]], list[tuple[str, Message]]]
"""Maps channel -> newest id its readers have; returns the newer messages, in order."""


class Listener(Protocol):
    """What the doorbell needs of the hub it rings."""

    async def due_cursors(self) -> dict[str, int]:
        """Return, per channel to read now, the newest id its readers are known to have."""
        ...

    def read_failed(self) -> None:
        """Take note that a due read failed."""
        ...

    def deliver_if_new(self, channel: str, message: Message) -> None:
        """Hand on a message found in the database, unless it was had already."""
        ...


class DatabaseDoorbell:
    """Poll the source for a hub, on one thread of its own."""

    def __init__(self, *, source: DoorbellSource, poll_s: float) -> None:
        self._source = source
        self._poll_s = poll_s
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hub-db")

    async def run(self, hub: Listener) -> None:
        """Poll whenever the hub says a read is due, until cancelled."""
        while True:
            await asyncio.sleep(self._poll_s)
            cursors = await hub.due_cursors()
            if not cursors:
                continue
            try:
                await self.poll_once(hub, cursors)
            except Exception:
                hub.read_failed()
                logger.exception("database doorbell poll failed; retrying")

    async def poll_once(self, hub: Listener, cursors: dict[str, int]) -> None:
        """Read once what is newer than `cursors` and hand it to the hub."""
        loop = asyncio.get_running_loop()
        found = await loop.run_in_executor(self._executor, self._read, cursors)
        for channel, message in found:
            hub.deliver_if_new(channel, message)

    def close(self) -> None:
        """Let the thread go."""
        self._executor.shutdown(wait=False)

    def _read(self, cursors: dict[str, int]) -> list[tuple[str, Message]]:
        try:
            return self._source(cursors)
        finally:
            connections.close_all()  # hand the connection back to the pool between polls
