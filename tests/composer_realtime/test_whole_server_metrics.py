"""One scrape of /metrics is the whole server: a real two-worker gunicorn (gunicorn.conf.py),
loaded with polls and streams, answers the same totals whichever worker takes the scrape, and a
worker that dies takes its open streams out of the gauge but leaves its counts in the totals.
"""

import itertools
import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from prometheus_client.multiprocess import MultiProcessCollector

from jobs import services
from jobs.models import Job
from tests.composer_realtime.test_ops import parse_metrics
from tests.support.servers import Proc, WebServer, free_port, gunicorn_command, serve

pytestmark = pytest.mark.django_db(transaction=True)

STREAMS = 8
WAIT_S = 20


@pytest.fixture
def metrics_dir(tmp_path: Path) -> Path:
    path = tmp_path / "metrics"
    path.mkdir()
    (path / "counter_999999.db").write_bytes(b"a previous server's values")
    return path


@pytest.fixture
def two_workers(
    server_env: Callable[..., dict[str, str]],
    artifacts_dir: Path,
    processes: list[Proc],
    metrics_dir: Path,
) -> WebServer:
    port = free_port()
    env = server_env(
        "composer-gunicorn",
        BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="2",
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        REALTIME_POLL_RATE="0",
    )
    return serve(
        "gunicorn", gunicorn_command(), env, port, artifacts_dir / "gunicorn.log", processes
    )


def _scrape(server: WebServer) -> dict[str, float]:
    # A new connection each time: either worker may take it.
    response = httpx.get(f"{server.url}/metrics", headers={"Connection": "close"}, timeout=10)
    assert response.status_code == 200
    return parse_metrics(response.text)


def _per_worker(metrics_dir: Path, prefix: str, sample: str) -> dict[int, float]:
    """Return each worker's own value of `sample`, read from its file alone."""
    values = {}
    for path in metrics_dir.glob(f"{prefix}_*.db"):
        pid = int(path.stem.rsplit("_", 1)[1])
        merged = MultiProcessCollector.merge([str(path)], accumulate=True)
        values[pid] = sum(s.value for m in merged for s in m.samples if s.name == sample)
    return values


@pytest.fixture
def session(staff_user: Any, session_cookies: Callable[[Any], dict[str, str]]) -> str:
    return session_cookies(staff_user)[settings.SESSION_COOKIE_NAME]


def _open_stream(server: WebServer, job_id: str, session: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT_S)
    sock.sendall(
        f"GET /api/jobs/{job_id}/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Cookie: {settings.SESSION_COOKIE_NAME}={session}\r\n\r\n".encode()
    )
    received = b""
    while b"event: ready" not in received:
        chunk = sock.recv(4096)
        assert chunk, f"stream closed before it was ready: {received!r}"
        received += chunk
    return sock


@pytest.fixture
def streams(two_workers: WebServer, staff_user: Any, session: str) -> Iterator[list[socket.socket]]:
    job = services.job_create(owner=staff_user, params={"name": "Scraped", "template": "token"})
    with ExitStack() as stack:
        socks = [_open_stream(two_workers, str(job.pk), session) for _ in range(STREAMS)]
        for sock in socks:
            stack.callback(sock.close)
        yield socks


def _poll_until_both_workers_served(
    server: WebServer, job_id: str, session: str, metrics_dir: Path
) -> int:
    """Poll on new connections until each worker has answered some; return how many."""
    polls = 0
    with httpx.Client(
        cookies={settings.SESSION_COOKIE_NAME: session}, headers={"Connection": "close"}
    ) as client:
        while polls < 40 or len(_per_worker(metrics_dir, "counter", "realtime_polls_total")) < 2:
            assert polls < 2000, "one worker took every connection"
            response = client.get(f"{server.url}/api/jobs/{job_id}/status", timeout=10)
            assert response.status_code == 200
            polls += 1
    return polls


def test_repeated_scrapes_of_two_workers_agree_and_count_everything(
    two_workers: WebServer,
    streams: list[socket.socket],
    staff_user: Any,
    session: str,
    metrics_dir: Path,
):
    assert not (metrics_dir / "counter_999999.db").exists(), "the directory was not emptied"
    job = services.job_create(owner=staff_user, params={"name": "Polled", "template": "token"})
    polls = _poll_until_both_workers_served(two_workers, str(job.pk), session, metrics_dir)
    by_worker = _per_worker(metrics_dir, "counter", "realtime_polls_total")
    assert len(by_worker) == 2 and all(by_worker.values()), by_worker

    scrapes = [_scrape(two_workers) for _ in range(12)]

    for scrape in scrapes:
        assert scrape["realtime_polls_total"] == polls
        assert scrape["realtime_streams_open"] == STREAMS
        assert scrape["realtime_streams_opened_total"] == STREAMS
    # Each scrape counts the one before it: the responses grow by exactly one per scrape.
    answered = [s['composer_http_responses_total{status="200"}'] for s in scrapes]
    assert [b - a for a, b in itertools.pairwise(answered)] == [1] * 11


def test_a_dead_worker_takes_its_streams_out_and_leaves_its_counts(
    two_workers: WebServer,
    streams: list[socket.socket],
    staff_user: Any,
    session: str,
    metrics_dir: Path,
):
    job = services.job_create(owner=staff_user, params={"name": "Polled", "template": "token"})
    polls = _poll_until_both_workers_served(two_workers, str(job.pk), session, metrics_dir)
    open_by_worker = _per_worker(metrics_dir, "gauge_livesum", "realtime_streams_open")
    victim, victims_streams = max(open_by_worker.items(), key=lambda item: item[1])
    assert victims_streams > 0

    os.kill(victim, signal.SIGKILL)

    deadline = time.monotonic() + WAIT_S
    while (scrape := _scrape(two_workers))["realtime_streams_open"] != STREAMS - victims_streams:
        assert time.monotonic() < deadline, scrape["realtime_streams_open"]
        time.sleep(0.2)
    assert scrape["realtime_polls_total"] == polls  # the dead worker's polls still count
    assert scrape["realtime_streams_opened_total"] == STREAMS


def test_the_stages_of_an_event_add_up_over_every_worker_that_streamed_it(
    two_workers: WebServer, streams: list[socket.socket], metrics_dir: Path
):
    """realtime/stages.py: the writer's stages and `redis` once per worker that received the
    event, `fanout` and `socket` once per stream, all in one scrape."""
    [job] = Job.objects.all()
    open_by_worker = _per_worker(metrics_dir, "gauge_livesum", "realtime_streams_open")
    receiving = sum(1 for count in open_by_worker.values() if count)

    services.job_report_progress(job=job, percent=50)  # autocommit: published at once

    def stage(name: str) -> float:
        return _scrape(two_workers).get(f'realtime_event_stage_seconds_count{{stage="{name}"}}', 0)

    deadline = time.monotonic() + WAIT_S
    while stage("socket") < STREAMS:
        assert time.monotonic() < deadline, "the event did not reach every stream"
        time.sleep(0.2)
    scrape = _scrape(two_workers)
    counts = {
        name: scrape[f'realtime_event_stage_seconds_count{{stage="{name}"}}']
        for name in ("statement", "commit", "publish", "redis", "fanout", "socket")
    }
    assert counts == {
        "statement": receiving,
        "commit": receiving,
        "publish": receiving,
        "redis": receiving,
        "fanout": STREAMS,
        "socket": STREAMS,
    }
