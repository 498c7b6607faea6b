"""The workloads: W1 per-job, W2 one busy job, W3 polling, W4 reconnect storm, WRITE.

Every stream workload follows the same steps: fresh jobs, a fresh server, a baseline sample,
publishers ready, every stream open, then the publishers start; after the duration they stop,
the streams get a moment to drain, and everything is torn down and counted.
"""

import json
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import control, measure, stages, stats
from bench.control import Child
from bench.profile import Profiler
from bench.systems import System, free_port

OPEN_TIMEOUT_S = 30.0
"""Plus one second per 100 streams: the longest wait for every stream to be open."""
RESUME_TIMEOUT_S = 90.0
DRAIN_MAX_S = 6.0
STREAMS_PER_CLIENT = 5000


@dataclass
class Context:
    """What every workload needs: settings, where to write, and the children to clean up."""

    run_dir: Path
    registry: list[Child]
    admin_url: str
    clients_per_run: int = 0
    open_concurrency: int = 200
    open_rate: float = 0.0
    """Streams/s offered in all, open loop (an open storm); 0: `open_concurrency` in flight."""
    settle_s: float = 1.0
    """Pause before the baseline sample and before the events start."""
    profile: bool = False
    """Record py-spy profiles of our web processes while streams open and events flow."""
    round_number: int = 1
    """Which round of `--repeat` runs now."""

    def path(self, name: str) -> Path:
        """Return a fresh file path in this run's folder."""
        return self.run_dir / f"{name}-{time.time_ns()}.json"


@dataclass(frozen=True, kw_only=True)
class StreamPlan:
    """The shape of one stream workload."""

    workload: str
    streams: int
    jobs: int
    rate: float
    duration_s: float
    publishers: int
    kill_after_s: float | None = None
    """W4: SIGKILL every worker this long after the publishers start."""


During = Callable[[System, int, list[str]], dict[str, Any]]
"""Run something while streams are open and events flow: (system, port, busy jobs) -> result."""


