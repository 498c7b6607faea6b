"""granian (bench/granian_serve.py) keeps our graceful drain: on SIGTERM an open
stream of a running job is told to come back later (`retry:` and the `closing` event), ends
cleanly, and granian exits well within its graceful timeout.

The same check as tests/realtime/test_asgi_shutdown.py makes of uvicorn, on the server the
benchmark runs beside gunicorn (issue 16): real processes on loopback, the test database and
Redis. It also pins what granian does and does not bound in a request head.
"""

import asyncio
import socket
import time
from collections.abc import Callable

import httpx
import pytest

from jobs import services
from tests.support.metrics import wait_for_streams
from tests.support.servers import WebServer, python_command, read_until_closed
from tests.support.sse import read_stream

pytestmark = pytest.mark.django_db(transaction=True)

GRACEFUL_TIMEOUT_S = 5
HEAD_TIMEOUT_S = 1.0


@pytest.fixture
def granian(start_bound: Callable[..., WebServer]) -> WebServer:
    return start_bound(
        "granian",
        python_command("-m", "bench.granian_serve"),
        GRACEFUL_TIMEOUT=str(GRACEFUL_TIMEOUT_S),
        REQUEST_HEAD_TIMEOUT=str(HEAD_TIMEOUT_S),
        REALTIME_DRAIN_SPREAD_S="4",
        REALTIME_RETRY_MS="1000",
    )


def test_sigterm_drains_an_open_stream_and_granian_exits_within_the_graceful_timeout(
    granian, owner, session_cookies
):
    cookies = session_cookies(owner)
    job = services.job_create(owner=owner, params={"name": "Granian Coin", "template": "token"})
    services.job_start(job=job)
    url = f"{granian.url}/api/jobs/{job.pk}/events"

    async def scenario() -> tuple[object, float]:
        async with httpx.AsyncClient(cookies=cookies, timeout=30) as client:
            reader = asyncio.create_task(read_stream(client, url, timeout=30))
            await asyncio.to_thread(wait_for_streams, granian.url, 1)
            started = time.monotonic()
            assert granian.proc.popen is not None
            granian.proc.popen.terminate()
            result = await reader
            await asyncio.to_thread(granian.proc.popen.wait, GRACEFUL_TIMEOUT_S + 10)
            return result, time.monotonic() - started

    result, took = asyncio.run(scenario())

    assert result.status == 200
    assert result.ended_by_server, "the stream ended cleanly (chunked end), not cut"
    assert [e.seq for e in result.events] == [1, 2]  # queued, running: nothing lost
    assert [c.event for c in result.controls][-1] == "closing", result.controls
    assert result.retry is not None and 500 <= result.retry <= 4500, result.retry
    assert took < GRACEFUL_TIMEOUT_S, f"granian took {took:.1f}s to exit"
    assert granian.proc.popen.returncode == 0
    assert "draining open streams" in granian.proc.log()
    assert "refused to gracefully stop" not in granian.proc.log()  # not killed


def _exchange(server: WebServer, head: bytes) -> tuple[bytes, float]:
    """Send `head`, return what came back until the server closed, and how long it took."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(head)
        return read_until_closed(sock), time.monotonic() - started


def test_request_heads_what_granian_bounds_and_what_it_does_not(granian):
    fields = b"".join(b"X-%d: a\r\n" % i for i in range(120))
    too_many, _ = _exchange(
        granian, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + fields + b"\r\n"
    )
    assert too_many.startswith(b"HTTP/1.1 431 ")  # hyper's fixed cap of 100 fields
    # No request-line limit (our worker: 414 beyond 4,094 bytes) and no per-field limit
    # (ours: 431 beyond 8,190 bytes): both reach the application.
    long_line, _ = _exchange(
        granian,
        b"GET /healthz?" + b"a" * 10_000 + b" HTTP/1.1\r\n"
        b"Host: 127.0.0.1\r\nConnection: close\r\n\r\n",
    )
    assert long_line.startswith(b"HTTP/1.1 200 ")
    long_field, _ = _exchange(
        granian,
        b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: "
        + b"a" * 9_000
        + b"\r\nConnection: close\r\n\r\n",
    )
    assert long_field.startswith(b"HTTP/1.1 200 ")
    # A slow head is cut at the head timeout, without the 408 our worker answers.
    slow, took = _exchange(granian, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    assert slow == b""
    assert HEAD_TIMEOUT_S * 0.8 <= took < HEAD_TIMEOUT_S + 3
