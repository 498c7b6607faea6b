"""Encode WHATWG `text/event-stream` text and build the streaming responses that carry it."""

import re
from collections.abc import AsyncIterator, Callable

from django.http import HttpResponse, StreamingHttpResponse

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_FIELD_FORBIDDEN = re.compile(r"[\r\n\x00]")

CONTENT_TYPE = "text/event-stream; charset=utf-8"
STREAM_HEADERS = {
    # no-transform: proxies must neither compress nor rewrite a live stream (gzip buffers
    # whole blocks). No Content-Encoding: "identity" is not a content coding (RFC 9110 §8.4.1).
    "Cache-Control": "no-cache, no-transform",
    "X-Accel-Buffering": "no",
}


def _field(name: str, value: str) -> str:
    if _FIELD_FORBIDDEN.search(value):
        raise ValueError(f"SSE {name} must not contain CR, LF or NUL: {value!r}")
    return f"{name}: {value}\n"


def encode_event(*, data: str, event: str = "", id: str = "", retry_ms: int | None = None) -> bytes:
    """Return one SSE block; multi-line data becomes several `data:` lines.

    `retry_ms` rides in the same block: clients that only look at dispatched events
    (sseclient-py, httpx-sse) never see a block without data.
    """
    head = (
        (f"retry: {int(retry_ms)}\n" if retry_ms is not None else "")
        + (_field("id", id) if id else "")
        + (_field("event", event) if event else "")
    )
    body = "".join(f"data: {line}\n" for line in _LINE_BREAK.split(data))
    return (head + body + "\n").encode()


class EventStreamResponse(StreamingHttpResponse):
    """A streaming response that can run cleanups however it ends."""

    def on_close(self, callback: Callable[[], None]) -> None:
        """Run `callback` when the server closes the response, even if it never streamed."""
        self._resource_closers.append(callback)  # type: ignore[attr-defined]

    def __aiter__(self) -> AsyncIterator[bytes]:
        """Return the content itself: it yields bytes already, so Django's two wrapping
        generators (`__aiter__` and `streaming_content`'s, frames held per open stream) are
        not needed between it and the server."""
        if not self.is_async:
            return super().__aiter__()
        iterator: AsyncIterator[bytes] = self._iterator  # type: ignore[attr-defined]
        return iterator


def event_stream_response(content: AsyncIterator[bytes]) -> EventStreamResponse:
    """Return a `text/event-stream` response over an async iterator, proxy-proof headers set."""
    response = EventStreamResponse(content, content_type=CONTENT_TYPE)
    for name, value in STREAM_HEADERS.items():
        response[name] = value
    return response


def event_stream_head() -> HttpResponse:
    """Return the answer to a HEAD of a stream: its headers, no body, nothing subscribed."""
    response = HttpResponse(content_type=CONTENT_TYPE)
    for name, value in STREAM_HEADERS.items():
        response[name] = value
    return response


def no_content() -> HttpResponse:
    """Return a bare 204: the stream has nothing more to say, so EventSource stops.

    No Content-Type (there is no content) and, through the ASGI handler, no Content-Length
    (RFC 9110 §8.6: a server must not send one with a 204).
    """
    response = HttpResponse(status=204)
    del response["Content-Type"]
    return response
