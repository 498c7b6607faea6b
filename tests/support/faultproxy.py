"""A seeded TCP fault proxy: the network faults that make no noise, between any two parties.

It listens on 127.0.0.1 in a thread of its own and relays bytes to one upstream (a web server,
Redis, PostgreSQL), each accepted connection with its own upstream connection. While it runs,
a test changes what the path does, for the connections open now and those to come:

- `latency(ms, jitter_ms)`: every chunk arrives `ms` ± `jitter_ms` later (seeded; never
  reordered, as TCP never reorders);
- `bandwidth(bytes_per_s)`: each direction is capped;
- `slices(size, gap_s)`: bytes go out `size` at a time (1 byte: the worst a parser can meet);
- `buffer_responses()`: nothing goes back to the client until the upstream closes, as a
  buffering proxy does with a response;
- `blackhole()`: no byte moves either way and nothing is closed (an idle flow dropped by a
  NAT, a frozen proxy, a dead network path); new connections are accepted and hang too unless
  `new_flows=True` lets them through (a NAT drops old flows, new ones work). `heal()` lets the
  held bytes go on, as TCP's retransmissions do once the path is back;
- `reset()`: every open connection is cut with a TCP RST, both ways;
- `hang_up()`: every open connection is closed with a FIN, both ways, whatever it was in the
  middle of, as a proxy does when the server behind it dies mid-response (an HTTP client sees
  a response that ends early: httpx's RemoteProtocolError);
- `refuse()`: new connections are reset at once.

`heal()` ends every fault. The proxy stops itself after `lifetime_s`, whatever the test does.
The same seed gives the same jitter, so a failing run can be replayed.
"""

import asyncio
import contextlib
import random
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.support.servers import free_port

_CHUNK = 65536
_RST = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST


@dataclass
class _Path:
    """What the path does now; read by every pump on every chunk."""

    latency_s: float = 0.0
    jitter_s: float = 0.0
    bytes_per_s: float = 0.0
    slice_bytes: int = 0
    slice_gap_s: float = 0.0
    buffer_responses: bool = False
    refuse: bool = False
    new_flows: bool = False
    open: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(eq=False)
class _Flow:
    """One client connection and its upstream connection."""

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    old_path: bool = False
    """Set on the flows a NAT-like blackhole caught: they stay dead until `heal()`."""


