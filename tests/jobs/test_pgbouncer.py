"""The project through PgBouncer in transaction mode: Debian's 1.18, which keeps no track of
protocol-level prepared statements, as docs/scaling.md recommends it in front of PostgreSQL.

The whole streaming and worker suites run this way with `scripts/test --pgbouncer`; these are
the few that always do.
"""

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from jobs import services
from jobs.models import EventType, Job, JobStatus
from tests.support.pgbouncer import PgBouncer
from tests.support.servers import ROOT, WebServer
from tests.support.sse import read_stream_blocking

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.pgbouncer]

TWO_WRITERS = """
import json, sys, threading
import django
django.setup()
from django.db import connection
from jobs import services
from jobs.models import Job

outcomes, first_done, second_done = [], threading.Event(), threading.Event()

def write(done, wait_for):
    try:
        services.job_report_progress(job=Job.objects.get(pk=sys.argv[1]), percent=5)
        outcomes.append("ok")
    except Exception as error:
        outcomes.append(f"{type(error).__name__}: {str(error).splitlines()[0]}")
    done.set()
    if wait_for is not None:
        wait_for.wait(30)  # keep this connection: the other writer must open its own
    connection.close()

first = threading.Thread(target=write, args=(first_done, second_done))
first.start()
first_done.wait(30)
write(second_done, None)
first.join(30)
print(json.dumps(outcomes))
"""
"""Two connections of one process write a progress event each, one after the other, while
the first stays open: through a pool of one server connection they meet on it."""


def _two_writers(env: dict[str, str], job: Job) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", TWO_WRITERS, str(job.pk)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    outcomes: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return outcomes


def test_prepared_statements_break_through_pgbouncer_1_18_and_the_setting_turns_them_off(
    pgbouncer_factory: Callable[..., PgBouncer],
    server_env: Callable[..., dict[str, str]],
    owner: Any,
) -> None:
    bouncer = pgbouncer_factory(pool_size=1)
    job = services.job_create(owner=owner, params={"name": "Pooled Coin", "template": "token"})
    direct = server_env("composer-writer")
    pooled = direct | {"DATABASE_URL": bouncer.url(direct["DATABASE_URL"])}
    prepared = _two_writers(pooled | {"DATABASE_TRANSACTION_POOLING": "false"}, job)
    assert prepared[0] == "ok"
    assert "already exists" in prepared[1], prepared
    assert _two_writers(pooled | {"DATABASE_TRANSACTION_POOLING": "true"}, job) == ["ok", "ok"]
    assert _two_writers(direct, job) == ["ok", "ok"], "straight to PostgreSQL, prepared"


def test_a_job_runs_and_streams_to_its_end_through_pgbouncer_in_transaction_mode(
    pgbouncer_factory: Callable[..., PgBouncer],
    start_web: Callable[..., WebServer],
    start_worker: Callable[..., Any],
    server_env: Callable[..., dict[str, str]],
    owner: Any,
    session_cookies: Callable[[Any], dict[str, str]],
) -> None:
    bouncer = pgbouncer_factory(pool_size=2)
    pooled = {"DATABASE_TRANSACTION_POOLING": "true"}
    web = start_web(DATABASE_URL=bouncer.url(server_env("composer-web")["DATABASE_URL"]), **pooled)
    start_worker(
        DATABASE_URL=bouncer.url(server_env("composer-worker")["DATABASE_URL"]),
        JOBS_STEP_PACE_S="0",
        **pooled,
    )
    job = services.job_create(owner=owner, params={"name": "Pooled Coin", "template": "token"})
    stream = read_stream_blocking(
        f"{web.url}/api/jobs/{job.pk}/events", session_cookies(owner), timeout=120
    )
    assert stream.status == 200 and stream.ended_by_server
    seqs = [event.seq for event in stream.events]
    assert seqs == list(range(1, len(seqs) + 1))
    assert stream.events[-1].event == EventType.COMPLETION_STATUS
    assert Job.objects.get(pk=job.pk).status == JobStatus.SUCCEEDED
