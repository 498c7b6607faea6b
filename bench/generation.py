"""Measure the generation stages per template: cold (nothing cached) and warm (cached compile).

Runs the stages of jobs.generation in this process, without the database (the writes of a job
are measured elsewhere): render, compile, deploy, smoke test, package; five runs per template
by default. With --workers N it also starts N such processes at once, each generating warm
projects for --seconds, and reports the projects per minute they finish together.

    .venv/bin/python bench/generation.py [--runs 5] [--workers 2 --seconds 60]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
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
    from jobs.generation.deploy import Chain, constructor_args
    from jobs.generation.names import generated_contracts
    from jobs.generation.package import artifact_files, zip_project
    from jobs.generation.render import render_project
    from jobs.generation.smoke import Project, smoke_checks
    from jobs.generation.toolchain import shared_toolchain
    from jobs.scaffolds import TEMPLATES, template_defaults

    toolchain, times, started = shared_toolchain(), {}, time.perf_counter()
    params = {**template_defaults(key), "name": name, "template": key}
    files = render_project(params)
    contracts = generated_contracts(name, TEMPLATES[key])
    times["render"], started = time.perf_counter() - started, time.perf_counter()
    artifacts = {}
    for path in (p for p in files if p.endswith(".sol")):
        result = compile_file(path, files[path], toolchain=toolchain, should_stop=lambda: False,
                              timeout_s=300)
        assert not result.errors, result.errors
        artifacts.update(result.artifacts)
    times["compile"], started = time.perf_counter() - started, time.perf_counter()
    chain = Chain(toolchain=toolchain, should_stop=lambda: False, timeout_s=60)
    chain.reset()
    for path, _ in TEMPLATES[key].contracts:
        contract = contracts[path]
        chain.deploy(artifacts[contract], constructor_args(TEMPLATES[key], contract, chain,
                                                           contracts))
    times["deploy"], started = time.perf_counter() - started, time.perf_counter()
    for _, check in smoke_checks(params):
        check(chain, Project(params=params, contracts=contracts))
    times["smoke"], started = time.perf_counter() - started, time.perf_counter()
    zip_project({**files, **artifact_files(list(artifacts.values()), compiler="solc")},
                root="bench")
    times["package"] = time.perf_counter() - started
    times["total"] = sum(times.values())
    return times


def rss_mb() -> dict[str, float]:
    from jobs.generation.toolchain import process_rss_bytes, shared_toolchain

    return {"worker": (process_rss_bytes() or 0) / 2**20,
            "toolchain": (shared_toolchain().rss_bytes() or 0) / 2**20}


def per_template(runs: int) -> None:
    from jobs.scaffolds import TEMPLATES

    generate("token", "Warm Up")  # start the child and load the compiler once
    for key in TEMPLATES:
        cold = [generate(key, f"Cold {uuid.uuid4().hex[:8]}") for _ in range(runs)]
        warm = [generate(key, "Warm Project") for _ in range(runs + 1)][1:]
        row = {"template": key,
               **{f"cold_{k}": round(statistics.median(r[k] for r in cold), 2) for k in cold[0]},
               **{f"warm_{k}": round(statistics.median(r[k] for r in warm), 3) for k in warm[0]},
               **{f"rss_{k}_mb": round(v) for k, v in rss_mb().items()}}
        print(json.dumps(row), flush=True)


def throughput(seconds: float) -> int:
    from jobs.scaffolds import TEMPLATES

    keys, done, deadline = list(TEMPLATES), 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        generate(keys[done % len(keys)], "Warm Project")
        done += 1
    return done


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--cache-dir", default="")
    parser.add_argument("--throughput-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    cache_dir = args.cache_dir or tempfile.mkdtemp(prefix="generation-bench-")
    _setup(cache_dir)
    if args.throughput_child:
        print(throughput(args.seconds))
        return
    if args.runs:
        per_template(args.runs)
    if args.workers:
        children = [subprocess.Popen(  # noqa: S603 - this script, no shell
            [sys.executable, __file__, "--throughput-child", "--seconds", str(args.seconds),
             "--cache-dir", cache_dir], stdout=subprocess.PIPE, text=True)
            for _ in range(args.workers)]
        done = sum(int(child.communicate()[0].split()[-1]) for child in children)
        print(json.dumps({"workers": args.workers, "seconds": args.seconds,
                          "projects_per_minute": round(done * 60 / args.seconds, 1)}))


if __name__ == "__main__":
    main()
