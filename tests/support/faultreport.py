"""One row of the fault table per scenario: printed, and kept for docs/reliability.md.

Every fault scenario reports what it measured here; the rows of a run are appended to
test-artifacts/faults/results.jsonl (one JSON object a line, with the run's start), so three
runs give the medians the table quotes.
"""

import json
import statistics
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


def medians(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Return one row per (client, placement, fault): the median of each figure over the runs,
    how many runs there were, and what was seen in each."""
    groups: dict[tuple[str, str, str], list[dict[str, object]]] = {}
    for row in rows:
        key = (str(row["client"]), str(row["placement"]), str(row["fault"]))
        groups.setdefault(key, []).append(row)
    table = []
    for (client, placement, fault), runs in groups.items():
        merged: dict[str, object] = {"client": client, "placement": placement, "fault": fault}
        for name in runs[0]:
            values = [run[name] for run in runs if name in run]
            if name != "at" and all(isinstance(v, float) for v in values):
                merged[name] = statistics.median(values)  # type: ignore[type-var]
        merged["runs"] = len(runs)
        merged["saw"] = " / ".join(dict.fromkeys(str(run.get("saw", "")) for run in runs))
        table.append(merged)
    return table


if __name__ == "__main__":
    # `.venv/bin/python -m tests.support.faultreport`: the medians of every run recorded so far.
    recorded = [json.loads(line) for line in RESULTS.read_text().splitlines() if line]
    for row in medians(recorded):
        figures = ", ".join(f"{k} {v:.1f} s" for k, v in row.items() if isinstance(v, float))
        print(
            f"{row['placement']} | {row['fault']} | {row['client']} | {figures} | "
            f"{row['runs']} runs | {row['saw']}"
        )
