"""Reads for the ecosystem dashboard: what runs now, the last day, transport (the journey
funnel is dashboard/funnel.py).

Every function here is a query or two (or none): the snapshot calls them once per interval
for the whole process, so their cost never multiplies with viewers.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Min,
    Q,
)
from django.db.models.functions import TruncHour

from jobs.models import Job, JobStatus
from realtime.api import DELAY_BUCKETS, ProcessFigures, presence_all

PERIODS = (1, 7, 30)
"""The funnel's preset periods, in days back from now (the live dashboards' channels)."""
DEFAULT_PERIOD = 7
_LIVE = (JobStatus.RUNNING, JobStatus.CANCELLING)


@dataclass(frozen=True, kw_only=True, slots=True)
class RunningJob:
    """A job being generated right now."""

    id: str
    """The job's UUID."""
    name: str
    """The project's name."""
    template: str
    """The template key."""
    status: str
    """running or cancelling."""
    percent: int
    """0 to 100."""
    step: str
    """The current step's label ("" before the first step)."""
    step_index: int | None
    """The current step's position, from 1."""
    step_total: int | None
    """How many steps the pipeline has."""


def dashboard_running_jobs(*, limit: int = 25) -> list[RunningJob]:
    """Return up to `limit` running (or cancelling) jobs, longest running first."""
    rows = (
        Job.objects.filter(status__in=_LIVE)
        .order_by("started_at", "created_at")
        .values("id", "name", "template", "status", "percent", "step")[:limit]
    )
    return [_running_job(row) for row in rows]


def _running_job(row: Mapping[str, Any]) -> RunningJob:
    step = row["step"] or {}
    return RunningJob(
        id=str(row["id"]),
        name=row["name"],
        template=row["template"],
        status=row["status"],
        percent=row["percent"],
        step=step.get("label", ""),
        step_index=step.get("index"),
        step_total=step.get("total"),
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class QueuedTemplate:
    """The queued jobs of one template."""

    template: str
    """The template key."""
    queued: int
    """Jobs of it waiting for a worker."""
    oldest_wait_s: float
    """How long the oldest of them has waited."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Queue:
    """The jobs waiting for a worker."""

    depth: int
    """Jobs queued."""
    oldest_wait_s: float | None
    """How long the oldest has waited (None with an empty queue)."""
    workers_busy: int
    """Started jobs whose worker beat recently: the workers at work."""
    templates: list[QueuedTemplate]
    """Per template, the most waiting first."""


def dashboard_queue(*, now: datetime) -> Queue:
    """Return the queue's depth, oldest wait, per-template split and busy workers (one query:
    the unfinished jobs per template, queued and at work counted apart)."""
    queued = Q(status=JobStatus.QUEUED)
    fresh = now - timedelta(seconds=settings.JOBS_STALE_AFTER_S)
    busy = Q(status__in=_LIVE, heartbeat_at__gte=fresh)
    rows = list(
        Job.objects.filter(status__in=JobStatus.unfinished())
        .order_by()
        .values("template")
        .annotate(
            n=Count("pk", filter=queued),
            oldest=Min("created_at", filter=queued),
            busy=Count("pk", filter=busy),
        )
    )
    templates = sorted(
        (
            QueuedTemplate(
                template=row["template"],
                queued=row["n"],
                oldest_wait_s=_seconds_since(row["oldest"], now),
            )
            for row in rows
            if row["n"]
        ),
        key=lambda t: (-t.queued, t.template),
    )
    return Queue(
        depth=sum(t.queued for t in templates),
        oldest_wait_s=max((t.oldest_wait_s for t in templates), default=None),
        workers_busy=sum(row["busy"] for row in rows),
        templates=templates,
    )


def _seconds_since(moment: datetime, now: datetime) -> float:
    return max(0.0, (now - moment).total_seconds())


@dataclass(frozen=True, kw_only=True, slots=True)
class TemplateStats:
    """One template's jobs over a period."""

    template: str
    """The template key."""
    started: int
    """Jobs created."""
    succeeded: int
    """Of those, succeeded."""
    failed: int
    """Of those, failed."""

    @property
    def failure_rate(self) -> float | None:
        """Return failed / (succeeded + failed); None before any of them ended so."""
        return _ratio(self.failed, self.succeeded + self.failed)


