"""Writes: every change to a job goes through here and becomes a `JobEvent`.

Each write locks the job row, appends the next event (seq = last_seq + 1) and updates the
job's snapshot in one transaction; after commit it rings the doorbell. The database is the
truth; the doorbell only says "look".
"""

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import connection, transaction
from django.tasks.base import TASK_MAX_PRIORITY, TASK_MIN_PRIORITY
from django.utils import timezone

from jobs import prepared
from jobs.journey import journey_record_job
from jobs.models import EventType, Job, JobEvent, JobStatus, JourneyEvent, JourneyKind
from jobs.scaffolds import template_defaults
from jobs.wire import Step, WireEvent
from realtime.api import hit, publish


class JobFinishedError(Exception):
    """The job has reached a final status; it takes no more events."""


class InvalidJobParams(ValueError):
    """The parameters do not describe a job that can be generated."""


class AdmissionRefused(Exception):
    """The owner, or the client address, may not start another job now."""

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, kw_only=True, slots=True)
class Admission:
    """A request from outside, held to the admission limits (scripts and staff are not)."""

    address: str
    """The client address (realtime.address), counted beside the owner."""


UNFINISHED_RETRY_S = 30
"""Retry-After when the owner has too many unfinished jobs: about one job's duration."""


def job_create(
    *, owner: AbstractBaseUser | AnonymousUser | None, params: dict[str, Any],
    anon_owner: str = "", retry_of: Job | None = None, admission: Admission | None = None,
) -> Job:
    """Persist a queued job with its first event and enqueue its generation, atomically.

    With `admission`, raise AdmissionRefused when the owner or the address is over a limit.
    The task's priority falls with the owner's unfinished jobs, so that one owner's queue
    never stands in front of another owner's first job (`fair_priority`).
    """
    from jobs.tasks import generate_project  # the task module imports the pipeline

    full = _complete_params(params)
    user = owner if owner is not None and owner.is_authenticated else None
    anon = "" if user else anon_owner
    if admission is not None:
        _admit_rate(owner_key(user_id=user.pk if user else None, anon_owner=anon),
                    admission.address)
    with transaction.atomic():
        unfinished = _lock_and_count_unfinished(user_id=user.pk if user else None,
                                                anon_owner=anon)
        if admission is not None:
            _admit_unfinished(unfinished)
        job = Job.objects.create(
            owner_id=user.pk if user else None, anon_owner=anon,
            name=full["name"],
            template=full["template"], params=full, retry_of=retry_of,
        )
        _append(job, EventType.JOB_UPDATE, message="Queued")
        generate_project.using(priority=fair_priority(unfinished)).enqueue(job_id=str(job.id))
    return job


def owner_key(*, user_id: int | None, anon_owner: str) -> str:
    """Return the key the admission limits count an owner under."""
    return f"user:{user_id}" if user_id is not None else f"anon:{anon_owner or '-'}"


def fair_priority(unfinished: int) -> int:
    """Return the task priority of an owner's next job, given their unfinished jobs.

    django-tasks-db's workers take the highest priority first, then the oldest: an owner's
    first job outranks everyone's second, so a newcomer waits for the jobs already running,
    not for another owner's queue.
    """
    return max(TASK_MIN_PRIORITY, TASK_MAX_PRIORITY - unfinished)


def _admit_rate(owner: str, address: str) -> None:
    for scope, key, limit in (
            ("create:owner", owner, settings.JOBS_CREATE_RATE_PER_OWNER),
            ("create:addr", address, settings.JOBS_CREATE_RATE_PER_ADDRESS)):
        verdict = hit(scope=scope, key=key, limit=limit)
        if not verdict.allowed:
            raise AdmissionRefused(
                f"Too many new jobs from you in the last minute; try again in "
                f"{verdict.retry_after_s} s.", retry_after_s=verdict.retry_after_s)


