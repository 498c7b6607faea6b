"""Instructions per delivery in one web process, counted by callgrind: a figure a busy machine
does not move.

`python -m bench.instructions [--streams 200] [--events 20] [--writer]`

Wall-clock and CPU figures move with whatever else shares the machine; the instructions a
process executes for the same work move by a percent or so. This serves the application the
production way in one process (uvicorn with the production HTTP protocol, uvloop, httptools,
DEBUG off, the per-client caps lifted as in the benchmark) under `valgrind --tool=callgrind`,
counting nothing until the streams are open. Then, for two jobs in turn, one watched by one
stream and one by `--streams`, it counts the whole process's instructions while `--events`
progress events are recorded one at a time (each fanned out and read by every stream before
the next, as at W2's pace; five times as many on the one stream). The first, less what the
idle process runs over as long (its timers), gives what one event costs the process with
one stream (the hub's read, one wake, one write); the rest of the second, what each further
stream adds to a fan-out. `--writer` also
counts the writer: the same events recorded by a child process under callgrind (its main
thread and its publisher thread; the database's own work is not in it). Needs PostgreSQL and
Redis as the benchmark does; makes its own database (`--database`).
"""

import argparse
import json
import os
import re
import select
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench import control
from bench.control import Child
from bench.systems import free_port, ours

READY_TIMEOUT_S = 600.0
"""Django starts some fifty times slower under valgrind."""
EVENT_TIMEOUT_S = 120.0
IDLE_S = 5.0
"""How long the idle process's own instructions are counted, before the streams open."""
ONE_STREAM_TIMES = 5
"""The one-stream phase records this many times `--events`: its small total must average
out the garbage collections that happen to fall in it."""
_TOTALS = re.compile(rb"^totals:\s+(\d+)", re.MULTILINE)


def main(argv: list[str] | None = None) -> int:
    """Count, print and write the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.instructions")
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--writer", action="store_true", help="count the writer's too")
    parser.add_argument("--database", default="composer_bench_instructions")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--write-child", metavar="JOB", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.write_child:
        return _write_child(args.write_child)
    result = measure(args)
    print(json.dumps(result, indent=2))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Run the two phases (and the writer's count); return the figures."""
    work = Path(tempfile.mkdtemp(prefix="composer-instructions-"))
    registry: list[Child] = []
    system = ours(
        database=args.database,
        database_url=os.environ.get("DATABASE_URL")
        or "postgres://postgres@127.0.0.1:5432/composer",
        redis_url=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
        secret_key="instructions-" + "x" * 50,
        web_processes=1,
        pool_size=4,
        log_dir=work,
        registry=registry,
    )
    try:
        system.prepare(connection_limit=20)
        jobs = system.make_jobs(2, start=True)
        port = free_port()
        server = _serve(system, port, work, registry)
        idle_per_s = _count_idle(server, IDLE_S, work) / IDLE_S
        phases = {}
        for name, job, streams, events in (
            ("one", jobs[0], 1, ONE_STREAM_TIMES * args.events),
            ("many", jobs[1], args.streams, args.events),
        ):
            socks = [_open(port, job, system.cookie) for _ in range(streams)]
            started = time.monotonic()
            phases[name] = _count_phase(server, socks, job, system, events, work)
            if name == "one":  # what its timers ran meanwhile is not the event's
                phases["idle"] = round(idle_per_s * (time.monotonic() - started))
            for sock in socks:
                sock.close()
        result = _figures(phases, args)
        if args.writer:
            result["writer_instructions_per_event"] = _count_writer(system, jobs[0], args.events)
        return result
    finally:
        for child in registry:
            control.kill_group(child.popen.pid)


def _serve(system: Any, port: int, work: Path, registry: list[Child]) -> Child:
    argv = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={work}/web.%p",
        sys.executable,
        "-m",
        "uvicorn",
        "composer_realtime.asgi:application",
        "--host=127.0.0.1",
        f"--port={port}",
        "--loop=uvloop",
        "--http=composer_realtime.http_protocol:BoundedHttpToolsProtocol",
        "--no-access-log",
        "--no-proxy-headers",
        "--lifespan=on",
    ]
    server = control.spawn("web", argv, env=system.env("web"), log_dir=work, registry=registry)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30):
                return server
        except OSError:
            if time.monotonic() > deadline or not server.alive():
                log = control.tail(server.log_path)
                raise RuntimeError(f"the server did not start:\n{log}") from None
            time.sleep(1)


def _open(port: int, job: str, cookie: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=READY_TIMEOUT_S)
    sock.sendall(
        f"GET /api/jobs/{job}/events?last_event_id=1000000000 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Cookie: {cookie}\r\n\r\n".encode()
    )
    received = b""
    while b"event: ready" not in received:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError(f"the stream closed before it was ready: {received[:300]!r}")
        received += chunk
    return sock


