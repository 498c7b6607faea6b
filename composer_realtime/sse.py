"""Encode messages as WHATWG `text/event-stream` text and build streaming responses."""

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from functools import cached_property

from django.http import StreamingHttpResponse

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_FIELD_FORBIDDEN = re.compile(r"[\r\n\x00]")

STREAM_HEADERS = {
    "Cache-Control": "no-cache, no-transform",
    "X-Accel-Buffering": "no",
    # Never compressed: gzip buffers whole blocks and breaks the live flow.
    "Content-Encoding": "identity",
}


@dataclass(frozen=True, slots=False, kw_only=True)
class Message:
    """One event on a channel, ready to be written to any number of streams."""

    id: int
    """Position on its channel: 1, 2, 3 … without gaps."""
    event: str
    """The SSE event name."""
    data: str
    """The payload, already serialised (normally one line of JSON)."""
    ts: float = field(default=0.0)
    """When the message was recorded (Unix time): delivery delay is measured against it."""
    final: bool = field(default=False)
    """True for the last message a channel will ever carry."""

    def to_wire(self) -> str:
        """Return the message as one doorbell payload (id, event, final flag, data)."""
        return f"{self.id}\n{self.event}\n{self.ts!r}\n{int(self.final)}\n{self.data}"

    @classmethod
    def from_wire(cls, payload: str) -> "Message":
        """Parse a doorbell payload made by `to_wire`; raise ValueError if malformed."""
        id_, event, ts, final, data = payload.split("\n", 4)
        return cls(id=int(id_), event=event, ts=float(ts), final=final == "1", data=data)

    @cached_property
    def sse(self) -> bytes:
        """Return the message as one SSE block; computed once, shared by every stream."""
        return encode_event(data=self.data, event=self.event, id=str(self.id))


def _field(name: str, value: str) -> str:
    if _FIELD_FORBIDDEN.search(value):
        raise ValueError(f"SSE {name} must not contain CR, LF or NUL: {value!r}")
    return f"{name}: {value}\n"


def encode_event(*, data: str, event: str = "", id: str = "") -> bytes:
    """Return one SSE block; multi-line data becomes several `data:` lines."""
    head = (_field("id", id) if id else "") + (_field("event", event) if event else "")
    body = "".join(f"data: {line}\n" for line in _LINE_BREAK.split(data))
    return (head + body + "\n").encode()


def encode_comment(text: str = "") -> bytes:
    """Return an SSE comment line (used as heartbeat); line breaks are dropped."""
    return f": {_LINE_BREAK.sub(' ', text)}\n\n".encode()


def encode_retry(ms: int) -> bytes:
    """Return the `retry:` field that sets the browser's reconnection delay."""
    return f"retry: {int(ms)}\n\n".encode()


class EventStreamResponse(StreamingHttpResponse):
    """A streaming response that can run cleanups however it ends."""

    def on_close(self, callback: Callable[[], None]) -> None:
        """Run `callback` when the server closes the response, even if it never streamed."""
        self._resource_closers.append(callback)  # type: ignore[attr-defined]


def event_stream_response(content: AsyncIterator[bytes]) -> EventStreamResponse:
    """Return a `text/event-stream` response over an async iterator, proxy-proof headers set."""
    response = EventStreamResponse(content, content_type="text/event-stream; charset=utf-8")
    for name, value in STREAM_HEADERS.items():
        response[name] = value
    return response
