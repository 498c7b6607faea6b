"""Writes: every change to a job goes through here and becomes a `JobEvent`.

The public front of the job writes: creating, cancelling, reaping and purging live here; the
writes of a job in progress (start, progress, the three ends) live in `jobs.progress`, which
the pipeline uses without importing this module, and are re-exported here.
"""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils import timezone

from jobs.models import EventType, Job, JobEvent, JobStatus, JourneyEvent
from jobs.progress import (
    JobFinishedError,
    append_event,
    job_complete,
    job_fail,
    job_finish_cancelled,
    job_heartbeat,
    job_report_progress,
    job_start,
    record_event,
)
from jobs.scaffolds import template_defaults
from jobs.tasks import generate_project

__all__ = [
    "InvalidJobParams", "JobFinishedError", "job_complete", "job_create", "job_fail",
    "job_finish_cancelled", "job_heartbeat", "job_report_progress", "job_request_cancel",
    "job_start", "jobs_purge_finished", "jobs_reap_stale", "journeys_anonymize",
]


class InvalidJobParams(ValueError):
    """The parameters do not describe a job that can be generated."""


def job_create(
    *, owner: AbstractBaseUser | AnonymousUser | None, params: dict[str, Any],
    anon_owner: str = "", retry_of: Job | None = None,
) -> Job:
    """Persist a queued job with its first event and enqueue its generation, atomically."""
    full = _complete_params(params)
    user = owner if owner is not None and owner.is_authenticated else None
    with transaction.atomic():
        job = Job.objects.create(
            owner_id=user.pk if user else None, anon_owner="" if user else anon_owner,
            name=full["name"],
            template=full["template"], params=full, retry_of=retry_of,
        )
        append_event(job, EventType.JOB_UPDATE, message="Queued")
        generate_project.enqueue(job_id=str(job.id))
    return job


def _complete_params(params: dict[str, Any]) -> dict[str, Any]:
    name, template = params.get("name"), params.get("template")
    if not isinstance(name, str) or not name.strip():
        raise InvalidJobParams("params need a non-empty 'name'")
    try:
        defaults = template_defaults(str(template))
    except KeyError:
        raise InvalidJobParams(f"unknown template {template!r}") from None
    return {**defaults, **params, "name": name.strip(), "template": template}


def job_request_cancel(*, job: Job) -> JobEvent | None:
    """Ask a job to stop; return None (a no-op) if it had already finished."""
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if locked.is_finished:
            return None
        if locked.status == JobStatus.QUEUED:
            return job_finish_cancelled(job=job)
        if locked.status == JobStatus.CANCELLING:
            return None
        return record_event(job, EventType.JOB_UPDATE, status=JobStatus.CANCELLING,
                       message="Cancelling…")


def jobs_reap_stale(*, stale_after_s: float | None = None) -> list[Job]:
    """Fail every started job whose worker stopped beating; return the reaped jobs."""
    limit = stale_after_s if stale_after_s is not None else settings.JOBS_STALE_AFTER_S
    before = timezone.now() - timedelta(seconds=limit)
    reaped = []
    for job in Job.objects.stale(before=before).order_by("heartbeat_at")[:500]:
        try:
            job_fail(job=job, error="The worker stopped responding; generation was abandoned.")
        except JobFinishedError:
            continue  # finished meanwhile
        reaped.append(job)
    return reaped


def jobs_purge_finished(*, older_than_days: int) -> int:
    """Delete jobs finished more than N days ago with their events and artifacts; return count."""
    before = timezone.now() - timedelta(days=older_than_days)
    purged = 0
    old = Job.objects.filter(status__in=JobStatus.finished(), finished_at__lt=before)
    for job in old.only("pk", "artifact").iterator(chunk_size=500):
        if job.artifact:
            job.artifact.delete(save=False)
        job.delete()
        purged += 1
    return purged


def journeys_anonymize(*, older_than_days: int) -> int:
    """Cut the link between old journey records and the person; return how many changed."""
    before = timezone.now() - timedelta(days=older_than_days)
    return JourneyEvent.objects.filter(created_at__lt=before).exclude(visitor="").update(
        visitor="", job=None)


