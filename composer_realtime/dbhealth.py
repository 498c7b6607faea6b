"""Whether this web process believes the database answers: a breaker in front of the pool.

A database whose path froze (no reset, no error) takes each request that reaches it for the
whole of its round-trip deadline (composer_realtime/dbpool.py), on one of the few shared sync
threads: a handful of those and every later request waits in line behind them, for longer and
longer. So once a round trip went unanswered, a connection could not be made, or the pool had
none to give within its timeout, the database counts as down: a request that asks for a
connection is refused at once (`DatabaseUnavailable`, which the views answer with 503 and
Retry-After) instead of waiting, except one request at a time, every RETRY_S, which is let
through to try (the breaker's "half-open" state). The first round trip that is answered, that
one's or any other's, closes the breaker. Each outage is logged once when it starts and once
when it ends, and counted.

Only the web processes use it (`composer_realtime.asgi` turns it on with the deadlines): the
worker and the commands wait a database out, as they always did.
"""

import logging
import threading
import time

import psycopg

from realtime import metrics  # not the front door: settings.py imports this module

logger = logging.getLogger(__name__)

RETRY_S = 1.0
"""While down, how often one request is let through to try the database again."""
RETRY_AFTER_S = 5
"""What a refused request is told (`Retry-After`, and a stream's `retry:`)."""


class DatabaseUnavailable(psycopg.OperationalError):
    """The database is not answering: refused without trying (Django raises it as its own
    OperationalError, like any other connection failure)."""


class Breaker:
    """The database's availability as this process has seen it (thread-safe)."""

    def __init__(self, *, retry_s: float = RETRY_S) -> None:
        self.enabled = False
        """Off until a web process turns it on (`dbpool.bound_web_requests`)."""
        self._retry_s = retry_s
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._trial_until = 0.0  # no other request tries before this, while down

    @property
    def down(self) -> bool:
        """Return True while the database counts as not answering."""
        return self._down_since is not None

    def admit(self, *, trial_s: float) -> None:
        """Return if a request may ask for a connection now; raise DatabaseUnavailable if
        not. While down, one caller per RETRY_S goes through to try, for up to `trial_s`."""
        if self._down_since is None or not self.enabled:
            return
        with self._lock:
            now = time.monotonic()
            if self._down_since is not None and now >= self._trial_until:
                self._trial_until = now + trial_s
                return
        if self._down_since is not None:
            raise DatabaseUnavailable(
                f"the database has not answered for {time.monotonic() - self._down_since:.0f} s"
            )

    def failed(self, *, reason: str, detail: str) -> None:
        """Take note that the database did not answer (`reason`: timeout, connect, pool)."""
        if not self.enabled:
            return
        with self._lock:
            now = time.monotonic()
            self._trial_until = now + self._retry_s
            if self._down_since is not None:
                return
            self._down_since = now
        metrics.DATABASE_DOWN.labels(reason=reason).inc()
        logger.warning(
            "database not answering (%s): requests get 503 at once until it does", detail
        )

    def answered(self) -> None:
        """Take note that the database answered a round trip."""
        if self._down_since is None:
            return
        with self._lock:
            since, self._down_since = self._down_since, None
        if since is not None:
            logger.warning("database answers again after %.1f s", time.monotonic() - since)


BREAKER = Breaker()
"""The process's one breaker."""
