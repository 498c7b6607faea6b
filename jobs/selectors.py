"""Reads: who may see a job, and a job's events as wire objects."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, reduce
from operator import or_

from django.db import connection
from django.db.models import Q

from jobs.access import Identity
from jobs.models import Job, JobEvent, JobQuerySet, JobStatus, job_channel
from jobs.wire import PAYLOAD_FIELDS, WireEvent
from realtime.api import Message

_CHANNEL_PREFIX = job_channel("")


STREAM_FIELDS = ("id", "status", "last_seq")
"""What a stream needs of its job: whether it is over, and where."""
SNAPSHOT_FIELDS = ("id", "name", "template", *PAYLOAD_FIELDS, "last_seq", "error")
"""What the status endpoint shows of a job."""


def job_get_visible(
    *, job_id: uuid.UUID | str, viewer: Identity, fields: Sequence[str] = ()
) -> Job | None:
    """Return the job, with only `fields` loaded if given, when `viewer` may see it."""
    jobs = _visible_to(viewer).filter(pk=job_id).order_by()
    if fields:
        jobs = jobs.only(*fields)
    return next(iter(jobs[:1]), None)


@dataclass(frozen=True, slots=True)
class StreamStart:
    """What opening a stream reads of its job: where the job is, and the events to replay."""

    status: str
    last_seq: int
    events: list[WireEvent]

    @property
    def is_finished(self) -> bool:
        """Return True once the job has reached a final status."""
        return self.status in JobStatus.finished()


def job_stream_start(
    *, job_id: uuid.UUID | str, viewer: Identity, after: int, limit: int = 1000
) -> StreamStart | None:
    """Return the job's status, last seq and events after `after` (at most `limit`) if
    `viewer` may see it, else None. One statement on PostgreSQL: every stream open and every
    reconnect runs this."""
    if connection.vendor != "postgresql":
        return _stream_start_orm(job_id=job_id, viewer=viewer, after=after, limit=limit)
    key = uuid.UUID(str(job_id))
    with connection.cursor() as cursor:
        cursor.execute(
            _stream_start_sql(
                staff=viewer.is_staff, user=viewer.user_id is not None, anon=bool(viewer.anon_owner)
            ),
            {
                "job_id": key,
                "after": after,
                "limit": limit,
                "user_id": viewer.user_id,
                "anon_owner": viewer.anon_owner,
            },
        )
        rows = cursor.fetchall()
    if not rows:
        return None
    name = str(key)
    return StreamStart(
        status=rows[0][0],
        last_seq=rows[0][1],
        events=[
            WireEvent.from_values(
                job=name, seq=seq, type=kind, created_at=created_at, payload=payload
            )
            for _, _, seq, kind, payload, created_at in rows
            if seq is not None
        ],
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class StartAsk:
    """One stream's opening read: which job, for whom, from where (`job_stream_starts`)."""

    job_id: uuid.UUID
    viewer: Identity
    after: int
    limit: int = 1000


def job_stream_starts(asks: Sequence[StartAsk]) -> list[StreamStart | None]:
    """Return `job_stream_start` of every ask, in order, in one statement on PostgreSQL:
    streams that open together (a reconnect storm) read the database together."""
    if connection.vendor != "postgresql" or len(asks) == 1:
        return [
            job_stream_start(job_id=a.job_id, viewer=a.viewer, after=a.after, limit=a.limit)
            for a in asks
        ]
    found: list[StreamStart | None] = [None] * len(asks)
    with connection.cursor() as cursor:
        cursor.execute(
            _STREAM_STARTS_SQL,
            {
                "ids": [a.job_id for a in asks],
                "afters": [a.after for a in asks],
                "limits": [a.limit for a in asks],
                "staff": [a.viewer.is_staff for a in asks],
                "users": [a.viewer.user_id for a in asks],
                "anons": [a.viewer.anon_owner for a in asks],
            },
        )
        rows = cursor.fetchall()
    for number, status, last_seq, seq, kind, payload, created_at in rows:
        index = number - 1
        start = found[index]
        if start is None:
            start = found[index] = StreamStart(status=status, last_seq=last_seq, events=[])
        if seq is not None:
            start.events.append(
                WireEvent.from_values(
                    job=str(asks[index].job_id),
                    seq=seq,
                    type=kind,
                    created_at=created_at,
                    payload=payload,
                )
            )
    return found


def _visible_sql(*, staff: str, user: str, anon: str) -> str:
    """Return the visibility rule over the job `j` in SQL, given the viewer's SQL operands:
    staff see every job, a user their own, an anonymous session the jobs of no user it made.
    `_visible_to` is the same rule in the ORM."""
    made_anonymously = f"(j.owner_id IS NULL AND {anon} <> '' AND j.anon_owner = {anon})"
    return f"({staff} OR j.owner_id = {user} OR {made_anonymously})"


