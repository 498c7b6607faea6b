"""Writes on a job in progress: start, progress, heartbeat and the three ends.

Each write locks the job row, appends the next event (seq = last_seq + 1) and updates the
job's snapshot in one transaction; after commit it rings the doorbell. The database is the
truth; the doorbell only says "look". The pipeline writes through this module; everyone else
reaches the same functions through `jobs.services`, the public front. The three ends store
the journey's outcome in the same transaction: whoever reads the job finished reads why too.
"""

import json
import time
import uuid
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from jobs import prepared
from jobs.failures import Failure, explain
from jobs.journey import journey_record_job
from jobs.models import EventType, Job, JobEvent, JobStatus, JourneyKind
from jobs.wire import PAYLOAD_FIELDS, Step, WireEvent, event_payload
from realtime.api import Write, publish


class JobFinishedError(Exception):
    """The job has reached a final status; it takes no more events."""


def job_start(*, job: Job) -> JobEvent:
    """Mark a queued job running (the worker picked it up)."""
    now = timezone.now()
    return record_event(
        job,
        EventType.JOB_UPDATE,
        status=JobStatus.RUNNING,
        message="Started",
        started_at=now,
        heartbeat_at=now,
        allowed={JobStatus.QUEUED},
    )


def job_report_progress(
    *,
    job: Job,
    percent: int,
    step: Step | None = None,
    message: str = "",
    eta_s: int | None = None,
) -> JobEvent:
    """Record progress on an unfinished job without changing its status."""
    if not 0 <= percent <= 100:
        raise ValueError(f"percent must be between 0 and 100, not {percent!r}")
    changes: dict[str, Any] = {
        "percent": percent,
        "message": message,
        "eta_s": eta_s,
        "heartbeat_at": timezone.now(),  # the event's `ts`
    }
    began = time.monotonic()
    if step is not None:
        changes["step"] = step.as_dict()
    if connection.vendor == "postgresql":
        return _progress_in_one_statement(job, changes, began)
    return record_event(job, EventType.PROGRESS_UPDATE, **changes)


# The hot path: the row lock, the seq, the snapshot and the event in one round trip.
# Same effect as record_event (the UPDATE locks the job row, so seqs stay gap-free per job).
_PROGRESS_SQL = f"""
WITH moved AS (
    UPDATE {Job._meta.db_table}
       SET last_seq = last_seq + 1, percent = %(percent)s, message = %(message)s,
           eta_s = %(eta_s)s, heartbeat_at = %(now)s,
           step = COALESCE(%(step)s::jsonb, step)
     WHERE id = %(job_id)s AND status = ANY(%(unfinished)s)
 RETURNING id, last_seq, {", ".join(PAYLOAD_FIELDS)}
)
INSERT INTO {JobEvent._meta.db_table} (job_id, seq, type, payload, created_at)
SELECT id, last_seq, %(type)s,
       jsonb_build_object({", ".join(f"'{name}', {name}" for name in PAYLOAD_FIELDS)}),
       %(now)s
  FROM moved
RETURNING id, seq, payload,
          EXTRACT(EPOCH FROM clock_timestamp() - statement_timestamp())::float8
"""  # noqa: S608 - table names come from the models; every value is a bound parameter
# The last column is how long the statement ran on the server, by the server's clock (the
# `statement` stage of realtime/stages.py): the rest of the round trip is the commit's.


_UNFINISHED = sorted(status.value for status in JobStatus.unfinished())


def _progress_in_one_statement(job: Job, changes: dict[str, Any], began: float) -> JobEvent:
    step = changes.get("step")
    params = {
        **changes,
        "now": changes["heartbeat_at"],
        "job_id": job.pk,
        "step": json.dumps(step) if step is not None else None,
        "unfinished": _UNFINISHED,
        "type": EventType.PROGRESS_UPDATE.value,
    }
    row = prepared.fetchone(_PROGRESS_SQL, params)
    # In autocommit the answer comes after the commit; inside a transaction, the commit is
    # later (and `publish` runs after it, which is then when it counts as committed).
    answered = None if connection.in_atomic_block else time.monotonic()
    if row is None:
        raise JobFinishedError(f"job {job.pk} is finished (or gone); it takes no more events")
    event_id, seq, payload, statement_s = row
    payload = json.loads(payload) if isinstance(payload, str) else payload
    created_at = changes["heartbeat_at"]
    wire = WireEvent.from_values(
        job=str(job.pk),
        seq=seq,
        type=EventType.PROGRESS_UPDATE,
        created_at=created_at,
        payload=payload,
    )
    # Published first: the event's watchers wait for it, the caller for the rest.
    _publish_after_commit(
        job.channel, wire, Write(began=began, statement_s=statement_s, committed=answered)
    )
    for name in PAYLOAD_FIELDS:
        setattr(job, name, payload[name])
    job.last_seq = seq
    return JobEvent(
        id=event_id,
        job_id=job.pk,
        seq=seq,
        type=EventType.PROGRESS_UPDATE,
        payload=payload,
        created_at=created_at,
    )


