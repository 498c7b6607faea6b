"""Writes: every change to a job goes through here and becomes a `JobEvent`.

The public front of the job writes: creating, cancelling, reaping and purging live here; the
writes of a job in progress (start, progress, the three ends) live in `jobs.progress`, which
the pipeline uses without importing this module, and are re-exported here.
"""

import hmac
import uuid
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from importlib import import_module
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.tasks.base import TASK_MAX_PRIORITY, TASK_MIN_PRIORITY
from django.utils import timezone

from jobs.access import Identity
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
from realtime.api import hit

__all__ = [
    "Admission",
    "AdmissionRefused",
    "InvalidJobParams",
    "JobFinishedError",
    "artifacts_sweep",
    "job_complete",
    "job_create",
    "job_fail",
    "job_finish_cancelled",
    "job_heartbeat",
    "job_report_progress",
    "job_request_cancel",
    "job_start",
    "jobs_purge_finished",
    "jobs_reap_stale",
    "journeys_anonymize",
    "sessions_clear_expired",
]


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
    *,
    owner: AbstractBaseUser | AnonymousUser | Identity | None,
    params: dict[str, Any],
    anon_owner: str = "",
    retry_of: Job | None = None,
    admission: Admission | None = None,
) -> Job:
    """Persist a queued job with its first event and enqueue its generation, atomically.

    With `admission`, raise AdmissionRefused when the owner or the address is over a limit.
    The task's priority falls with the owner's unfinished jobs, so that one owner's queue
    never stands in front of another owner's first job (`fair_priority`).
    """
    full = _complete_params(params)
    who = owner if isinstance(owner, Identity) else Identity.of(owner, anon_owner=anon_owner)
    # Anonymous sessions are free, their address is not: its unfinished jobs are capped too.
    anonymous = who.user_id is None
    address = address_pseudonym(admission.address) if admission and anonymous else ""
    if admission is not None:
        _admit_rate(who.key, admission.address)
    with transaction.atomic():
        unfinished = _lock_and_count_unfinished(who)
        if admission is not None:
            _admit_unfinished(unfinished)
        if address:
            _admit_address(_lock_and_count_unfinished_from(address))
        job = Job.objects.create(
            **who.owner_columns,
            anon_address=address,
            name=full["name"],
            template=full["template"],
            params=full,
            retry_of=retry_of,
        )
        append_event(job, EventType.JOB_UPDATE, message="Queued")
        generate_project.using(priority=fair_priority(unfinished)).enqueue(job_id=str(job.id))
    return job


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
        ("create:addr", address, settings.JOBS_CREATE_RATE_PER_ADDRESS),
    ):
        verdict = hit(scope=scope, key=key, limit=limit)
        if not verdict.allowed:
            raise AdmissionRefused(
                f"Too many new jobs from you in the last minute; try again in "
                f"{verdict.retry_after_s} s.",
                retry_after_s=verdict.retry_after_s,
            )


def _admit_unfinished(unfinished: int) -> None:
    cap = settings.JOBS_MAX_UNFINISHED_PER_OWNER
    if cap and unfinished >= cap:
        raise AdmissionRefused(
            f"You already have {unfinished} unfinished jobs (at most {cap}); wait for one to "
            "finish, or cancel one, then try again.",
            retry_after_s=UNFINISHED_RETRY_S,
        )


def _admit_address(unfinished: int) -> None:
    cap = settings.JOBS_MAX_UNFINISHED_PER_ADDRESS
    if cap and unfinished >= cap:
        raise AdmissionRefused(
            f"Your network already has {unfinished} unfinished jobs of visitors who are not "
            f"signed in (at most {cap}); wait for one to finish, or sign in, then try again.",
            retry_after_s=UNFINISHED_RETRY_S,
        )


def address_pseudonym(address: str) -> str:
    """Return what a job keeps of its anonymous creator's address: a keyed hash ("" for none)."""
    if not address:
        return ""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"addr:{address}".encode(), "sha256")
    return digest.hexdigest()[:32]


def _lock_and_count_unfinished_from(address: str) -> int:
    """Return the unfinished anonymous jobs from `address` (a pseudonym), holding the address's
    lock until the commit (taken after the owner's: always in that order, so never a cycle)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 17))", [address])
    return Job.objects.filter(anon_address=address).unfinished().count()


def _lock_and_count_unfinished(who: Identity) -> int:
    """Return the owner's unfinished jobs, holding the owner's lock until the commit.

    Two creates of one owner at once would otherwise both count below the cap. PostgreSQL:
    an advisory lock per owner for the transaction; SQLite already writes one at a time.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 13))", [who.key])
    return Job.objects.filter(who.owns).unfinished().count()


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
        return record_event(
            job, EventType.JOB_UPDATE, status=JobStatus.CANCELLING, message="Cancelling…"
        )


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


ARTIFACTS_DIR = "projects"
"""Where the artifacts are stored, one folder per job (named by its id)."""


def artifacts_sweep() -> int:
    """Delete the artifact folders of jobs that no longer exist (deleted in the admin, which
    leaves files), and every empty folder left; return how many folders went.

    Only for storage on this machine's disk: object stores have no folders to leave behind.
    """
    try:
        root = Path(default_storage.path(ARTIFACTS_DIR))
    except NotImplementedError:
        return 0
    folders = sorted((p for p in root.glob("**/") if p != root), reverse=True)  # deepest first
    known = _existing_jobs(p.name for p in folders)
    removed = 0
    for folder in folders:
        if _job_id(folder.name) is not None and folder.name not in known:
            for leftover in folder.iterdir():
                if leftover.is_file():
                    leftover.unlink(missing_ok=True)
        with suppress(OSError):  # not empty: kept
            folder.rmdir()
            removed += 1
    return removed


def _job_id(name: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(name)
    except ValueError:
        return None


def _existing_jobs(names: Iterable[str]) -> set[str]:
    ids = [job_id for name in names if (job_id := _job_id(name)) is not None]
    return {str(pk) for pk in Job.objects.filter(pk__in=ids).values_list("pk", flat=True)}


def sessions_clear_expired() -> None:
    """Delete the sessions that have expired (Django keeps them until told)."""
    engine = import_module(settings.SESSION_ENGINE)
    engine.SessionStore.clear_expired()


def journeys_anonymize(*, older_than_days: int) -> int:
    """Cut the link between old journey records and the person; return how many changed."""
    before = timezone.now() - timedelta(days=older_than_days)
    return (
        JourneyEvent.objects.filter(created_at__lt=before)
        .exclude(visitor="")
        .update(visitor="", job=None)
    )
