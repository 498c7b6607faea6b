"""The journeys benchmark runs end to end on a tiny history: `python -m bench.journeys` as a
subprocess, in a database of its own. It measures nothing here; it checks that the seeding
makes exactly the journeys and events asked for, that they fold into as many journeys, and
that every read it times answers."""

import json
import os
import subprocess
import sys
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def test_the_journeys_benchmark_seeds_folds_and_times_every_read(tmp_path: Path) -> None:
    out = tmp_path / "journeys.json"
    # Its own database, named after this run's test database: parallel runs never share one.
    database = f"{connection.settings_dict['NAME']}_journeys"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.journeys",
            "--journeys",
            "300",
            "--events",
            "3000",
            "--repeat",
            "1",
            "--database",
            database,
            "--json",
            str(out),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    figures = json.loads(out.read_text())

    assert (figures["journeys"], figures["events"]) == (300, 3000)
    assert figures["journeys_folded"] == 300 and 0 < figures["jobs"] < 300
    reads = {row["what"]: row for row in figures["reads"]}
    assert len(reads) == 7 and all(row["median_ms"] > 0 for row in reads.values())
    assert "median ms" in done.stdout and "dashboard snapshot" in done.stdout
