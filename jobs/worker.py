"""The task worker, kept running through database outages.

django-tasks-db's `Worker` exits on the first connection error (a PostgreSQL restart, a
failover), and the task it was running at that moment stays RUNNING in its table. Here the
worker logs the error, drops its broken connections, waits (backing off) and starts polling
again. The job whose task was cut off stops beating, so the reaper ends it failed, with an
error-notification, JOBS_STALE_AFTER_S later; it is not retried by itself.
"""

import logging
import os
import time

from django.db import connections
from django.db.utils import DatabaseError, InterfaceError, OperationalError
from django_tasks_db.management.commands.db_worker import Worker

logger = logging.getLogger(__name__)

RETRY_FIRST_S = 0.5
RETRY_MAX_S = 10.0
HEALTHY_AFTER_S = 60.0
"""A run that lasted this long was healthy: the next outage starts backing off afresh."""
CONNECTION_ERRORS = (OperationalError, InterfaceError)


class ResilientWorker(Worker):
    """A `Worker` that rides out database outages instead of exiting."""

    def run(self) -> None:
        """Poll for tasks until stopped; on a connection error, wait and poll again."""
        delay = RETRY_FIRST_S
        while self.running:
            started = time.monotonic()
            try:
                super().run()
                return  # stopped, or --batch / --max-tasks done
            except CONNECTION_ERRORS as exc:
                if time.monotonic() - started > HEALTHY_AFTER_S:
                    delay = RETRY_FIRST_S
                logger.warning(
                    "database unavailable (%s: %s); polling again in %.1f s",
                    type(exc).__name__,
                    exc,
                    delay,
                )
                _drop_connections()
                time.sleep(delay)
                delay = min(2 * delay, RETRY_MAX_S)


def _drop_connections() -> None:
    """Hand every connection of this thread back (the pool discards the broken ones)."""
    for connection in connections.all(initialized_only=True):
        try:
            connection.close()
        except DatabaseError:
            connection.connection = None


def lower_priority(niceness: int) -> int:
    """Make this process (and the children it starts later: the Node.js compiler) at least
    `niceness` nice, so that on a machine shared with the web processes generation takes
    the cores only when the web leaves them; return the niceness it now has. Never raises the
    priority (that would need privileges), and 0 leaves it as it is."""
    current = os.getpriority(os.PRIO_PROCESS, 0)
    if niceness > current:
        os.setpriority(os.PRIO_PROCESS, 0, niceness)
    return os.getpriority(os.PRIO_PROCESS, 0)
