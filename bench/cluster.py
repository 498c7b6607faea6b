"""The doorbell alone, on a Redis Cluster (sharded pub/sub) against one Redis.

    scripts/services && scripts/services cluster
    .venv/bin/python -m bench.cluster                      # both targets, 3 runs each
    .venv/bin/python -m bench.cluster --rate 2000 --channels 500 --duration 10 --runs 3

One subscriber process (this one) holds a hub with the real link, `--channels` channels with
two subscriptions each and a reader task per subscription, as two streams per job would.
`--publishers` separate processes send `--rate` events/s in all, round robin over the
channels, through the real background publisher (PUBLISH to one Redis; SPUBLISH, one pipeline
per master, on the cluster) for `--duration` seconds. Delay is from the publish call (the
message's `ts`) to the reader. Each target runs `--runs` times, taking turns, each run in a
fresh process; the report gives every run and the medians. Talks only to 127.0.0.1; needs
no database (the hub's database source is empty).
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SINGLE = "redis://127.0.0.1:6379/0"
CLUSTER = "redis+cluster://127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103"


def _setup(url: str) -> None:
    os.environ["REDIS_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "composer_realtime.settings")
    os.environ.setdefault("DATABASE_URL", "sqlite:////tmp/composer-bench-cluster.sqlite3")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def _channel(prefix: str, index: int) -> str:
    return f"bench:{prefix}:{index}"


def publish(args: argparse.Namespace) -> None:
    """Publish `rate / publishers` events/s for `duration` s; print what was sent."""
    _setup(args.url)
    from realtime import publisher
    from realtime.broker import clients
    from realtime.message import Message

    _warm_up(clients.sync_client())
    rate = args.rate / args.publishers
    ids = Counter[int]()
    sent = 0
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < args.duration:
        for _ in range(int(elapsed * rate) - sent):
            index = (sent * args.publishers + args.part) % args.channels
            ids[index] += 1
            message = Message(id=ids[index], event="e", data='{"bench":1}', ts=time.time())
            publisher.PUBLISHER.submit(_channel(args.prefix, index), message)
            sent += 1
        time.sleep(0.005)
    publisher.PUBLISHER.flush(30)
    print(json.dumps({"sent": sent, "ids": {str(k): v for k, v in ids.items()}}))


def _warm_up(client: Any) -> None:
    """Connect to every master before the clock starts (a cluster client connects lazily)."""
    import redis

    if isinstance(client, redis.RedisCluster):
        for node in client.get_primaries():
            client.get_redis_connection(node).ping()
    else:
        client.ping()


async def subscribe_and_measure(args: argparse.Namespace, prefix: str) -> dict[str, Any]:
    """Run one measured run: subscribe, start the publishers, read until they are done."""
    from realtime.hub import Hub
    from realtime.message import Message
    from realtime.subscription import Subscription

    hub = Hub(redis_url=args.url, queue_size=256, poll_s=1.0, source=lambda cursors: [])
    hub.start()
    delays: list[float] = []
    received: Counter[tuple[int, int]] = Counter()
    resyncs = 0

    async def read(index: int, sub: Subscription) -> None:
        nonlocal resyncs
        while True:
            item = await sub.get(5.0)
            if isinstance(item, Message):
                delays.append(time.time() - item.ts)
                received[(index, item.id)] += 1
            elif item == "resync":
                resyncs += 1

    try:
        await hub.settled_state(5.0)
        subs = [
            (i, await hub.subscribe(_channel(prefix, i)))
            for i in range(args.channels)
            for _ in range(2)
        ]
        readers = [asyncio.create_task(read(i, sub)) for i, sub in subs]
        started = time.monotonic()
        results = await asyncio.gather(
            *(
                asyncio.to_thread(_run_publisher, args, prefix, part)
                for part in range(args.publishers)
            )
        )
        await asyncio.sleep(1.0)  # the last messages' way through
        for task in readers:
            task.cancel()
        elapsed = time.monotonic() - started
    finally:
        await hub.close()
    return _summary(results, received, delays, resyncs, args.duration, elapsed)


def _run_publisher(args: argparse.Namespace, prefix: str, part: int) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "bench.cluster",
        "--publish",
        "--url",
        args.url,
        "--prefix",
        prefix,
        "--part",
        str(part),
        "--publishers",
        str(args.publishers),
        "--rate",
        str(args.rate),
        "--channels",
        str(args.channels),
        "--duration",
        str(args.duration),
    ]
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, check=True, timeout=args.duration + 60
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _summary(
    results: list[dict[str, Any]],
    received: Counter[tuple[int, int]],
    delays: list[float],
    resyncs: int,
    duration: float,
    elapsed: float,
) -> dict[str, Any]:
    expected = {
        (int(k), n) for r in results for k, top in r["ids"].items() for n in range(1, top + 1)
    }
    ordered = sorted(delays)

    def pct(q: float) -> float:
        return round(ordered[max(0, int(q / 100 * len(ordered)) - 1)] * 1000, 2)

    return {
        "sent": sum(r["sent"] for r in results),
        "deliveries": len(delays),
        "deliveries_per_s": round(len(delays) / duration),
        "lost": sum(2 - min(2, received[key]) for key in expected),
        "duplicated": sum(max(0, count - 2) for count in received.values()),
        "resyncs": resyncs,
        "p50_ms": pct(50) if ordered else None,
        "p99_ms": pct(99) if ordered else None,
        "max_ms": round(ordered[-1] * 1000, 2) if ordered else None,
        "elapsed_s": round(elapsed, 1),
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Run one measured run on `args.url`."""
    _setup(args.url)
    return asyncio.run(subscribe_and_measure(args, f"{time.time_ns()}"))


