"""The production HTTP protocol (composer_realtime/http_protocol.py) holds less per connection
than uvicorn's and still does what uvicorn's does: pipelined requests in order, and a client
that reads slowly gets the whole body (flow control waits on the lighter flag).

A real uvicorn server in this process, with the protocol class gunicorn's worker uses, on a
loopback port; raw HTTP/1.1 over sockets.
"""

import asyncio
import hashlib
import inspect
import socket
import sys
import time
from typing import Any

import pytest
import uvicorn
import uvloop
from uvicorn.protocols.http import flow_control, httptools_impl

from composer_realtime.http_protocol import BoundedHttpToolsProtocol, HeadLimits
from realtime.flag import Flag
from realtime.server_api import CANCELS_ON_DISCONNECT

UVICORN_VERSION = "0.54.0"
"""The uvicorn whose internals the protocol replaces (requirements.txt pins it)."""

FINGERPRINTS: dict[str, tuple[Any, str]] = {
    "HttpToolsProtocol.__init__": (httptools_impl.HttpToolsProtocol.__init__, "4f08999410347141"),
    "HttpToolsProtocol.connection_made": (
        httptools_impl.HttpToolsProtocol.connection_made,
        "6efb565ff3d36b91",
    ),
    "HttpToolsProtocol.on_headers_complete": (
        httptools_impl.HttpToolsProtocol.on_headers_complete,
        "1ea8589acfad92d8",
    ),
    "HttpToolsProtocol.on_response_complete": (
        httptools_impl.HttpToolsProtocol.on_response_complete,
        "64e254f28e389e76",
    ),
    "FlowControl": (flow_control.FlowControl, "126debcdaa894c83"),
}
"""What the protocol swaps (the pipeline's deque, the two events) is set up and used here:
when uvicorn changes any of it, check the swap still holds, then record the new SHA-256."""

BIG = 4 * 1024 * 1024
"""A body larger than the socket buffers on both sides, so the transport pauses writing."""


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["path"] == "/forever":
        await _forever(scope, send)
        return
    if scope["path"] == "/late":
        await _late(send)
        return
    if scope["path"] == "/hog":
        time.sleep(HOG_S)  # noqa: ASYNC251 - holds the loop: no timer, no read meanwhile
    body = b"x" * BIG if scope["path"] == "/big" else scope["path"].encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", str(len(body)).encode())],
        }
    )
    for start in range(0, len(body), 65536):  # many writes, as a stream makes
        await send(
            {"type": "http.response.body", "body": body[start : start + 65536], "more_body": True}
        )
    await send({"type": "http.response.body"})


HOG_S = 1.5
"""How long `/hog` holds the event loop (a CPU-bound callback, as a busy worker's)."""


CANCELLED: list[bool] = []
"""For each cancellation `/forever` got: whether the server said it was the client's going."""


async def _forever(scope: dict[str, Any], send: Any) -> None:
    """Stream nothing, forever, relying on the server to cancel it once the client is gone."""
    task = asyncio.current_task()
    assert task is not None
    watch = scope["extensions"][CANCELS_ON_DISCONNECT]
    watch.adopt(task)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"open", "more_body": True})
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        CANCELLED.append(watch.aborted())
        if not CANCELLED[-1]:
            raise
    finally:
        watch.stop()


LATE_S = 1.0
"""How long `/late` keeps its body after its head."""


