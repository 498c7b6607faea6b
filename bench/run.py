"""The benchmark's command line: `.venv/bin/python -m bench [options]`.

With no options it runs the issue's full plan: W1 at 1,000, 5,000 and 10,000 streams for
60 s, W2 (1,000 streams on one job, 10 events/s, 30 s), W3 (polling under 1,000 streams),
W4 (10,000 streams, every worker SIGKILLed), WRITE, and W1 and W2 again against
django-eventstream. `--smoke` is the same on tiny sizes without the peer (< 60 s, for CI).
`--servers gunicorn,granian` runs each of our workloads under gunicorn.conf.py and then under
granian (bench/granian_serve.py), one after the other, in the same run and table
(systems `ours` and `ours-granian`).
SOAK (1,000 streams for 10 minutes; memory growth, the open-stream gauge back at 0) runs only
when named: `--workloads SOAK` (see bench/soak.py); so does SCALE (two web processes and two
task workers running real jobs, every delivery across processes; see bench/scale.py), and so
does COMPILE (W1 and a poll, idle and then while task workers compile DAO projects back to
back; see bench/compile_load.py).
`--repeat 3` runs the plan three times in rounds (a speed reading of the machine before each)
and prints, besides each run, the medians of the three (the worst of them for what must hold
in every run: streams made, lost, duplicated), the targets judged on those, and the ratios to
the peer computed from them. `--open-rate 5000` offers the streams at 5,000/s, open loop (an
open storm), instead of a few hundred attempts in flight. `--pgbouncer` puts a PgBouncer in
transaction mode (Debian's) between our processes and PostgreSQL.
Everything is on loopback, bounded by `--timeout`, and every child process is killed at the
end, whatever happened. Needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL; defaults are
the local ones scripts/services starts).
"""

import argparse
import dataclasses
import functools
import os
import secrets
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from bench import compile_load, control, host, report, scale, soak, workloads
from bench.control import ROOT, Child
from bench.systems import SERVERS, System, ours, peer
from bench.workloads import Context, StreamPlan
from realtime.capacity import web_processes

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/composer"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
ALL_WORKLOADS = ("W1", "W2", "W3", "W4", "WRITE")
"""The full plan, run when no workload is named."""
KNOWN_WORKLOADS = (*ALL_WORKLOADS, "SOAK", "SCALE", "COMPILE")


