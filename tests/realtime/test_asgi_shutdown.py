"""SIGTERM with streams open: every stream is told to come back later, spread out; none lost."""

import asyncio
import time

import httpx
import pytest

from jobs import services
from tests.support.metrics import wait_for_streams
from tests.support.sse import read_stream

pytestmark = pytest.mark.django_db(transaction=True)

STREAMS = 20


def test_sigterm_drains_streams_with_spread_retries_and_the_process_exits_soon(
    start_web, owner, session_cookies
):
    web = start_web(REALTIME_DRAIN_SPREAD_S="8", REALTIME_RETRY_MS="1000")
    cookies = session_cookies(owner)
    job = services.job_create(owner=owner, params={"name": "Drain Coin", "template": "token"})
    url = f"{web.url}/api/jobs/{job.pk}/events"

    async def scenario() -> tuple[list, float]:
        async with httpx.AsyncClient(cookies=cookies, timeout=30) as client:
            readers = [
                asyncio.create_task(read_stream(client, url, timeout=30)) for _ in range(STREAMS)
            ]
            await asyncio.to_thread(wait_for_streams, web.url, STREAMS)  # all open, waiting
            started = time.monotonic()
            web.proc.popen.terminate()
            results = await asyncio.gather(*readers)
            await asyncio.to_thread(web.proc.popen.wait, 15)
            return results, time.monotonic() - started

    results, took = asyncio.run(scenario())

    assert all(r.ended_by_server for r in results)
    assert all([e.seq for e in r.events] == [1] for r in results)
    retries = [r.retry for r in results]
    assert all(500 <= retry <= 8500 for retry in retries), retries
    assert len(set(retries)) > STREAMS // 2, "reconnections are spread, not in step"
    assert took < 10, f"the process took {took:.1f}s to exit"
    # uvicorn re-raises the signal it caught once it has shut down cleanly.
    assert web.proc.popen.returncode in (0, -15)