def _admit_unfinished(unfinished: int) -> None:
    cap = settings.JOBS_MAX_UNFINISHED_PER_OWNER
    if cap and unfinished >= cap:
        raise AdmissionRefused(
            f"You already have {unfinished} unfinished jobs (at most {cap}); wait for one to "
            "finish, or cancel one, then try again.", retry_after_s=UNFINISHED_RETRY_S)


def _lock_and_count_unfinished(*, user_id: int | None, anon_owner: str) -> int:
    """Return the owner's unfinished jobs, holding the owner's lock until the commit.

    Two creates of one owner at once would otherwise both count below the cap. PostgreSQL:
    an advisory lock per owner for the transaction; SQLite already writes one at a time.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 13))",
                           [owner_key(user_id=user_id, anon_owner=anon_owner)])
    owned = (Job.objects.filter(owner_id=user_id) if user_id is not None
             else Job.objects.filter(owner__isnull=True, anon_owner=anon_owner))
    return owned.unfinished().count()


def _complete_params(params: dict[str, Any]) -> dict[str, Any]:
    name, template = params.get("name"), params.get("template")
    if not isinstance(name, str) or not name.strip():
        raise InvalidJobParams("params need a non-empty 'name'")
    try:
        defaults = template_defaults(str(template))
    except KeyError:
        raise InvalidJobParams(f"unknown template {template!r}") from None
    return {**defaults, **params, "name": name.strip(), "template": template}


def job_start(*, job: Job) -> JobEvent:
    """Mark a queued job running (the worker picked it up)."""
    now = timezone.now()
    return _record(job, EventType.JOB_UPDATE, status=JobStatus.RUNNING, message="Started",
                   started_at=now, heartbeat_at=now, allowed={JobStatus.QUEUED})


def job_report_progress(
    *, job: Job, percent: int, step: Step | None = None, message: str = "",
    eta_s: int | None = None,
) -> JobEvent:
    """Record progress on an unfinished job without changing its status."""
    if not 0 <= percent <= 100:
        raise ValueError(f"percent must be between 0 and 100, not {percent!r}")
    changes: dict[str, Any] = {"percent": percent, "message": message, "eta_s": eta_s,
                               "heartbeat_at": timezone.now()}
    if step is not None:
        changes["step"] = step.as_dict()
    if connection.vendor == "postgresql":
        return _progress_in_one_statement(job, changes)
    return _record(job, EventType.PROGRESS_UPDATE, **changes)


# The hot path: the row lock, the seq, the snapshot and the event in one round trip.
# Same effect as _record (the UPDATE locks the job row, so seqs stay gap-free per job).
_PROGRESS_SQL = f"""
WITH moved AS (
    UPDATE {Job._meta.db_table}
       SET last_seq = last_seq + 1, percent = %(percent)s, message = %(message)s,
           eta_s = %(eta_s)s, heartbeat_at = %(now)s,
           step = COALESCE(%(step)s::jsonb, step)
     WHERE id = %(job_id)s AND status = ANY(%(unfinished)s)
 RETURNING id, last_seq, status, percent, step, message, eta_s
)
INSERT INTO {JobEvent._meta.db_table} (job_id, seq, type, payload, created_at)
SELECT id, last_seq, %(type)s,
       jsonb_build_object('status', status, 'percent', percent, 'step', step,
                          'message', message, 'eta_s', eta_s),
       %(now)s
  FROM moved
