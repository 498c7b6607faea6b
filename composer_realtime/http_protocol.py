"""uvicorn's httptools protocol with bounded request heads, in size and in time.

uvicorn with httptools reads a request head of any size (a 20 MB header line is buffered and
answered) and gives a connection unlimited time to send it (its keep-alive timer only starts
after a first response), so a few hundred slowloris connections stay open for good. This
protocol applies gunicorn's own limits, which gunicorn enforces only for its sync workers:
`limit_request_line` (bytes of the request line, 414 beyond), `limit_request_fields` and
`limit_request_field_size` (header count and bytes of one header, 431 beyond), and closes a
connection whose request head is not complete `head_timeout_s` after it began (408).

The timeout judges the client, not the server. Time the server was away is not the client's:
when the loop runs the head timer late (it was busy, or stopped), the lateness is given back
and the timer runs again that much later (at most MAX_LAG_GIVEN_S over a head), so a client
whose bytes came while the loop was behind is not refused because the loop was behind. And it
looks once more after the loop's next read of its sockets before it answers 408: libuv
(uvloop) runs a pass's expired timers before it polls, and a poll cut short past the timer's
due time reads nothing that pass (a worker stopped and continued returns from its poll with
EINTR). What the timer counts starts when the kernel hands the connection over, which
gunicorn.conf.py makes the moment its first bytes arrive (TCP_DEFER_ACCEPT): a head the kernel
dropped while the accept queue was full, and the client sends again later, is not timed from
a connection that had nothing to read.

gunicorn.conf.py sets the values; `StreamingUvicornWorker` hands them over as
`config.head_limits`. Served by plain uvicorn (`--http composer_realtime.http_protocol:
BoundedHttpToolsProtocol`) it uses the defaults below.

It cancels the task serving a request when the client goes away before the response is
complete, as Django's own handler does on `http.disconnect` (scope extension
CANCELS_ON_DISCONNECT, realtime/asgi/types.py): the application then keeps no task of its own
waiting on `receive` for it, about 0.8 KB per open stream.

Each connection is held as long as its stream, so it also holds less than uvicorn's own
protocol: its pipeline of queued requests and its two events (flow control's and the request
cycle's) no longer allocate a deque each up front, and its request parser (with the nine bound
methods of the protocol it keeps) is let go once a request has been read whole, and made
afresh when the next one starts to arrive: 0.8 KB less per open stream.

A response's head waits for the first part of its body, and the two go out in one write (one
`send`, one packet) where uvicorn makes two: the head of a stream and its `ready` event, the
head of a poll's answer and its body. A head whose body does not come in the same pass of the
event loop goes alone at the end of that pass (`_HeadWithBody`). One system call fewer per
response (`strace -c` over 4,000 stream opens: 3.36 writes per open before, 2.36 after), though
less than the open-storm benchmark can tell from its spread.
"""

import asyncio
from dataclasses import dataclass
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from realtime.server_api import CANCELS_ON_DISCONNECT, Flag


@dataclass(frozen=True, kw_only=True, slots=True)
class HeadLimits:
    """How large and how slow a request head may be."""

    line: int = 4094
    """Bytes of the request line (gunicorn's limit_request_line default)."""
    fields: int = 100
    """Header fields (gunicorn's limit_request_fields default)."""
    field_size: int = 8190
    """Bytes of one header field, name and value (gunicorn's limit_request_field_size)."""
    timeout_s: float = 10.0
    """Seconds from a request's first byte (or the connection) to the end of its head."""

    def head_bytes(self) -> int:
        """Return the most bytes a whole head may take: the line and every field at their
        limits (httptools reports a field only once complete, so one endless field is
        stopped by this count, not by `field_size`)."""
        return self.line + 2 + self.fields * (self.field_size + 2) + 2


SECOND_LOOK_S = 0.001
"""How long after the head timeout its second look comes: one loop pass, whose poll reads
what the sockets hold (a timer due now could still run in the pass that is running timers)."""
LAG_TOLERANCE_S = 0.05
"""A head timer run later than this after its due time ran late because of the loop."""
MAX_LAG_GIVEN_S = 60.0
"""The most of the loop's lag given back to one request head: past it, a loop that stays
behind no longer keeps a slow client's connection open."""

