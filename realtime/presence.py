"""Every web process's transport figures, shared through Redis so that one view sees them all.

The transport's metrics live in the process that serves the streams and polls; behind a load
balancer a dashboard reached one process and saw its share only. So each web process, from
its first ASGI request on, writes its figures to Redis every `REPORT_S` (a daemon thread:
it outlives any one event loop and never touches the database); readers sum the processes
that wrote recently. Without Redis, or while it is unreachable, only this process is known.
Processes are grouped by the database they serve: one database, one deployment.
"""

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.signals import request_started
from django.dispatch import receiver

from realtime import metrics
from realtime.broker import clients
from realtime.broker.figures import figures_all, figures_put

logger = logging.getLogger(__name__)

REPORT_S = 5.0
"""How often a process writes its figures."""
STALE_S = 3 * REPORT_S
"""A process silent for longer counts as gone (its figures expire then too)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ProcessFigures:
    """One web process's transport figures at one moment."""

    process: str
    """host:pid."""
    open_streams: int
    """SSE streams open in it."""
    polling_clients: int
    """Distinct clients that polled it in the last minute."""
    reconnects_per_minute: float
    """Streams opened with a cursor over the last minute."""
    delay_counts: tuple[int, ...]
    """Deliveries per bucket of the delivery-delay histogram (its bounds, then +inf)."""
    at: float
    """When they were read (epoch seconds)."""

    def encode(self) -> dict[str, str]:
        """Return the figures as a Redis hash."""
        return {
            "open_streams": str(self.open_streams),
            "polling_clients": str(self.polling_clients),
            "reconnects_per_minute": repr(self.reconnects_per_minute),
            "delay_counts": ",".join(map(str, self.delay_counts)),
            "at": repr(self.at),
        }

    @classmethod
    def decode(cls, process: str, stored: dict[str, str]) -> "ProcessFigures":
        """Return the figures read back from a Redis hash."""
        counts = stored.get("delay_counts", "")
        return cls(
            process=process,
            open_streams=int(stored["open_streams"]),
            polling_clients=int(stored["polling_clients"]),
            reconnects_per_minute=float(stored["reconnects_per_minute"]),
            delay_counts=tuple(int(n) for n in counts.split(",")) if counts else (),
            at=float(stored["at"]),
        )


def process_name() -> str:
    """Return this process's name among its peers: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def presence_local() -> ProcessFigures:
    """Return this process's figures now, from its metrics."""
    return ProcessFigures(
        process=process_name(),
        open_streams=max(0, int(metrics.local_value("realtime_streams_open"))),
        polling_clients=metrics.POLLING_CLIENTS.count(),
        reconnects_per_minute=metrics.RESUMES_RECENT.recent(),
        delay_counts=metrics.local_delay_counts(),
        at=time.time(),
    )


def presence_all() -> tuple[list[ProcessFigures], bool]:
    """Return the figures of every live web process, this one first and fresh, and whether the
    others could be read at all (False: no Redis, or Redis unreachable)."""
    local = presence_local()
    if not clients.configured():
        return [local], False
    try:
        stored = figures_all(namespace=_namespace(), within_s=STALE_S)
    except clients.RedisError:
        return [local], False
    others = [
        ProcessFigures.decode(process, figures)
        for process, figures in sorted(stored.items())
        if process != local.process
    ]
    return [local, *others], True


def presence_report() -> None:
    """Write this process's figures to Redis; raise RedisError."""
    figures_put(
        namespace=_namespace(),
        member=process_name(),
        figures=presence_local().encode(),
        ttl_s=int(STALE_S),
    )


def _namespace() -> str:
    return str(settings.DATABASES["default"].get("NAME", ""))


class _Reporter:
    """The daemon thread that refreshes this process's gauges of recent activity and reports
    its figures to Redis, started once per process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pid = 0

    def ensure_started(self) -> None:
        """Start reporting unless this process already does (a fork gets its own thread)."""
        if self.pid == os.getpid():
            return
        with self.lock:
            if self.pid == os.getpid():
                return
            self.pid = os.getpid()
            threading.Thread(target=self._run, name="realtime-presence", daemon=True).start()

    def _run(self) -> None:
        while True:
            metrics.refresh()  # a worker that nobody polls still lets its clients age out
            if not clients.configured():
                time.sleep(REPORT_S)
                continue
            try:
                presence_report()
            except clients.FAILURES as error:
                logger.debug("figures not shared this time: %s", error)
            except Exception:
                logger.exception("figures not shared; trying again later")
            time.sleep(REPORT_S)


_reporter = _Reporter()


@receiver(request_started)
def _start_on_first_asgi_request(*, scope: Any = None, **kwargs: object) -> None:
    # Only ASGI requests carry a scope: web processes report, commands and workers do not.
    # Django runs request_started's sync receivers in one thread hop for all of them.
    if scope is not None:
        _reporter.ensure_started()
