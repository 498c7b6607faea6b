"""SCALE: two web processes and two task workers, real jobs end to end, every delivery
crossing a process boundary.

`python -m bench --workloads SCALE` makes `--scale-jobs` jobs through job_create (each enqueued
as a django-tasks-db task), opens two streams per job on the production server (gunicorn,
`--web-processes` uvicorn workers, the kernel spreading the connections over them), then
starts `--scale-workers` `manage.py run_worker` processes that run the real generation
pipeline (templates rendered, project checked, zip stored) at `--scale-pace` seconds per step.
No stream is served by the process that records its events, so every event a client gets went
worker → PostgreSQL → Redis → another process's hub → the stream.

Figures: the usual run figures (expected, delivered, lost, duplicated, delay against each
event's `ts`), plus how the streams were spread over the web processes (established sockets
per process, from /proc, once all were open), how many jobs each worker ran (from the task
table), and the wall time until every job had finished.
"""

import dataclasses
import time
from collections import Counter
from typing import Any

from bench import control, measure, stats, workloads
from bench.soak import established_sockets
from bench.systems import System, free_port, with_database
from bench.workloads import Context

FINISHED = ("succeeded", "failed", "cancelled")
POLL_S = 0.5


@dataclasses.dataclass(frozen=True, kw_only=True)
class ScalePlan:
    """The shape of the SCALE run."""

    jobs: int
    workers: int
    pace_s: float
    """JOBS_STEP_PACE_S of the workers: seconds per pipeline step."""
    timeout_s: float
    """The longest wait for every job to finish."""
    watchers: int = 2
    """Streams per job."""


def run_scale(ctx: Context, system: System, plan: ScalePlan) -> dict[str, Any]:
    """Run real jobs on `plan.workers` workers watched over the web processes; return figures."""
    system = dataclasses.replace(
        system,
        extra_env={
            **system.extra_env,
            "JOBS_STEP_PACE_S": str(plan.pace_s),
            "MEDIA_ROOT": str(ctx.run_dir / "media"),
        },
    )
    jobs = system.make_jobs(plan.jobs)
    slots = [(i, jobs[i % len(jobs)]) for i in range(plan.jobs * plan.watchers)]
    tag = f"SCALE-{len(slots)}"
    port = free_port()
    server = system.start_server(port, tag)
    sampler = measure.Sampler(server.popen.pid, ctx.admin_url, [system.database])
    dsn = with_database(system.database_url, system.database, "bench-scale-watch")
    try:
        time.sleep(ctx.settle_s)
        baseline = sampler.sample()
        sampler.start()
        clients = workloads.start_clients(ctx, system, port, slots, tag)
        opened = workloads.wait_open(clients, len(slots))
        spread = {
            str(pid): established_sockets(pid, port) for pid in measure.children(server.popen.pid)
        }
        drop_other_tasks(dsn, jobs)
        cpu_start = measure.cpu_by_pid(sampler.sample())
        t_go = time.time()
        workers = [
            control.spawn(
                f"worker-{tag}-{index}",
                [
                    str(system.python),
                    "manage.py",
                    "run_worker",
                    "--interval",
                    "0.2",
                    "--no-startup-delay",
                    "--worker-id",
                    f"bench-worker-{index}",
                ],
                env=system.env("worker"),
                log_dir=ctx.run_dir,
                registry=ctx.registry,
            )
            for index in range(plan.workers)
        ]
        finished_after = wait_finished(dsn, jobs, t_go, plan.timeout_s, workers)
        workloads.drain(clients)
        t_end = time.time()
        cpu_end = measure.cpu_by_pid(sampler.sample())
        for worker in workers:
            worker.kill()
        client_results = workloads.stop_all(clients, timeout=120)
    finally:
        sampler.stop()
        workloads.stop_server(server)
    slots_out = [slot for result in client_results for slot in result["slots"]]
    opened["open_s"] = workloads.open_seconds(client_results)
    recorded, statuses, ran_by = read_outcome(dsn, jobs)
    published = {job: set(range(2, last + 1)) for job, last in recorded.items()}
    got = stats.deliveries(slots_out, published)
    server_figures = measure.summarize(
        sampler.between(t_go, t_end),
        baseline,
        streams=len(slots),
        delivered=got["delivered"],
        cpu_start=cpu_start,
        cpu_end=cpu_end,
        web_app=system.web_app,
    )
    n_published = sum(len(seqs) for seqs in published.values())
    rate = round(n_published / finished_after, 1) if finished_after else None
    return {
        "system": system.label,
        "http_server": system.server,
        "workload": "SCALE",
        "streams": len(slots),
        "jobs": plan.jobs,
        "rate": rate,
        "duration_s": finished_after,
        "connections": stats.connection_summary(slots_out) | opened,
        "delay_ms": stats.delay_summary(got["delays"]),
        "events": {
            "published": n_published,
            "publish_rate": rate,
            "expected": got["expected"],
            "delivered": got["delivered"],
            "lost": got["lost"],
            "duplicated": got["duplicated"],
            "streams_with_loss": got["streams_with_loss"],
        },
        "server": server_figures | {"pool_limit": system.web_processes * system.pool_size},
        "scale": {
            "web_processes": system.web_processes,
            "workers": plan.workers,
            "pace_s": plan.pace_s,
            "streams_by_web_process": spread,
            "jobs_by_worker": ran_by,
            "job_statuses": statuses,
            "all_finished_after_s": finished_after,
        },
    }


