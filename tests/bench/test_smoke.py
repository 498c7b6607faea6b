"""The benchmark runs end to end on tiny sizes: `python -m bench --smoke` as a subprocess.

It measures nothing here (timings on a shared CI machine mean little); it checks that every
part starts, talks and stops, and that the smoke W1 delivers every event exactly once.
"""

import os
from pathlib import Path
from typing import Any

import pytest

from bench.report import RUN_FIELDS
from tests.support.bench_runs import run_bench

TIMEOUT_S = 180


def run_smoke(tmp_path: Path, *args: str) -> tuple[dict[str, Any], str]:
    """Run `python -m bench --smoke *args`; return its runs by workload and what it printed."""
    result, printed = run_smoke_result(tmp_path, *args)
    return {run["workload"]: run for run in result["runs"]}, printed


def run_smoke_result(tmp_path: Path, *args: str) -> tuple[dict[str, Any], str]:
    """Run `python -m bench --smoke *args`; return its whole result and what it printed."""
    result, printed = run_bench(
        "bench",
        "--smoke",
        *args,
        "--run-dir",
        str(tmp_path / "run"),
        database="bench",  # its own, next to this run's test database
        out=tmp_path / "smoke.json",
        timeout_s=TIMEOUT_S,
    )
    assert result["errors"] == []
    return result, printed


def test_smoke_run_writes_every_figure_and_loses_nothing(tmp_path: Path) -> None:
    result, printed = run_smoke_result(tmp_path)
    speed = result["host"]["speed"]  # what makes runs on two machines comparable, or not
    assert speed["python_loop_ms"] > 0 and speed["thread_hop_us"] > 0, speed
    assert "Python adds in" in printed
    runs = {run["workload"]: run for run in result["runs"]}
    assert {"W1", "W2", "W3", "W4", "WRITE"} <= runs.keys()
    w1 = runs["W1"]
    for name in RUN_FIELDS:
        assert name in w1, name
    assert w1["connections"]["made"] == w1["streams"]
    assert w1["events"]["published"] > 0
    assert w1["events"]["delivered"] == w1["events"]["expected"] > 0
    assert w1["events"]["lost"] == 0
    assert w1["events"]["duplicated"] == 0
    for key in ("p50", "p99", "max"):
        assert w1["delay_ms"][key] is not None
    for key in ("rss_per_stream_kb", "threads", "db_connections_web", "cpu_us_per_event"):
        assert w1["server"][key] is not None, key
    assert runs["W4"]["storm"]["resumed"] == runs["W4"]["streams"]
    assert runs["WRITE"]["events_per_s"] > 0
    assert "W1" in printed  # the table
    # The stage table: every stage of every delivery, from the server's own histograms.
    timed = w1["stages"]["by_stage"]
    assert list(timed) == ["statement", "commit", "publish", "redis", "fanout", "socket"]
    assert 0 < timed["socket"]["count"] == timed["fanout"]["count"] <= w1["events"]["delivered"]
    assert timed["statement"]["count"] >= w1["events"]["published"]  # per receiving process
    assert f"stages ours W1 N={w1['streams']}" in printed and "end to end (clients)" in printed


@pytest.mark.benchmatrix
def test_scale_runs_real_jobs_across_processes_and_profiles_are_kept(tmp_path: Path) -> None:
    runs, _ = run_smoke(tmp_path, "--workloads", "W1,SCALE", "--profile")

    scale = runs["SCALE"]
    assert scale["scale"]["job_statuses"] == {"succeeded": scale["jobs"]}
    assert sum(scale["scale"]["jobs_by_worker"].values()) == scale["jobs"]
    # Which process accepts each of 20 connections is the kernel's choice: count, not spread.
    assert len(scale["scale"]["streams_by_web_process"]) == scale["scale"]["web_processes"]
    assert scale["events"]["delivered"] == scale["events"]["expected"] > 0
    assert scale["events"]["lost"] == scale["events"]["duplicated"] == 0

    profiles = runs["W1"]["profile"]
    assert set(profiles) == {"open", "events"}
    for summary in profiles.values():
        assert "error" not in summary, summary
        assert Path(summary["file"]).stat().st_size > 0
    assert profiles["open"]["samples"] > 0 and profiles["open"]["inclusive_pct"]


