"""Figures about jobs that /metrics computes when it is scraped (the transport knows no jobs).

They come from the database, so they are the whole deployment's, and the same whichever
worker answers the scrape.
"""

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.db import DatabaseError
from django.utils import timezone

from dashboard.selectors import (
    jobs_count_unfinished_by_status,
    jobs_heartbeats,
    jobs_recent_outcomes,
    jobs_total_estimate,
)
from realtime.api import Metric, gauge_samples

logger = logging.getLogger(__name__)

RECENT = timedelta(hours=1)
"""The window of `composer_jobs_recent` (failure rate by template)."""


def job_metrics() -> Iterable[Metric]:
    """Return the unfinished jobs by status, the queue's oldest wait, the workers' heartbeats,
    the last hour's jobs by template and outcome, and the table's estimated size (four cheap
    queries, none scans the table); nothing if the database is down."""
    now = timezone.now()
    try:
        counts = jobs_count_unfinished_by_status()
        beats = jobs_heartbeats(now=now)
        recent = jobs_recent_outcomes(since=now - RECENT)
        total = jobs_total_estimate()
    except DatabaseError as exc:
        # /metrics must still answer: the transport's figures matter most during an outage.
        logger.warning("job figures not collected: %s", exc)
        return []
    return [
        gauge_samples(
            "composer_jobs",
            "Unfinished jobs by status.",
            [({"status": status}, n) for status, n in counts.items()],
        ),
        gauge_samples(
            "composer_queue_oldest_wait_seconds",
            "How long the oldest queued job has waited (0 with an empty queue).",
            [({}, beats.oldest_queued_s or 0.0)],
        ),
        gauge_samples(
            "composer_workers_busy",
            "Started jobs whose worker's heartbeat is fresh: the task workers at work.",
            [({}, beats.busy)],
        ),
        gauge_samples(
            "composer_jobs_heartbeat_stale",
            "Started jobs whose worker has been silent past JOBS_STALE_AFTER_S (the reaper "
            "fails them; a figure that stays means no reaper runs).",
            [({}, beats.stale)],
        ),
        gauge_samples(
            "composer_jobs_recent",
            "Jobs created in the last hour, by template and status.",
            [({"template": t, "status": s}, n) for (t, s), n in sorted(recent.items())],
        ),
        gauge_samples(
            "composer_jobs_estimate",
            "Jobs in the table, all statuses (planner "
            "estimate on PostgreSQL, refreshed by autovacuum).",
            [({}, total)],
        ),
    ]