_OURS = (
    "EXISTS (SELECT 1 FROM unnest(%s::text[]) AS ours(id) "
    "WHERE args_kwargs::text LIKE '%%' || ours.id || '%%')"
)
"""SQL: the task is one of the given jobs' (its arguments name the job's id)."""


def drop_other_tasks(dsn: str, jobs: list[str]) -> None:
    """Delete the queued tasks of other runs' jobs (made by job_create, never run: the
    benchmark runs no worker elsewhere) so that the workers run this run's jobs only."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
        conn.execute(
            "DELETE FROM django_tasks_database_dbtaskresult "
            f"WHERE status = 'READY' AND NOT {_OURS}",
            [jobs],
        )


def wait_finished(
    dsn: str, jobs: list[str], t_go: float, timeout_s: float, workers: list[control.Child]
) -> float | None:
    """Wait until every job is finished; return the seconds it took (None on timeout)."""
    import psycopg

    deadline = t_go + timeout_s
    with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
        while time.time() < deadline:
            row = conn.execute(
                "SELECT count(*) FROM jobs_job WHERE id = ANY(%s::uuid[]) AND status = ANY(%s)",
                [jobs, list(FINISHED)],
            ).fetchone()
            if row is not None and row[0] >= len(jobs):
                return round(time.time() - t_go, 2)
            if not any(worker.alive() for worker in workers):
                raise RuntimeError(f"every worker exited:\n{control.tail(workers[0].log_path)}")
            time.sleep(POLL_S)
    return None


def read_outcome(
    dsn: str, jobs: list[str]
) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """Return each job's last seq, the jobs per status, and the jobs run per worker."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
        rows = conn.execute(
            "SELECT id::text, last_seq, status FROM jobs_job WHERE id = ANY(%s::uuid[])", [jobs]
        ).fetchall()
        workers = conn.execute(
            f"SELECT worker_ids FROM django_tasks_database_dbtaskresult WHERE {_OURS}", [jobs]
        ).fetchall()
    ran_by: Counter[str] = Counter()
    for (ids,) in workers:
        for worker_id in ids or []:
            ran_by[str(worker_id)] += 1
    return (
        {job: int(last) for job, last, _ in rows},
        dict(Counter(status for _, _, status in rows)),
        dict(ran_by),
    )