async def _late(send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await asyncio.sleep(LATE_S)
    await send({"type": "http.response.body", "body": b"late"})


WRITES: list[bytes] = []
"""What `_RecordingProtocol`'s connections wrote, one item per write to the transport."""


class _RecordedTransport:
    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport

    def write(self, data: bytes) -> None:
        WRITES.append(bytes(data))
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _RecordingProtocol(BoundedHttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_RecordedTransport(transport))  # type: ignore[arg-type]


async def _serving(
    *, head_timeout_s: float | None = None, protocol: type = BoundedHttpToolsProtocol
) -> tuple[uvicorn.Server, asyncio.Task[None], int]:
    config = uvicorn.Config(
        _app,
        host="127.0.0.1",
        port=0,
        loop="asyncio",
        http=protocol,
        log_level="warning",
    )
    if head_timeout_s is not None:
        config.head_limits = HeadLimits(timeout_s=head_timeout_s)  # type: ignore[attr-defined]
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # uvicorn offers no event for it  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, task, port


async def _response(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return await reader.readexactly(length)


def test_pipelined_requests_are_answered_in_order():
    async def scenario() -> list[bytes]:
        server, task, port = await _serving()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                b"".join(f"GET /{n} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for n in range(3))
            )
            answers = [await asyncio.wait_for(_response(reader), 10) for _ in range(3)]
            writer.close()
            return answers
        finally:
            server.should_exit = True
            await task

    assert asyncio.run(scenario()) == [b"/0", b"/1", b"/2"]


def test_a_response_head_goes_out_with_the_first_part_of_its_body_in_one_write():
    # A stream's head and its first event, a response's head and its body: uvicorn wrote
    # each head on its own, one more send (and packet) per response.
    async def scenario() -> None:
        WRITES.clear()
        CANCELLED.clear()
        server, task, port = await _serving(protocol=_RecordingProtocol)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /forever HTTP/1.1\r\nHost: x\r\n\r\n")
            await asyncio.wait_for(reader.readuntil(b"open"), 10)
            writer.close()
            async with asyncio.timeout(10):  # the stream ends with its client
                while not CANCELLED:  # noqa: ASYNC110 - the app's own record, no event
                    await asyncio.sleep(0.01)
        finally:
            server.should_exit = True
            await task

    asyncio.run(scenario())
    assert WRITES, "nothing written"
    assert WRITES[0].startswith(b"HTTP/1.1 200 OK\r\n"), WRITES[0]
    assert WRITES[0].endswith(b"\r\n\r\n4\r\nopen\r\n"), WRITES[0]


def test_a_head_whose_body_is_late_goes_out_on_its_own_at_once():
    async def scenario() -> tuple[float, bytes]:
        server, task, port = await _serving()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            asked = time.monotonic()
            writer.write(b"GET /late HTTP/1.1\r\nHost: x\r\n\r\n")
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            waited = time.monotonic() - asked
            rest = await asyncio.wait_for(reader.readuntil(b"0\r\n\r\n"), 10)
            writer.close()
            assert head.startswith(b"HTTP/1.1 200 OK\r\n")
            return waited, rest
        finally:
            server.should_exit = True
            await task

    waited, rest = asyncio.run(scenario())
    assert waited < LATE_S / 2, f"the head waited {waited:.2f} s for its body"
    assert rest == b"4\r\nlate\r\n0\r\n\r\n"


def test_a_client_that_reads_slowly_gets_the_whole_body_through_flow_control():
    async def scenario() -> tuple[int, list[str], int]:
        server, task, port = await _serving()
        try:
            # A fixed receive buffer: the kernel's autotuning (up to tcp_rmem's 32 MB here)
            # would otherwise take in the whole body and the server would never pause.
            client = socket.socket()
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
            client.setblocking(False)
            await asyncio.get_running_loop().sock_connect(client, ("127.0.0.1", port))
            reader, writer = await asyncio.open_connection(sock=client, limit=65536)
            writer.write(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
            await asyncio.sleep(0.5)  # the server fills the buffers and pauses
            (protocol,) = server.server_state.connections
            kinds = [
                type(protocol.pipeline).__name__,
                type(protocol.flow._is_writable_event).__name__,
                type(protocol.cycle.message_event).__name__,
            ]
            paused = protocol.flow.write_paused
            attributes = sys.getsizeof(protocol.__dict__)
            body = await asyncio.wait_for(_response(reader), 30)
            writer.close()
            assert paused, "the transport never paused writing: the test proves nothing"
            return len(body), kinds, attributes
        finally:
            server.should_exit = True
            await task

    size, kinds, attributes = asyncio.run(scenario())
    assert size == BIG
    assert kinds == ["_Pipeline", Flag.__name__, Flag.__name__]
    # CPython shares an instance dict's keys (0.3 KB) only up to 29 attributes (1.5 KB past).
    assert attributes < 600, f"the protocol's attributes take {attributes} bytes"


def test_the_task_of_a_response_under_way_is_cancelled_when_its_client_goes_away():
    """The scope extension CANCELS_ON_DISCONNECT: the application needs no task of its own on
    `receive` to learn that its client left."""

    async def scenario() -> list[bool]:
        CANCELLED.clear()
        server, task, port = await _serving()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /forever HTTP/1.1\r\nHost: x\r\n\r\n")
            await asyncio.wait_for(reader.readuntil(b"open"), 10)
            writer.close()
            async with asyncio.timeout(10):
                while not CANCELLED:  # noqa: ASYNC110 - the app's own record, no event
                    await asyncio.sleep(0.01)
            return list(CANCELLED)
        finally:
            server.should_exit = True
            await task

    assert asyncio.run(scenario()) == [True]


def test_a_connection_keeps_no_parser_between_requests_and_makes_one_for_the_next():
    """An open stream would keep its request parser (and the nine bound methods it holds)
    for as long as it streams: it is let go once a request is read whole."""

    async def scenario() -> tuple[list[bytes], list[object]]:
        server, task, port = await _serving()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            answers, parsers = [], []
            for path in (b"/first", b"/second"):
                writer.write(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
                answers.append(await asyncio.wait_for(_response(reader), 10))
                (protocol,) = server.server_state.connections
                parsers.append(protocol.parser)
            writer.close()
            return answers, parsers
        finally:
            server.should_exit = True
            await task

    answers, parsers = asyncio.run(scenario())
    assert answers == [b"/first", b"/second"]
    assert parsers == [None, None]


def test_the_time_a_busy_loop_held_is_given_back_to_a_head_in_progress():
    """A client half way through its head while the loop is busy past the head timeout (on
    uvloop, as the worker runs) finishes it once the loop is free again, and is served: the
    timer ran late, and the lateness was the server's. A client that stays silent after the
    loop is free still gets its 408."""

    async def scenario() -> tuple[bytes, bytes]:
        server, task, port = await _serving(head_timeout_s=0.5)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            silent_reader, silent_writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /served HTTP/1.1\r\n")
            silent_writer.write(b"GET /silent HTTP/1.1\r\n")
            await asyncio.sleep(0.1)  # read by the server: the heads are under way
            hog_reader, hog_writer = await asyncio.open_connection("127.0.0.1", port)
            hog_writer.write(b"GET /hog HTTP/1.1\r\nHost: x\r\n\r\n")
            await asyncio.wait_for(_response(hog_reader), 30)  # the loop is free again
            await asyncio.sleep(0.1)  # and the client, held up too, is a moment behind it
            writer.write(b"Host: x\r\n\r\n")
            answer = await asyncio.wait_for(reader.read(200), 30)
            silent = await asyncio.wait_for(silent_reader.read(200), 30)
            for each in (writer, silent_writer, hog_writer):
                each.close()
            return answer, silent
        finally:
            server.should_exit = True
            await task

    answer, silent = uvloop.run(scenario())
    assert answer.startswith(b"HTTP/1.1 200"), answer
    assert silent.startswith(b"HTTP/1.1 408"), silent


def test_the_pinned_uvicorn_is_the_one_the_protocol_was_made_for():
    assert uvicorn.__version__ == UVICORN_VERSION


@pytest.mark.parametrize("name", FINGERPRINTS)
def test_the_uvicorn_code_the_protocol_relies_on_has_not_changed(name):
    thing, recorded = FINGERPRINTS[name]
    found = hashlib.sha256(inspect.getsource(thing).encode()).hexdigest()[:16]
    assert found == recorded, (
        f"uvicorn's {name} changed: check composer_realtime/http_protocol.py still replaces "
        f"what it means to, and record the new fingerprint {found!r}"
    )
