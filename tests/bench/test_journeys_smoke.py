"""The journeys benchmark runs end to end on a tiny history: `python -m bench.journeys` as a
subprocess, in a database of its own. It measures nothing here; it checks that the seeding
makes exactly the journeys and events asked for, that they fold into as many journeys, and
that every read it times answers."""

from pathlib import Path

from tests.support.bench_runs import run_bench


def test_the_journeys_benchmark_seeds_folds_and_times_every_read(tmp_path: Path) -> None:
    figures, printed = run_bench(
        "bench.journeys",
        "--journeys",
        "300",
        "--events",
        "3000",
        "--repeat",
        "1",
        database="journeys",  # its own, next to this run's test database
        out=tmp_path / "journeys.json",
        timeout_s=300,
    )

    assert (figures["journeys"], figures["events"]) == (300, 3000)
    assert figures["journeys_folded"] == 300 and 0 < figures["jobs"] < 300
    reads = {row["what"]: row for row in figures["reads"]}
    assert len(reads) == 7 and all(row["median_ms"] > 0 for row in reads.values())
    assert "median ms" in printed and "dashboard snapshot" in printed
