"""SOAK: many streams for a long time with events flowing. Does the server's memory stay flat,
and does every stream's slot come back once the clients leave?

`python -m bench --workloads SOAK` runs 1,000 streams over 500 jobs for 10 minutes at 50
events/s (`--soak-*` to change). The server's RSS (every gunicorn worker, summed) is sampled
every `--soak-sample` seconds; growth is measured from the first sample after the warm-up
(`--soak-warmup`, one minute: imports, pools and caches filled) to the last sample before the
clients leave. Streams end themselves every `--soak-stream-age` seconds
(REALTIME_MAX_STREAM_AGE_S) and the clients come back with Last-Event-ID, as browsers do, so
the soak also churns subscriptions. Once the clients have gone, each worker must hold no
stream socket and /metrics must say `realtime_streams_open 0`.

The gauge is per process and gunicorn's workers share one port, so a scrape reaches whichever
worker accepts it: the check scrapes many times at once, and counts each worker's sockets on
the port from /proc, which is exact per process.
"""

import dataclasses
import re
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench import measure, workloads
from bench.control import Child
from bench.systems import System, free_port
from bench.workloads import Context, StreamPlan

SETTLE_AFTER_LEAVE_S = 20.0
"""The longest wait, once the clients have gone, for the gauge and the sockets to reach 0."""
SCRAPES = 16
"""Concurrent /metrics scrapes per check, spread over the workers by the kernel."""
TCP_ESTABLISHED = "01"
CAUGHT_UP_MARGIN_S = 1.0
"""Past the last publish, every event is delivered to a connected stream within this."""
RECONNECT_MAX_S = 10.0
"""A stream's longest way back: the server's retry (2 s plus up to 2 s) times up to 1.25."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class SoakPlan:
    """The soak's own knobs, besides the stream plan."""

    sample_s: float
    """Seconds between RSS samples."""
    warmup_s: float
    """Seconds after the events start before the growth baseline is taken."""
    stream_age_s: float
    """REALTIME_MAX_STREAM_AGE_S of the server: how often every stream reconnects."""


def run_soak(ctx: Context, system: System, plan: StreamPlan, soak: SoakPlan) -> dict[str, Any]:
    """Run the soak on `system`; return the usual run figures plus a `soak` section."""
    system = dataclasses.replace(
        system, extra_env={**system.extra_env, "REALTIME_MAX_STREAM_AGE_S": str(soak.stream_age_s)}
    )
    jobs = system.make_jobs(plan.jobs)
    slots = [(i, jobs[i % len(jobs)]) for i in range(plan.streams)]
    tag = f"{plan.workload}-{plan.streams}"
    port = free_port()
    server = system.start_server(port, tag)
    sampler = measure.Sampler(
        server.popen.pid, ctx.admin_url, [system.database], every_s=soak.sample_s
    )
    try:
        time.sleep(ctx.settle_s)
        baseline = sampler.sample()
        sampler.start()
        publishers = workloads.start_publishers(ctx, system, jobs, plan, tag)
        clients = workloads.start_clients(ctx, system, port, slots, tag)
        opened = workloads.wait_open(clients, plan.streams)
        for publisher in publishers:
            publisher.wait_for("ready", 120)
        time.sleep(ctx.settle_s)
        cpu_start = measure.cpu_by_pid(sampler.sample())
        t_go = time.time()
        for publisher in publishers:
            publisher.send("go")
        time.sleep(max(0.0, t_go + plan.duration_s - time.time()))
        last = sampler.sample()
        pub_results = workloads.stop_all(publishers, timeout=60)
        caught_up = wait_caught_up(clients, plan.streams, soak)
        workloads.drain(clients)
        t_end = time.time()
        cpu_end = measure.cpu_by_pid(sampler.sample())
        client_results = workloads.stop_all(clients, timeout=120)
        left = after_clients_left(server, port)
    finally:
        sampler.stop()
        workloads.stop_server(server)
    slots_out = [slot for result in client_results for slot in result["slots"]]
    opened["open_s"] = workloads.open_seconds(client_results)
    figures = workloads.summarize(
        system,
        plan,
        slots_out,
        pub_results,
        sampler,
        baseline,
        opened,
        (t_go, t_end),
        cpu_start,
        cpu_end,
    )
    figures["soak"] = (
        memory_growth(sampler.samples, t_go=t_go, last=last, soak=soak)
        | left
        | {
            "reconnects": sum(len(slot["ready_at"]) - 1 for slot in slots_out if slot["ready_at"]),
            "stream_age_s": soak.stream_age_s,
            "caught_up_after_stop_s": caught_up,
        }
    )
    return figures


