"""A small HTTP proxy for tests that can spoil event streams, as real proxies and deploys do.

It runs an asyncio server in a thread on 127.0.0.1, in front of one upstream server, and
records every request it sees. Each client connection carries one request (both sides are
asked to close after it, which keeps the proxy free of HTTP framing). Requests go upstream as
they came and responses come back as they came, except event streams (requests that accept
`text/event-stream`), which get the treatment `streams` names:

- "pass": untouched;
- "buffer": the body is held back until `hold_bytes` have gathered or the upstream closes,
  like a proxy with response buffering on;
- "503": answered 503 by the proxy itself, like a load balancer during a deploy;
- "refuse": the connection is closed without an answer, like a blocked route.

`streams` may change while the proxy runs; `drop_streams()` cuts the streams open now.
The proxy stops itself after `lifetime_s`.
"""

import asyncio
import contextlib
import threading
import time
from dataclasses import dataclass, field
from typing import Literal

from tests.support.faultproxy import close_writers
from tests.support.servers import free_port

StreamMode = Literal["pass", "buffer", "503", "refuse"]

_HEAD_END = b"\r\n\r\n"
_DROPPED = (b"connection:", b"keep-alive:", b"proxy-connection:")
_UNAVAILABLE = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
    b"Content-Length: 9\r\nConnection: close\r\n\r\ndeploying"
)


@dataclass
class Proxy:
    upstream_port: int
    streams: StreamMode = "pass"
    hold_bytes: int = 64 * 1024
    lifetime_s: float = 120.0
    port: int = field(default_factory=free_port)
    requests: list[str] = field(default_factory=list)
    """The path of every request seen, in order."""
    held_streams: int = 0
    """Event-stream responses whose body was held back."""
    spoiled_at: list[float] = field(default_factory=list)
    """When each event-stream request was answered 503 or refused (time.time())."""
    _thread: threading.Thread | None = field(default=None, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    _stop: asyncio.Event | None = field(default=None, repr=False)
    _open_streams: set[asyncio.Task[None]] = field(default_factory=set, repr=False)
    _listening: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stream_requests(self, path_end: str = "/events") -> list[str]:
        return [path for path in self.requests if path.split("?")[0].endswith(path_end)]

    def start(self, timeout: float = 10) -> "Proxy":
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._main()), name=f"proxy-{self.port}", daemon=True
        )
        self._thread.start()
        if not self._listening.wait(timeout):
            raise TimeoutError(f"proxy on port {self.port} did not start in {timeout}s")
        return self

    def drop_streams(self) -> None:
        """Cut every event stream open right now (the client sees the connection end)."""
        self._call_in_loop(lambda: [task.cancel() for task in list(self._open_streams)])

    def stop(self, timeout: float = 10) -> None:
        assert self._stop is not None
        self._call_in_loop(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise TimeoutError(f"proxy on port {self.port} did not stop in {timeout}s")

    def _call_in_loop(self, callback: object) -> None:
        if self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop ended by itself meanwhile
                self._loop.call_soon_threadsafe(callback)  # type: ignore[arg-type]

    async def _main(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        handlers: set[asyncio.Task[None]] = set()

        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            handlers.add(task)
            try:
                await self._serve(reader, writer, task)
            except asyncio.CancelledError:
                if self._stop is None or self._stop.is_set():
                    raise  # shutting down; a dropped stream just ends
            finally:
                handlers.discard(task)
                self._open_streams.discard(task)

        server = await asyncio.start_server(accept, "127.0.0.1", self.port)
        self._listening.set()
        async with server:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.lifetime_s):
                    await self._stop.wait()
            self._stop.set()
            for task in list(handlers):
                task.cancel()
            await asyncio.gather(*handlers, return_exceptions=True)

    async def _serve(
        self,
        client_r: asyncio.StreamReader,
        client_w: asyncio.StreamWriter,
        task: asyncio.Task[None],
    ) -> None:
        upstream_w: asyncio.StreamWriter | None = None
        try:
            path, is_stream, request = await _read_request(client_r)
            self.requests.append(path)
            mode = self.streams if is_stream else "pass"
            if mode in {"503", "refuse"}:
                self.spoiled_at.append(time.time())
            if mode == "refuse":
                return
            if mode == "503":
                client_w.write(_UNAVAILABLE)
                await client_w.drain()
                return
            if is_stream:
                self._open_streams.add(task)
            upstream_r, upstream_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
            upstream_w.write(request)
            await upstream_w.drain()
            await self._answer(upstream_r, client_r, client_w, buffering=mode == "buffer")
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # either side went away: close both
        finally:
            await close_writers(upstream_w, client_w)

    async def _answer(
        self,
        upstream_r: asyncio.StreamReader,
        client_r: asyncio.StreamReader,
        client_w: asyncio.StreamWriter,
        *,
        buffering: bool,
    ) -> None:
        head = await upstream_r.readuntil(_HEAD_END)
        client_w.write(head)
        await client_w.drain()
        buffering = buffering and b"text/event-stream" in head.lower()
        self.held_streams += buffering
        await _until_either_ends(
            self._copy(upstream_r, client_w, buffering), _client_gone(client_r)
        )

    async def _copy(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, buffering: bool
    ) -> None:
        held = bytearray()
        while chunk := await source.read(65536):
            held += chunk
            if not buffering or len(held) >= self.hold_bytes:
                sink.write(bytes(held))
                held.clear()
                await sink.drain()
        if held:
            sink.write(bytes(held))
            await sink.drain()


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, bool, bytes]:
    """Return (path, wants an event stream, request rewritten to close after the answer)."""
    head = await reader.readuntil(_HEAD_END)
    lines = head[: -len(_HEAD_END)].split(b"\r\n")
    kept = [line for line in lines[1:] if not line.lower().startswith(_DROPPED)]
    length = next(
        (
            int(line.split(b":", 1)[1])
            for line in kept
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    body = await reader.readexactly(length) if length else b""
    is_stream = any(
        line.lower().startswith(b"accept:") and b"text/event-stream" in line for line in kept
    )
    path = lines[0].split(b" ")[1].decode()
    request = b"\r\n".join([lines[0], *kept, b"Connection: close"]) + _HEAD_END + body
    return path, is_stream, request


async def _client_gone(reader: asyncio.StreamReader) -> None:
    """Return when the client closes its side (an EventSource that gave up)."""
    while await reader.read(1024):
        pass


async def _until_either_ends(*coroutines: object) -> None:
    tasks = [asyncio.ensure_future(c) for c in coroutines]  # type: ignore[arg-type]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