class HardTimeout(Exception):
    """The whole benchmark ran past --timeout."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Return the options, with --smoke's tiny sizes applied."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--workloads",
        default=",".join(ALL_WORKLOADS),
        help="comma-separated subset of W1,W2,W3,W4,WRITE,SOAK (default: all but SOAK)",
    )
    parser.add_argument("--sizes", default="1000,5000,10000", help="W1 stream counts")
    parser.add_argument("--duration", type=float, default=60.0, help="W1 seconds (60)")
    parser.add_argument("--rate", type=float, default=500.0, help="W1/W3/W4 events/s (500)")
    parser.add_argument("--publishers", type=int, default=4, help="publisher processes (4)")
    parser.add_argument("--w2-streams", type=int, default=1000)
    parser.add_argument("--w2-rate", type=float, default=10.0)
    parser.add_argument("--w2-duration", type=float, default=30.0)
    parser.add_argument(
        "--w3-streams",
        type=int,
        default=1000,
        help="streams open (and events flowing) while W3 polls",
    )
    parser.add_argument(
        "--w3-rate",
        type=float,
        default=1600.0,
        help="polls/s offered (1600: above the 1,500/s target, which an "
        "offer of exactly 1,500 could only meet to the last poll)",
    )
    parser.add_argument("--w3-duration", type=float, default=15.0, help="seconds per phase")
    parser.add_argument("--w3-connections", type=int, default=64)
    parser.add_argument(
        "--w3-warmup",
        type=float,
        default=3.0,
        help="seconds of the same polling before each phase, not counted: a "
        "process answers a job without Django once it has seen it (3)",
    )
    parser.add_argument("--w4-streams", type=int, default=10000)
    parser.add_argument("--w4-kill-after", type=float, default=10.0)
    parser.add_argument("--w4-duration", type=float, default=45.0)
    parser.add_argument("--write-duration", type=float, default=10.0)
    parser.add_argument("--soak-streams", type=int, default=1000)
    parser.add_argument("--soak-duration", type=float, default=600.0, help="seconds (600)")
    parser.add_argument("--soak-rate", type=float, default=50.0, help="events/s (50)")
    parser.add_argument(
        "--soak-sample", type=float, default=10.0, help="seconds between RSS samples (10)"
    )
    parser.add_argument(
        "--soak-warmup",
        type=float,
        default=60.0,
        help="seconds of events before the RSS growth baseline (60)",
    )
    parser.add_argument(
        "--soak-stream-age",
        type=float,
        default=120.0,
        help="REALTIME_MAX_STREAM_AGE_S during the soak: every stream reconnects this often (120)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="py-spy profiles of our web processes while streams open and "
        "while events flow (bench/profile.py)",
    )
    parser.add_argument(
        "--scale-jobs", type=int, default=200, help="SCALE: real jobs, two streams each (200)"
    )
    parser.add_argument(
        "--scale-workers", type=int, default=2, help="SCALE: run_worker processes (2)"
    )
    parser.add_argument(
        "--scale-pace",
        type=float,
        default=0.05,
        help="SCALE: JOBS_STEP_PACE_S of the workers (0.05)",
    )
    parser.add_argument(
        "--servers",
        default="gunicorn",
        help="comma-separated servers our workloads run under, each workload "
        "on each in turn: gunicorn (gunicorn.conf.py, production), "
        "granian (bench/granian_serve.py) (default gunicorn)",
    )
    parser.add_argument(
        "--web-processes",
        type=int,
        default=0,
        help="gunicorn worker processes (0: as gunicorn.conf.py sizes them for the largest "
        "stream count of the run at this machine's open-file limit: one per core at least)",
    )
    parser.add_argument(
        "--open-rate",
        type=float,
        default=0.0,
        help="offer the streams at this many per second in all, open loop: an open storm "
        "(0: --open-concurrency attempts in flight per client process)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run the plan this many times, in rounds, and print the medians too (3 for "
        "figures to quote)",
    )
    parser.add_argument(
        "--pgbouncer",
        action="store_true",
        help="our web processes, publishers and workers go through a PgBouncer in "
        "transaction mode (Debian's, started by the benchmark)",
    )
    parser.add_argument(
        "--compile-streams", type=int, default=1000, help="COMPILE: W1 streams (1000)"
    )
    parser.add_argument(
        "--compile-workers", type=int, default=2, help="COMPILE: run_worker processes (2)"
    )
    parser.add_argument(
        "--compile-duration", type=float, default=40.0, help="COMPILE: seconds per phase (40)"
    )
    parser.add_argument(
        "--compile-poll-rate", type=float, default=20.0, help="COMPILE: polls/s (20)"
    )
    parser.add_argument(
        "--compile-nice",
        type=int,
        default=None,
        help="COMPILE: JOBS_WORKER_NICE of the workers (default: the setting's, 10; "
        "0 for the workers at the web's priority)",
    )
    parser.add_argument(
        "--compile-idle",
        choices=("true", "false"),
        default=None,
        help="COMPILE: JOBS_COMPILER_IDLE of the workers (default: the setting's, true: the "
        "compiler under SCHED_IDLE; false for the compiler at the workers' niceness)",
    )
    parser.add_argument(
        "--pool-size", type=int, default=10, help="DATABASE_POOL_SIZE of each web process (10)"
    )
    parser.add_argument(
        "--clients", type=int, default=0, help="client processes per run (0: one per 5,000 streams)"
    )
    parser.add_argument(
        "--open-concurrency",
        type=int,
        default=200,
        help="streams each client process opens at once (200)",
    )
    parser.add_argument(
        "--peer",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run W1 and W2 against django-eventstream",
    )
    parser.add_argument(
        "--peer-mode",
        choices=["anonymous", "reliable"],
        default="anonymous",
        help="anonymous: Redis, no storage, no session (no database per "
        "stream); reliable: + DjangoModelStorage and the session cookie",
    )
    parser.add_argument(
        "--peer-db-connections",
        type=int,
        default=30,
        help="CONNECTION LIMIT of the peer's database (30). In reliable mode "
        "the peer holds one connection per open stream; keep this well "
        "under the server's max_connections minus what others use",
    )
    parser.add_argument(
        "--database",
        default="composer_bench",
        help="name of the benchmark's own database, dropped and made anew "
        "(the peer's gets the suffix _peer)",
    )
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "latest.json")
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=None,
        help="where logs and raw files go (bench/results/run-<time>-<pid>)",
    )
    parser.add_argument(
        "--timeout", type=float, default=5400.0, help="hard limit for the whole run, seconds (5400)"
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes, no peer: a check that it all works (< 60 s)",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.sizes, args.duration, args.rate, args.publishers = "100", 4.0, 100.0, 2
        args.w2_streams, args.w2_rate, args.w2_duration = 100, 10.0, 3.0
        args.w3_streams, args.w3_rate, args.w3_duration, args.w3_connections = 50, 200.0, 1.5, 8
        args.w3_warmup = 0.5
        args.w4_streams, args.w4_kill_after, args.w4_duration = 100, 1.0, 5.0
        args.write_duration, args.peer = 1.5, False
        args.soak_streams, args.soak_duration, args.soak_rate = 50, 12.0, 20.0
        args.soak_sample, args.soak_warmup, args.soak_stream_age = 1.0, 4.0, 5.0
        args.scale_jobs, args.scale_pace = 10, 0.0
        args.compile_streams, args.compile_duration, args.compile_poll_rate = 50, 6.0, 10.0
        args.compile_workers = 1
        args.timeout = min(args.timeout, 170.0)
    args.workloads = [w.strip().upper() for w in args.workloads.split(",") if w.strip()]
    unknown = set(args.workloads) - set(KNOWN_WORKLOADS)
    if unknown:
        parser.error(f"unknown workload(s) {sorted(unknown)}; choose from {KNOWN_WORKLOADS}")
    args.sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    if args.repeat < 1:
        parser.error("--repeat: at least 1")
    args.servers = [s.strip().lower() for s in args.servers.split(",") if s.strip()]
    if (
        not args.servers
        or set(args.servers) - set(SERVERS)
        or len(set(args.servers)) < len(args.servers)
    ):
        parser.error(f"--servers: one or more of {SERVERS}, each once, not {args.servers}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the table and write the JSON. Exit 0 unless it broke."""
    args = parse_args(argv)
    started = datetime.now(UTC)
    run_dir = args.run_dir or (
        ROOT / "bench" / "results" / f"run-{started:%Y%m%d-%H%M%S}-{os.getpid()}"
    )
    run_dir.mkdir(parents=True, exist_ok=True)
    registry: list[Child] = []
    facts = host.facts()
    facts["speed"] = host.speed()
    biggest = max(
        [
            *(args.sizes if "W1" in args.workloads else []),
            args.w2_streams if "W2" in args.workloads else 0,
            args.w3_streams if "W3" in args.workloads else 0,
            args.w4_streams if "W4" in args.workloads else 0,
            args.soak_streams if "SOAK" in args.workloads else 0,
            args.compile_streams if "COMPILE" in args.workloads else 0,
            1,
        ]
    )
    if not args.web_processes:
        args.web_processes = web_processes(
            streams=biggest, cores=facts["cpus"], soft_limit=facts["nofile_soft"]
        )
    warnings = host.warnings_for(
        facts,
        max_streams=biggest,
        client_procs=args.clients or -(-biggest // workloads.STREAMS_PER_CLIENT),
        peer=args.peer,
        open_rate=args.open_rate,
    )
    print(
        f"host: {facts['cpus']} cpus, nofile {facts['nofile_soft']}/{facts['nofile_hard']}, "
        f"somaxconn {facts['somaxconn']}, ports {facts['ip_local_port_range']} x "
        f"{len(facts['source_ips'])} source IPs, load {' '.join(facts['loadavg'])}; "
        f"{args.web_processes} web processes; speed: {host.speed_text(facts['speed'])}",
        flush=True,
    )
    for warning in warnings:
        print(f"WARNING: {warning}", flush=True)
    result: dict[str, Any] = {
        "started_at": started.isoformat(),
        "host": facts,
        "warnings": warnings,
        "args": _jsonable(vars(args)),
        "runs": [],
        "notes": [],
        "errors": [],
    }
    _arm_timeout(args.timeout)
    try:
        _run_plan(args, run_dir, registry, result)
    except (Exception, HardTimeout, KeyboardInterrupt) as exc:  # report what we have
        result["errors"].append(f"{type(exc).__name__}: {exc}")
        print(f"ERROR: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
    finally:
        signal.alarm(0)
        for child in registry:
            control.kill_group(child.popen.pid)
    result["finished_at"] = datetime.now(UTC).isoformat()
    result["host"]["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    for run in result["runs"]:
        run["targets"] = report.targets(run)
    result["medians"] = report.medians(result["runs"]) if args.repeat > 1 else []
    for run in result["medians"]:
        run["targets"] = report.targets(run)
    quoted = result["medians"] or result["runs"]
    result["comparisons"] = report.comparisons(quoted)
    result["server_comparisons"] = report.server_comparisons(quoted)
    result["compile_load"] = report.compile_load(quoted)
    result["memory_slopes"] = report.memory_slopes(quoted)
    result["shortfalls"] = report.publisher_shortfalls(result["runs"])
    report.write_json(result, args.json)
    print(report.table(result))
    print(f"JSON: {args.json}  (logs and raw files: {run_dir})")
    return 1 if result["errors"] else 0


def _run_plan(
    args: argparse.Namespace, run_dir: Path, registry: list[Child], result: dict[str, Any]
) -> None:
    """Run every selected workload on our system, then W1/W2 on the peer."""
    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if not database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit(f"the benchmark needs PostgreSQL, not {database_url.split(':')[0]}")
    common: dict[str, Any] = {
        "database_url": database_url,
        "redis_url": os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL,
        "secret_key": secrets.token_urlsafe(48),
        "web_processes": args.web_processes,
        "pool_size": args.pool_size,
        "log_dir": run_dir,
        "registry": registry,
    }
    ctx = Context(
        run_dir=run_dir,
        registry=registry,
        admin_url=_admin(database_url),
        clients_per_run=args.clients,
        open_concurrency=args.open_concurrency,
        open_rate=args.open_rate,
        settle_s=0.3 if args.smoke else 1.0,
        profile=args.profile,
    )
    pooler_port = _start_pgbouncer(args, database_url, run_dir, registry, result)
    system = ours(database=args.database, pooler_port=pooler_port, **common)
    _step(f"setting up {system.database}")
    system.prepare(
        connection_limit=args.web_processes * args.pool_size
        + 2 * max(args.scale_workers, args.compile_workers)
        + 2 * args.publishers
        + 12
    )
    # One database and session for every server: each run makes its own jobs anyway.
    systems = [dataclasses.replace(system, server=server) for server in args.servers]
    if args.profile and "granian" in args.servers:
        result["notes"].append("profile: runs under gunicorn only (granian not profiled)")
    other = None
    if args.peer and {"W1", "W2"} & set(args.workloads):
        from bench.peer.install import peer_python

        _step("installing django-eventstream into bench/.peer-venv (if needed)")
        anonymous = args.peer_mode == "anonymous"
        other = peer(
            peer_python(),
            database=f"{args.database}_peer",
            **common,
            anonymous=anonymous,
            extra_env={"PEER_STORAGE": "none" if anonymous else "db"},
        )
        _step(f"setting up {other.database} (peer mode {args.peer_mode})")
        other.prepare(connection_limit=args.peer_db_connections)
        result["notes"].append(f"peer: django-eventstream 5.3.4, mode {args.peer_mode}")
    for number in range(1, args.repeat + 1):
        if args.repeat > 1:
            speed = host.speed()
            result.setdefault("speed_by_round", []).append(speed)
            _step(f"round {number} of {args.repeat}; speed: {host.speed_text(speed)}")
        ctx.round_number = number
        _run_system(args, ctx, systems, result, with_w3_w4_write=True)
        if other is not None:
            _run_system(args, ctx, [other], result, with_w3_w4_write=False)


def _start_pgbouncer(
    args: argparse.Namespace,
    database_url: str,
    run_dir: Path,
    registry: list[Child],
    result: dict[str, Any],
) -> int:
    """Start the PgBouncer of --pgbouncer in front of DATABASE_URL's server; return its port
    (0 without --pgbouncer)."""
    if not args.pgbouncer:
        return 0
    from urllib.parse import urlsplit

    from bench import pgbouncer
    from bench.systems import free_port

    server = urlsplit(database_url)
    port = free_port()
    config = pgbouncer.configure(
        port=port,
        upstream_host=server.hostname or "127.0.0.1",
        upstream_port=server.port or 5432,
        user=server.username or "postgres",
        pool_size=args.web_processes * args.pool_size,
    )
    child = control.spawn(
        "pgbouncer",
        pgbouncer.command(config),
        env=dict(os.environ),
        log_dir=run_dir,
        registry=registry,
    )
    pgbouncer.wait_listening(port, alive=child.alive)
    result["notes"].append(
        f"pgbouncer: our web processes, publishers and workers through {pgbouncer.BINARY} "
        f"(transaction mode, {args.web_processes * args.pool_size} server connections) on "
        f"port {port}, DATABASE_TRANSACTION_POOLING=true"
    )
    return port


def _run_system(
    args: argparse.Namespace,
    ctx: Context,
    systems: list[System],
    result: dict[str, Any],
    *,
    with_w3_w4_write: bool,
) -> None:
    """Run the selected workloads, each on every one of `systems` (one system under its
    servers) in turn, appending each run as it finishes: the runs of one workload side by
    side. WRITE runs once: it measures the write path, which no server is on."""
    record = functools.partial(_record, round_number=ctx.round_number)
    plans = []
    if "W1" in args.workloads:
        plans += [
            StreamPlan(
                workload="W1",
                streams=n,
                jobs=max(1, n // 2),
                rate=args.rate,
                duration_s=args.duration,
                publishers=args.publishers,
            )
            for n in args.sizes
        ]
    if "W2" in args.workloads:
        plans.append(
            StreamPlan(
                workload="W2",
                streams=args.w2_streams,
                jobs=1,
                rate=args.w2_rate,
                duration_s=args.w2_duration,
                publishers=1,
            )
        )
    for plan in plans:
        for system in systems:
            record(
                result,
                lambda p=plan, s=system: workloads.run_streams(ctx, s, p),
                f"{system.label} {plan.workload} N={plan.streams}",
            )
    if not with_w3_w4_write:
        return
    if "W3" in args.workloads:
        for system in systems:
            record(result, lambda s=system: _w3(args, ctx, s), f"{system.label} W3")
    if "W4" in args.workloads:
        plan = StreamPlan(
            workload="W4",
            streams=args.w4_streams,
            jobs=max(1, args.w4_streams // 2),
            rate=args.rate,
            duration_s=args.w4_duration,
            publishers=args.publishers,
            kill_after_s=args.w4_kill_after,
        )
        for system in systems:
            record(
                result,
                lambda s=system: workloads.run_streams(ctx, s, plan),
                f"{system.label} W4 N={plan.streams}",
            )
    if "WRITE" in args.workloads:
        first = systems[0]
        record(
            result,
            lambda: workloads.run_write(ctx, first, duration_s=args.write_duration, jobs=20),
            f"{first.label} WRITE",
        )
    for system in systems:
        if "COMPILE" in args.workloads:
            compile_plan = compile_load.CompilePlan(
                streams=args.compile_streams,
                rate=args.rate,
                publishers=args.publishers,
                workers=args.compile_workers,
                duration_s=args.compile_duration,
                poll_rate=args.compile_poll_rate,
                nice=args.compile_nice,
                idle=None if args.compile_idle is None else args.compile_idle == "true",
            )
            for phase in compile_load.PHASES:
                record(
                    result,
                    lambda s=system, ph=phase, cp=compile_plan: compile_load.run_phase(
                        ctx, s, cp, ph
                    ),
                    f"{system.label} COMPILE N={args.compile_streams} {phase}",
                )
        if "SOAK" in args.workloads:
            record(
                result,
                lambda s=system: _soak(args, ctx, s),
                f"{system.label} SOAK N={args.soak_streams} for {args.soak_duration:.0f} s",
            )
        if "SCALE" in args.workloads:
            scale_plan = scale.ScalePlan(
                jobs=args.scale_jobs,
                workers=args.scale_workers,
                pace_s=args.scale_pace,
                timeout_s=600.0,
            )
            record(
                result,
                lambda s=system, p=scale_plan: scale.run_scale(ctx, s, p),
                f"{system.label} SCALE {args.scale_jobs} jobs on {args.scale_workers} "
                f"workers, {args.web_processes} web processes",
            )


def _soak(args: argparse.Namespace, ctx: Context, system: System) -> dict[str, Any]:
    plan = StreamPlan(
        workload="SOAK",
        streams=args.soak_streams,
        jobs=max(1, args.soak_streams // 2),
        rate=args.soak_rate,
        duration_s=args.soak_duration,
        publishers=min(2, args.publishers),
    )
    return soak.run_soak(
        ctx,
        system,
        plan,
        soak.SoakPlan(
            sample_s=args.soak_sample, warmup_s=args.soak_warmup, stream_age_s=args.soak_stream_age
        ),
    )


def _w3(args: argparse.Namespace, ctx: Context, system: System) -> dict[str, Any]:
    quiet = system.make_jobs(50)
    plan = StreamPlan(
        workload="W3",
        streams=args.w3_streams,
        jobs=max(1, args.w3_streams // 2),
        rate=args.rate,
        duration_s=2 * (args.w3_duration + args.w3_warmup) + 1,
        publishers=args.publishers,
    )
    during = workloads.poll_load(
        ctx,
        quiet_jobs=quiet,
        rate=args.w3_rate,
        duration_s=args.w3_duration,
        warmup_s=args.w3_warmup,
        connections=args.w3_connections,
    )
    return workloads.run_streams(ctx, system, plan, during)


def _record(result: dict[str, Any], run: Any, label: str, round_number: int = 1) -> None:
    """Run one workload; keep its figures, or its error, and go on with the next."""
    _step(f"running {label}")
    started = time.monotonic()
    try:
        figures = run()
    except HardTimeout:
        raise
    except Exception as exc:  # one broken run must not lose the others
        result["errors"].append(f"{label}: {type(exc).__name__}: {exc}")
        print(f"ERROR in {label}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return
    figures["wall_s"] = round(time.monotonic() - started, 1)
    figures["round"] = round_number
    result["runs"].append(figures)
    _step(f"done {label} in {figures['wall_s']} s")


def _arm_timeout(seconds: float) -> None:
    def expire(signum: int, frame: FrameType | None) -> None:
        raise HardTimeout(f"the benchmark ran past --timeout {seconds:.0f}s")

    signal.signal(signal.SIGALRM, expire)
    signal.signal(signal.SIGTERM, lambda signum, frame: expire(signum, frame))
    signal.alarm(max(1, int(seconds)))


def _admin(database_url: str) -> str:
    from bench.systems import admin_dsn

    return admin_dsn(database_url)


def _step(text: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {text}", flush=True)


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Path) else v for k, v in values.items()}
