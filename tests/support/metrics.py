"""Reading a live web process's /metrics and /readyz."""

import re
import time
from collections.abc import Callable
from typing import Any

import httpx


def metric(url: str, name: str) -> float:
    """Return the value of the unlabelled sample `name` on the server at `url`."""
    text = httpx.get(f"{url}/metrics", timeout=5).text
    match = re.search(rf"^{name} ([0-9.e+-]+)$", text, re.MULTILINE)
    assert match, f"{name} not in /metrics"
    return float(match.group(1))


def wait_for_metric(
    url: str, name: str, predicate: Callable[[float], bool], timeout: float = 15
) -> float:
    """Wait until `predicate` holds for the sample `name` on the server at `url`; return it."""
    deadline = time.monotonic() + timeout
    while not predicate(value := metric(url, name)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} still {value} after {timeout}s")
        time.sleep(0.05)
    return value


def wait_for_streams(url: str, count: int, timeout: float = 15) -> None:
    """Wait until exactly `count` streams are open (subscribed) on the server at `url`."""
    wait_for_metric(url, "realtime_streams_open", lambda open_: open_ == count, timeout)


def readyz(web: Any) -> tuple[int, dict[str, Any]]:
    """Return /readyz's status code and JSON body."""
    response = httpx.get(f"{web.url}/readyz", timeout=10)
    return response.status_code, response.json()


def wait_readyz(web: Any, redis_state: str, timeout: float = 10) -> dict[str, Any]:
    """Wait until /readyz reports Redis as `redis_state`; return its last body."""
    deadline = time.monotonic() + timeout
    while True:
        status, body = readyz(web)
        if body["checks"]["redis"] == redis_state:
            assert status == 200, body
            return body
        assert time.monotonic() < deadline, f"/readyz never said redis {redis_state}: {body}"
        time.sleep(0.1)
