"""The task worker and the reaper ride out database connections cut under them (what a
PostgreSQL restart or failover does), without restarting the shared server: every backend
of this test's processes is terminated mid-job with pg_terminate_backend."""

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from jobs import services
from jobs.models import EventType, Job, JobEvent, JobStatus
from tests.support.faultproxy import FaultProxy
from tests.support.servers import ROOT, Proc, free_port, serve

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = {"name": "Cut Coin", "template": "token"}
APPS = ("composer-worker", "composer-reaper", "composer-web")


def cut_connections() -> int:
    """Terminate every backend of this test database opened by the child processes."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = ANY(%s)",
            [list(APPS)],
        )
        return int(cursor.fetchone()[0])


def wait_for(what: str, predicate: Callable[[], bool], timeout: float = 30) -> None:
    """Wait until `predicate()` holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f}s"
        time.sleep(0.1)


def test_cut_connections_mid_job_end_that_job_failed_and_the_worker_carries_on(
    start_web, start_worker, start_reaper, owner: Any, request: pytest.FixtureRequest
) -> None:
    if request.config.getoption("--pgbouncer"):
        pytest.skip(
            "through PgBouncer a cut server connection is the pooler's: the worker's is not"
        )
    start_web()
    worker = start_worker(JOBS_STEP_PACE_S="0.5")
    reaper = start_reaper()
    cut = services.job_create(owner=owner, params=TOKEN)
    wait_for("the job is mid-pipeline", lambda: Job.objects.get(pk=cut.pk).last_seq >= 4)

    assert cut_connections() >= 2  # at least the worker's and the reaper's
    wait_for("the interrupted job ends", lambda: Job.objects.get(pk=cut.pk).is_finished)
    fresh = services.job_create(owner=owner, params=TOKEN)
    wait_for(
        "a new job succeeds", lambda: Job.objects.get(pk=fresh.pk).status == JobStatus.SUCCEEDED, 60
    )

    cut.refresh_from_db()
    assert cut.status == JobStatus.FAILED
    last_two = list(JobEvent.objects.filter(job=cut).order_by("-seq")[:2])[::-1]
    assert [e.type for e in last_two] == [EventType.ERROR_NOTIFICATION, EventType.COMPLETION_STATUS]
    assert "worker stopped responding" in last_two[0].payload["message"]
    for part in (worker, reaper):
        assert part.popen is not None and part.popen.poll() is None, f"{part.name} exited"
    assert "database unavailable" in worker.log()


def _through(proxy: FaultProxy, application_name: str) -> str:
    db = connection.settings_dict
    user = db["USER"] or "postgres"
    return (
        f"postgres://{user}@127.0.0.1:{proxy.port}/{db['NAME']}?application_name={application_name}"
    )


def test_after_a_database_freeze_the_worker_and_the_reaper_carry_on_by_themselves(
    start_worker, start_reaper, owner: Any
) -> None:
    """A silent database path (no reset, no error) under the worker and the reaper, mid-job,
    for 12 s (three times JOBS_STALE_AFTER_S here): both wait it out, nobody restarts them, and
    the job that was running finishes, not reaped as abandoned by a reaper that was as blind
    as its worker; the next job succeeds."""
    port = int(connection.settings_dict["PORT"] or 5432)
    with FaultProxy(port, seed=12, lifetime_s=240) as proxy:
        # As in production, a heartbeat is a good deal shorter than the stale limit, and the
        # reaper looks more often than the worker beats.
        beats = {"JOBS_HEARTBEAT_S": "2", "JOBS_STALE_AFTER_S": "4"}
        worker = start_worker(
            JOBS_STEP_PACE_S="0.5", DATABASE_URL=_through(proxy, "composer-worker"), **beats
        )
        reaper = start_reaper(DATABASE_URL=_through(proxy, "composer-reaper"), **beats)
        frozen = services.job_create(owner=owner, params=TOKEN)
        wait_for("the job is mid-pipeline", lambda: Job.objects.get(pk=frozen.pk).last_seq >= 4)
        proxy.blackhole()
        time.sleep(12)
        proxy.heal()
        wait_for("the frozen job ends", lambda: Job.objects.get(pk=frozen.pk).is_finished, 60)
        fresh = services.job_create(owner=owner, params=TOKEN)
        wait_for(
            "a new job succeeds",
            lambda: Job.objects.get(pk=fresh.pk).status == JobStatus.SUCCEEDED,
            60,
        )
        frozen.refresh_from_db()
        for part in (worker, reaper):
            assert part.popen is not None and part.popen.poll() is None, f"{part.name} exited"
    assert frozen.status == JobStatus.SUCCEEDED, frozen.error
    assert "database in sight again" in reaper.log()


