"""One row of the fault table per scenario: printed, and kept for docs/reliability.md.

Every fault scenario reports what it measured here; the rows of a run are appended to
test-artifacts/faults/results.jsonl (one JSON object a line, with the run's start), so three
runs give the medians the table quotes.
"""

import json
import time

from tests.support.servers import ROOT

RESULTS = ROOT / "test-artifacts" / "faults" / "results.jsonl"


def fault_row(*, client: str, placement: str, fault: str, **figures: object) -> str:
    """Record one scenario's figures and return them as a line to print."""
    row = {"client": client, "placement": placement, "fault": fault, **figures, "at": time.time()}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a") as out:
        out.write(json.dumps(row) + "\n")
    shown = ", ".join(
        f"{k} {v:.1f} s" if isinstance(v, float) else f"{k} {v}" for k, v in figures.items()
    )
    return f"\n[{client} | {placement} | {fault}] {shown}"
