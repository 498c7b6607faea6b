"""A small SSE reader for tests, over a real HTTP connection (httpx)."""

import asyncio
import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx


@dataclass
class SSEEvent:
    id: str | None
    event: str
    data: str
    received: float = field(default_factory=time.time)

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.data)

    @property
    def seq(self) -> int:
        return int(self.json["seq"])

    @property
    def ts_unix(self) -> float:
        """Return when the server recorded the event (its `ts`), as Unix time."""
        return datetime.fromisoformat(self.json["ts"]).timestamp()


CONTROL_EVENTS = frozenset({"ready", "ping", "closing"})
"""The stream's id-less control events (see realtime.relay), not job events."""


@dataclass
class StreamResult:
    status: int
    headers: httpx.Headers
    events: list[SSEEvent]
    comments: list[str]
    retry: int | None
    ended_by_server: bool
    controls: list[SSEEvent] = field(default_factory=list)


def parse_lines(
    lines: list[str],
    *,
    controls: list[SSEEvent] | None = None,
) -> tuple[list[SSEEvent], list[str], int | None]:
    """Parse complete SSE lines per the WHATWG rules used by our server.

    Control events (`ready`, `ping`, `closing`) are left out of the events; pass `controls`
    to get them.
    """
    events: list[SSEEvent] = []
    comments: list[str] = []
    retry = None
    ev_id, ev_type, data = None, "", []
    for line in lines:
        if line == "":
            if data:
                event = SSEEvent(ev_id, ev_type or "message", "\n".join(data))
                if event.event not in CONTROL_EVENTS:
                    events.append(event)
                elif controls is not None:
                    controls.append(event)
            ev_type, data = "", []
            continue
        if line.startswith(":"):
            comments.append(line[1:].strip())
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "id":
            ev_id = value
        elif name == "event":
            ev_type = value
        elif name == "data":
            data.append(value)
        elif name == "retry":
            retry = int(value)
    return events, comments, retry


async def read_stream(
    client: httpx.AsyncClient,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    stop_after_seq: int | None = None,
    timeout: float = 30,
) -> StreamResult:
    """Read a stream until the server ends it, or until `stop_after_seq` is reached."""
    events: list[SSEEvent] = []
    comments: list[str] = []
    controls: list[SSEEvent] = []
    retry = None
    ended = False
    deadline = time.monotonic() + timeout
    async with client.stream(
        "GET", url, headers=headers or {}, timeout=httpx.Timeout(timeout, connect=10)
    ) as response:
        if response.status_code != 200:
            await response.aread()
            return StreamResult(response.status_code, response.headers, [], [], None, True)
        pending: list[str] = []
        buffer = ""
        async for chunk in response.aiter_text():
            buffer += chunk
            *complete, buffer = buffer.split("\n")
            for line in complete:
                pending.append(line.removesuffix("\r"))
                if line == "":
                    new, new_comments, new_retry = parse_lines(pending, controls=controls)
                    pending = []
                    for event in new:
                        event.received = time.time()
                    events.extend(new)
                    comments.extend(new_comments)
                    retry = new_retry if new_retry is not None else retry
            if stop_after_seq is not None and events and events[-1].seq >= stop_after_seq:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"stream {url} still open after {timeout}s; got {len(events)}")
        else:
            ended = True
    return StreamResult(200, response.headers, events, comments, retry, ended, controls)


def read_stream_blocking(url: str, cookies: dict[str, str], **kwargs: Any) -> StreamResult:
    """`read_stream` for a test outside any event loop, with its own client and cookies."""

    async def go() -> StreamResult:
        async with httpx.AsyncClient(cookies=cookies) as client:
            return await read_stream(client, url, **kwargs)

    return asyncio.run(go())
