"""The dashboard's snapshot: computed at most once per interval per process, pushed to streams.

However many dashboards are open, a process computes one snapshot per interval (the funnels,
the heaviest part, once per slow interval) and hands the same pre-encoded message to every
local stream of a period. Page loads and fallback polls read the same cache, so the cost of the
aggregates never multiplies with viewers. Nothing is computed while nobody watches.
"""

import asyncio
import json
import logging
import math
import threading
import time
import weakref
from collections import Counter as Tally
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.db import DatabaseError, connections
from django.dispatch import receiver
from django.utils import timezone

from dashboard import panels, selectors
from jobs.models import JobStatus
from realtime.api import Message, get_hub, metrics, relay

logger = logging.getLogger(__name__)

EVENT = "dashboard-snapshot"
COMPUTED = metrics.Counter(
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
        funnels = selectors.dashboard_funnels(now=now)
        slow = _cache.slow = _Slow(
            at=time.monotonic(),
            funnels={days: panels.funnel_panel(funnel=funnel) for days, funnel in funnels.items()},
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
        self._watching: Tally[int] = Tally()
        self._wake = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dashboard")
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the publishing task on the running loop."""
        self._task = asyncio.create_task(self._run(), name="dashboard-snapshots")

    @contextmanager
    def watching(self, days: int) -> Iterator[None]:
        """Count a stream of the `days` funnel as watching for as long as the block runs."""
        self._watching[days] += 1
        self._wake.set()
        try:
            yield
        finally:
            self._watching[days] -= 1
            if self._watching[days] <= 0:
                del self._watching[days]

    async def current(self) -> Snapshot:
        """Return the process's snapshot, computed off the loop if it is stale."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, _snapshot_in_thread)

    async def _run(self) -> None:
        try:
            while True:
                await self._until_watched()
                try:
                    self._publish(await self.current())
                except Exception:
                    # The loop must outlive a bad interval (database restart): every open
                    # dashboard depends on it.
                    logger.exception("dashboard snapshot failed; trying again next interval")
                await asyncio.sleep(interval_s())
        finally:
            self._executor.shutdown(wait=False)

    async def _until_watched(self) -> None:
        while not self._watching:
            self._wake.clear()
            await self._wake.wait()

    def _publish(self, snapshot: Snapshot) -> None:
        hub = get_hub()
        for days in list(self._watching):
            hub.publish_local(channel(days), snapshot.message(days=days))


def _snapshot_in_thread() -> Snapshot:
    try:
        return snapshot_current()
    finally:
        connections.close_all()  # hand the connection back to the pool between intervals


_publishers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Publisher]" = (
    weakref.WeakKeyDictionary()
)


def get_publisher() -> Publisher:
    """Return the publisher of the running event loop, starting it on first use."""
    loop = asyncio.get_running_loop()
    publisher = _publishers.get(loop)
    if publisher is None:
        publisher = _publishers[loop] = Publisher()
        publisher.start()
    return publisher


async def snapshot_stream(*, days: int) -> AsyncIterator[bytes]:
    """Yield SSE for one dashboard: the current snapshot at once, then each new one.

    The transport's relay, on a channel of whole states (`gapless=False`): a reader that fell
    behind simply takes the next snapshot. Ends after `REALTIME_MAX_STREAM_AGE_S` (the browser
    reconnects) or when the process drains.
    """
    publisher = get_publisher()

    async def current(after: int) -> list[Message]:
        message = (await publisher.current()).message(days=days)
        return [message] if message.id > after else []

    with publisher.watching(days):
        async for chunk in relay(channel=channel(days), cursor=0, replay=current, gapless=False):
            yield chunk


@receiver(setting_changed)
def _reset_on_setting_change(*, setting: str, **kwargs: object) -> None:
    if setting in {"DASHBOARD_INTERVAL_S", "DASHBOARD_SLOW_INTERVAL_S"}:
        snapshot_reset()
