"""PostgreSQL restarted mid-job: the web, the worker and the reaper recover by themselves, the
interrupted job ends (nothing stays running), a new job runs end to end, and a person watching
the stream gets every event exactly once.

This restarts the machine's shared PostgreSQL server: it is marked `disruptive`, which
tests/conftest.py skips unless RUN_DISRUPTIVE=1 (CI, which runs alone, sets it).
"""

import asyncio
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.db import connections
from django.db.utils import DatabaseError

from jobs import services
from jobs.models import EventType, Job, JobStatus
from tests.support.eventsource import Followed, follow
from tests.support.servers import WebServer, closing_connection

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.disruptive]

TOKEN = {"name": "Restart Coin", "template": "token"}
RECOVERY_S = 60.0
"""The longest wait for each part to recover; the restart itself takes a few seconds."""


def restart_postgres() -> float:
    """Restart the machine's PostgreSQL cluster (fast shutdown); return how long it took."""
    versions = sorted(p.name for p in Path("/etc/postgresql").iterdir())
    assert versions, "no PostgreSQL cluster under /etc/postgresql"
    started = time.monotonic()
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "restart"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return time.monotonic() - started


def with_database[T](fn: Callable[[], T], timeout: float = RECOVERY_S) -> T:
    """Return fn() once this process's database connection works again."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except DatabaseError:
            connections.close_all()  # drop the connection the restart broke
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def wait_for(what: str, predicate: Callable[[], bool], timeout: float = RECOVERY_S) -> float:
    """Wait until `predicate()` holds; return how long it took."""
    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < timeout, f"{what}: not within {timeout:.0f}s"
        time.sleep(0.2)
    return time.monotonic() - started


def ready(web: WebServer) -> bool:
    """Return True when /readyz answers 200."""
    try:
        return httpx.get(f"{web.url}/readyz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def job_state(job_id: Any) -> Job:
    """Return the job as the database has it now."""
    return with_database(lambda: Job.objects.get(pk=job_id))


def test_postgres_restart_mid_job_everything_recovers_and_nothing_stays_running(
    start_web, start_worker, start_reaper, owner, session_cookies, capsys
):
    web = start_web()
    worker = start_worker(JOBS_STEP_PACE_S="1.0")
    reaper = start_reaper()
    cookies = session_cookies(owner)
    interrupted = services.job_create(owner=owner, params=TOKEN)
    url = f"{web.url}/api/jobs/{interrupted.pk}/events"
    in_thread = closing_connection(job_state)  # for reads from asyncio.to_thread

    async def scenario() -> tuple[Followed, dict[str, float]]:
        async with httpx.AsyncClient(cookies=cookies) as client:
            watcher = asyncio.create_task(follow(client, url, give_up_s=2 * RECOVERY_S))
            await asyncio.to_thread(
                wait_for,
                "the job is mid-pipeline",
                lambda: in_thread(interrupted.pk).last_seq >= 4,
                30,
            )
            took = {"restart": await asyncio.to_thread(restart_postgres)}
            restarted = time.monotonic()
            took["web"] = await asyncio.to_thread(
                wait_for, "/readyz answers 200 again", lambda: ready(web)
            )
            followed = await watcher
            took["ended"] = time.monotonic() - restarted
            return followed, took

    followed, took = asyncio.run(scenario())
    final = job_state(interrupted.pk)

    started = time.monotonic()
    fresh = with_database(lambda: services.job_create(owner=owner, params=TOKEN))
    wait_for(
        "a job made after the restart succeeds",
        lambda: job_state(fresh.pk).status == JobStatus.SUCCEEDED,
    )
    fresh_s = time.monotonic() - started

    events = followed.events
    with capsys.disabled():
        print(
            f"\npostgres restart ({took['restart']:.1f} s): /readyz 200 again "
            f"{took['web']:.1f} s after; the interrupted job {final.status} "
            f"{took['ended']:.1f} s after ({events[-2].json['message']!r}); stream answers "
            f"{followed.answers}; a new job succeeded in {fresh_s:.1f} s"
        )
    assert final.is_finished, "nothing stays running"
    assert followed.seqs == list(range(1, final.last_seq + 1)), "every event exactly once"
    assert events[-1].event == EventType.COMPLETION_STATUS
    if final.status == JobStatus.FAILED:
        assert events[-2].event == EventType.ERROR_NOTIFICATION
    else:
        assert final.status == JobStatus.SUCCEEDED
    for part in (web.proc, worker, reaper):
        assert part.popen is not None and part.popen.poll() is None, f"{part.name} exited"