DAO = {"name": "Nice Dao", "template": "dao"}
"""A job whose compile keeps the worker's Node.js child busy for seconds."""


def niceness(pid: int) -> int:
    """Return the CPU niceness of process `pid` (field 19 of /proc/<pid>/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[16])


def children(pid: int) -> list[int]:
    """Return the pids of the children of process `pid`."""
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def compiler_of(worker: int, timeout: float = 120) -> int:
    """Wait until task worker `worker` has started its Node.js child; return its pid."""
    found: list[int] = []
    wait_for(
        "the worker's compiler starts",
        lambda: bool(
            found.extend(
                pid for pid in children(worker) if Path(f"/proc/{pid}/comm").read_text() == "node\n"
            )
            or found
        ),
        timeout,
    )
    return found[0]


def test_generation_runs_at_a_lower_cpu_priority_than_the_web_processes(
    server_env: Callable[..., dict[str, str]],
    artifacts_dir: Path,
    processes: list[Proc],
    owner: Any,
) -> None:
    """scripts/serve as production runs it: gunicorn and its worker at the priority they were
    started with, the task worker and the compiler it starts JOBS_WORKER_NICE (10) lower, and
    the compiler under SCHED_IDLE (JOBS_COMPILER_IDLE)."""
    port = free_port()
    env = server_env("composer-serve", DEBUG="false", JOBS_STEP_PACE_S="0")
    serve(
        "serve",
        ["bash", str(ROOT / "scripts" / "serve"), "--web", "1", "--workers", "1"],
        env | {"BIND": f"127.0.0.1:{port}", "REQUEST_HEAD_TIMEOUT": "10"},
        port,
        artifacts_dir / "serve.log",
        processes,
        ready_timeout=120,
    )
    script = processes[-1].pid
    base = niceness(os.getpid())
    by_name = {Path(f"/proc/{pid}/cmdline").read_bytes(): pid for pid in children(script)}
    arbiter = next(pid for line, pid in by_name.items() if b"gunicorn" in line)
    worker = next(pid for line, pid in by_name.items() if b"run_worker" in line)
    (web,) = children(arbiter)
    services.job_create(owner=owner, params=DAO)
    compiler = compiler_of(worker)
    assert [niceness(pid) for pid in (arbiter, web)] == [base, base]
    assert [niceness(pid) for pid in (worker, compiler)] == [max(base, 10)] * 2
    # The compiler takes a core only when nothing else wants it; its threads (V8's, libuv's)
    # too: it was put under SCHED_IDLE before exec. The worker keeps a share (its heartbeat).
    tasks = Path(f"/proc/{compiler}/task")
    wait_for("the compiler's threads start", lambda: len(list(tasks.iterdir())) > 1, 30)
    threads = [int(t.name) for t in tasks.iterdir()]
    assert {os.sched_getscheduler(t) for t in threads} == {os.SCHED_IDLE}
    assert os.sched_getscheduler(worker) == os.SCHED_OTHER
    assert {os.sched_getscheduler(pid) for pid in (arbiter, web)} == {os.SCHED_OTHER}


def test_the_worker_priority_is_a_setting(start_worker, owner: Any) -> None:
    base = niceness(os.getpid())
    worker = start_worker(JOBS_WORKER_NICE="0", JOBS_COMPILER_IDLE="false")
    services.job_create(owner=owner, params=DAO)
    compiler = compiler_of(worker.pid)
    assert niceness(compiler) == base
    assert niceness(worker.pid) == base
    assert os.sched_getscheduler(compiler) == os.SCHED_OTHER
