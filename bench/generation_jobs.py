"""Measure real generation jobs end to end (the database writes included) on DATABASE_URL.

`serial`: per template, the median of 5 jobs run in this process, cold (a fresh name, so the
compile is not cached) and warm (the same name again). `workers N`: queue N jobs (all four
templates in turn) and start two `manage.py run_worker` processes; report the jobs per minute
they finish together and the peak RSS of a worker and of its toolchain child. COLD=1 gives
every queued job a fresh name. Use a database of its own, e.g.

    createdb bench_gen; DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_gen \
        JOBS_BUILD_CACHE_DIR=/tmp/bench-gen-cache .venv/bin/python bench/generation_jobs.py serial
"""

import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "composer_realtime.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from jobs import pipeline, services  # noqa: E402
from jobs.models import Job, JobStatus  # noqa: E402
from jobs.scaffolds import TEMPLATES  # noqa: E402


def _name(cold: bool) -> str:
    return f"Cold {uuid.uuid4().hex[:8]}" if cold else "Warm Bench"


def serial(runs: int = 5) -> None:
    for key in TEMPLATES:
        medians = {}
        for kind in ("cold", "warm"):
            seconds = []
            for _ in range(runs):
                job = services.job_create(
                    owner=None, params={"name": _name(kind == "cold"), "template": key}
                )
                started = time.perf_counter()
                pipeline.run(job_id=job.pk)
                seconds.append(time.perf_counter() - started)
                job.refresh_from_db()
                assert job.status == JobStatus.SUCCEEDED, job.error
            medians[kind] = round(statistics.median(seconds), 2)
        print(json.dumps({"template": key, "median_s": medians}), flush=True)


def _rss_mb(pid: int) -> int | None:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    return next(int(line.split()[1]) // 1024 for line in lines if line.startswith("VmRSS"))


def workers(count: int, *, cold: bool) -> None:
    keys = list(TEMPLATES)
    ids = [
        services.job_create(
            owner=None, params={"name": _name(cold), "template": keys[i % len(keys)]}
        ).pk
        for i in range(count)
    ]
    procs = [
        subprocess.Popen(
            [sys.executable, "manage.py", "run_worker"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    peak: dict[str, int] = {}
    deadline = time.monotonic() + 900
    finished = Job.objects.filter(pk__in=ids, status__in=JobStatus.finished())
    while finished.count() < count and time.monotonic() < deadline:
        time.sleep(0.5)
        for proc in procs:
            children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
            for kind, pid in [("worker", proc.pid), *(("toolchain", int(c)) for c in children)]:
                peak[kind] = max(peak.get(kind, 0), _rss_mb(pid) or 0)
    done = list(Job.objects.filter(pk__in=ids))
    span = (
        max(j.finished_at for j in done if j.finished_at)
        - min(j.started_at for j in done if j.started_at)
    ).total_seconds()
    ok = sum(j.status == JobStatus.SUCCEEDED for j in done)
    print(
        json.dumps(
            {
                "jobs": count,
                "succeeded": ok,
                "cold": cold,
                "span_s": round(span, 1),
                "jobs_per_minute": round(ok * 60 / span, 1),
                "peak_rss_mb": peak,
            }
        )
    )
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(timeout=30)


if __name__ == "__main__":
    call_command("migrate", verbosity=0)
    if sys.argv[1] == "serial":
        serial()
    else:
        workers(int(sys.argv[2]), cold=os.environ.get("COLD") == "1")
