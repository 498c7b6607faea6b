"""What the server costs: memory, threads and CPU from /proc, database connections from Postgres.

A `Sampler` thread reads, once a second, every process of the server (the gunicorn arbiter
and its workers, or granian's main process and its forked workers, found again at each sample
so that restarted workers count) and the connections to the benchmark's databases by
`application_name`. A granian worker's threads include its Rust runtime's.
"""

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, kw_only=True, slots=True)
class ProcSample:
    """One process at one moment."""

    pid: int
    """The process id."""
    rss_kb: int
    """Resident memory (VmRSS)."""
    pss_kb: int
    """Proportional share of resident memory (shared pages divided among their users)."""
    threads: int
    """OS threads."""
    cpu_s: float
    """User + system CPU time since the process started."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Sample:
    """The server and its database connections at one moment."""

    t: float
    """Unix time."""
    workers: list[ProcSample]
    """The worker processes (children of the arbiter, or of granian's main process)."""
    arbiter: ProcSample | None
    """The arbiter itself."""
    db: dict[str, int]
    """Open database connections by application_name."""


def children(pid: int) -> list[int]:
    """Return the pids whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def read_proc(pid: int) -> ProcSample | None:
    """Return a process's memory, threads and CPU time, or None once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    pss = next((int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:")), 0)
    return ProcSample(
        pid=pid,
        rss_kb=int(fields["VmRSS"].split()[0]),
        pss_kb=pss,
        threads=int(fields["Threads"]),
        cpu_s=(int(stat[11]) + int(stat[12])) / CLOCK_TICKS,  # utime, stime
    )


def db_connections(dsn: str, databases: list[str]) -> dict[str, int]:
    """Return open connections to `databases` by application_name ("?" on error)."""
    import psycopg

    try:
        with psycopg.connect(
            dsn, connect_timeout=3, autocommit=True, application_name="bench-measure"
        ) as conn:
            rows = conn.execute(
                "SELECT coalesce(nullif(application_name, ''), '?'), count(*) "
                "FROM pg_stat_activity WHERE datname = ANY(%s) AND pid <> pg_backend_pid() "
                "GROUP BY 1",
                (databases,),
            ).fetchall()
    except psycopg.Error:
        return {"?": -1}
    return {name: int(count) for name, count in rows}


@dataclass
class Sampler:
    """Sample the server `arbiter_pid` and the databases every `every_s` seconds."""

    arbiter_pid: int
    admin_dsn: str
    databases: list[str]
    every_s: float = 1.0
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> "Sampler":
        """Start sampling in a background thread."""
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop sampling."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def sample(self) -> Sample:
        """Take and keep one sample now."""
        workers = [s for s in map(read_proc, children(self.arbiter_pid)) if s is not None]
        found = Sample(
            t=time.time(),
            workers=workers,
            arbiter=read_proc(self.arbiter_pid),
            db=db_connections(self.admin_dsn, self.databases),
        )
        self.samples.append(found)
        return found

    def between(self, start: float, end: float) -> list[Sample]:
        """Return the samples taken between two Unix times."""
        return [s for s in self.samples if start <= s.t <= end]

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.sample()


def summarize(
    window: list[Sample],
    baseline: Sample | None,
    *,
    streams: int,
    delivered: int,
    cpu_start: dict[int, float],
    cpu_end: dict[int, float],
    web_app: str,
) -> dict[str, Any]:
    """Return the server's figures over a measurement window (memory at its peak)."""
    if not window:
        return {"note": "no samples"}
    peak = max(window, key=lambda s: sum(w.rss_kb for w in s.workers))
    rss_kb = sum(w.rss_kb for w in peak.workers)
    pss_kb = sum(w.pss_kb for w in peak.workers)
    base_kb = sum(w.rss_kb for w in baseline.workers) if baseline else 0
    cpu_s = cpu_used(cpu_start, cpu_end)
    web_db = max(s.db.get(web_app, 0) for s in window)
    return {
        "processes": len(peak.workers),
        "rss_mb": round(rss_kb / 1024, 1),
        "pss_mb": round(pss_kb / 1024, 1),
        "rss_baseline_mb": round(base_kb / 1024, 1),
        "rss_per_stream_kb": round(rss_kb / streams, 2) if streams else None,
        "rss_delta_per_stream_kb": round((rss_kb - base_kb) / streams, 2) if streams else None,
        "threads": max(sum(w.threads for w in s.workers) for s in window),
        "threads_per_process": max(max((w.threads for w in s.workers), default=0) for s in window),
        "cpu_s": round(cpu_s, 3),
        "cpu_us_per_event": round(cpu_s / delivered * 1e6, 1) if delivered else None,
        "db_connections_web": web_db,
        "db_connections_by_app": max_by_app(window),
    }


def cpu_by_pid(sample: Sample) -> dict[int, float]:
    """Return CPU seconds per worker pid in a sample."""
    return {w.pid: w.cpu_s for w in sample.workers}


def cpu_used(start: dict[int, float], end: dict[int, float]) -> float:
    """Return CPU seconds used between two samples (workers born meanwhile count in full)."""
    return sum(cpu - start.get(pid, 0.0) for pid, cpu in end.items())


def max_by_app(window: list[Sample]) -> dict[str, int]:
    """Return the largest connection count seen per application_name."""
    peak: dict[str, int] = {}
    for sample in window:
        for name, count in sample.db.items():
            peak[name] = max(peak.get(name, 0), count)
    return peak
