"""COMPILE: does generation starve the web? W1 and a poll, idle and while task workers compile.

`python -m bench --workloads COMPILE` runs two phases, each a W1 run (`--compile-streams`
streams over half as many jobs, `--rate` events/s from the publishers) during which a poller
asks for a few of those jobs' status `--compile-poll-rate` times a second without
If-None-Match, so that every poll is a whole answer from Django and the database (the poll of
a page that just fell back):

- `idle`: nothing else;
- `compiling`: `--compile-workers` `manage.py run_worker` processes run DAO jobs queued for
  them, back to back, each with a name of its own and a fresh compile cache, so that every one
  compiles for real, at the niceness the setting gives them (JOBS_WORKER_NICE, 10 by default;
  `--compile-nice 0` runs them at the web's priority, as before), their compilers under
  SCHED_IDLE (JOBS_COMPILER_IDLE; `--compile-idle false` leaves them at the workers' niceness,
  as before). The W1 jobs' tasks are withdrawn first: the publishers play their worker, and
  no task worker may run them.

Figures per phase: W1's (delay, loss), `compile.poll_ms` (p50, p99 of the polls), and for the
compiling phase the DAO jobs finished, and the niceness and scheduling policy the workers and
their compilers ran at. The report divides the compiling figures by the idle ones (issue 24:
W1's p99 and the poll's p50 at most 2x).
"""

import json
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

from bench import control, measure, workloads
from bench.systems import System
from bench.workloads import Context, StreamPlan

PHASES = ("idle", "compiling")
TASKS_TABLE = "django_tasks_database_dbtaskresult"
"""django-tasks-db's table of tasks (the benchmark itself does not load Django)."""
WARMUP_S = 5.0
"""Seconds of the phase's load before the polls are counted (the compilers under way)."""
JOBS_PER_WORKER = 20
"""DAO jobs queued per worker: more than it finishes in a phase, so it never idles."""


@dataclass(frozen=True, kw_only=True)
class CompilePlan:
    """The shape of the COMPILE workload."""

    streams: int
    rate: float
    publishers: int
    workers: int
    duration_s: float
    """Seconds of counted polls per phase."""
    poll_rate: float
    nice: int | None
    """JOBS_WORKER_NICE of the workers (None: the setting's default)."""
    idle: bool | None = None
    """JOBS_COMPILER_IDLE of the workers (None: the setting's default, True)."""


