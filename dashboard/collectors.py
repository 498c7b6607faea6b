"""Figures about jobs that /metrics computes when it is scraped (the transport knows no jobs)."""

import logging
from collections.abc import Iterable

from django.db import DatabaseError

from dashboard.selectors import jobs_count_unfinished_by_status, jobs_total_estimate
from realtime.api import metrics

logger = logging.getLogger(__name__)


def job_metrics() -> Iterable[metrics.Metric]:
    """Return the unfinished jobs by status and the table's estimated size (two cheap
    queries, neither scans the table); nothing if the database is down."""
    try:
        counts = jobs_count_unfinished_by_status()
        total = jobs_total_estimate()
    except DatabaseError as exc:
        # /metrics must still answer: the transport's figures matter most during an outage.
        logger.warning("jobs by status not collected: %s", exc)
        return []
    return [
        metrics.Samples(
            "composer_jobs",
            "Unfinished jobs by status.",
            [({"status": status}, n) for status, n in counts.items()],
        ),
        metrics.Samples(
            "composer_jobs_estimate",
            "Jobs in the table, all statuses (planner "
            "estimate on PostgreSQL, refreshed by autovacuum).",
            [({}, total)],
        ),
    ]