def job_heartbeat(*, job_id: uuid.UUID) -> bool:
    """Note that the worker is alive; return False if the job is no longer running."""
    return bool(
        Job.objects.filter(pk=job_id, status__in=[JobStatus.RUNNING, JobStatus.CANCELLING]).update(
            heartbeat_at=timezone.now()
        )
    )


def job_complete(*, job: Job, artifact_name: str) -> JobEvent:
    """Finish a job successfully with its stored artifact."""
    with transaction.atomic():
        event = record_event(
            job,
            EventType.COMPLETION_STATUS,
            status=JobStatus.SUCCEEDED,
            percent=100,
            message="Your project is ready",
            eta_s=0,
            artifact=artifact_name,
            finished_at=timezone.now(),
        )
        journey_record_job(job=job, kind=JourneyKind.JOB_SUCCEEDED)
    return event


def job_fail(*, job: Job, error: str) -> JobEvent:
    """Finish a job as failed: an error-notification with the raw error, then the
    completion-status saying in plain words what went wrong and what to change."""
    step = job.step or {}
    explained = explain(
        Failure(
            error=error, template=job.template, params=job.params, step_label=step.get("label", "")
        )
    )
    with transaction.atomic():
        record_event(job, EventType.ERROR_NOTIFICATION, message=error, error=error)
        event = record_event(
            job,
            EventType.COMPLETION_STATUS,
            status=JobStatus.FAILED,
            message=explained.message,
            eta_s=None,
            finished_at=timezone.now(),
        )
        journey_record_job(
            job=job,
            kind=JourneyKind.JOB_FAILED,
            step=step.get("key", ""),
            detail=explained.title,
        )
    return event


def job_finish_cancelled(*, job: Job) -> JobEvent:
    """End a job as cancelled (the pipeline stopped)."""
    with transaction.atomic():
        event = record_event(
            job,
            EventType.COMPLETION_STATUS,
            status=JobStatus.CANCELLED,
            message="Cancelled",
            eta_s=None,
            finished_at=timezone.now(),
        )
        journey_record_job(
            job=job, kind=JourneyKind.JOB_CANCELLED, step=(job.step or {}).get("key", "")
        )
    return event


def record_event(
    job: Job, type_: EventType, *, allowed: set[JobStatus] | None = None, **changes: Any
) -> JobEvent:
    """Lock the job, apply `changes` to its snapshot and append one event."""
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if locked.is_finished:
            raise JobFinishedError(f"job {job.pk} is {locked.status}; it takes no more events")
        if allowed is not None and locked.status not in allowed:
            raise JobFinishedError(f"job {job.pk} is {locked.status}, not {sorted(allowed)}")
        for name, value in changes.items():
            setattr(locked, name, value)
        event = append_event(locked, type_, changed=list(changes))
    for name in (*PAYLOAD_FIELDS, "last_seq", *changes):
        setattr(job, name, getattr(locked, name))
    return event


def append_event(
    job: Job, type_: EventType, *, message: str | None = None, changed: list[str] | None = None
) -> JobEvent:
    """Append the next event to a locked (or new) job and publish it after commit."""
    if message is not None:
        job.message = message
    job.last_seq += 1
    job.save(update_fields=sorted({"last_seq", "message", *(changed or [])}))
    began = time.monotonic()  # with the event's `ts` (its created_at, taken as it is made)
    event = JobEvent.objects.create(
        job=job,
        seq=job.last_seq,
        type=type_,
        payload=event_payload(job),
    )
    _publish_after_commit(job.channel, WireEvent.from_row(event), Write(began=began))
    return event


def _publish_after_commit(channel: str, wire: WireEvent, write: Write) -> None:
    message = wire.to_message()
    transaction.on_commit(lambda: publish(channel, message, write))
