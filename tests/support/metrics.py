"""Reading a live web process's /metrics."""

import re

import httpx


def metric(url: str, name: str) -> float:
    """Return the value of the unlabelled sample `name` on the server at `url`."""
    text = httpx.get(f"{url}/metrics", timeout=5).text
    match = re.search(rf"^{name} ([0-9.e+-]+)$", text, re.MULTILINE)
    assert match, f"{name} not in /metrics"
    return float(match.group(1))
