"""Follow job $JOB on $BASE with token $TOKEN to its end (Python >= 3.11, httpx).

Prints each event once, in order, whatever the network does: a stream that sends no byte for
two heartbeats is dead, and one that says no `ready` within 5 s is held back by a proxy (poll
once instead); after either, or any error, it comes back with the last id it printed.
"""

import asyncio
import json
import os
import sys
from typing import Any

import httpx

READY_S = 5  # a stream that says nothing this long after the request: a proxy holds it back
CONTROL = {"ready", "ping", "busy", "closing"}  # the stream's own events, not the job's


async def follow(api: httpx.AsyncClient, job: str) -> None:
    last, done = 0, False
    while not done:
        ready, quiet_s = False, float(READY_S)
        try:
            async with asyncio.timeout(READY_S) as deadline:
                async with api.stream(
                    "GET",
                    f"/api/jobs/{job}/events",
                    headers={"Accept": "text/event-stream", "Last-Event-ID": str(last)},
                    timeout=httpx.Timeout(10, read=None),  # the deadline above watches reads
                ) as stream:
                    stream.raise_for_status()
                    name = data = ""
                    async for line in stream.aiter_lines():
                        if ready:  # silence for two heartbeats from now is a stall
                            deadline.reschedule(asyncio.get_running_loop().time() + quiet_s)
                        if line.startswith("event: "):
                            name = line.removeprefix("event: ")
                        elif line.startswith("data: "):
                            data = line.removeprefix("data: ")
                        elif line == "" and name == "ready":
                            ready, quiet_s = True, 2 * json.loads(data)["heartbeat_s"]
                            deadline.reschedule(asyncio.get_running_loop().time() + quiet_s)
                        elif line == "" and data and name not in CONTROL:
                            last, done = show(json.loads(data), last)
                        if line == "":
                            name = data = ""
        except (httpx.HTTPError, TimeoutError) as error:  # every transport error, a stall, a 5xx
            print(f"stream: {type(error).__name__}; again from {last}", file=sys.stderr)
        if not ready and not done:
            last, done = await poll(api, job, last)
        if not done:
            await asyncio.sleep(1)


async def poll(api: httpx.AsyncClient, job: str, last: int) -> tuple[int, bool]:
    """Fetch the events after `last` once; return the new last and whether the job ended."""
    try:
        answer = await api.get(f"/api/jobs/{job}/status", params={"since": last})
        body = answer.raise_for_status().json()
    except httpx.HTTPError as error:
        print(f"poll: {type(error).__name__}", file=sys.stderr)
        return last, False
    for event in body["events"]:
        last, _ = show(event, last)
    return last, body["next_poll_ms"] is None


def show(event: dict[str, Any], last: int) -> tuple[int, bool]:
    """Print `event` unless it was printed already; return the last seq and whether it ended."""
    if event["seq"] > last:
        print(event["seq"], event["type"], event["percent"], event["message"], flush=True)
    return max(last, event["seq"]), event["type"] == "completion-status"


async def main() -> None:
    auth = {"Authorization": f"Bearer {os.environ['TOKEN']}"}
    async with httpx.AsyncClient(base_url=os.environ["BASE"], headers=auth, timeout=10) as api:
        await follow(api, os.environ["JOB"])


asyncio.run(main())