def run_streams(
    ctx: Context, system: System, plan: StreamPlan, during: During | None = None
) -> dict[str, Any]:
    """Run one stream workload on `system`; return its figures."""
    jobs = system.make_jobs(plan.jobs)
    slots = [(i, jobs[i % len(jobs)]) for i in range(plan.streams)]
    tag = f"{plan.workload}-{plan.streams}"
    port = free_port()
    server = system.start_server(port, tag)
    sampler = measure.Sampler(server.popen.pid, ctx.admin_url, [system.database])
    try:
        time.sleep(ctx.settle_s)
        baseline = sampler.sample()
        sampler.start()
        publishers = start_publishers(ctx, system, jobs, plan, tag)
        # Ready before the streams open: their start-up (Django, a connection each) took up
        # to a core for the first seconds of the opening, which is the server's to measure.
        for publisher in publishers:
            publisher.wait_for("ready", 120)
        profiling = ctx.profile and system.label == "ours"  # py-spy: not granian
        profiler = _profiler(ctx, server, f"{tag}-open") if profiling else None
        open_cpu_start = measure.cpu_by_pid(sampler.sample())
        clients = start_clients(ctx, system, port, slots, tag)
        opened = wait_open(clients, plan.streams)
        opened |= open_cost(open_cpu_start, measure.cpu_by_pid(sampler.sample()), opened)
        profiles = {"open": profiler.stop()} if profiler is not None else {}
        time.sleep(ctx.settle_s)
        stages_before = _stage_scrape(system, port)
        cpu_start = measure.cpu_by_pid(sampler.sample())
        t_go = time.time()
        for publisher in publishers:
            publisher.send("go")
        profiler = _profiler(ctx, server, f"{tag}-events") if profiling else None
        extra: dict[str, Any] = {}
        if plan.kill_after_s is not None:
            extra["storm"] = storm(server, clients, plan, t_go)
        if during is not None:
            extra.update(during(system, port, jobs))
        time.sleep(max(0.0, t_go + plan.duration_s - time.time()))
        if profiler is not None:
            profiles["events"] = profiler.stop()
            extra["profile"] = profiles
        pub_results = stop_all(publishers, timeout=60)
        drain(clients)
        t_end = time.time()
        if stages_before is not None:
            extra["stages"] = _stage_summary(stages_before, _stage_scrape(system, port))
        cpu_end = measure.cpu_by_pid(sampler.sample())
        client_results = stop_all(clients, timeout=120)
    finally:
        sampler.stop()
        stop_server(server)
    slots_out = [slot for result in client_results for slot in result["slots"]]
    opened["open_s"] = open_seconds(client_results)
    opened["offered_per_s"] = ctx.open_rate or None
    if "storm" in extra:
        extra["storm"] |= stats.resume_summary(slots_out, extra["storm"]["t_kill"])
    return (
        summarize(
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
        | extra
    )


def _stage_scrape(system: System, port: int) -> stages.Histograms | None:
    """Return the server's stage histograms: ours under gunicorn only (one scrape is the
    whole server there; the peer has none)."""
    if system.name != "ours" or system.server != "gunicorn":
        return None
    try:
        return stages.scrape(port)
    except OSError as exc:
        return {"error": {"message": str(exc)}}


def _stage_summary(before: stages.Histograms, after: stages.Histograms | None) -> dict[str, Any]:
    if after is None or "error" in before or "error" in after:
        return {"error": "could not scrape /metrics"}
    return stages.summary(stages.between(before, after))


def _profiler(ctx: Context, server: Child, name: str) -> Profiler:
    return Profiler(server.popen.pid, ctx.path(f"profile-{name}").with_suffix(".txt"))


def start_publishers(
    ctx: Context, system: System, jobs: list[str], plan: StreamPlan, tag: str
) -> list[Child]:
    """Start the publisher processes, each owning a share of the jobs and of the rate."""
    count = max(1, min(plan.publishers, len(jobs)))
    found = []
    for index in range(count):
        spec = ctx.path(f"pub-spec-{tag}-{index}")
        spec.write_text(
            json.dumps({"jobs": jobs[index::count], "rate": plan.rate / count, "seed": index})
        )
        out = ctx.path(f"pub-out-{tag}-{index}")
        child = control.spawn(
            f"{system.label}-pub-{tag}-{index}",
            system.publisher_argv(spec, out),
            env=system.env("pub"),
            log_dir=ctx.run_dir,
            registry=ctx.registry,
        )
        child.out = out
        found.append(child)
    return found


def start_clients(
    ctx: Context, system: System, port: int, slots: list[tuple[int, str]], tag: str
) -> list[Child]:
    """Start the client processes, each holding its share of the streams."""
    from bench.host import SOURCE_IPS

    count = ctx.clients_per_run or max(1, -(-len(slots) // STREAMS_PER_CLIENT))
    found = []
    for index in range(count):
        spec = ctx.path(f"client-spec-{tag}-{index}")
        spec.write_text(
            json.dumps(
                {
                    "host": "127.0.0.1",
                    "port": port,
                    "source_ips": SOURCE_IPS,
                    "path": system.stream_path,
                    "cookie": system.cookie,
                    "streams": slots[index::count],
                    "open_concurrency": ctx.open_concurrency,
                    "open_rate": ctx.open_rate / count,
                    "default_retry_ms": 2000,
                }
            )
        )
        out = ctx.path(f"client-out-{tag}-{index}")
        child = control.spawn(
            f"client-{system.label}-{tag}-{index}",
            [sys.executable, "-m", "bench.client", "--spec", str(spec), "--out", str(out)],
            env=system.env("client"),
            log_dir=ctx.run_dir,
            registry=ctx.registry,
        )
        child.out = out
        found.append(child)
    return found


def client_totals(clients: list[Child]) -> dict[str, int]:
    """Return the clients' latest counts, added up."""
    totals = {"ready": 0, "refused": 0, "events": 0, "failures": 0, "resumed": 0}
    for client in clients:
        line = client.last("ready") or {}
        for key in totals:
            totals[key] += int(line.get(key) or 0)
    return totals


def wait_open(clients: list[Child], streams: int) -> dict[str, Any]:
    """Wait until every stream is open (or refused, or time runs out); return how long."""
    started = time.time()
    deadline = started + OPEN_TIMEOUT_S + streams / 100
    totals = client_totals(clients)
    while time.time() < deadline:
        totals = client_totals(clients)
        if totals["ready"] + totals["refused"] >= streams:
            break
        if not all(client.alive() for client in clients):
            raise RuntimeError("a client process died while opening streams")
        time.sleep(0.1)
    return {
        "open_s": round(time.time() - started, 2),
        "ready": totals["ready"],
        "timed_out": totals["ready"] + totals["refused"] < streams,
    }


def open_cost(
    start: dict[int, float], end: dict[int, float], opened: dict[str, Any]
) -> dict[str, Any]:
    """Return the server's CPU per stream opened (its processes, while the streams opened):
    what bounds the open time when the cores are shared with everything else."""
    ready = opened["ready"]
    used = measure.cpu_used(start, end)
    return {
        "server_cpu_s_open": round(used, 2),
        "server_cpu_ms_per_open": round(used * 1000 / ready, 3) if ready else None,
    }


def open_seconds(client_results: list[dict[str, Any]]) -> float | None:
    """Return the time from the first client starting to open to the last first-ready."""
    firsts: list[float] = [
        slot["ready_at"][0] for r in client_results for slot in r["slots"] if slot["ready_at"]
    ]
    if not firsts:
        return None
    started = min(float(r["started"]) for r in client_results)
    return round(max(firsts) - started, 3)


def storm(server: Child, clients: list[Child], plan: StreamPlan, t_go: float) -> dict[str, Any]:
    """SIGKILL every worker of the server, let its main process (gunicorn's arbiter, granian's
    main process with respawn_failed_workers) start new ones, wait for the streams."""
    assert plan.kill_after_s is not None
    time.sleep(max(0.0, t_go + plan.kill_after_s - time.time()))
    killed = measure.children(server.popen.pid)
    t_kill = time.time()
    for pid in killed:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for client in clients:
        client.send(f"mark {t_kill}")
    deadline = t_kill + RESUME_TIMEOUT_S
    while time.time() < deadline:
        time.sleep(0.2)
        if client_totals(clients)["resumed"] >= plan.streams:
            break
    return {"killed_pids": killed, "t_kill": t_kill, "waited_s": round(time.time() - t_kill, 2)}


def drain(clients: list[Child]) -> None:
    """Wait until the clients stop receiving (at most DRAIN_MAX_S)."""
    deadline = time.time() + DRAIN_MAX_S
    last, steady_since = -1, time.time()
    time.sleep(0.6)
    while time.time() < deadline:
        events = client_totals(clients)["events"]
        if events != last:
            last, steady_since = events, time.time()
        elif time.time() - steady_since >= 1.2:
            return
        time.sleep(0.3)


def stop_all(children: list[Child], *, timeout: float) -> list[dict[str, Any]]:
    """Tell every child to stop, wait for its result file, and return the results."""
    for child in children:
        child.send("stop")
    results = []
    for child in children:
        child.wait_for("done", timeout)
        child.popen.wait(timeout=30)
        assert child.out is not None
        results.append(json.loads(child.out.read_text()))
    return results


def stop_server(server: Child) -> None:
    """SIGTERM the arbiter (graceful), then make sure the whole group is gone."""
    try:
        server.popen.send_signal(signal.SIGTERM)
        server.popen.wait(timeout=15)
    except Exception:
        pass
    control.kill_group(server.popen.pid)


def summarize(
    system: System,
    plan: StreamPlan,
    slots: list[dict[str, Any]],
    pub_results: list[dict[str, Any]],
    sampler: measure.Sampler,
    baseline: measure.Sample,
    opened: dict[str, Any],
    window: tuple[float, float],
    cpu_start: dict[int, float],
    cpu_end: dict[int, float],
) -> dict[str, Any]:
    """Return the run's figures in the report's shape."""
    published = stats.published_by_job(pub_results)
    got = stats.deliveries(slots, published)
    n_published = sum(len(seqs) for seqs in published.values())
    elapsed = max((r["elapsed_s"] for r in pub_results), default=0.0)
    pub_errors: dict[str, int] = {}
    for result in pub_results:
        for name, count in result["errors"].items():
            pub_errors[name] = pub_errors.get(name, 0) + count
    server = measure.summarize(
        sampler.between(*window),
        baseline,
        streams=plan.streams,
        delivered=got["delivered"],
        cpu_start=cpu_start,
        cpu_end=cpu_end,
        web_app=system.web_app,
    )
    return {
        "system": system.label,
        "http_server": system.server,
        "workload": plan.workload,
        "streams": plan.streams,
        "jobs": plan.jobs,
        "rate": plan.rate,
        "duration_s": plan.duration_s,
        "connections": stats.connection_summary(slots) | opened,
        "delay_ms": stats.delay_summary(got["delays"]),
        "events": {
            "published": n_published,
            "publish_rate": round(n_published / elapsed, 1) if elapsed else None,
            "publish_errors": pub_errors,
            "expected": got["expected"],
            "delivered": got["delivered"],
            "lost": got["lost"],
            "duplicated": got["duplicated"],
            "streams_with_loss": got["streams_with_loss"],
        },
        "server": server | {"pool_limit": system.web_processes * system.pool_size},
    }


def poll_load(
    ctx: Context,
    *,
    quiet_jobs: list[str],
    rate: float,
    duration_s: float,
    warmup_s: float,
    connections: int,
) -> During:
    """Return a `During` that runs W3's two polling phases while the streams are busy."""

    def during(system: System, port: int, busy_jobs: list[str]) -> dict[str, Any]:
        status = probe_status(port, quiet_jobs[0], system.cookie)
        if status == 404:
            return {
                "polling": {
                    "available": False,
                    "note": "GET /api/jobs/<uuid>/status answered 404: not available",
                }
            }
        phases = [
            {
                "name": "unchanged",
                "jobs": quiet_jobs,
                "rate": rate,
                "duration_s": duration_s,
                "warmup_s": warmup_s,
            },
            {
                "name": "changing",
                "jobs": busy_jobs[:200],
                "rate": rate,
                "duration_s": duration_s,
                "warmup_s": warmup_s,
            },
        ]
        spec = ctx.path("poll-spec")
        spec.write_text(
            json.dumps(
                {
                    "host": "127.0.0.1",
                    "port": port,
                    "cookie": system.cookie,
                    "connections": connections,
                    "phases": phases,
                }
            )
        )
        out = ctx.path("poll-out")
        poller = control.spawn(
            f"poller-{system.label}",
            [sys.executable, "-m", "bench.poller", "--spec", str(spec), "--out", str(out)],
            env=system.env("poll"),
            log_dir=ctx.run_dir,
            registry=ctx.registry,
        )
        poller.wait_for("done", 2 * (duration_s + warmup_s) + 120)
        raw = json.loads(out.read_text())["phases"]
        return {
            "polling": {
                "available": True,
                "target_rate": rate,
                "connections": connections,
                "phases": [poll_phase_summary(p) for p in raw],
            }
        }

    return during


def probe_status(port: int, job: str, cookie: str) -> int:
    """Return the status code of one unconditional poll."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/jobs/{job}/status?since=0",
        headers={"Cookie": cookie} if cookie else {},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def poll_phase_summary(phase: dict[str, Any]) -> dict[str, Any]:
    """Return answers per status code with their rate and latency (ms)."""
    elapsed = phase["elapsed_s"] or 1.0
    by_status = {
        code: {"count": len(values), "per_s": round(len(values) / elapsed, 1)}
        | stats.delay_summary(values)
        for code, values in phase["latencies"].items()
    }
    total = sum(len(v) for v in phase["latencies"].values())
    return {
        "name": phase["name"],
        "polls_per_s": round(total / elapsed, 1),
        "by_status": by_status,
        "errors": phase["errors"],
        "unsent": phase["unsent"],
    }


def run_write(ctx: Context, system: System, *, duration_s: float, jobs: int) -> dict[str, Any]:
    """Measure the write path: one process calling job_report_progress as fast as it can."""
    job_ids = system.make_jobs(jobs, start=True)
    spec = ctx.path("write-spec")
    spec.write_text(json.dumps({"jobs": job_ids, "rate": 0, "seed": 0}))
    out = ctx.path("write-out")
    child = control.spawn(
        "write-publisher",
        system.publisher_argv(spec, out),
        env=system.env("pub"),
        log_dir=ctx.run_dir,
        registry=ctx.registry,
    )
    child.out = out
    child.wait_for("ready", 120)
    child.send("go")
    time.sleep(duration_s)
    result = stop_all([child], timeout=60)[0]
    calls = result["call_s"]
    return {
        "system": system.label,
        "workload": "WRITE",
        "jobs": jobs,
        "duration_s": round(result["elapsed_s"], 2),
        "events": len(result["published"]),
        "events_per_s": round(len(result["published"]) / result["elapsed_s"], 1),
        "call_ms": stats.delay_summary(calls),
        "errors": result["errors"],
    }