def wait_caught_up(clients: list[Child], streams: int, soak: SoakPlan) -> float | None:
    """Wait until every stream has what was published (a stream that the server ended just
    before the last events is still waiting to reconnect); return how long it took."""
    mark = time.time() + CAUGHT_UP_MARGIN_S  # every event published before it is delivered
    time.sleep(CAUGHT_UP_MARGIN_S)
    for client in clients:
        client.send(f"mark {mark}")
    deadline = mark + soak.stream_age_s + RECONNECT_MAX_S
    while time.time() < deadline:
        time.sleep(0.3)
        counts = [(client.last("caught_up") or {}).get("caught_up") for client in clients]
        if all(count is not None for count in counts) and sum(counts) >= streams:
            return round(time.time() - mark, 1)
    return None


def memory_growth(
    samples: list[measure.Sample], *, t_go: float, last: measure.Sample, soak: SoakPlan
) -> dict[str, Any]:
    """Return the RSS series (MB, by seconds since the events started) and its growth."""
    series = [
        (round(s.t - t_go, 1), round(total_rss_kb(s) / 1024, 1))
        for s in samples
        if t_go <= s.t <= last.t
    ]
    warm = next((s for s in samples if s.t >= t_go + soak.warmup_s and s.t <= last.t), None)
    if warm is None:
        return {
            "rss_series_mb": series,
            "rss_growth_pct": None,
            "note": "the run ended before the warm-up did",
        }
    start_kb, end_kb = total_rss_kb(warm), total_rss_kb(last)
    return {
        "rss_series_mb": series,
        "rss_warm_mb": round(start_kb / 1024, 1),
        "rss_warm_at_s": round(warm.t - t_go, 1),
        "rss_end_mb": round(end_kb / 1024, 1),
        "rss_end_at_s": round(last.t - t_go, 1),
        "rss_growth_pct": round((end_kb - start_kb) / start_kb * 100, 2),
        "workers_restarted": {w.pid for w in warm.workers} != {w.pid for w in last.workers},
    }


def total_rss_kb(sample: measure.Sample) -> int:
    """Return the RSS of every worker of a sample, added up."""
    return sum(worker.rss_kb for worker in sample.workers)


def after_clients_left(server: Child, port: int) -> dict[str, Any]:
    """Wait (bounded) until no worker holds a stream; return what the gauge and /proc said."""
    started = time.monotonic()
    gauges: list[float | None] = []
    sockets: dict[int, int] = {}
    while time.monotonic() - started < SETTLE_AFTER_LEAVE_S:
        sockets = {
            pid: established_sockets(pid, port) for pid in measure.children(server.popen.pid)
        }
        gauges = scrape_gauges(port, "realtime_streams_open", SCRAPES)
        if not any(sockets.values()) and gauges and all(g == 0 for g in gauges):
            break
        time.sleep(0.5)
    return {
        "left_after_s": round(time.monotonic() - started, 1),
        "streams_open_scrapes": gauges,
        "streams_open_zero": bool(gauges) and all(g == 0 for g in gauges),
        "sockets_by_worker": sockets,
        "sockets_zero": not any(sockets.values()),
    }


def scrape_gauges(port: int, name: str, count: int) -> list[float | None]:
    """Scrape /metrics `count` times at once; return the gauge `name` of each answer."""
    found: list[float | None] = [None] * count

    def scrape(index: int) -> None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
                text = answer.read().decode()
        except OSError:
            return
        match = re.search(rf"^{name} ([0-9.e+-]+)$", text, re.MULTILINE)
        found[index] = float(match.group(1)) if match else None

    threads = [threading.Thread(target=scrape, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    return found


def established_sockets(pid: int, port: int) -> int:
    """Return how many established TCP connections on local `port` process `pid` holds."""
    inodes = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            target = fd.readlink().as_posix() if fd.is_symlink() else ""
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        return 0
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == TCP_ESTABLISHED and fields[9] in inodes:
                count += 1
    return count
