"""Measure the generation stages per template: cold (nothing cached) and warm (cached compile).

Runs the stages of jobs.generation in this process, without the database (the writes of a job
are measured elsewhere): render, compile, deploy, smoke test, package; five runs per template
by default; --cancel measures how soon a cancelled compile's child is dead. Real jobs, with
their database writes and two workers: bench/generation_jobs.py.

    .venv/bin/python bench/generation.py [--runs 5] [--cancel]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "composer_realtime.settings")


def _setup(cache_dir: str) -> None:
    os.environ["JOBS_BUILD_CACHE_DIR"] = cache_dir
    import django

    django.setup()


def generate(key: str, name: str) -> dict[str, float]:
    """Run every stage once for a project; return each stage's seconds."""
    from jobs.generation.compile import compile_file
    from jobs.generation.deploy import Chain, constructor_args, wire
    from jobs.generation.names import generated_contracts
    from jobs.generation.package import artifact_files, zip_project
    from jobs.generation.render import render_project
    from jobs.generation.smoke import Project, smoke_checks
    from jobs.generation.toolchain import shared_toolchain
    from jobs.scaffolds import TEMPLATES, template_defaults

    toolchain, times, started = shared_toolchain(), {}, time.perf_counter()
    params = {**template_defaults(key), "name": name, "template": key}
    files = render_project(params)
    contracts = generated_contracts(name, TEMPLATES[key], params)
    times["render"], started = time.perf_counter() - started, time.perf_counter()
    artifacts = {}
    for path in (p for p in files if p.endswith(".sol")):
        result = compile_file(
            path, files[path], toolchain=toolchain, should_stop=lambda: False, timeout_s=300
        )
        assert not result.errors, result.errors
        artifacts.update(result.artifacts)
    times["compile"], started = time.perf_counter() - started, time.perf_counter()
    chain = Chain(toolchain=toolchain, should_stop=lambda: False, timeout_s=60)
    chain.reset()
    for contract in contracts.values():
        chain.deploy(
            artifacts[contract], constructor_args(TEMPLATES[key], contract, chain, contracts)
        )
    wire(TEMPLATES[key], chain, contracts)
    times["deploy"], started = time.perf_counter() - started, time.perf_counter()
    for _, check in smoke_checks(params):
        check(chain, Project(params=params, contracts=contracts))
    times["smoke"], started = time.perf_counter() - started, time.perf_counter()
    zip_project(
        {**files, **artifact_files(list(artifacts.values()), compiler="solc")}, root="bench"
    )
    times["package"] = time.perf_counter() - started
    times["total"] = sum(times.values())
    return times


def rss_mb() -> dict[str, float]:
    from jobs.generation.toolchain import process_rss_bytes, shared_toolchain

    return {
        "worker": (process_rss_bytes() or 0) / 2**20,
        "toolchain": (shared_toolchain().rss_bytes() or 0) / 2**20,
    }


def per_template(runs: int) -> None:
    from jobs.scaffolds import TEMPLATES

    generate("token", "Warm Up")  # start the child and load the compiler once
    for key in TEMPLATES:
        cold = [generate(key, f"Cold {uuid.uuid4().hex[:8]}") for _ in range(runs)]
        warm = [generate(key, "Warm Project") for _ in range(runs + 1)][1:]
        row = {
            "template": key,
            **{f"cold_{k}": round(statistics.median(r[k] for r in cold), 2) for k in cold[0]},
            **{f"warm_{k}": round(statistics.median(r[k] for r in warm), 3) for k in warm[0]},
            **{f"rss_{k}_mb": round(v) for k, v in rss_mb().items()},
        }
        print(json.dumps(row), flush=True)


def _ask(asked: list[float], stop: threading.Event) -> None:
    asked[0] = time.perf_counter()
    stop.set()


def cancel_latency(runs: int = 5) -> None:
    """Print how long a compile runs on after its cancel is asked for (until the child is dead)."""
    from jobs.generation.compile import standard_input
    from jobs.generation.render import render_project
    from jobs.generation.toolchain import Cancelled, Toolchain, toolchain_dir
    from jobs.scaffolds import template_defaults

    toolchain = Toolchain(directory=toolchain_dir(), node="node")
    files = render_project({**template_defaults("dao"), "name": "Cancel Bench", "template": "dao"})
    started = time.perf_counter()
    toolchain.request(
        "compile", input=standard_input("contracts/DaoToken.sol", files["contracts/DaoToken.sol"])
    )
    first = time.perf_counter() - started
    latencies = []
    for i in range(runs):
        asked, stop = [0.0], threading.Event()
        threading.Timer(0.5 + i * 0.037, _ask, (asked, stop)).start()  # unrelated to the polling
        source = files["contracts/DaoGovernor.sol"] + f"\n// {uuid.uuid4()}\n"
        try:
            toolchain.request(
                "compile",
                input=standard_input("contracts/DaoGovernor.sol", source),
                should_stop=stop.is_set,
                timeout_s=120,
            )
        except Cancelled:
            latencies.append(time.perf_counter() - asked[0])
    toolchain.kill()
    print(
        json.dumps(
            {
                "first_compile_in_a_new_child_s": round(first, 2),
                "cancel_to_killed_median_ms": round(statistics.median(latencies) * 1000),
                "cancel_to_killed_max_ms": round(max(latencies) * 1000),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cache-dir", default="")
    parser.add_argument("--cancel", action="store_true", help="measure the cancel latency")
    args = parser.parse_args()
    cache_dir = args.cache_dir or tempfile.mkdtemp(prefix="generation-bench-")
    _setup(cache_dir)
    if args.cancel:
        cancel_latency()
    if args.runs:
        per_template(args.runs)


if __name__ == "__main__":
    main()
