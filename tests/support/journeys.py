"""Journeys recorded at chosen times, folded as `journey_record` folds them."""

from datetime import datetime, timedelta

from django.utils import timezone

from jobs.journey_rollup import journey_fold
from jobs.models import Job, JobStatus, JourneyEvent, JourneyKind

K = JourneyKind
PATH = [
    (K.WIZARD_STARTED, ""),
    (K.STEP_COMPLETED, "basics"),
    (K.STEP_COMPLETED, "template"),
    (K.STEP_COMPLETED, "options"),
    (K.STEP_COMPLETED, "review"),
    (K.SUBMITTED, "review"),
    (K.JOB_SUCCEEDED, ""),
    (K.DOWNLOADED, ""),
]
"""The wizard's whole way, one event per funnel stage."""


def record(
    visitor: str,
    kind: str,
    *,
    at: datetime,
    step: str = "",
    field: str = "",
    template: str = "",
    detail: str = "",
    job: Job | None = None,
) -> JourneyEvent:
    """Record one journey event at `at` and fold it into its journey."""
    event = JourneyEvent.objects.create(
        kind=kind,
        visitor=visitor,
        step=step,
        field=field,
        template=template,
        detail=detail,
        job=job,
        created_at=at,
    )
    journey_fold(event)
    return event


def a_job(template: str = "token") -> Job:
    """Return a stored job row: finished long ago and never enqueued (only its id matters
    here; it counts in no queue and in no day of the dashboard)."""
    long_ago = timezone.now() - timedelta(days=400)
    return Job.objects.create(
        name="Journey Coin",
        template=template,
        params={},
        status=JobStatus.SUCCEEDED,
        created_at=long_ago,
        finished_at=long_ago,
    )


def walk(
    visitor: str,
    stages: int,
    *,
    at: datetime,
    template: str = "token",
    gaps: list[float] | None = None,
) -> Job | None:
    """Record a visitor who got through the first `stages` stages from `at`, `gaps[i]` seconds
    between stage i and i+1 (60 s each by default); return the job they submitted, if any."""
    gaps = gaps or [60.0] * len(PATH)
    job = a_job(template) if stages > 5 else None
    moment = at
    for index, (kind, step) in enumerate(PATH[:stages]):
        if index:
            moment += timedelta(seconds=gaps[index - 1])
        record(
            visitor,
            kind,
            at=moment,
            step=step,
            template=template if index >= 2 else "",
            job=job if index >= 5 else None,
        )
    return job
