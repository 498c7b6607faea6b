"""The load client: thousands of SSE streams in one process, raw asyncio protocols on uvloop.

`python -m bench.client --spec SPEC.json --out RESULT.json` (started by the benchmark).

Each stream behaves like a browser's EventSource: it sends the session cookie, keeps the last
`id:` it saw, and when the connection drops it comes back after the stream's `retry:` delay
(jittered) with `Last-Event-ID`; a non-200 answer ends it for good. It parses just enough SSE
to take each event's `seq` and `ts` out of its JSON data and notes the delay from `ts` to the
moment the bytes arrived. Status goes to stdout as JSON lines (see bench/control.py).

Streams open either closed loop, at most `open_concurrency` attempts in flight, or, with
`open_rate` (streams/s of this process), open loop: stream i is first attempted i / open_rate
seconds after the start, whatever the server does (an open storm, as browsers arriving).

Spec keys: host, port, source_ips, path (with `{job}`), cookie, streams ([slot, job] pairs),
open_concurrency, open_rate, default_retry_ms, status_every_s.
"""

import argparse
import asyncio
import json
import random
import socket
import sys
import time
from array import array
from datetime import UTC, datetime
from typing import Any

from bench import control

IP_BIND_ADDRESS_NO_PORT = 24  # Linux: pick the source port at connect(), per 4-tuple
CONNECT_TIMEOUT_S = 30.0
_TS_CACHE: dict[bytes, float] = {}


def parse_ts(raw: bytes) -> float:
    """Return the Unix time of a wire `ts` ("2026-11-25T20:48:26.123456Z"), cached."""
    value = _TS_CACHE.get(raw)
    if value is None:
        if len(_TS_CACHE) > 200_000:
            _TS_CACHE.clear()
        text = raw.decode().rstrip("Z")
        value = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC).timestamp()
        _TS_CACHE[raw] = value
    return value


def json_field(data: bytes, key: bytes) -> bytes | None:
    """Return the raw value of `"key":` in one line of JSON (a string without its quotes)."""
    at = data.find(b'"' + key + b'":')
    if at < 0:
        return None
    start = at + len(key) + 3
    while start < len(data) and data[start] == 0x20:
        start += 1
    if start < len(data) and data[start] == 0x22:  # a string
        end = data.find(b'"', start + 1)
        return data[start + 1 : end] if end > 0 else None
    end = start
    while end < len(data) and data[end] not in b",}":
        end += 1
    return data[start:end].strip()


class Slot:
    """One logical stream (one browser tab): survives reconnects, accumulates what it saw."""

    __slots__ = (
        "attempt_at",
        "busy",
        "delays",
        "dropped_at",
        "failures",
        "http_status",
        "job",
        "last_id",
        "ready_at",
        "retry_ms",
        "seqs",
        "slot",
        "state",
    )

    def __init__(self, slot: int, job: str, retry_ms: int) -> None:
        self.slot, self.job = slot, job
        self.seqs = array("q")
        self.delays = array("d")
        self.attempt_at: list[float] = []
        self.ready_at: list[float] = []
        self.dropped_at: list[float] = []
        self.failures = 0
        self.busy = 0
        self.http_status: dict[str, int] = {}
        self.last_id: bytes | None = None
        self.retry_ms = retry_ms
        self.state = "new"  # new, connecting, ready, waiting, done

    def as_dict(self) -> dict[str, Any]:
        """Return what the benchmark needs to compute loss, duplicates and delays."""
        return {
            "slot": self.slot,
            "job": self.job,
            "seqs": self.seqs.tolist(),
            "delays": [round(d, 6) for d in self.delays],
            "attempt_at": self.attempt_at,
            "ready_at": self.ready_at,
            "dropped_at": self.dropped_at,
            "failures": self.failures,
            "busy": self.busy,
            "http_status": self.http_status,
            "state": self.state,
        }


