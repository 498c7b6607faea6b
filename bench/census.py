"""What one open stream keeps: a census of a web process's objects at two stream counts.

`python -m bench.census [--sizes 1000,5000]` sets up the benchmark's database, serves the
app in one process of its own (`serve` below: uvicorn with uvloop and the production HTTP
protocol, as the gunicorn worker runs it, proxy headers off), opens the first size's streams
with the benchmark's clients (two streams per job, no events), takes a census, opens the rest,
takes another, and prints what each extra stream added: objects the garbage collector tracks
by type (count and `sys.getsizeof`, shallow), and RSS. The difference of the two censuses over
the difference of the stream counts is per stream; whatever the process made once (modules,
pools, caches) cancels out. Objects the collector does not track (bytes, str, int) and memory
no Python object accounts for (uvloop handles, allocator overhead) show only in RSS.
"""

import argparse
import asyncio
import gc
import json
import os
import secrets
import sys
import tempfile
import time
import types
from collections import Counter
from pathlib import Path
from typing import Any

from bench import control, workloads
from bench.systems import ours, wait_http

PAGE_KB = os.sysconf("SC_PAGE_SIZE") / 1024


_BY_CODE = (types.CoroutineType, types.AsyncGeneratorType, types.GeneratorType)
"""Kinds counted by their code's name too (`builtins.coroutine Subscription.get`)."""


def census() -> dict[str, Any]:
    """Return the process's gc-tracked objects by type (count, shallow bytes) and its RSS."""
    gc.collect()
    counts: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    for thing in gc.get_objects():
        kind = type(thing)
        name = f"{kind.__module__}.{kind.__qualname__}"
        if kind in _BY_CODE:  # which coroutine or generator, not only how many
            name += f" {thing.__qualname__}"
        counts[name] += 1
        sizes[name] += sys.getsizeof(thing)
    with open("/proc/self/statm") as statm:
        rss_kb = int(statm.read().split()[1]) * PAGE_KB
    return {"counts": dict(counts), "sizes": dict(sizes), "rss_kb": rss_kb}


def serve(port: int) -> None:
    """Serve the app on `port` in this process; answer `census` commands on stdin."""
    import uvicorn
    import uvloop

    from composer_realtime.http_protocol import BoundedHttpToolsProtocol, HeadLimits

    config = uvicorn.Config(
        "composer_realtime.asgi:application",
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http=BoundedHttpToolsProtocol,
        proxy_headers=False,
        lifespan="on",
        log_level="warning",
        backlog=4096,
        access_log=False,
    )
    config.head_limits = HeadLimits()  # type: ignore[attr-defined]  # one, as the worker's
    server = uvicorn.Server(config)

    async def main() -> None:
        loop = asyncio.get_running_loop()

        def on_command(line: str) -> None:
            if line == "stop":
                server.should_exit = True
            elif line.startswith("census "):
                label = line.split()[1]
                # On the loop: the census sees the streams as they are between two callbacks.
                loop.call_soon_threadsafe(lambda: control.say(census=label, **census()))

        control.listen(on_command)
        await server.serve()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:  # as the worker runs
        runner.run(main())


def per_stream(low: dict[str, Any], high: dict[str, Any], streams: int) -> dict[str, Any]:
    """Return what `streams` extra streams added, per stream, the largest types first."""
    names = set(low["sizes"]) | set(high["sizes"])
    rows = []
    for name in names:
        count = (high["counts"].get(name, 0) - low["counts"].get(name, 0)) / streams
        size = (high["sizes"].get(name, 0) - low["sizes"].get(name, 0)) / streams
        if abs(count) >= 0.05 or abs(size) >= 8:
            rows.append({"type": name, "objects": round(count, 2), "bytes": round(size)})
    rows.sort(key=lambda row: -row["bytes"])
    return {
        "rss_kb_per_stream": round((high["rss_kb"] - low["rss_kb"]) / streams, 2),
        "objects_per_stream": round(sum(r["objects"] for r in rows), 1),
        "shallow_kb_per_stream": round(sum(r["bytes"] for r in rows) / 1024, 2),
        "types": rows,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the census at two sizes; print and write what a stream keeps."""
    parser = argparse.ArgumentParser(prog="python -m bench.census", description=__doc__)
    parser.add_argument("command", nargs="?", default="run", choices=["run", "serve"])
    parser.add_argument("--sizes", default="1000,5000", help="two stream counts")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--database", default="composer_bench_census")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.port)
        return 0
    low_n, high_n = (int(size) for size in args.sizes.split(","))
    run_dir = Path(tempfile.mkdtemp(prefix="census-"))
    registry: list[control.Child] = []
    try:
        result = _run(args, run_dir, registry, low_n, high_n)
    finally:
        for child in registry:
            child.kill()
    print(json.dumps({k: v for k, v in result.items() if k != "types"}, indent=1))
    for row in result["types"][:30]:
        print(f"{row['bytes']:7d} B {row['objects']:6.2f}  {row['type']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


def _run(
    args: argparse.Namespace, run_dir: Path, registry: list[control.Child], low_n: int, high_n: int
) -> dict[str, Any]:
    from bench.run import DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL
    from bench.systems import free_port

    system = ours(
        database=args.database,
        database_url=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
        redis_url=os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL,
        secret_key=secrets.token_urlsafe(48),
        web_processes=1,
        pool_size=10,
        log_dir=run_dir,
        registry=registry,
    )
    system.prepare(connection_limit=30)
    jobs = system.make_jobs(max(1, high_n // 2))
    port = free_port()
    server = control.spawn(
        "census-server",
        [sys.executable, "-m", "bench.census", "serve", "--port", str(port)],
        env=system.env("web"),
        log_dir=run_dir,
        registry=registry,
    )
    wait_http(port, "/healthz", server)
    ctx = workloads.Context(run_dir=run_dir, registry=registry, admin_url="")
    slots = [(slot, jobs[slot % len(jobs)]) for slot in range(high_n)]
    taken = []
    for label, start, end in (("low", 0, low_n), ("high", low_n, high_n)):
        clients = workloads.start_clients(ctx, system, port, slots[start:end], label)
        opened = workloads.wait_open(clients, end - start)
        if opened["timed_out"]:
            raise RuntimeError(f"{label}: only {opened['ready']} of {end - start} opened")
        time.sleep(2)
        server.send(f"census {label}")
        taken.append(server.wait_for("census", 60) if label == "low" else _second(server))
    server.send("stop")
    return {"sizes": [low_n, high_n], **per_stream(taken[0], taken[1], high_n - low_n)}


def _second(server: control.Child) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = server.last("census")
        if found is not None and found["census"] == "high":
            return found
        time.sleep(0.1)
    raise TimeoutError("no second census")


if __name__ == "__main__":
    raise SystemExit(main())
