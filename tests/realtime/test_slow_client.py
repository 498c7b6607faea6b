"""A client that stops reading: bounded memory, the server lets it go, it resumes losing nothing."""

import asyncio
import socket
import time

import httpx
import pytest

from jobs import services
from tests.support.metrics import metric
from tests.support.servers import proc_rss_kb
from tests.support.sse import parse_lines, read_stream

pytestmark = pytest.mark.django_db(transaction=True)


def _open_stalled_stream(port: int, path: str, cookie: str) -> tuple[socket.socket, bytes]:
    """Open a stream with a tiny receive buffer and read only the first bytes; return the
    socket and those bytes (the answer's head, and maybe the first events with it)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    sock.settimeout(10)
    first = sock.recv(1024)
    assert b"200 OK" in first
    return sock, first


def _drain(sock: socket.socket) -> bytes:
    sock.settimeout(0.5)
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except (TimeoutError, ConnectionError):
        pass
    return b"".join(chunks)


def test_a_client_that_stops_reading_is_dropped_and_resumes_without_loss(
    start_web, owner, session_cookies
):
    web = start_web(REALTIME_SEND_TIMEOUT_S="2", REALTIME_QUEUE_SIZE="16")
    cookies = session_cookies(owner)
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    job = services.job_create(owner=owner, params={"name": "Slow Coin", "template": "token"})
    sock, first = _open_stalled_stream(web.port, f"/api/jobs/{job.pk}/events", cookie)
    rss_before = proc_rss_kb(web.proc.pid)

    big = "x" * 8000
    for percent in range(400):  # ~3 MB the client never reads
        services.job_report_progress(job=job, percent=percent // 4, message=big)
    deadline = time.monotonic() + 30
    while metric(web.url, "realtime_slow_clients_dropped_total") < 1:
        assert time.monotonic() < deadline, "the stalled stream was never dropped"
        time.sleep(0.2)
    rss_growth_mb = (proc_rss_kb(web.proc.pid) - rss_before) / 1024
    while metric(web.url, "realtime_streams_open") != 0:
        assert time.monotonic() < deadline, "the dropped stream still holds its subscription"
        time.sleep(0.2)

    received = (first + _drain(sock)).decode(errors="replace").split("\r\n\r\n", 1)[1]
    got_before = [e for e in parse_lines(received.split("\n"))[0] if e.id]
    sock.close()
    last = int(got_before[-1].id) if got_before else 0
    services.job_finish_cancelled(job=job)
    resumed = asyncio.run(_resume(f"{web.url}/api/jobs/{job.pk}/events", cookies, last))

    seqs = [int(e.id) for e in got_before] + [e.seq for e in resumed.events]
    assert seqs == list(range(1, 403))
    assert rss_growth_mb < 50, f"server memory grew {rss_growth_mb:.0f} MB for one stalled client"


async def _resume(url: str, cookies: dict[str, str], last: int):
    async with httpx.AsyncClient(cookies=cookies) as client:
        return await read_stream(client, url, headers={"Last-Event-ID": str(last)}, timeout=30)