_REASONS = {408: b"Request Timeout", 414: b"URI Too Long", 431: b"Request Header Fields Too Large"}


def _parser(protocol: HttpToolsProtocol) -> httptools.HttpRequestParser:
    """Return a request parser for `protocol`, as uvicorn's `__init__` makes one."""
    parser = httptools.HttpRequestParser(protocol)
    parser.set_dangerous_leniencies(lenient_data_after_close=True)
    return parser


class _Pipeline(list[Any]):
    """The few methods of a deque uvicorn's pipeline uses: an empty list is a fraction of an
    empty deque (pipelined requests are rare, and never more than a few)."""

    __slots__ = ()

    def appendleft(self, item: Any) -> None:
        self.insert(0, item)


class _Head:
    """What the protocol keeps of its own per connection: where the current request head
    stands against its limits, and the task serving the request, to cancel if the client
    goes. One attribute of the protocol, not nine (a 30th attribute would cost every
    connection its own dict keys, see below)."""

    __slots__ = (
        "field_bytes",
        "field_count",
        "gone",
        "head_bytes",
        "in_head",
        "lag_given",
        "limits",
        "line_bytes",
        "looked_again",
        "task",
        "timer",
    )

    def __init__(self, limits: HeadLimits) -> None:
        self.limits = limits
        self.task: asyncio.Task[Any] | None = None
        """The task serving the current request, once the application adopted it."""
        self.gone = False
        """Whether that task was cancelled because its client went away."""
        self.timer: asyncio.TimerHandle | None = None
        self.lag_given = 0.0
        self.looked_again = False
        self.in_head = True
        self.head_bytes = self.line_bytes = self.field_count = self.field_bytes = 0

    # The scope extension CANCELS_ON_DISCONNECT (realtime.asgi.types.ServerDisconnectWatch):
    # the connection's own state object is it, so a request costs no object more for it.
    def adopt(self, task: asyncio.Task[Any]) -> None:
        """Cancel `task` if the client goes away before its response is complete."""
        self.task, self.gone = task, False

    def aborted(self) -> bool:
        """Return True when the cancellation being handled was the client's going away (and
        take it back), False when the task was cancelled for something else (too)."""
        if not self.gone:
            return False
        self.gone = False
        task = asyncio.current_task()
        return task is not None and task.uncancel() == 0

    def stop(self) -> None:
        """The request is over: a client that goes now cancels nothing."""
        self.task = None

    def cancel_for_disconnect(self) -> None:
        """The client went away before the response was complete: cancel the request."""
        task, self.task = self.task, None
        if task is not None and not task.done():
            self.gone = True
            task.cancel()


