"""The soak runs end to end on a tiny size: `python -m bench --smoke --workloads SOAK`.

Twelve seconds say nothing about memory growth (the full soak measures it); this checks that
streams which the server ends every few seconds come back and lose nothing, and that once
the clients leave no worker holds a stream: the gauge and the sockets are back at zero.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.databases import scratch_database

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 120


@pytest.mark.benchmatrix
def test_smoke_soak_churns_streams_loses_nothing_and_leaves_no_stream_open(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    database = scratch_database("soak")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--smoke",
            "--workloads",
            "SOAK",
            "--database",
            database,
            "--json",
            str(out),
            "--run-dir",
            str(tmp_path / "run"),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["errors"] == []
    [run] = result["runs"]
    soak, events = run["soak"], run["events"]
    assert run["connections"]["made"] == run["streams"]
    assert soak["reconnects"] >= run["streams"], "every stream was ended and came back"
    assert soak["caught_up_after_stop_s"] is not None
    assert events["published"] > 0
    assert events["delivered"] == events["expected"] > 0
    assert events["lost"] == 0 and events["duplicated"] == 0
    assert soak["rss_growth_pct"] is not None and len(soak["rss_series_mb"]) >= 5
    assert soak["streams_open_zero"] and set(soak["streams_open_scrapes"]) == {0}
    assert soak["sockets_zero"] and soak["sockets_by_worker"]
    assert "SOAK" in done.stdout  # the table
