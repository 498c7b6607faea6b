"""The peer's publisher: the same paced loop, recording through django-eventstream's send_event.

`bench/.peer-venv/bin/python -m bench.peer.publisher --spec SPEC.json --out RESULT.json`.
The event data is our wire object (job, seq, type, ts, status, percent, step, message, eta_s),
so the client reads both systems the same way; `seq` counts per job in this process, which
owns its jobs alone, and `ts` is taken just before send_event persists and publishes.
"""

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from bench.publisher import Emit, run_loop

STEP = {"key": "contracts", "label": "Render contracts", "index": 3, "total": 7}


def peer_emitter(job_ids: list[str], *, with_step: bool) -> Emit:
    """Return an `emit` that sends one event on channel `job-<id>` with send_event."""
    import django

    django.setup()
    from django_eventstream import send_event

    seqs = dict.fromkeys(job_ids, 0)

    def emit(job_id: str, n: int) -> int:
        seqs[job_id] += 1
        ts = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        send_event(
            f"job-{job_id}",
            "progress-update",
            {
                "job": job_id,
                "seq": seqs[job_id],
                "type": "progress-update",
                "ts": ts,
                "status": "running",
                "percent": n % 101,
                "step": STEP if with_step else None,
                "message": f"bench event {n}",
                "eta_s": None,
            },
        )
        return seqs[job_id]

    return emit


def main(argv: list[str] | None = None) -> int:
    """Run one publisher process for the peer."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    with open(args.spec) as handle:
        spec: dict[str, Any] = json.load(handle)
    emit = peer_emitter(spec["jobs"], with_step=bool(spec.get("step", True)))
    run_loop(
        emit=emit, jobs=spec["jobs"], rate=float(spec["rate"]), seed=int(spec["seed"]), out=args.out
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
