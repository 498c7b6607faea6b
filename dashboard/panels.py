"""Turn the dashboard's figures into HTML panels with their charts, once per snapshot."""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from dashboard import charts, selectors
from dashboard.selectors import (
    DayCounts,
    Queue,
    Realtime,
    RunningJob,
    TemplateStats,
    percentile,
)
from jobs.models import JobStatus
from jobs.scaffolds import template_label
from realtime.api import DELAY_BUCKETS

_TIME_BUCKETS_S = (5, 10, 20, 30, 45, 60, 90, 120, 180, 300)


@dataclass(frozen=True, kw_only=True, slots=True)
class Tile:
    """One headline figure: a label and its value in words."""

    key: str
    """Written as `data-stat`, for scripts and tests."""
    label: str
    """What the figure is."""
    value: str
    """The figure, formatted for a person."""


RUNNING_SHOWN = 25
"""Running jobs drawn at most; the snapshot asks for one more to know whether there are."""


def running_panel(*, jobs: Sequence[RunningJob]) -> SafeString:
    """Return the "running now" panel: one bar per job with its percent and step."""
    more, jobs = len(jobs) > RUNNING_SHOWN, jobs[:RUNNING_SHOWN]
    bars = [
        charts.Bar(
            label=f"{job.name} ({template_label(job.template)})",
            value=job.percent,
            text=f"{job.percent} %",
            note=_step_note(job),
            key=job.id,
            tone="bad" if job.status == JobStatus.CANCELLING else "neutral",
        )
        for job in jobs
    ]
    count = f"{len(jobs)}{'+' if more else ''}"
    chart = charts.bar_chart(
        chart_id="chart-running",
        bars=bars,
        max_value=100,
        title=_running_title(len(jobs), more=more),
    )
    return render_to_string(
        "dashboard/_running.html", {"jobs": jobs, "chart": chart, "count": count, "more": more}
    )


def _running_title(count: int, *, more: bool) -> str:
    if more:
        return f"The {count} longest-running jobs (more are running), with percent and step"
    return f"{_jobs(count)} running now, with percent done and step"


def _step_note(job: RunningJob) -> str:
    if job.status == JobStatus.CANCELLING:
        return "cancelling"
    if not job.step:
        return "starting"
    return f"step {job.step_index} of {job.step_total}: {job.step}"


def last_day_panel(
    *, counts: DayCounts, times: Sequence[float], per_hour: Sequence[int], first_hour: datetime
) -> SafeString:
    """Return the last-24-hours panel: headline figures, outcomes, timing, templates."""
    p50, p95 = percentile(times, 0.5), percentile(times, 0.95)
    context = {
        "tiles": _day_tiles(counts, p50, p95),
        "outcomes": _outcome_chart(counts),
        "per_hour": _per_hour_chart(per_hour, first_hour),
        "timing": _timing_chart(times, p50, p95),
        "popularity": _popularity_chart(counts),
        "failures": _failure_chart(counts),
    }
    return render_to_string("dashboard/_last_day.html", context)


def _day_tiles(counts: DayCounts, p50: float | None, p95: float | None) -> list[Tile]:
    unfinished = sum(counts[s] for s in JobStatus.unfinished())
    return [
        Tile(key="started", label="Started", value=str(counts.started)),
        Tile(key="succeeded", label="Succeeded", value=str(counts[JobStatus.SUCCEEDED])),
        Tile(key="failed", label="Failed", value=str(counts[JobStatus.FAILED])),
        Tile(key="cancelled", label="Cancelled", value=str(counts[JobStatus.CANCELLED])),
        Tile(key="unfinished", label="Still queued or running", value=str(unfinished)),
        Tile(key="success_rate", label="Success rate", value=_percent(counts.success_rate)),
        Tile(key="p50", label="Generation time p50", value=_duration(p50)),
        Tile(key="p95", label="Generation time p95", value=_duration(p95)),
    ]


def _outcome_chart(counts: DayCounts) -> SafeString:
    unfinished = sum(counts[s] for s in JobStatus.unfinished())
    bars = [
        charts.Bar(
            label="Succeeded",
            value=counts[JobStatus.SUCCEEDED],
            tone="good",
            text=str(counts[JobStatus.SUCCEEDED]),
            key="succeeded",
        ),
        charts.Bar(
            label="Failed",
            value=counts[JobStatus.FAILED],
            tone="bad",
            text=str(counts[JobStatus.FAILED]),
            key="failed",
        ),
        charts.Bar(
            label="Cancelled",
            value=counts[JobStatus.CANCELLED],
            text=str(counts[JobStatus.CANCELLED]),
            key="cancelled",
        ),
        charts.Bar(
            label="Still queued or running",
            value=unfinished,
            text=str(unfinished),
            key="unfinished",
        ),
    ]
    return charts.bar_chart(
        chart_id="chart-outcomes",
        bars=bars,
        max_value=counts.started,
        title=f"What became of the {_jobs(counts.started)} started",
    )


def _per_hour_chart(per_hour: Sequence[int], start: datetime) -> SafeString:
    columns = [
        charts.Column(label=(start + timedelta(hours=i)).strftime("%H:00"), value=n)
        for i, n in enumerate(per_hour)
    ]
    return charts.histogram(
        chart_id="chart-per-hour",
        columns=columns,
        label_every=3,
        title="Jobs started per hour (UTC)",
        unit=" jobs",
    )