class _HeadWithBody:
    """A request cycle's transport until its response head is written: the head waits for the
    first part of the body and goes out with it in one write, or alone at the end of the
    loop's pass; the cycle then writes to the transport itself again.

    uvicorn's cycle only writes, closes and asks `is_closing` of its transport; whatever it
    writes before the head (a `100 Continue`) goes out the same way, ahead of it.
    """

    __slots__ = ("_cycle", "_first", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, cycle: Any, loop: Any) -> None:
        self._transport = transport
        self._cycle = cycle
        self._loop = loop
        self._first: bytes | None = None

    def write(self, data: bytes) -> None:
        """Keep the first write (the head) until the second, or the end of the pass."""
        first = self._first
        if first is None:
            self._first = data
            self._loop.call_soon(self.flush)
            return
        self._cycle.transport = self._transport
        self._transport.write(first + data)

    def flush(self) -> None:
        """Write the head alone (its body did not come in this pass) and step aside."""
        if self._cycle.transport is not self:
            return  # written with its body already
        self._cycle.transport = self._transport
        if self._first and not self._transport.is_closing():
            self._transport.write(self._first)

    def close(self) -> None:
        """Write what waits, then close."""
        self.flush()
        self._transport.close()

    def is_closing(self) -> bool:
        """Return the transport's `is_closing()`."""
        return self._transport.is_closing()


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol that refuses oversized request heads and drops slow ones.

    It adds one attribute to uvicorn's 28: CPython shares the keys of instance dicts of a
    class only up to 29 of them; beyond, each connection's dict is several times larger.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pipeline = _Pipeline()  # type: ignore[assignment]
        self._head = _Head(getattr(self.config, "head_limits", None) or HeadLimits())

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        writable = Flag()
        writable.set()  # as FlowControl starts: writable
        self.flow._is_writable_event = writable  # type: ignore[assignment]
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        cycle = self.cycle
        super().connection_lost(exc)
        if cycle is not None and not cycle.response_complete:
            self._head.cancel_for_disconnect()

    def on_response_complete(self) -> None:
        self._head.stop()  # nothing left to cancel if the client goes
        super().on_response_complete()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        # Not a watch on `receive` in the application: one task fewer per open stream.
        self.scope["extensions"] = {CANCELS_ON_DISCONNECT: self._head}  # type: ignore[dict-item]
        head = self._head
        head.in_head = True
        head.head_bytes = head.line_bytes = head.field_count = head.field_bytes = 0
        if head.timer is None:
            self._arm_head_timer()

    def on_url(self, url: bytes) -> None:
        head = self._head
        head.line_bytes += len(url)
        if head.line_bytes > head.limits.line:
            self._refuse(414)
            return
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        # httptools may call once per field or in pieces; a field ends when its value does.
        head = self._head
        head.field_bytes = len(name) + len(value)
        head.field_count += 1
        if head.field_count > head.limits.fields or head.field_bytes > head.limits.field_size:
            self._refuse(431)
            return
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._head.in_head = False
        self._cancel_head_timer()
        cycle = self.cycle
        super().on_headers_complete()
        if self.cycle is not cycle:  # a new request: nothing has set or awaited its event yet
            self.cycle.message_event = Flag()  # type: ignore[assignment]
            self.cycle.transport = _HeadWithBody(self.transport, self.cycle, self.loop)  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing():
            return  # refused already: read no more of it
        if self.parser is None:  # let go after the last request (below): a fresh one
            self.parser = _parser(self)
        head = self._head
        if head.in_head:
            head.head_bytes += len(data)  # may count a little body too: the cap is generous
            if head.head_bytes > head.limits.head_bytes():
                self._refuse(431)
                return
        super().data_received(data)
        cycle = self.cycle
        if not head.in_head and cycle is not None and not cycle.more_body and not self.pipeline:
            # The request is read whole and nothing of another has come: between two
            # requests the parser holds nothing, and an open stream would keep it (and the
            # nine bound methods it holds of this protocol) for as long as it streams.
            self.parser = None  # type: ignore[assignment]

    def _arm_head_timer(self) -> None:
        head = self._head
        head.looked_again = False
        head.lag_given = 0.0
        head.timer = self.loop.call_later(head.limits.timeout_s, self._head_too_slow)

    def _cancel_head_timer(self) -> None:
        if self._head.timer is not None:
            self._head.timer.cancel()
            self._head.timer = None

    def _head_too_slow(self) -> None:
        head = self._head
        timer, head.timer = head.timer, None
        if not head.in_head or self.transport.is_closing():
            return
        late = self.loop.time() - timer.when() if timer is not None else 0.0
        if late > LAG_TOLERANCE_S and head.lag_given < MAX_LAG_GIVEN_S:
            # The loop was away (busy, or stopped) when this was due: not the client's time.
            late = min(late, MAX_LAG_GIVEN_S - head.lag_given)
            head.lag_given += late
            head.timer = self.loop.call_later(late, self._head_too_slow)
            return
        if not head.looked_again:
            # Due after this pass's timers: the loop polls its sockets before it comes back.
            head.looked_again = True
            head.timer = self.loop.call_later(SECOND_LOOK_S, self._head_too_slow)
            return
        self._refuse(408)

    def _refuse(self, status: int) -> None:
        self._cancel_head_timer()
        if self.transport.is_closing():
            return
        reason = _REASONS[status]
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s"
            % (status, reason, len(reason), reason)
        )
        self.transport.close()
