"""The machine's limits that decide whether 10,000 loopback connections can be held at all."""

import os
import queue
import resource
import statistics
import threading
import time
from pathlib import Path
from typing import Any

SOURCE_IPS = [f"127.0.0.{i}" for i in range(1, 9)]
"""Client source addresses: each has its own ephemeral port range towards one server port."""


def raise_nofile() -> tuple[int, int]:
    """Raise this process's open-file soft limit to the hard limit; return (soft, hard)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def sysctl(name: str) -> str:
    """Return a sysctl value from /proc/sys ("?" when unreadable)."""
    try:
        return Path("/proc/sys", *name.split(".")).read_text().strip()
    except OSError:
        return "?"


def facts() -> dict[str, Any]:
    """Return the limits and the load of the machine, for the report."""
    soft, hard = raise_nofile()
    low, high = (int(x) for x in sysctl("net.ipv4.ip_local_port_range").split())
    return {
        "cpus": len(os.sched_getaffinity(0)),
        "nofile_soft": soft,
        "nofile_hard": hard,
        "somaxconn": sysctl("net.core.somaxconn"),
        "tcp_max_syn_backlog": sysctl("net.ipv4.tcp_max_syn_backlog"),
        "ip_local_port_range": f"{low}-{high}",
        "ephemeral_ports": high - low + 1,
        "tcp_tw_reuse": sysctl("net.ipv4.tcp_tw_reuse"),
        "pid_max": int(sysctl("kernel.pid_max") or 0),
        "source_ips": SOURCE_IPS,
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
        "mem_available_mb": _meminfo_mb("MemAvailable"),
    }


LOOP_ADDS = 2_000_000
"""Additions in the pure-Python loop whose time `speed` reports."""

HOPS = 2_000
"""Round trips between two threads whose median `speed` reports."""


def speed() -> dict[str, float]:
    """Return how fast this machine runs what the server does most, before anything starts:
    a pure-Python loop (ms for LOOP_ADDS additions, median of three) and a round trip to
    another thread and back (µs, median of HOPS: a sync_to_async hop is two such wake-ups).

    The figures of runs on machines whose speeds differ are not comparable: a new machine of
    the same kind can run the same code at a multiple of the CPU (docs/performance.md, the
    section of 2026-12-04 on a new machine).
    """
    loops = []
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for number in range(LOOP_ADDS):
            total += number
        loops.append((time.perf_counter() - started) * 1000)
    there: queue.SimpleQueue[float | None] = queue.SimpleQueue()
    back: queue.SimpleQueue[float] = queue.SimpleQueue()

    def echo() -> None:
        while (item := there.get()) is not None:
            back.put(item)

    thread = threading.Thread(target=echo, daemon=True)
    thread.start()
    hops = []
    for _ in range(HOPS):
        started = time.perf_counter()
        there.put(started)
        back.get()
        hops.append((time.perf_counter() - started) * 1e6)
    there.put(None)
    thread.join()
    return {
        "python_loop_ms": round(statistics.median(loops), 1),
        "thread_hop_us": round(statistics.median(hops), 1),
    }


def speed_text(speed: dict[str, float]) -> str:
    """Return a speed reading in words, for the printout."""
    return (
        f"{LOOP_ADDS:,} Python adds in {speed['python_loop_ms']} ms, "
        f"a thread hop {speed['thread_hop_us']} us"
    )


def warnings_for(
    host: dict[str, Any],
    *,
    max_streams: int,
    client_procs: int,
    peer: bool = False,
    open_rate: float = 0.0,
) -> list[str]:
    """Return what in these limits would make a run with `max_streams` streams fail (or, for
    an open storm at `open_rate` streams/s, measure the kernel rather than the server)."""
    found = []
    if open_rate and int(host["somaxconn"]) < min(max_streams, 65535):
        found.append(
            f"net.core.somaxconn={host['somaxconn']}: an open storm of {max_streams} streams at "
            f"{open_rate:.0f}/s can overflow each listen backlog, and dropped SYNs come back "
            f"after the client's retransmission delay (raise it to 65535, docs/serving.md)"
        )
    if peer and host["pid_max"] < max_streams + 8000:
        found.append(
            f"kernel.pid_max={host['pid_max']}: the peer runs one thread per stream "
            f"and {max_streams} of them come close to it (every thread takes a pid)"
        )
    per_client = -(-max_streams // max(1, client_procs)) + 64
    if host["nofile_hard"] < per_client:
        found.append(
            f"open-file hard limit {host['nofile_hard']} < {per_client} needed per "
            f"client process: raise `ulimit -Hn` or use more client processes"
        )
    if int(host["somaxconn"]) < 1024:
        found.append(
            f"net.core.somaxconn={host['somaxconn']} caps the listen backlog; a "
            f"reconnect storm will see dropped SYNs (raise it to 4096)"
        )
    if host["ephemeral_ports"] * len(SOURCE_IPS) < 3 * max_streams:
        found.append("too few ephemeral ports for the streams and their reconnects")
    return found


def _meminfo_mb(key: str) -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) // 1024
    return -1
