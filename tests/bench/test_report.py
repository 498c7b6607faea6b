"""The benchmark's report (bench/report.py): medians of repeated runs, targets, COMPILE's ratios."""

from bench import report


def _run(round_number: int, *, p99: float, lost: int, made: int) -> dict:
    return {
        "system": "ours",
        "workload": "W1",
        "streams": 10_000,
        "round": round_number,
        "connections": {
            "made": made,
            "failed_attempts": 0,
            "busy": 0,
            "open_s": 4.0 + round_number,
        },
        "delay_ms": {"p50": 1.0, "p99": p99, "max": 2 * p99},
        "events": {"lost": lost, "duplicated": 0, "publish_rate": 500.0},
        "server": {
            "rss_delta_per_stream_kb": 9.5,
            "threads": 20,
            "db_connections_web": 9,
            "pool_limit": 30,
        },
    }


def test_medians_take_the_middle_run_but_the_worst_of_what_must_always_hold():
    runs = [
        _run(1, p99=7.0, lost=0, made=10_000),
        _run(2, p99=30.0, lost=3, made=10_000),
        _run(3, p99=9.0, lost=0, made=9_990),
    ]
    (median,) = report.medians(runs)
    assert median["delay_ms"]["p99"] == 9.0
    assert median["connections"]["open_s"] == 6.0
    assert median["events"]["lost"] == 3, "one run lost events: the medians say so"
    assert median["connections"]["made"] == 9_990
    assert median["repeats"] == 3 and median["rounds"] == [1, 2, 3]
    assert median["streams"] == 10_000


def test_compile_load_divides_the_compiling_phase_by_the_idle_one():
    def phase(name: str, w1_p99: float, poll_p50: float) -> dict:
        return {
            "system": "ours",
            "workload": "COMPILE",
            "phase": name,
            "streams": 1000,
            "delay_ms": {"p50": 2.0, "p99": w1_p99},
            "compile": {"poll_ms": {"p50": poll_p50, "p99": 3 * poll_p50}, "jobs_finished": 4},
        }

    (entry,) = report.compile_load([phase("idle", 10.0, 15.0), phase("compiling", 18.0, 33.0)])
    assert entry["compiling_over_idle"]["w1_p99"] == 1.8
    assert entry["compiling_over_idle"]["poll_p50"] == 2.2
    assert entry["targets"] == {
        "w1_p99 compiling <= 2x idle": True,
        "poll_p50 compiling <= 2x idle": False,
    }