@dataclass(frozen=True, kw_only=True, slots=True)
class DayCounts:
    """Jobs created over a period, by what became of them."""

    by_status: dict[str, int]
    """Every status, zero included."""
    templates: list[TemplateStats]
    """Per template, most popular first."""

    @property
    def started(self) -> int:
        """Return how many jobs were created."""
        return sum(self.by_status.values())

    def __getitem__(self, status: str) -> int:
        return self.by_status[status]

    @property
    def success_rate(self) -> float | None:
        """Return succeeded / (succeeded + failed): cancelling is the developer's choice."""
        ok, failed = self.by_status[JobStatus.SUCCEEDED], self.by_status[JobStatus.FAILED]
        return _ratio(ok, ok + failed)


def dashboard_day_counts(*, since: datetime) -> DayCounts:
    """Return the jobs created since `since`, per status and per template (one query)."""
    rows = (
        Job.objects.filter(created_at__gte=since)
        .order_by()
        .values_list("template", "status")
        .annotate(n=Count("pk"))
    )
    by_status = dict.fromkeys(JobStatus.values, 0)
    per_template: dict[str, dict[str, int]] = {}
    for template, status, n in rows:
        by_status[status] += n
        per_template.setdefault(template, {})[status] = n
    return DayCounts(by_status=by_status, templates=_template_stats(per_template))


def _template_stats(per_template: dict[str, dict[str, int]]) -> list[TemplateStats]:
    stats = [
        TemplateStats(
            template=key,
            started=sum(counts.values()),
            succeeded=counts.get(JobStatus.SUCCEEDED, 0),
            failed=counts.get(JobStatus.FAILED, 0),
        )
        for key, counts in per_template.items()
    ]
    return sorted(stats, key=lambda s: (-s.started, s.template))


def dashboard_generation_times(*, since: datetime) -> list[float]:
    """Return, sorted, the seconds from start to success of the jobs created since `since`."""
    took = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    rows = (
        Job.objects.filter(
            created_at__gte=since,
            status=JobStatus.SUCCEEDED,
            started_at__isnull=False,
            finished_at__isnull=False,
        )
        .order_by()
        .annotate(took=took)
        .values_list("took", flat=True)
    )
    return sorted(max(0.0, took.total_seconds()) for took in rows)


def first_hour(*, now: datetime, hours: int = 24) -> datetime:
    """Return the start of the first of the `hours` clock hours that end with the current one."""
    return now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)


