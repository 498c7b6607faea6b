"""A test client that follows a stream as a browser's EventSource does, across reconnects."""

import asyncio
import time
from dataclasses import dataclass, field

import httpx

from tests.support.sse import SSEEvent, parse_lines

FINAL_EVENT = "completion-status"


@dataclass
class Followed:
    """What a followed stream delivered, over every connection it took."""

    events: list[SSEEvent] = field(default_factory=list)
    """Every job event received, in arrival order, duplicates included."""
    answers: list[int | str] = field(default_factory=list)
    """Each attempt's HTTP status, or the name of the error that ended it before one."""
    dropped: int = 0
    """Connections that ended without the final event (errors and server-side ends)."""

    @property
    def seqs(self) -> list[int]:
        """Return the seq of every event received, in order."""
        return [event.seq for event in self.events]

    @property
    def finished(self) -> bool:
        """Return True once the final event arrived."""
        return bool(self.events) and self.events[-1].event == FINAL_EVENT


async def follow(
    client: httpx.AsyncClient, url: str, *, give_up_s: float, retry_s: float = 0.5
) -> Followed:
    """Follow `url` until the job's final event (or a 204), reconnecting with Last-Event-ID
    after every drop, `retry_s` apart, as EventSource does; give up after `give_up_s` seconds.

    Unlike EventSource it also retries after a non-200 answer (a 5xx while a server restarts
    is recorded in `answers`), so a test sees every answer a person's page would have met.
    """
    seen = Followed()
    deadline = time.monotonic() + give_up_s
    while not seen.finished:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"stream {url} unfinished after {give_up_s}s; got {seen.seqs}")
        headers = {"Last-Event-ID": str(seen.events[-1].seq)} if seen.events else {}
        try:
            async with asyncio.timeout(remaining):
                status = await _read_once(client, url, headers, seen)
        except (httpx.HTTPError, TimeoutError, OSError) as exc:
            seen.answers.append(type(exc).__name__)
            status = 0
        else:
            seen.answers.append(status)
        if status == 204:
            return seen
        if not seen.finished:
            seen.dropped += 1
            await asyncio.sleep(retry_s)
    return seen


async def _read_once(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], seen: Followed
) -> int:
    """Read one connection's events into `seen` as they arrive; return the HTTP status."""
    async with client.stream(
        "GET", url, headers=headers, timeout=httpx.Timeout(None, connect=5)
    ) as response:
        if response.status_code != 200:
            await response.aread()
            return response.status_code
        pending: list[str] = []
        buffer = ""
        async for chunk in response.aiter_text():
            buffer += chunk
            *complete, buffer = buffer.split("\n")
            for line in complete:
                pending.append(line.removesuffix("\r"))
                if line.removesuffix("\r") == "":
                    events, _, _ = parse_lines(pending)
                    pending = []
                    for event in events:
                        event.received = time.time()
                    seen.events.extend(events)
            if seen.finished:
                break
        return 200