class StreamProtocol(asyncio.Protocol):
    """Read one HTTP/1.1 response carrying `text/event-stream`, chunked or not.

    `ready` resolves with the first bytes of the body (the server is streaming to us), unless
    they are a `busy` event (the server had no room: come back after its `retry:`);
    `closed` resolves with "eof", "error", "busy" or "http <status>" when the attempt ends.
    """

    def __init__(
        self, slot: Slot, request: bytes, ready: asyncio.Future[None], closed: asyncio.Future[str]
    ) -> None:
        self.slot = slot
        self.request = request
        self.ready = ready
        self.closed = closed
        self.raw = bytearray()
        self.body = bytearray()
        self.headers_done = False
        self.chunked = False
        self.chunk_left = 0  # 0: a size line comes next
        self.skip = 0  # bytes of CRLF still to drop after a chunk
        self.transport: Any = None  # uvloop's transports are not asyncio.Transport subclasses

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.time()
        if not self.headers_done:
            self.raw += data
            end = self.raw.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self._headers(bytes(self.raw[:end])):
                return
            data = bytes(self.raw[end + 4 :])
            self.raw.clear()
        if self.chunked:
            self._dechunk(data)
        else:
            self.body += data
        got_body = bool(self.body)
        self._events(now)
        if got_body and not self.ready.done() and not self.closed.done():
            self.slot.state = "ready"
            self.slot.ready_at.append(now)
            self.ready.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result("eof" if self.ready.done() else "error")

    def _refused_busy(self, block: bytes) -> None:
        """End an attempt the server answered `busy`: take its `retry:` and hang up."""
        for line in block.split(b"\n"):
            if line.startswith(b"retry:") and line[6:].strip().isdigit():
                self.slot.retry_ms = int(line[6:].strip())
        if not self.closed.done():
            self.closed.set_result("busy")
        assert self.transport is not None
        self.transport.close()

    def _headers(self, head: bytes) -> bool:
        lines = head.split(b"\r\n")
        status = lines[0].split(b" ", 2)[1].decode() if b" " in lines[0] else "?"
        self.slot.http_status[status] = self.slot.http_status.get(status, 0) + 1
        if status != "200":
            if not self.closed.done():
                self.closed.set_result(f"http {status}")
            assert self.transport is not None
            self.transport.close()
            return False
        self.headers_done = True
        self.chunked = any(
            line.lower().startswith(b"transfer-encoding:") and b"chunked" in line.lower()
            for line in lines[1:]
        )
        return True

    def _dechunk(self, data: bytes) -> None:
        raw = self.raw
        raw += data
        while raw:
            if self.skip:
                dropped = min(self.skip, len(raw))
                del raw[:dropped]
                self.skip -= dropped
                continue
            if self.chunk_left == 0:
                end = raw.find(b"\r\n")
                if end < 0:
                    return
                size = int(bytes(raw[:end]).split(b";")[0], 16)
                del raw[: end + 2]
                if size == 0:  # the server ended the response
                    assert self.transport is not None
                    self.transport.close()
                    return
                self.chunk_left = size
                continue
            take = min(self.chunk_left, len(raw))
            self.body += raw[:take]
            del raw[:take]
            self.chunk_left -= take
            if self.chunk_left == 0:
                self.skip = 2

    def _events(self, now: float) -> None:
        body = self.body
        while True:
            end = body.find(b"\n\n")
            if end < 0:
                return
            block = bytes(body[:end])
            del body[: end + 2]
            self._event(block, now)

    def _event(self, block: bytes, now: float) -> None:
        data = b""
        for line in block.split(b"\n"):
            if line.startswith(b"data:"):
                data = line[5:]
            elif line == b"event: busy" and not self.ready.done():
                self.slot.busy += 1
                self._refused_busy(block)
                return
            elif line.startswith(b"id:"):
                self.slot.last_id = line[3:].strip()
            elif line.startswith(b"retry:"):
                value = line[6:].strip()
                if value.isdigit():
                    self.slot.retry_ms = int(value)
        if not data:
            return
        seq, ts = json_field(data, b"seq"), json_field(data, b"ts")
        if seq is None or ts is None or not seq.isdigit():
            return
        try:
            delay = now - parse_ts(ts)
        except ValueError:
            return
        self.slot.seqs.append(int(seq))
        self.slot.delays.append(delay)