def _count_phase(
    server: Child, socks: list[socket.socket], job: str, system: Any, events: int, work: Path
) -> int:
    """Return the instructions the server ran while `events` were fanned out to `socks`."""
    writer = _spawn_writer(system, job, work, under_valgrind=False)
    pid = server.popen.pid
    _callgrind(pid, "--instr=on")
    _callgrind(pid, "--zero")
    for _ in range(events):
        writer.send("next")
        _read_one_event(socks)
    total = _dump(pid, work, "web.*")
    _callgrind(pid, "--instr=off")
    writer.send("stop")
    return total


def _count_idle(server: Child, seconds: float, work: Path) -> int:
    """Return the instructions the server runs in `seconds` with nothing to do (its timers,
    taken out of the one-stream phase in proportion to its length)."""
    pid = server.popen.pid
    _callgrind(pid, "--instr=on")
    _callgrind(pid, "--zero")
    time.sleep(seconds)
    total = _dump(pid, work, "web.*")
    _callgrind(pid, "--instr=off")
    return total


def _read_one_event(socks: list[socket.socket]) -> None:
    """Wait until every stream has received one more progress event."""
    waiting = {sock: b"" for sock in socks}
    deadline = time.monotonic() + EVENT_TIMEOUT_S
    while waiting:
        ready, _, _ = select.select(list(waiting), [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise TimeoutError(f"{len(waiting)} stream(s) did not get the event")
        for sock in ready:
            waiting[sock] += sock.recv(65536)
            if b"event: progress-update" in waiting[sock]:
                del waiting[sock]


def _spawn_writer(system: Any, job: str, work: Path, *, under_valgrind: bool) -> Child:
    argv = [sys.executable, "-m", "bench.instructions", "--write-child", job]
    if under_valgrind:
        argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={work}/writer.%p", *argv]
    writer = control.spawn("writer", argv, env=system.env("pub"), log_dir=work, registry=[])
    writer.wait_for("ready", READY_TIMEOUT_S)
    return writer


def _count_writer(system: Any, job: str, events: int) -> float:
    """Return the instructions per event of a writer process (its start-up not counted)."""
    work = Path(tempfile.mkdtemp(prefix="composer-writer-"))
    writer = _spawn_writer(system, job, work, under_valgrind=True)
    try:
        _callgrind(writer.popen.pid, "--zero")
        for n in range(1, events + 1):
            writer.send("next")
            _wait_written(writer, n)
        return round(_dump(writer.popen.pid, work, "writer.*") / events)
    finally:
        writer.send("stop")
        writer.popen.wait(timeout=READY_TIMEOUT_S)


def _wait_written(writer: Child, count: int) -> None:
    deadline = time.monotonic() + EVENT_TIMEOUT_S
    while (writer.last("written") or {}).get("written", 0) < count:
        if time.monotonic() > deadline or not writer.alive():
            raise TimeoutError(f"the writer did not record event {count}")
        time.sleep(0.01)


def _write_child(job_id: str) -> int:
    """Record one progress event per "next" from the parent, each published before the next
    (as at W2's pace), until "stop"."""
    import queue

    import django

    django.setup()
    from jobs.models import Job
    from jobs.services import job_report_progress
    from realtime.publisher import PUBLISHER

    job = Job.objects.get(pk=job_id)
    commands: queue.Queue[str] = queue.Queue()
    control.listen(commands.put)
    control.say(ready=True)
    written = 0
    while commands.get() == "next":
        job_report_progress(job=job, percent=written % 101, message=f"event {written}")
        PUBLISHER.flush(EVENT_TIMEOUT_S)
        written += 1
        control.say(written=written)
    return 0


def _dump(pid: int, work: Path, pattern: str) -> int:
    """Return the instructions counted since the last zero (callgrind zeroes them again)."""
    before = set(work.glob(pattern))
    _callgrind(pid, "--dump")
    [dump] = set(work.glob(pattern)) - before
    return _totals(dump)


def _callgrind(pid: int, option: str) -> None:
    subprocess.run(["callgrind_control", option, str(pid)], check=True, capture_output=True)


def _totals(dump: Path) -> int:
    found = _TOTALS.search(dump.read_bytes())
    if found is None:
        raise RuntimeError(f"no totals in {dump}")
    return int(found[1])


def _figures(phases: dict[str, int], args: argparse.Namespace) -> dict[str, Any]:
    one, many = phases["one"], phases["many"]
    per_event = (one - phases["idle"]) / (ONE_STREAM_TIMES * args.events)
    return {
        "streams": args.streams,
        "events": args.events,
        "instructions": phases,
        "per_event_with_one_stream": round(per_event),
        "per_extra_stream": round((many / args.events - per_event) / (args.streams - 1)),
    }


if __name__ == "__main__":
    sys.exit(main())
