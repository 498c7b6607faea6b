"""Publishers: separate processes that record progress at a set rate on random jobs.

`python -m bench.publisher --spec SPEC.json --out RESULT.json` (started by the benchmark).

Each process owns a disjoint share of the jobs (as a real worker owns its job) and picks a
random one of them for every event, paced to `rate` events/s (0: as fast as it can, for the
write-path measurement). It records every (job, seq) it published, so that the benchmark can
count exactly what each stream lost or received twice. The loop here imports nothing but the
stdlib: the peer's publisher (bench/peer/publisher.py) reuses it with its own `emit`.

Spec keys: jobs, rate, seed, and for ours `step` (include a step object in each event).
"""

import argparse
import json
import random
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from bench import control

Emit = Callable[[str, int], int]
"""Record event number n (0, 1, 2 …) of this process on a job; return its seq on that job."""


class Pacer:
    """Start and stop signals from the parent, read on the control thread."""

    def __init__(self) -> None:
        self.go = threading.Event()
        self.stop = threading.Event()

    def command(self, line: str) -> None:
        """Handle "go" and "stop"."""
        if line == "go":
            self.go.set()
        elif line == "stop":
            self.stop.set()
            self.go.set()


def run_loop(*, emit: Emit, jobs: list[str], rate: float, seed: int, out: str) -> None:
    """Say ready, wait for "go", publish until "stop", then write what was published."""
    pacer = Pacer()
    control.listen(pacer.command)
    chooser = random.Random(seed)
    control.say(ready=True, jobs=len(jobs))
    pacer.go.wait()
    published: list[tuple[str, int]] = []
    call_s: list[float] = []
    errors: dict[str, int] = {}
    started = time.monotonic()
    next_report = started + 1.0
    while not pacer.stop.is_set():
        n = len(published) + sum(errors.values())
        if rate > 0:
            delay = started + n / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        job = chooser.choice(jobs)
        before = time.perf_counter()
        try:
            seq = emit(job, n)
        except Exception as exc:  # counted and shown; one bad call must not end the run
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            continue
        call_s.append(time.perf_counter() - before)
        published.append((job, seq))
        if time.monotonic() >= next_report:
            next_report += 1.0
            control.say(
                published=len(published),
                errors=sum(errors.values()),
                behind_s=round(time.monotonic() - (started + n / rate), 3) if rate > 0 else 0.0,
            )
    elapsed = time.monotonic() - started
    with open(out, "w") as handle:
        json.dump(
            {
                "published": published,
                "elapsed_s": elapsed,
                "errors": errors,
                "call_s": [round(c, 6) for c in call_s],
            },
            handle,
            separators=(",", ":"),
        )
    control.say(done=True, published=len(published))


def ours_emitter(job_ids: list[str], *, with_step: bool) -> Emit:
    """Return an `emit` that records progress through jobs.services.job_report_progress."""
    import django

    django.setup()
    from jobs.models import Job
    from jobs.services import job_report_progress
    from jobs.wire import Step

    jobs = {str(job.pk): job for job in Job.objects.filter(pk__in=job_ids)}
    missing = set(job_ids) - set(jobs)
    if missing:
        raise SystemExit(f"publisher: {len(missing)} job(s) not found, e.g. {sorted(missing)[0]}")
    step = Step(key="contracts", label="Render contracts", index=3, total=7)

    def emit(job_id: str, n: int) -> int:
        event = job_report_progress(
            job=jobs[job_id],
            percent=n % 101,
            step=step if with_step else None,
            message=f"bench event {n}",
        )
        return int(event.seq)

    return emit


def main(argv: list[str] | None = None) -> int:
    """Run one publisher process for our system."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    with open(args.spec) as handle:
        spec: dict[str, Any] = json.load(handle)
    emit = ours_emitter(spec["jobs"], with_step=bool(spec.get("step", True)))
    run_loop(
        emit=emit, jobs=spec["jobs"], rate=float(spec["rate"]), seed=int(spec["seed"]), out=args.out
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