def dashboard_jobs_per_hour(*, now: datetime, hours: int = 24) -> list[int]:
    """Return how many jobs were created in each clock hour, oldest first, the current last."""
    start = first_hour(now=now, hours=hours)
    rows = (
        Job.objects.filter(created_at__gte=start)
        .order_by()
        .annotate(hour=TruncHour("created_at"))
        .values_list("hour")
        .annotate(n=Count("pk"))
    )
    counts = [0] * hours
    for hour, n in rows:
        index = int((hour - start).total_seconds() // 3600)
        if 0 <= index < hours:  # a clock running ahead of the database's is not our concern
            counts[index] += n
    return counts


def percentile(values: Sequence[float], q: float) -> float | None:
    """Return the nearest-rank `q` quantile (0 < q <= 1) of sorted `values`; None if empty."""
    if not values:
        return None
    return values[max(0, math.ceil(q * len(values)) - 1)]


@dataclass(frozen=True, kw_only=True, slots=True)
class Realtime:
    """The real-time transport of every live web process (or of this one), from their metrics."""

    open_streams: int
    """SSE streams open now."""
    polling_clients: int
    """Clients that polled in the last minute (one polling two processes counts twice)."""
    reconnects_per_minute: float
    """Streams opened with a cursor over the last minute."""
    delay_p50_s: float | None
    """Median publish-to-delivery delay (bucket upper bound), None before any delivery."""
    delay_p99_s: float | None
    """99th percentile of the same."""
    delay_buckets: list[tuple[float, int]]
    """(upper bound in seconds, deliveries) per histogram bucket; the last bound is inf."""
    processes: list[ProcessFigures] = field(default_factory=list)
    """Each live web process's own figures, this one first."""
    shared: bool = False
    """True when the other processes' figures were read (through Redis)."""

    @property
    def fallback_share(self) -> float | None:
        """Return the share of live clients that are polling rather than streaming."""
        return _ratio(self.polling_clients, self.polling_clients + self.open_streams)


def dashboard_realtime() -> Realtime:
    """Return the transport figures summed over every live web process (no query)."""
    processes, shared = presence_all()
    bounds = [*DELAY_BUCKETS, math.inf]
    counts = [
        sum(column)
        for column in zip(*(_padded(p.delay_counts, len(bounds)) for p in processes), strict=True)
    ]
    return Realtime(
        open_streams=sum(p.open_streams for p in processes),
        polling_clients=sum(p.polling_clients for p in processes),
        reconnects_per_minute=round(sum(p.reconnects_per_minute for p in processes), 1),
        delay_p50_s=bucket_quantile(bounds, counts, 0.5),
        delay_p99_s=bucket_quantile(bounds, counts, 0.99),
        delay_buckets=list(zip(bounds, counts, strict=True)),
        processes=processes,
        shared=shared,
    )


def _padded(counts: Sequence[int], length: int) -> list[int]:
    # A process on other histogram bounds (mid-deploy) adds nothing rather than skewing.
    return list(counts) if len(counts) == length else [0] * length


def bucket_quantile(bounds: Sequence[float], counts: Sequence[int], q: float) -> float | None:
    """Return the upper bound of the bucket holding quantile `q`; None with no observation."""
    goal, seen = q * sum(counts), 0
    if goal == 0:
        return None
    for bound, count in zip(bounds, counts, strict=True):
        seen += count
        if seen >= goal:
            return bound
    return None


def jobs_count_unfinished_by_status() -> dict[str, int]:
    """Return how many jobs are queued, running and cancelling (each present; one query).

    Read through the partial index of unfinished jobs: cheap however long the history.
    """
    counts: dict[str, int] = dict.fromkeys(sorted(JobStatus.unfinished()), 0)
    rows = Job.objects.unfinished().order_by().values_list("status").annotate(n=Count("pk"))
    counts.update({status: n for status, n in rows})
    return counts


@dataclass(frozen=True, kw_only=True, slots=True)
class Heartbeats:
    """What the workers' heartbeats say of the jobs they run."""

    busy: int
    """Started jobs whose worker beat within JOBS_STALE_AFTER_S: the workers at work."""
    stale: int
    """Started jobs whose worker has been silent for longer (the reaper's to fail)."""
    oldest_queued_s: float | None
    """How long the oldest queued job has waited (None with an empty queue)."""


def jobs_heartbeats(*, now: datetime) -> Heartbeats:
    """Return the busy and silent workers and the queue's oldest wait (one query, through
    the partial index of unfinished jobs)."""
    fresh = now - timedelta(seconds=settings.JOBS_STALE_AFTER_S)
    row = Job.objects.unfinished().aggregate(
        busy=Count("pk", filter=Q(status__in=_LIVE, heartbeat_at__gte=fresh)),
        stale=Count("pk", filter=Q(status__in=_LIVE) & ~Q(heartbeat_at__gte=fresh)),
        oldest=Min("created_at", filter=Q(status=JobStatus.QUEUED)),
    )
    oldest = row["oldest"]
    return Heartbeats(
        busy=row["busy"],
        stale=row["stale"],
        oldest_queued_s=None if oldest is None else _seconds_since(oldest, now),
    )


def jobs_recent_outcomes(*, since: datetime) -> dict[tuple[str, str], int]:
    """Return how many jobs created since `since` are in each (template, status): a range of
    the created_at index, however long the history."""
    rows = (
        Job.objects.filter(created_at__gte=since)
        .order_by()
        .values_list("template", "status")
        .annotate(n=Count("pk"))
    )
    return {(template, status): n for template, status, n in rows}


def jobs_total_estimate() -> int:
    """Return about how many jobs the table holds: PostgreSQL's planner estimate, no scan
    (exact on other databases, which only serve development)."""
    if connection.vendor != "postgresql":
        return Job.objects.count()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [Job._meta.db_table]
        )
        row = cursor.fetchone()
    return max(0, int(row[0])) if row else 0


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None