def _timing_chart(times: Sequence[float], p50: float | None, p95: float | None) -> SafeString:
    bounds = [*_TIME_BUCKETS_S, math.inf]
    counts = [0] * len(bounds)
    for took in times:
        counts[next(i for i, bound in enumerate(bounds) if took <= bound)] += 1
    columns = [
        charts.Column(label=_bucket_label(bound, "s"), value=n)
        for bound, n in zip(bounds, counts, strict=True)
    ]
    markers = [
        charts.Marker(at=_bucket_of(value, bounds), label=f"{name} {_duration(value)}")
        for name, value in (("p50", p50), ("p95", p95))
        if value is not None
    ]
    return charts.histogram(
        chart_id="chart-timing",
        columns=columns,
        markers=markers,
        title="Generation time of successful jobs",
        unit=" jobs",
    )


def _popularity_chart(counts: DayCounts) -> SafeString:
    bars = [
        charts.Bar(
            label=template_label(t.template), value=t.started, key=t.template, text=_jobs(t.started)
        )
        for t in counts.templates
    ]
    return charts.bar_chart(
        chart_id="chart-popularity", bars=bars, title="Popularity: jobs started per template"
    )


def _failure_chart(counts: DayCounts) -> SafeString:
    bars = [
        charts.Bar(
            label=template_label(t.template),
            value=round(100 * (t.failure_rate or 0), 1),
            key=t.template,
            tone="bad",
            **_failure_words(t),
        )
        for t in counts.templates
    ]
    return charts.bar_chart(
        chart_id="chart-failures",
        bars=bars,
        max_value=100,
        title="Failure rate per template (failed of succeeded + failed)",
    )


def _failure_words(stats: TemplateStats) -> dict[str, str]:
    if stats.failure_rate is None:
        return {"text": "nothing finished yet"}
    return {
        "text": _percent(stats.failure_rate),
        "note": f"{stats.failed} of {stats.failed + stats.succeeded} failed",
    }


def realtime_panel(*, realtime: Realtime) -> SafeString:
    """Return the real-time system panel of this process: streams, polls, delays."""
    tiles = [
        Tile(key="open_streams", label="Open SSE streams", value=str(realtime.open_streams)),
        Tile(
            key="polling_clients",
            label="Clients polling (last minute)",
            value=str(realtime.polling_clients),
        ),
        Tile(
            key="fallback_share",
            label="Share on the polling fallback",
            value=_percent(realtime.fallback_share),
        ),
        Tile(
            key="reconnects",
            label="Reconnects per minute",
            value=f"{realtime.reconnects_per_minute:g}",
        ),
        Tile(key="delay_p50", label="Delivery delay p50", value=_upto(realtime.delay_p50_s)),
        Tile(key="delay_p99", label="Delivery delay p99", value=_upto(realtime.delay_p99_s)),
    ]
    columns = [
        charts.Column(label=_bucket_label(bound, "ms"), value=n)
        for bound, n in realtime.delay_buckets
    ]
    chart = charts.histogram(
        chart_id="chart-delay",
        columns=columns,
        unit=" deliveries",
        title="Publish-to-delivery delay of live events",
    )
    rows = [
        {
            "process": p.process,
            "open_streams": p.open_streams,
            "polling_clients": p.polling_clients,
            "reconnects": f"{p.reconnects_per_minute:g}",
            "delay_p99": _upto(
                selectors.bucket_quantile([*DELAY_BUCKETS, math.inf], p.delay_counts, 0.99)
                if len(p.delay_counts) == len(DELAY_BUCKETS) + 1
                else None
            ),
            "this": i == 0,
        }
        for i, p in enumerate(realtime.processes)
    ]
    return render_to_string(
        "dashboard/_realtime.html",
        {"tiles": tiles, "chart": chart, "processes": rows, "shared": realtime.shared},
    )


def queue_panel(*, queue: Queue) -> SafeString:
    """Return the queue panel: how many jobs wait, the oldest wait, and per template."""
    tiles = [
        Tile(key="queued", label="Jobs waiting", value=str(queue.depth)),
        Tile(
            key="oldest_wait",
            label="Oldest has waited",
            value=_duration(queue.oldest_wait_s) if queue.depth else "—",
        ),
        Tile(key="workers_busy", label="Workers busy", value=str(queue.workers_busy)),
    ]
    bars = [
        charts.Bar(
            label=template_label(t.template),
            value=t.queued,
            key=t.template,
            text=_jobs(t.queued),
            note=f"oldest waiting {_duration(t.oldest_wait_s)}",
        )
        for t in queue.templates
    ]
    chart = (
        charts.bar_chart(chart_id="chart-queue", bars=bars, title="Jobs waiting, per template")
        if bars
        else ""
    )
    return render_to_string(
        "dashboard/_queue.html", {"tiles": tiles, "chart": chart, "queue": queue}
    )


def _bucket_of(value: float, bounds: Sequence[float]) -> int:
    return next(i for i, bound in enumerate(bounds) if value <= bound)


def _bucket_label(bound: float, unit: str) -> str:
    if math.isinf(bound):
        return "slower"
    if unit == "ms" and bound < 1:
        return f"≤{bound * 1000:g} ms"
    return f"≤{bound:g} s"


def _upto(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return "over 5 s" if math.isinf(seconds) else f"≤ {_duration(seconds)}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 90:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60)} s"


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{100 * share:.0f} %"


def _jobs(count: int) -> str:
    return f"{count} job{'s' if count != 1 else ''}"
