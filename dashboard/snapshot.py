"""The dashboard's snapshot: computed at most once per interval per process, pushed to streams.

However many dashboards are open, a process computes one snapshot per interval (the funnels,
the heaviest part, once per slow interval) and hands the same pre-encoded message to every
local stream of a period. Page loads and fallback polls read the same cache, so the cost of the
aggregates never multiplies with viewers. Nothing is computed while no stream of the process
is subscribed to a dashboard channel.
"""

import asyncio
import json
import logging
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.db import DatabaseError, connections
from django.dispatch import receiver
from django.utils import timezone

from dashboard import panels, selectors
from dashboard.funnel import PRESETS, Selection, funnel_report, preset
from dashboard.funnel_panel import funnel_panel
from jobs.models import JobStatus
from realtime.api import Message, Opening, PerLoop, counter, get_hub

logger = logging.getLogger(__name__)

EVENT = "dashboard-snapshot"
COMPUTED = counter(
    "dashboard_snapshots_computed_total",
    "Dashboard snapshots computed in this process (one per interval).",
)


def interval_s() -> float:
    """Return how often the snapshot is recomputed while someone watches."""
    return float(getattr(settings, "DASHBOARD_INTERVAL_S", 1.0))


def slow_interval_s() -> float:
    """Return how often the funnels (the heaviest aggregate) are recomputed."""
    return float(getattr(settings, "DASHBOARD_SLOW_INTERVAL_S", 15.0))


def channel(days: int) -> str:
    """Return the hub channel of the dashboards showing a `days` funnel."""
    return f"dashboard:{days}"


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    """Everything a dashboard shows, rendered, at one moment."""

    id: int
    """Milliseconds since the epoch, strictly increasing within the process."""
    generated_at: datetime
    """When the live part was computed."""
    panels: dict[str, str]
    """HTML of the panels every dashboard shares: running, queue, last_day, realtime."""
    funnels: dict[int, str]
    """HTML of the funnel panel, per period in days."""
    figures: dict[str, float | int | None]
    """The headline numbers, for scripts and tests."""
    _messages: dict[int, Message] = field(default_factory=dict, compare=False, repr=False)

    def panels_for(self, days: int) -> dict[str, str]:
        """Return every panel's HTML for a dashboard showing the `days` funnel."""
        return {**self.panels, "funnel": self.funnels[days]}

    def payload(self, *, days: int) -> dict[str, Any]:
        """Return the JSON object sent on the stream and by the fallback poll."""
        return {
            "id": self.id,
            "generated_at": self.generated_at.isoformat(),
            "days": days,
            "figures": self.figures,
            "panels": self.panels_for(days),
        }

    def message(self, *, days: int) -> Message:
        """Return the stream message for the `days` funnel, encoded once for every stream."""
        message = self._messages.get(days)
        if message is None:
            data = json.dumps(self.payload(days=days), separators=(",", ":"))
            message = self._messages[days] = Message(
                id=self.id, event=EVENT, data=data, ts=self.generated_at.timestamp()
            )
        return message


@dataclass(frozen=True, kw_only=True)
class _Slow:
    """The funnels: the heaviest aggregate (weeks of journey records), refreshed less often."""

    at: float
    funnels: dict[int, str]


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.snapshot: Snapshot | None = None
        self.at = -math.inf
        self.slow: _Slow | None = None


_cache = _Cache()


def snapshot_current() -> Snapshot:
    """Return this process's snapshot, recomputing it only once it is an interval old.

    While the database does not answer, the last snapshot is kept (it says when it was made)
    and tried again an interval later; raises only when there has never been one.
    """
    with _cache.lock:  # a second caller waits, then gets the fresh one: one computation
        started = time.monotonic()
        if _cache.snapshot is None or started - _cache.at >= interval_s():
            try:
                _cache.snapshot = _compute(previous=_cache.snapshot)
            except DatabaseError as exc:
                if _cache.snapshot is None:
                    raise
                logger.warning(
                    "dashboard snapshot of %s kept: %s", _cache.snapshot.generated_at, exc
                )
            _cache.at = started
        return _cache.snapshot


def snapshot_reset() -> None:
    """Forget the cached snapshot and aggregates (tests, settings changes)."""
    with _cache.lock:
        _cache.snapshot, _cache.at, _cache.slow = None, -math.inf, None


