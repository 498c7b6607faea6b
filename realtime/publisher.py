"""Publishing: after its commit, each message is handed to Redis from one background thread.

A writer used to wait for its publish after each commit: two round trips in a row. Now the
publish of one message overlaps the database round trip of the next, and messages that wait
together go in one pipelined round trip, in the order given. A message that never reaches Redis
(it refused it, or the process died first) loses nothing: the database holds the event, and
listeners catch up from it at the next message they get (a gap in the ids) or, while Redis is
down, from the hub's database poll. Without `REDIS_URL` nothing is published at all: the hubs
poll the database.

Each message is put in its envelope by the thread, as it goes: the envelope carries the
writer's stages (realtime/stages.py), up to the moment its PUBLISH is written.
"""

import atexit
import logging
import os
import threading
import time
from collections import deque
from typing import NamedTuple

from realtime import envelope, metrics, stages
from realtime.broker import clients
from realtime.message import Message
from realtime.stages import Write

logger = logging.getLogger(__name__)


class _Pending(NamedTuple):
    channel: str
    message: Message
    write: Write | None
    handed: float
    """`time.monotonic()` when it was handed over (after its commit)."""


class Publisher:
    """Publishes from one background thread, in the order given."""

    MAX_PENDING = 10_000
    """Messages waiting at most; past it the oldest are dropped (and caught up as above)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pending: deque[_Pending] = deque()
        self._busy = False
        self._dropped = 0
        self._thread: threading.Thread | None = None

    def submit(self, channel: str, message: Message, write: Write | None = None) -> None:
        """Queue `message` for `channel` (with how its `write` went); never waits for Redis."""
        pending = _Pending(channel, message, write, time.monotonic())
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="redis-publisher", daemon=True
                )
                self._thread.start()
            if len(self._pending) >= self.MAX_PENDING:
                self._pending.popleft()
                self._dropped += 1
            self._pending.append(pending)
            self._cond.notify_all()

    def flush(self, timeout_s: float) -> bool:
        """Wait until every queued message was sent (or failed); return False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout_s)

    def after_fork(self) -> None:
        """Forget the parent's thread and messages (a forked child has neither)."""
        self._cond = threading.Condition()
        self._pending.clear()
        self._busy = False
        self._thread = None

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._pending))
                batch, dropped = list(self._pending), self._dropped
                self._pending.clear()
                self._dropped, self._busy = 0, True
            try:
                if dropped:
                    logger.warning(
                        "%d message(s) dropped unpublished (Redis too slow); "
                        "listeners will catch up from the database",
                        dropped,
                    )
                _send(batch)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()


def _send(pending: list[_Pending]) -> None:
    sent, sent_wall = time.monotonic(), time.time()
    batch = [
        (
            item.channel,
            envelope.pack(
                item.message,
                stages.trace(item.write, handed=item.handed, sent=sent, sent_wall=sent_wall),
            ),
        )
        for item in pending
    ]
    try:
        clients.publish_batch(batch)
    except clients.PublishFailed as failed:
        metrics.EVENTS_PUBLISHED.inc(len(batch) - len(failed.unsent))
        logger.warning(
            "publishing %d message(s) (first on %s) failed, listeners will catch up "
            "from the database: %s",
            len(failed.unsent),
            failed.unsent[0][0],
            failed,
        )
        return
    metrics.EVENTS_PUBLISHED.inc(len(batch))


PUBLISHER = Publisher()
os.register_at_fork(after_in_child=PUBLISHER.after_fork)
atexit.register(PUBLISHER.flush, 2.0)


def publish(channel: str, message: Message, write: Write | None = None) -> None:
    """Ring the doorbell for `message` soon, in order (call it after the commit; `write` says
    how the writer's part went, for realtime/stages.py).

    Without Redis configured there is nothing to ring: every hub polls the database.
    """
    if clients.configured():
        PUBLISHER.submit(channel, message, write)
