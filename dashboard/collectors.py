"""Figures about jobs that /metrics computes when it is scraped (the transport knows no jobs)."""

import logging
from collections.abc import Iterable

from django.db import DatabaseError

from dashboard.selectors import jobs_count_by_status
from realtime.api import metrics

logger = logging.getLogger(__name__)


def job_metrics() -> Iterable[metrics.Metric]:
    """Return the jobs-by-status gauge (one grouped query); nothing if the database is down."""
    try:
        counts = jobs_count_by_status()
    except DatabaseError as exc:
        # /metrics must still answer: the transport's figures matter most during an outage.
        logger.warning("jobs by status not collected: %s", exc)
        return []
    return [metrics.Samples("composer_jobs", "Jobs by status.",
                            [({"status": status}, n) for status, n in counts.items()])]
