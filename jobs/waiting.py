"""Reads: where a queued job stands in the queue, and how long it may wait (or "unknown")."""

import math
import statistics
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from jobs.models import Job, JobStatus

RECENT_DURATIONS = 20
"""How many recently finished jobs the expected duration is the median of."""


@dataclass(frozen=True, kw_only=True, slots=True)
class QueuePlace:
    """A queued job's place in the queue."""

    position: int
    """1 for the next job to start: queued jobs enqueued before it, plus one."""
    workers: int
    """Workers busy now (each runs one job at a time); 0 when none seems to be running."""
    wait_s: int | None
    """Expected wait before it starts, None when unknown (no worker, or no recent job)."""


def job_queue_place(*, job_id: uuid.UUID | str, created_at: datetime) -> QueuePlace:
    """Return the place of a queued job created at `created_at`, and its expected wait.

    Expected wait = the median duration of recent jobs times the rounds of work ahead of it
    (its position over the busy workers). A worker runs one job at a time, so while there is a
    queue the busy workers are all the workers there are.
    """
    ahead = (
        Job.objects.filter(status=JobStatus.QUEUED, created_at__lt=created_at)
        .exclude(pk=job_id)
        .count()
    )
    workers = job_workers_busy()
    median = jobs_median_duration_s()
    position = ahead + 1
    wait = None if not workers or median is None else round(median * math.ceil(position / workers))
    return QueuePlace(position=position, workers=workers, wait_s=wait)


def job_workers_busy() -> int:
    """Return how many started jobs have a worker that beat recently."""
    fresh = timezone.now() - timedelta(seconds=settings.JOBS_STALE_AFTER_S)
    return Job.objects.filter(
        status__in=[JobStatus.RUNNING, JobStatus.CANCELLING], heartbeat_at__gte=fresh
    ).count()


def jobs_median_duration_s() -> float | None:
    """Return the median run time of the last finished jobs, None if there is none."""
    rows = (
        Job.objects.filter(
            status=JobStatus.SUCCEEDED, started_at__isnull=False, finished_at__isnull=False
        )
        .order_by("-finished_at")
        .annotate(took=F("finished_at") - F("started_at"))
        .values_list("took", flat=True)[:RECENT_DURATIONS]
    )
    durations = [took.total_seconds() for took in rows]
    return statistics.median(durations) if durations else None