def _compute(*, previous: Snapshot | None) -> Snapshot:
    now = timezone.now()
    day = now - timedelta(hours=24)
    counts = selectors.dashboard_day_counts(since=day)
    running = selectors.dashboard_running_jobs(limit=panels.RUNNING_SHOWN + 1)
    realtime = selectors.dashboard_realtime()
    queue = selectors.dashboard_queue(now=now)
    last_day = panels.last_day_panel(
        counts=counts,
        times=selectors.dashboard_generation_times(since=day),
        per_hour=selectors.dashboard_jobs_per_hour(now=now),
        first_hour=selectors.first_hour(now=now),
    )
    COMPUTED.inc()
    return Snapshot(
        id=max(int(now.timestamp() * 1000), previous.id + 1 if previous else 0),
        generated_at=now,
        funnels=_funnels(now),
        panels={
            "running": panels.running_panel(jobs=running),
            "queue": panels.queue_panel(queue=queue),
            "last_day": last_day,
            "realtime": panels.realtime_panel(realtime=realtime),
        },
        figures={
            **_figures(counts, running, realtime),
            "queued": queue.depth,
            "web_processes": len(realtime.processes),
        },
    )


def _funnels(now: datetime) -> dict[int, str]:
    slow = _cache.slow
    if slow is None or time.monotonic() - slow.at >= slow_interval_s():
        reports = {
            days: funnel_report(selection=Selection(range=preset(days=days, now=now)))
            for days in PRESETS
        }
        slow = _cache.slow = _Slow(
            at=time.monotonic(),
            funnels={days: str(funnel_panel(report=report)) for days, report in reports.items()},
        )
    return slow.funnels


def _figures(
    counts: selectors.DayCounts, running: list[selectors.RunningJob], realtime: selectors.Realtime
) -> dict[str, float | int | None]:
    return {
        "running": min(len(running), panels.RUNNING_SHOWN),
        "started": counts.started,
        **{status: counts[status] for status in JobStatus.finished()},
        "success_rate": counts.success_rate,
        "open_streams": realtime.open_streams,
        "polling_clients": realtime.polling_clients,
        "reconnects_per_minute": realtime.reconnects_per_minute,
        "delay_p50_s": _finite(realtime.delay_p50_s),
        "delay_p99_s": _finite(realtime.delay_p99_s),
    }


def _finite(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None  # JSON has no Infinity


class Publisher:
    """Push a new snapshot to this process's dashboard streams every interval, while watched."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dashboard")
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the publishing task on the running loop."""
        self._task = asyncio.create_task(self._run(), name="dashboard-snapshots")

    async def current(self) -> Snapshot:
        """Return the process's snapshot, computed off the loop if it is stale."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, _snapshot_in_thread)

    async def _run(self) -> None:
        try:
            while True:
                watched = _watched()
                if watched:
                    try:
                        _publish(await self.current(), watched)
                    except Exception:
                        # The loop must outlive a bad interval (database restart): every open
                        # dashboard depends on it.
                        logger.exception("dashboard snapshot failed; trying again next interval")
                await asyncio.sleep(interval_s())
        finally:
            self._executor.shutdown(wait=False)


def _watched() -> list[int]:
    """Return the periods that a stream of this process shows (its channel is subscribed)."""
    hub = get_hub()
    return [days for days in selectors.PERIODS if hub.subscribed(channel(days))]


def _publish(snapshot: Snapshot, periods: list[int]) -> None:
    hub = get_hub()
    for days in periods:
        hub.publish_local(channel(days), snapshot.message(days=days))


def _snapshot_in_thread() -> Snapshot:
    try:
        return snapshot_current()
    finally:
        connections.close_all()  # hand the connection back to the pool between intervals


def _new_publisher() -> Publisher:
    publisher = Publisher()
    publisher.start()
    return publisher


_PUBLISHERS = PerLoop(_new_publisher)


async def snapshot_after(days: int, after: int) -> list[Message]:
    """Return the `days` dashboard's current snapshot if it is newer than `after` (the
    dashboard stream's replay: a channel of whole states), starting the publisher."""
    message = (await _PUBLISHERS.get().current()).message(days=days)
    return [message] if message.id > after else []


async def snapshot_opening(days: int) -> Opening:
    """Return where a dashboard stream starts: at the current snapshot.

    The stream then takes each new one, and ends after `REALTIME_MAX_STREAM_AGE_S` (the
    browser reconnects) or when the process drains.
    """
    return Opening(cursor=0, backlog=await snapshot_after(days, 0))


@receiver(setting_changed)
def _reset_on_setting_change(*, setting: str, **kwargs: object) -> None:
    if setting in {"DASHBOARD_INTERVAL_S", "DASHBOARD_SLOW_INTERVAL_S"}:
        snapshot_reset()