# `_stream_start_sql` for many asks at once, each with its own viewer: an ask that may not
# see its job, or whose job does not exist, has no row.
_STREAM_STARTS_SQL = f"""
SELECT r.n, j.status, j.last_seq, e.seq, e.type, e.payload, e.created_at
  FROM unnest(%(ids)s::uuid[], %(afters)s::bigint[], %(limits)s::int[], %(staff)s::bool[],
              %(users)s::bigint[], %(anons)s::text[])
       WITH ORDINALITY AS r(job_id, after, lim, staff, user_id, anon, n)
  JOIN {Job._meta.db_table} j ON j.id = r.job_id
       AND {_visible_sql(staff="r.staff", user="r.user_id", anon="r.anon")}
  LEFT JOIN LATERAL (
        SELECT seq, type, payload, created_at FROM {JobEvent._meta.db_table}
         WHERE job_id = j.id AND seq > r.after AND j.last_seq > r.after
         ORDER BY seq LIMIT r.lim) e ON TRUE
 ORDER BY r.n, e.seq"""  # noqa: S608 - table names from the models; values are bound parameters


def _stream_start_orm(
    *, job_id: uuid.UUID | str, viewer: Identity, after: int, limit: int
) -> StreamStart | None:
    """`job_stream_start` in two ORM queries, for the other databases."""
    job = job_get_visible(job_id=job_id, viewer=viewer, fields=STREAM_FIELDS)
    if job is None:
        return None
    events = (
        job_events_after(job_id=job.pk, after=after, limit=limit) if job.last_seq > after else []
    )
    return StreamStart(status=job.status, last_seq=job.last_seq, events=events)


@cache
def _stream_start_sql(*, staff: bool, user: bool, anon: bool) -> str:
    # The job row if visible, with its events after the cursor (none when it has none:
    # `last_seq` says so without touching the event index). The operands the viewer lacks are
    # constants, which PostgreSQL folds away when it plans.
    rule = _visible_sql(
        staff="TRUE" if staff else "FALSE",
        user="%(user_id)s" if user else "NULL",
        anon="%(anon_owner)s" if anon else "''",
    )
    return f"""
SELECT j.status, j.last_seq, e.seq, e.type, e.payload, e.created_at
  FROM {Job._meta.db_table} j
  LEFT JOIN LATERAL (
        SELECT seq, type, payload, created_at FROM {JobEvent._meta.db_table}
         WHERE job_id = j.id AND seq > %(after)s AND j.last_seq > %(after)s
         ORDER BY seq LIMIT %(limit)s) e ON TRUE
 WHERE j.id = %(job_id)s AND {rule}
 ORDER BY e.seq"""  # noqa: S608 - table names from the models; values are bound parameters


def _visible_to(viewer: Identity) -> JobQuerySet:
    # `_visible_sql`'s rule: staff, else the jobs of the viewer's user or anonymous session.
    if viewer.is_staff:
        return Job.objects.all()
    return Job.objects.filter(reduce(or_, (o.owns for o in _owners(viewer)), Q(pk__in=[])))


def _owners(viewer: Identity) -> list[Identity]:
    """Return the owners whose jobs are the viewer's own: its user, its anonymous session."""
    user = [Identity(user_id=viewer.user_id)] if viewer.user_id is not None else []
    anon = [Identity(user_id=None, anon_owner=viewer.anon_owner)] if viewer.anon_owner else []
    return user + anon


def job_is_owner(*, job: Job, viewer: Identity) -> bool:
    """Return True when `viewer` made `job` (as a user, or in this anonymous session): the
    visibility rule without staff, for what only the owner may do."""
    made_by = {"owner_id": job.owner_id, "anon_owner": "" if job.owner_id else job.anon_owner}
    return any(owner.owner_columns == made_by for owner in _owners(viewer))


def job_events_after(*, job_id: uuid.UUID | str, after: int, limit: int = 1000) -> list[WireEvent]:
    """Return the job's events with seq > `after`, in order (every page, stream open and poll
    that changed reads them: the SQL is the ORM's, compiled once)."""
    rows = JobEvent.objects.raw(_events_after_sql(limit), [_job_key(job_id), after])
    return [WireEvent.from_row(row) for row in rows]


@cache
def _events_after_sql(limit: int) -> str:
    # Building and compiling the query costs more than running it; only the values change.
    job_id = uuid.UUID(int=0)
    query = JobEvent.objects.filter(job_id=job_id, seq__gt=0).order_by("seq")[:limit].query
    sql, params = query.sql_with_params()
    if [str(param) for param in params] != [str(_job_key(job_id)), "0"]:
        raise RuntimeError(f"unexpected parameters {params!r} in {sql}")
    return sql


def _job_key(job_id: uuid.UUID | str) -> object:
    """Return a job id as the database takes it (raw SQL skips the field's conversion)."""
    return JobEvent._meta.get_field("job").get_db_prep_value(job_id, connection)


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