RETURNING id, seq, payload
"""  # noqa: S608 - table names come from the models; every value is a bound parameter


def _progress_in_one_statement(job: Job, changes: dict[str, Any]) -> JobEvent:
    step = changes.get("step")
    params = {**changes, "now": changes["heartbeat_at"], "job_id": job.pk,
              "step": json.dumps(step) if step is not None else None,
              "unfinished": sorted(JobStatus.unfinished()),
              "type": EventType.PROGRESS_UPDATE.value}
    row = prepared.fetchone(_PROGRESS_SQL, params)
    if row is None:
        raise JobFinishedError(f"job {job.pk} is finished (or gone); it takes no more events")
    event_id, seq, payload = row
    payload = json.loads(payload) if isinstance(payload, str) else payload
    event = JobEvent(id=event_id, job_id=job.pk, seq=seq, type=EventType.PROGRESS_UPDATE,
                     payload=payload, created_at=changes["heartbeat_at"])
    for name in ("status", "percent", "step", "message", "eta_s"):
        setattr(job, name, payload[name])
    job.last_seq = seq
    _publish_after_commit(job, event)
    return event


def job_heartbeat(*, job_id: uuid.UUID) -> bool:
    """Note that the worker is alive; return False if the job is no longer running."""
    return bool(
        Job.objects.filter(pk=job_id, status__in=[JobStatus.RUNNING, JobStatus.CANCELLING])
        .update(heartbeat_at=timezone.now())
    )


def job_complete(*, job: Job, artifact_name: str) -> JobEvent:
    """Finish a job successfully with its stored artifact."""
    event = _record(job, EventType.COMPLETION_STATUS, status=JobStatus.SUCCEEDED, percent=100,
                    message="Your project is ready", eta_s=0, artifact=artifact_name,
                    finished_at=timezone.now())
    journey_record_job(job=job, kind=JourneyKind.JOB_SUCCEEDED)
    return event


def job_fail(*, job: Job, error: str) -> JobEvent:
    """Finish a job as failed: an error-notification, then the completion-status."""
    with transaction.atomic():
        _record(job, EventType.ERROR_NOTIFICATION, message=error, error=error)
        event = _record(job, EventType.COMPLETION_STATUS, status=JobStatus.FAILED,
                        message="Generation failed", eta_s=None, finished_at=timezone.now())
    journey_record_job(job=job, kind=JourneyKind.JOB_FAILED)
    return event


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
        return _record(job, EventType.JOB_UPDATE, status=JobStatus.CANCELLING,
                       message="Cancelling…")


def job_finish_cancelled(*, job: Job) -> JobEvent:
    """End a job as cancelled (the pipeline stopped between steps)."""
    event = _record(job, EventType.COMPLETION_STATUS, status=JobStatus.CANCELLED,
                    message="Cancelled", eta_s=None, finished_at=timezone.now())
    journey_record_job(job=job, kind=JourneyKind.JOB_CANCELLED)
    return event


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


def _record(job: Job, type_: EventType, *, allowed: set[JobStatus] | None = None,
            **changes: Any) -> JobEvent:
    """Lock the job, apply `changes` to its snapshot and append one event."""
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if locked.is_finished:
            raise JobFinishedError(f"job {job.pk} is {locked.status}; it takes no more events")
        if allowed is not None and locked.status not in allowed:
            raise JobFinishedError(f"job {job.pk} is {locked.status}, not {sorted(allowed)}")
        for name, value in changes.items():
            setattr(locked, name, value)
        event = _append(locked, type_, changed=list(changes))
    for name in ("status", "percent", "step", "message", "eta_s", "last_seq", *changes):
        setattr(job, name, getattr(locked, name))
    return event


def _append(job: Job, type_: EventType, *, message: str | None = None,
            changed: list[str] | None = None) -> JobEvent:
    """Append the next event to a locked (or new) job and publish it after commit."""
    if message is not None:
        job.message = message
    job.last_seq += 1
    job.save(update_fields=sorted({"last_seq", "message", *(changed or [])}))
    event = JobEvent.objects.create(
        job=job, seq=job.last_seq, type=type_,
        payload={"status": job.status, "percent": job.percent, "step": job.step,
                 "message": job.message, "eta_s": job.eta_s},
    )
    _publish_after_commit(job, event)
    return event


def _publish_after_commit(job: Job, event: JobEvent) -> None:
    message = WireEvent.from_row(event).to_message()
    transaction.on_commit(lambda: publish(job.channel, message))