class FaultProxy:
    """A TCP proxy in front of `upstream_port` whose faults a test switches on and off."""

    def __init__(self, upstream_port: int, *, seed: int = 0, lifetime_s: float = 300.0) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self.lifetime_s = lifetime_s
        self.accepted = 0
        """Connections accepted so far."""
        self._random = random.Random(seed)
        self._path: _Path | None = None
        self._flows: set[_Flow] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stopping = False
        self._listening = threading.Event()
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._main()), name=f"faultproxy-{self.port}", daemon=True
        )

    @property
    def url_host_port(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 10) -> "FaultProxy":
        self._thread.start()
        if not self._listening.wait(timeout):
            raise TimeoutError(f"fault proxy on port {self.port} did not start in {timeout}s")
        return self

    def stop(self, timeout: float = 10) -> None:
        self._in_loop(lambda path: self._stop.set() if self._stop else None)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"fault proxy on port {self.port} did not stop in {timeout}s")

    def __enter__(self) -> "FaultProxy":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # The faults. Each takes effect at once, for open connections and new ones.

    def latency(self, ms: float, jitter_ms: float = 0.0) -> None:
        self._set(latency_s=ms / 1000, jitter_s=jitter_ms / 1000)

    def bandwidth(self, bytes_per_s: float) -> None:
        self._set(bytes_per_s=bytes_per_s)

    def slices(self, size: int = 1, gap_s: float = 0.0) -> None:
        self._set(slice_bytes=size, slice_gap_s=gap_s)

    def buffer_responses(self) -> None:
        self._set(buffer_responses=True)

    def blackhole(self, *, new_flows: bool = False) -> None:
        def apply(path: _Path) -> None:
            path.new_flows = new_flows
            for flow in self._flows:
                flow.old_path = True
            path.open.clear()

        self._in_loop(apply)

    def refuse(self) -> None:
        self._set(refuse=True)

    def reset(self) -> None:
        self._in_loop(lambda path: [self._cut(flow) for flow in list(self._flows)])

    def hang_up(self) -> None:
        self._in_loop(lambda path: [self._hang_up(flow) for flow in list(self._flows)])

    def heal(self) -> None:
        """End every fault; bytes held by a blackhole go on."""

        def apply(path: _Path) -> None:
            for name, value in vars(_Path()).items():
                if name != "open":
                    setattr(path, name, value)
            for flow in self._flows:
                flow.old_path = False
            path.open.set()

        self._in_loop(apply)

    def open_connections(self) -> int:
        return len(self._flows)

    # The relay.

    def _set(self, **values: object) -> None:
        def apply(path: _Path) -> None:
            for name, value in values.items():
                setattr(path, name, value)

        self._in_loop(apply)

    def _in_loop(self, change: Callable[[_Path], object]) -> None:
        """Run `change(path)` in the proxy's loop and wait until it ran."""
        if self._loop is None or self._loop.is_closed():
            return
        done = threading.Event()

        def run() -> None:
            try:
                assert self._path is not None
                change(self._path)
            finally:
                done.set()

        with contextlib.suppress(RuntimeError):  # the loop ended by itself meanwhile
            self._loop.call_soon_threadsafe(run)
            done.wait(5)

    async def _main(self) -> None:
        self._loop, self._stop, self._path = asyncio.get_running_loop(), asyncio.Event(), _Path()
        self._path.open.set()
        tasks: set[asyncio.Task[None]] = set()

        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            tasks.add(task)
            try:
                await self._serve(reader, writer)
            finally:
                tasks.discard(task)

        server = await asyncio.start_server(accept, "127.0.0.1", self.port)
        self._listening.set()
        async with server:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.lifetime_s):
                    await self._stop.wait()
            # End the flows rather than cancel their tasks (asyncio logs a cancelled
            # connection callback as an error): cut them, and let held ones through. A
            # connection accepted from now on is cut as soon as it is seen (a client that keeps
            # reconnecting would otherwise keep the server from closing).
            server.close()
            self._stopping = True
            self._path.open.set()
            for flow in list(self._flows):
                self._cut(flow)
            if tasks:
                await asyncio.wait(tasks, timeout=5)

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        assert self._path is not None
        self.accepted += 1
        if self._path.refuse or self._stopping:
            _abort(client_w)
            return
        if not self._path.open.is_set() and not self._path.new_flows:
            await self._path.open.wait()  # a dead path: the SYN is answered, nothing more
            if self._stopping:
                _abort(client_w)
                return
        try:
            upstream_r, upstream_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            _abort(client_w)
            return
        flow = _Flow(client_w, upstream_w)
        self._flows.add(flow)
        if self._stopping:  # stopped while this one connected upstream
            self._cut(flow)
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._pump(client_r, upstream_w, flow, downstream=False))
                group.create_task(self._pump(upstream_r, client_w, flow, downstream=True))
        except* (OSError, asyncio.IncompleteReadError):
            pass  # one side went away: both are closed below
        finally:
            self._flows.discard(flow)
            await close_writers(client_w, upstream_w)

    async def _pump(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        flow: _Flow,
        *,
        downstream: bool,
    ) -> None:
        """Copy `source` to `sink` through the path's faults; end both ways at EOF."""
        path = self._path
        assert path is not None
        due = 0.0  # when the previous chunk was delivered: jitter never reorders
        held = bytearray()
        while True:
            await self._passable(flow)
            chunk = await source.read(_CHUNK)
            if downstream and path.buffer_responses and chunk:
                held += chunk
                continue
            chunk, held = bytes(held) + chunk, bytearray()
            if not chunk:
                break
            loop = asyncio.get_running_loop()
            delay = path.latency_s + self._random.uniform(-path.jitter_s, path.jitter_s)
            due = max(due, loop.time() + max(0.0, delay))
            await asyncio.sleep(due - loop.time())
            await self._passable(flow)
            await self._send(sink, chunk, path)
        with contextlib.suppress(OSError):
            sink.write_eof()
            await sink.drain()

    async def _passable(self, flow: _Flow) -> None:
        """Wait while the path is dead for this flow (all flows, or only the old ones)."""
        path = self._path
        assert path is not None
        while not path.open.is_set() and (flow.old_path or not path.new_flows):
            await path.open.wait()

    async def _send(self, sink: asyncio.StreamWriter, chunk: bytes, path: _Path) -> None:
        """Write `chunk` in slices; under a bandwidth cap each piece leaves once the link
        would have carried it (pieces of 50 ms at the cap)."""
        step = path.slice_bytes or len(chunk)
        if path.bytes_per_s:
            step = min(step, max(1, int(path.bytes_per_s * 0.05)))
        for start in range(0, len(chunk), step):
            piece = chunk[start : start + step]
            if path.bytes_per_s:
                await asyncio.sleep(len(piece) / path.bytes_per_s)
            sink.write(piece)
            await sink.drain()
            if path.slice_gap_s:
                await asyncio.sleep(path.slice_gap_s)

    def _hang_up(self, flow: _Flow) -> None:
        for writer in (flow.client, flow.upstream):
            writer.transport.close()  # a FIN once the buffered bytes are out, not an RST

    def _cut(self, flow: _Flow) -> None:
        _abort(flow.client)
        _abort(flow.upstream)


async def close_writers(*writers: asyncio.StreamWriter | None) -> None:
    """Close each connection (None: never opened), whatever state its peer left it in."""
    for writer in writers:
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST, not a FIN: the peer's next read or write fails."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RST)
    writer.transport.abort()
