"""The reaper: fail running jobs whose worker stopped beating, judged only by what it saw.

A job is stale when no heartbeat came for JOBS_STALE_AFTER_S. But a worker cannot beat while
the database is out of its reach, and neither can the reaper look: after an outage (an error,
or a sweep that hung on a silent path for longer than a heartbeat) every running job looks
stale at once, and whichever comes first after the heal, the reaper's sweep or the worker's
next heartbeat, decided whether a job that was alive all along was failed as abandoned. So a
reaper that lost sight of the database gives the workers one whole JOBS_STALE_AFTER_S after
it is back before it judges any job again; a worker that really died is reaped that much
later.
"""

import logging
import math
import time

from django.conf import settings
from django.db import connection

from jobs import services
from jobs.models import Job
from jobs.worker import CONNECTION_ERRORS

logger = logging.getLogger(__name__)


class Reaper:
    """Sweeps for stale jobs, one `sweep` at a time (see the module docstring)."""

    def __init__(self) -> None:
        self._in_sight_since: float | None = -math.inf
        """When the database came back in sight (monotonic); None while it is out of it."""

    def sweep(self) -> list[Job]:
        """Reap the stale jobs; return them (none during the grace after an outage). Raises
        what the database raises when it cannot be reached."""
        started = time.monotonic()
        try:
            reaped = self._reap_or_look()
        except CONNECTION_ERRORS:
            self._lost_sight()
            raise
        if time.monotonic() - started > settings.JOBS_HEARTBEAT_S:
            self._lost_sight()  # it hung that long: the workers' heartbeats could not land
        if self._in_sight_since is None:
            self._in_sight_since = time.monotonic()
            logger.warning(
                "database in sight again: no job is reaped for %.0f s, so that every worker "
                "can beat again first",
                settings.JOBS_STALE_AFTER_S,
            )
        return reaped

    def _reap_or_look(self) -> list[Job]:
        since = self._in_sight_since
        if since is not None and time.monotonic() - since >= settings.JOBS_STALE_AFTER_S:
            return services.jobs_reap_stale()
        with connection.cursor() as cursor:  # only to learn that the database answers
            cursor.execute("SELECT 1")
        return []

    def _lost_sight(self) -> None:
        self._in_sight_since = None