class Client:
    """Hold every stream of the spec open until told to stop."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.host: str = spec["host"]
        self.port: int = spec["port"]
        self.ips: list[str] = spec.get("source_ips") or ["127.0.0.1"]
        retry = int(spec.get("default_retry_ms", 2000))
        self.slots = [Slot(slot, job, retry) for slot, job in spec["streams"]]
        self.stopping = False
        self.transports: dict[int, Any] = {}
        self.opening = asyncio.Semaphore(int(spec.get("open_concurrency", 200)))
        self.open_rate = float(spec.get("open_rate") or 0)
        self.opened_all_at: float | None = None
        self.mark: float | None = None

    def request(self, slot: Slot) -> bytes:
        """Return the GET request of a slot, with Last-Event-ID once it has one."""
        path = self.spec["path"].format(job=slot.job)
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            "Accept: text/event-stream",
            "Cache-Control: no-cache",
        ]
        if self.spec.get("cookie"):
            lines.append(f"Cookie: {self.spec['cookie']}")
        head = ("\r\n".join(lines) + "\r\n").encode()
        if slot.last_id:
            head += b"Last-Event-ID: " + slot.last_id + b"\r\n"
        return head + b"\r\n"

    async def connect(self, slot: Slot) -> tuple[asyncio.Future[None], asyncio.Future[str]]:
        """Open one connection for `slot`; return its (ready, closed) futures."""
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
            sock.bind((self.ips[slot.slot % len(self.ips)], 0))
            sock.setblocking(False)
            await loop.sock_connect(sock, (self.host, self.port))
        except BaseException:
            sock.close()
            raise
        ready: asyncio.Future[None] = loop.create_future()
        closed: asyncio.Future[str] = loop.create_future()
        transport, _ = await loop.create_connection(
            lambda: StreamProtocol(slot, self.request(slot), ready, closed), sock=sock
        )
        self.transports[slot.slot] = transport
        return ready, closed

    async def run_slot(self, slot: Slot, first: bool, start_at: float = 0.0) -> None:
        """Keep one slot connected the way EventSource does, until stopped or refused; the
        first attempt at loop time `start_at` in an open storm (`open_rate`)."""
        if start_at:
            await asyncio.sleep(max(0.0, start_at - asyncio.get_running_loop().time()))
        while not self.stopping:
            slot.state = "connecting"
            try:
                if first and not self.open_rate:
                    async with self.opening:
                        closed = await self._open_until_ready(slot)
                    first = False
                else:
                    closed = await self._open_until_ready(slot)
                outcome = await closed
            except (OSError, TimeoutError):
                outcome = "error"
            transport = self.transports.pop(slot.slot, None)
            if transport is not None:
                transport.abort()
            if self.stopping:
                break
            if outcome.startswith("http"):
                slot.state = "done"  # EventSource gives up on a non-200 answer
                return
            if outcome == "error":
                slot.failures += 1  # a busy answer is not: the server said when to come back
            slot.dropped_at.append(time.time())
            slot.state = "waiting"
            await asyncio.sleep(slot.retry_ms / 1000 * random.uniform(1.0, 1.25))

    async def _open_until_ready(self, slot: Slot) -> asyncio.Future[str]:
        """Connect and wait for the first bytes of the body (or the end of the attempt)."""
        slot.attempt_at.append(time.time())
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            ready, closed = await self.connect(slot)
            waits: list[asyncio.Future[Any]] = [ready, closed]
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        return closed

    def status(self) -> dict[str, Any]:
        """Return counts for the parent: ready now, failures, answers, events, resumed."""
        ready = sum(1 for s in self.slots if s.state == "ready")
        codes: dict[str, int] = {}
        for slot in self.slots:
            for code, count in slot.http_status.items():
                codes[code] = codes.get(code, 0) + count
        resumed = caught_up = None
        if self.mark is not None:
            mark = self.mark
            resumed = sum(
                1 for s in self.slots if s.state == "ready" and s.ready_at and s.ready_at[-1] > mark
            )
            # Connected now, or connected at some moment after the mark: such a slot has
            # everything published before the mark (live, or replayed when it connected).
            caught_up = sum(
                1
                for s in self.slots
                if s.state == "ready"
                or (s.ready_at and s.ready_at[-1] > mark)
                or (s.dropped_at and s.dropped_at[-1] > mark)
            )
        return {
            "t": time.time(),
            "ready": ready,
            "total": len(self.slots),
            "failures": sum(s.failures for s in self.slots),
            "http": codes,
            "refused": sum(1 for s in self.slots if s.state == "done"),
            "busy": sum(s.busy for s in self.slots),
            "events": sum(len(s.seqs) for s in self.slots),
            "resumed": resumed,
            "caught_up": caught_up,
        }

    def command(self, line: str) -> None:
        """Handle a control line: `mark <unix time>` or `stop` (from the control thread)."""
        if line.startswith("mark "):
            self.mark = float(line.split()[1])
        elif line == "stop":
            self.stopping = True

    async def run(self) -> dict[str, Any]:
        """Open every slot, report status until told to stop; return what each slot saw."""
        loop = asyncio.get_running_loop()
        control.listen(lambda line: loop.call_soon_threadsafe(self.command, line))
        started = time.time()
        begin = loop.time()
        tasks = [
            asyncio.create_task(
                self.run_slot(slot, True, begin + index / self.open_rate if self.open_rate else 0.0)
            )
            for index, slot in enumerate(self.slots)
        ]
        every = float(self.spec.get("status_every_s", 0.5))
        while not self.stopping:
            control.say(**self.status())
            await asyncio.sleep(every)
        for transport in list(self.transports.values()):
            transport.abort()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return {"started": started, "slots": [slot.as_dict() for slot in self.slots]}


def main(argv: list[str] | None = None) -> int:
    """Run one client process from its spec file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    with open(args.spec) as handle:
        spec = json.load(handle)
    _raise_nofile()
    import uvloop

    result = uvloop.run(Client(spec).run())
    with open(args.out, "w") as handle:
        json.dump(result, handle, separators=(",", ":"))
    control.say(done=True)
    return 0


def _raise_nofile() -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


if __name__ == "__main__":
    sys.exit(main())