@pytest.mark.benchmatrix
def test_both_servers_run_side_by_side_and_granian_survives_the_storm(tmp_path: Path) -> None:
    result, printed = run_smoke_result(
        tmp_path, "--workloads", "W1,W4", "--servers", "gunicorn,granian"
    )
    runs = {(run["system"], run["workload"]): run for run in result["runs"]}
    assert [(r["system"], r["workload"]) for r in result["runs"]] == [
        ("ours", "W1"),
        ("ours-granian", "W1"),
        ("ours", "W4"),
        ("ours-granian", "W4"),
    ]
    for (system, _), run in runs.items():
        assert run["http_server"] == ("granian" if system == "ours-granian" else "gunicorn")
        assert run["events"]["delivered"] == run["events"]["expected"] > 0
        assert run["events"]["lost"] == run["events"]["duplicated"] == 0
        # The sampler found granian's forked workers, as gunicorn's.
        assert run["server"]["processes"] == result["args"]["web_processes"]
        assert run["server"]["threads"] and run["server"]["rss_mb"]
        assert run["targets"], "targets apply under both servers"
    storm = runs[("ours-granian", "W4")]["storm"]
    assert len(storm["killed_pids"]) == result["args"]["web_processes"]
    assert storm["resumed"] == storm["of"]
    compared = {c["workload"]: c for c in result["server_comparisons"]}
    assert set(compared) == {"W1", "W4"}
    assert compared["W1"]["over_gunicorn"]["delay_p99"] is not None
    assert "ours-granian" in printed and "ours-granian/ours (gunicorn) W1" in printed


@pytest.mark.benchmatrix  # 21 s: the benchmark's own options (CI cannot spare the time)
def test_an_open_storm_twice_through_pgbouncer_gives_each_run_and_their_medians(
    tmp_path: Path,
) -> None:
    result, printed = run_smoke_result(
        tmp_path, "--workloads", "W1", "--repeat", "2", "--open-rate", "200", "--pgbouncer"
    )
    runs = result["runs"]
    assert [(run["workload"], run["round"]) for run in runs] == [("W1", 1), ("W1", 2)]
    assert len(result["speed_by_round"]) == 2
    for run in runs:
        assert run["connections"]["offered_per_s"] == 200
        assert run["connections"]["made"] == run["streams"]
        assert run["connections"]["busy"] == 0
        assert run["events"]["delivered"] == run["events"]["expected"] > 0
        assert run["events"]["lost"] == run["events"]["duplicated"] == 0
    (median,) = result["medians"]
    assert median["repeats"] == 2 and median["rounds"] == [1, 2]
    p99s = sorted(run["delay_ms"]["p99"] for run in runs)
    assert median["delay_ms"]["p99"] == round(sum(p99s) / 2, 3)
    assert "opened in <= 5 s" in median["targets"]
    assert any(note.startswith("pgbouncer:") for note in result["notes"])
    assert "MEDIANS of 2 runs" in printed


@pytest.mark.benchmatrix  # 36 s (a worker compiles for real); the policy: tests/jobs/test_worker
def test_compile_load_measures_w1_and_polls_idle_and_while_workers_compile(
    tmp_path: Path,
) -> None:
    result, printed = run_smoke_result(tmp_path, "--workloads", "COMPILE")
    phases = {run["phase"]: run for run in result["runs"]}
    assert set(phases) == {"idle", "compiling"}
    for run in phases.values():
        assert run["compile"]["poll_ms"]["p50"] is not None
        assert set(run["compile"]["poll_ms"]["by_status"]) == {"200"}, "every poll a whole answer"
        assert run["events"]["lost"] == 0
    assert phases["idle"]["compile"]["workers"] == 0
    assert phases["compiling"]["compile"]["workers"] == 1
    # JOBS_WORKER_NICE (10), or this run's own niceness if that is lower (a niced CI run):
    # a process may only lower its priority.
    base = os.getpriority(os.PRIO_PROCESS, 0)
    assert phases["compiling"]["compile"]["worker_nice"] == [max(base, 10)], "worker and compiler"
    assert phases["compiling"]["compile"]["policies"] == ["idle", "normal"], "compiler, worker"
    (entry,) = result["compile_load"]
    assert entry["compiling_over_idle"]["poll_p50"] is not None
    assert "COMPILE ours" in printed


def test_the_census_counts_what_each_extra_stream_keeps(tmp_path: Path) -> None:
    result, _ = run_bench(
        "bench.census",
        "--sizes",
        "20,100",
        database="census",
        out=tmp_path / "census.json",
        timeout_s=TIMEOUT_S,
    )
    assert result["sizes"] == [20, 100]
    kinds = {row["type"]: row for row in result["types"]}
    # Each open stream is one subscription and one uvloop transport: the census sees them.
    assert kinds["realtime.subscription.Subscription"]["objects"] == 1
    assert kinds["uvloop.loop.TCPTransport"]["objects"] == 1
    assert result["objects_per_stream"] > 10 and result["rss_kb_per_stream"] > 0