def medians(runs: list[dict[str, Any]]) -> dict[str, float]:
    """Return the median of each figure over `runs`."""
    keys = ("deliveries_per_s", "p50_ms", "p99_ms", "max_ms", "lost", "duplicated")
    return {
        key: statistics.median(r[key] for r in runs)
        for key in keys
        if all(r[key] is not None for r in runs)
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--targets",
        default="single,cluster",
        help="comma list of single, cluster (or a redis:// URL)",
    )
    parser.add_argument("--rate", type=float, default=2000.0, help="events/s in all")
    parser.add_argument("--channels", type=int, default=500)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--publishers", type=int, default=1)
    parser.add_argument("--publish", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", default="", help=argparse.SUPPRESS)
    parser.add_argument("--prefix", default="", help=argparse.SUPPRESS)
    parser.add_argument("--part", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publish:
        publish(args)
        return 0
    if args.url:  # one target, in this process
        print(json.dumps(measure(args)))
        return 0
    targets = {t: {"single": SINGLE, "cluster": CLUSTER}.get(t, t) for t in args.targets.split(",")}
    runs: dict[str, list[dict[str, Any]]] = {t: [] for t in targets}
    for _ in range(args.runs):  # the targets take turns: a shared machine's load hits both
        for target, url in targets.items():
            # A process per run: Django's settings (REDIS_URL) are read once per process.
            command = [sys.executable, "-m", "bench.cluster", "--url", url, *_passed(args)]
            done = subprocess.run(
                command, cwd=ROOT, capture_output=True, text=True, timeout=args.duration + 120
            )
            if done.returncode != 0:
                print(done.stderr[-3000:], file=sys.stderr)
                return 1
            runs[target].append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(
        json.dumps(
            {t: {"url": targets[t], "median": medians(r), "runs": r} for t, r in runs.items()},
            indent=1,
        )
    )
    return 0


def _passed(args: argparse.Namespace) -> list[str]:
    return [
        "--rate",
        str(args.rate),
        "--channels",
        str(args.channels),
        "--duration",
        str(args.duration),
        "--publishers",
        str(args.publishers),
    ]


if __name__ == "__main__":
    raise SystemExit(main())
