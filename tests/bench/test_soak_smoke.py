"""The soak runs end to end on a tiny size: `python -m bench --smoke --workloads SOAK`.

Twelve seconds say nothing about memory growth (the full soak measures it); this checks that
streams which the server ends every few seconds come back and lose nothing, and that once
the clients leave no worker holds a stream: the gauge and the sockets are back at zero.
"""

from pathlib import Path

import pytest

from tests.support.bench_runs import run_bench

TIMEOUT_S = 120


@pytest.mark.benchmatrix
def test_smoke_soak_churns_streams_loses_nothing_and_leaves_no_stream_open(tmp_path: Path) -> None:
    result, printed = run_bench(
        "bench",
        "--smoke",
        "--workloads",
        "SOAK",
        "--run-dir",
        str(tmp_path / "run"),
        database="soak",
        out=tmp_path / "soak.json",
        timeout_s=TIMEOUT_S,
    )
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
    assert "SOAK" in printed  # the table
