"""Reads: who may see a job, and a job's events as wire objects."""

import uuid
from dataclasses import dataclass
from functools import reduce
from operator import or_

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q

from composer_realtime.sse import Message
from jobs.models import Job, JobEvent, JobQuerySet, job_channel
from jobs.wire import WireEvent

_CHANNEL_PREFIX = job_channel("")


@dataclass(frozen=True, kw_only=True, slots=True)
class Requester:
    """Who is asking: a user (possibly anonymous) and the anonymous session's owner id."""

    user: AbstractBaseUser | AnonymousUser
    """The request's user."""
    anon_owner: str
    """The id the session holds for jobs made while anonymous ("" if none)."""


def job_get_visible(*, job_id: uuid.UUID | str, requester: Requester) -> Job | None:
    """Return the job if it exists and the requester may see it, else None."""
    return _visible(requester).filter(pk=job_id).first()


async def ajob_get_visible(*, job_id: uuid.UUID | str, requester: Requester) -> Job | None:
    """Return the job if it exists and the requester may see it, else None (async)."""
    return await _visible(requester).filter(pk=job_id).afirst()


def _visible(requester: Requester) -> JobQuerySet:
    user = requester.user
    if user.is_authenticated and getattr(user, "is_staff", False):
        return Job.objects.all()
    rule = Q(pk__in=[])
    if user.is_authenticated:
        rule |= Q(owner_id=user.pk)
    if requester.anon_owner:
        rule |= Q(owner__isnull=True, anon_owner=requester.anon_owner)
    return Job.objects.filter(rule)



def job_events_after(*, job_id: uuid.UUID | str, after: int, limit: int = 1000) -> list[WireEvent]:
    """Return the job's events with seq > `after`, in order."""
    rows = JobEvent.objects.filter(job_id=job_id, seq__gt=after).order_by("seq")[:limit]
    return [WireEvent.from_row(row) for row in rows]


async def ajob_events_after(*, job_id: uuid.UUID | str, after: int,
                            limit: int = 1000) -> list[WireEvent]:
    """Return the job's events with seq > `after`, in order (async)."""
    rows = JobEvent.objects.filter(job_id=job_id, seq__gt=after).order_by("seq")[:limit]
    return [WireEvent.from_row(row) async for row in rows]


def hub_messages_after(cursors: dict[str, int]) -> list[tuple[str, Message]]:
    """Return newer events of the jobs behind `cursors` (the hub's database doorbell).

    Reads by per-job seq, not by a global id, so a transaction that commits late is
    never skipped. One query for the snapshots, one for the events of jobs that moved.
    """
    wanted: dict[uuid.UUID, int] = {}
    for channel, seen in cursors.items():
        job_id = _job_id(channel)
        if job_id is not None:
            wanted[job_id] = seen
    if not wanted:
        return []
    moved = [
        (job_id, wanted[job_id])
        for job_id, last_seq in Job.objects.filter(pk__in=wanted).values_list("pk", "last_seq")
        if last_seq > wanted[job_id]
    ]
    if not moved:
        return []
    rule = reduce(or_, (Q(job_id=job_id, seq__gt=seen) for job_id, seen in moved))
    rows = JobEvent.objects.filter(rule).order_by("job_id", "seq")
    return [(job_channel(row.job_id), WireEvent.from_row(row).to_message()) for row in rows]


def _job_id(channel: str) -> uuid.UUID | None:
    if not channel.startswith(_CHANNEL_PREFIX):
        return None
    try:
        return uuid.UUID(channel.removeprefix(_CHANNEL_PREFIX))
    except ValueError:
        return None
