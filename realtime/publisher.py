"""Publishing: after its commit, each message goes to Redis at once from the writer's thread
while Redis answers, and from one background thread while it does not.

A writer whose previous message reached Redis, and that finds nothing waiting before its own,
sends its PUBLISH itself: no hop to another thread (a wake-up, and under load a wait for the
interpreter lock, between the commit and Redis), at the cost of one round trip to Redis,
bounded by `clients.QUICK_TIMEOUT_S`. Otherwise (Redis not yet answered, a send failed, a
batch in flight, a Redis Cluster) the message is queued for the background thread, which
sends what waits together in one pipelined round trip, in the order given; a quick send that
fails is queued there too, first in line, so its message is tried once more (a duplicate
PUBLISH is harmless: readers skip ids they have). A message that never reaches Redis (it
refused it, or the process died first) loses nothing: the database holds the event, and
listeners catch up from it at the next message they get (a gap in the ids) or, while Redis is
down, from the hub's database poll. Without `REDIS_URL` nothing is published at all: the hubs
poll the database.

Each message is put in its envelope as it goes: the envelope carries the writer's stages
(realtime/stages.py), up to the moment its PUBLISH is written.
"""

import atexit
import logging
import os
import threading
import time
from collections import deque
from typing import NamedTuple

from django.core.signals import setting_changed
from django.dispatch import receiver

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
    """Publishes in the order given: from the writer's thread while Redis answers, else from
    one background thread."""

    MAX_PENDING = 10_000
    """Messages waiting at most; past it the oldest are dropped (and caught up as above)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._work = threading.Condition(self._lock)
        """Notified when messages wait and nothing is being sent: the thread's cue."""
        self._idle = threading.Condition(self._lock)
        """Notified when a send is over: `flush`'s cue."""
        self._pending: deque[_Pending] = deque()
        self._busy = False
        self._quick = False
        self._dropped = 0
        self._thread: threading.Thread | None = None
        self.sent_quick = 0
        """Messages sent from their writer's thread (the rest went by the background thread)."""

    def submit(self, channel: str, message: Message, write: Write | None = None) -> None:
        """Publish `message` on `channel` (with how its `write` went): now, from this thread,
        if Redis answered the last send and nothing waits; else queued for the thread."""
        pending = _Pending(channel, message, write, time.monotonic())
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="redis-publisher", daemon=True
                )
                self._thread.start()
            if not (self._quick and not self._busy and not self._pending):
                if len(self._pending) >= self.MAX_PENDING:
                    self._pending.popleft()
                    self._dropped += 1
                self._pending.append(pending)
                if not self._busy:
                    self._work.notify()
                return
            self._busy = True
        sent = False
        try:
            sent = _send_quick(pending)
        finally:
            with self._lock:
                if sent:
                    self.sent_quick += 1
                else:  # the thread tries it again, first in line
                    self._quick = False
                    self._pending.appendleft(pending)
                self._busy = False
                self._idle.notify_all()
                if self._pending:  # queued meanwhile: the thread's now (woken only then)
                    self._work.notify()

    def flush(self, timeout_s: float) -> bool:
        """Wait until every queued message was sent (or failed); return False on timeout."""
        with self._lock:
            return self._idle.wait_for(lambda: not self._pending and not self._busy, timeout_s)

    def after_fork(self) -> None:
        """Forget the parent's thread and messages (a forked child has neither)."""
        self._lock = threading.RLock()
        self._work = threading.Condition(self._lock)
        self._idle = threading.Condition(self._lock)
        self._pending.clear()
        self._busy = self._quick = False
        self._thread = None

    def forget_quick(self) -> None:
        """Send the next message by the thread, which learns again whether a writer may send
        its own (`REDIS_URL` changed: it may now name a cluster, whose publish may retry)."""
        with self._lock:
            self._quick = False

    def _run(self) -> None:
        while True:
            with self._lock:
                self._work.wait_for(lambda: bool(self._pending) and not self._busy)
                batch, dropped = list(self._pending), self._dropped
                self._pending.clear()
                self._dropped, self._busy = 0, True
            sent = False
            try:
                if dropped:
                    logger.warning(
                        "%d message(s) dropped unpublished (Redis too slow); "
                        "listeners will catch up from the database",
                        dropped,
                    )
                sent = _send(batch)
            finally:
                with self._lock:
                    self._busy = False
                    self._quick = sent and clients.can_publish_quick()
                    self._idle.notify_all()
                    if self._pending:
                        self._work.notify()


def _packed(pending: list[_Pending]) -> clients.Batch:
    """Return the (channel, envelope) of each message, its trace ending now."""
    sent, sent_wall = time.monotonic(), time.time()
    return [
        (
            item.channel,
            envelope.pack(
                item.message,
                stages.trace(item.write, handed=item.handed, sent=sent, sent_wall=sent_wall),
            ),
        )
        for item in pending
    ]


def _send_quick(pending: _Pending) -> bool:
    """Publish one message from this thread; return False if it may not have gone."""
    [(channel, payload)] = _packed([pending])
    try:
        clients.publish_quick(channel, payload)
    except clients.PublishFailed:
        return False
    metrics.EVENTS_PUBLISHED.inc()
    return True


def _send(pending: list[_Pending]) -> bool:
    """Publish a batch from the background thread; return True if all of it went."""
    batch = _packed(pending)
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
        return False
    metrics.EVENTS_PUBLISHED.inc(len(batch))
    return True


PUBLISHER = Publisher()
os.register_at_fork(after_in_child=PUBLISHER.after_fork)
atexit.register(PUBLISHER.flush, 2.0)


@receiver(setting_changed)
def _forget_quick_on_setting_change(*, setting: str, **kwargs: object) -> None:
    if setting == "REDIS_URL":
        PUBLISHER.forget_quick()


def publish(channel: str, message: Message, write: Write | None = None) -> None:
    """Ring the doorbell for `message` soon, in order (call it after the commit; `write` says
    how the writer's part went, for realtime/stages.py).

    Without Redis configured there is nothing to ring: every hub polls the database.
    """
    if clients.configured():
        PUBLISHER.submit(channel, message, write)