def run_phase(ctx: Context, system: System, plan: CompilePlan, phase: str) -> dict[str, Any]:
    """Run one phase (`idle` or `compiling`); return the W1 figures with the polls'."""
    stream_plan = StreamPlan(
        workload="COMPILE",
        streams=plan.streams,
        jobs=max(1, plan.streams // 2),
        rate=plan.rate,
        duration_s=plan.duration_s + WARMUP_S,
        publishers=plan.publishers,
    )
    figures = workloads.run_streams(ctx, system, stream_plan, _during(ctx, plan, phase))
    figures["phase"] = phase
    return figures


def _during(ctx: Context, plan: CompilePlan, phase: str) -> workloads.During:
    def during(system: System, port: int, busy_jobs: list[str]) -> dict[str, Any]:
        workers: list[control.Child] = []
        dao: list[str] = []
        if phase == "compiling":
            dao = system.make_jobs(plan.workers * JOBS_PER_WORKER, template="dao")
            _withdraw_tasks(system, keep=dao)
            workers = [_start_worker(ctx, system, plan, number) for number in range(plan.workers)]
        try:
            polls = _poll(ctx, system, port, busy_jobs[:4], plan)
            compile_figures = _worker_figures(ctx, system, workers, dao)
        finally:
            for worker in workers:
                _stop(worker)
        return {"compile": {"poll_ms": polls, "workers": len(workers), **compile_figures}}

    return during


def _start_worker(ctx: Context, system: System, plan: CompilePlan, number: int) -> control.Child:
    env = system.env("worker") | {
        "JOBS_BUILD_CACHE_DIR": str(ctx.run_dir / f"build-cache-{time.time_ns()}"),
        "MEDIA_ROOT": str(ctx.run_dir / "media"),
        "JOBS_STEP_PACE_S": "0",
    }
    if plan.nice is not None:
        env["JOBS_WORKER_NICE"] = str(plan.nice)
    if plan.idle is not None:
        env["JOBS_COMPILER_IDLE"] = str(plan.idle).lower()
    argv = [sys.executable, "manage.py", "run_worker"]
    argv += ["--interval", "0.2", "--no-reload", "--no-startup-delay"]
    return control.spawn(
        f"compile-worker-{number}-{time.time_ns()}",
        argv,
        env=env,
        log_dir=ctx.run_dir,
        registry=ctx.registry,
    )


def _poll(
    ctx: Context, system: System, port: int, jobs: list[str], plan: CompilePlan
) -> dict[str, Any]:
    """Run the poller over `jobs` (whole answers, no If-None-Match); return its latency."""
    spec = ctx.path("compile-poll-spec")
    phase = {
        "name": "polls",
        "jobs": jobs,
        "rate": plan.poll_rate,
        "duration_s": plan.duration_s,
        "warmup_s": WARMUP_S,
        "conditional": False,
    }
    spec.write_text(
        json.dumps(
            {
                "host": "127.0.0.1",
                "port": port,
                "cookie": system.cookie,
                "connections": 4,
                "phases": [phase],
            }
        )
    )
    out = ctx.path("compile-poll-out")
    poller = control.spawn(
        f"compile-poller-{time.time_ns()}",
        [sys.executable, "-m", "bench.poller", "--spec", str(spec), "--out", str(out)],
        env=system.env("poll"),
        log_dir=ctx.run_dir,
        registry=ctx.registry,
    )
    poller.wait_for("done", plan.duration_s + WARMUP_S + 120)
    raw = json.loads(out.read_text())["phases"][0]
    summary = workloads.poll_phase_summary(raw)
    answers = summary["by_status"].get("200", {})
    return {
        "p50": answers.get("p50"),
        "p99": answers.get("p99"),
        "per_s": summary["polls_per_s"],
        "by_status": {code: a["count"] for code, a in summary["by_status"].items()},
        "errors": summary["errors"],
    }


def _worker_figures(
    ctx: Context, system: System, workers: list[control.Child], dao: list[str]
) -> dict[str, Any]:
    """Return how many DAO jobs finished, and the niceness and scheduling policy the workers
    and their compilers had."""
    if not workers:
        return {}
    pids = [
        pid for worker in workers for pid in [worker.popen.pid, *measure.children(worker.popen.pid)]
    ]
    return {
        "jobs_finished": _finished(ctx, system, dao),
        "worker_nice": sorted({_niceness(pid) for pid in pids}),
        "policies": sorted({_policy(pid) for pid in pids}),
    }


def _policy(pid: int) -> str:
    """Return the scheduling policy of process `pid` ("gone" if it has ended)."""
    try:
        policy = os.sched_getscheduler(pid)
    except OSError:
        return "gone"
    return (
        "idle" if policy == os.SCHED_IDLE else "normal" if policy == os.SCHED_OTHER else str(policy)
    )


def _withdraw_tasks(system: System, *, keep: list[str]) -> None:
    """Delete every waiting task but those of the jobs in `keep` (the DAO jobs)."""
    with _connect(system) as conn:
        conn.execute(
            f"DELETE FROM {TASKS_TABLE} WHERE status = 'READY' "
            "AND NOT (args_kwargs -> 'kwargs' ->> 'job_id') = ANY(%s)",
            [keep],
        )


def _connect(system: System) -> "psycopg.Connection[tuple[Any, ...]]":
    import psycopg

    from bench.systems import with_database

    url = with_database(system.database_url, system.database, "bench-compile")
    return psycopg.connect(url, connect_timeout=5, autocommit=True)


def _finished(ctx: Context, system: System, jobs: list[str]) -> int:
    with _connect(system) as conn:
        row = conn.execute(
            "SELECT count(*) FROM jobs_job WHERE id = ANY(%s::uuid[]) "
            "AND status IN ('succeeded', 'failed', 'cancelled')",
            [jobs],
        ).fetchone()
    return int(row[0]) if row else 0


def _niceness(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])
    except (OSError, IndexError, ValueError):
        return -100


def _stop(worker: control.Child) -> None:
    """SIGTERM the worker (it ends its task), then make sure its group is gone."""
    try:
        worker.popen.send_signal(signal.SIGTERM)
        worker.popen.wait(timeout=10)
    except Exception:
        pass
    worker.kill()
