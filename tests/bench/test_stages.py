"""The bench's stage table (bench/stages.py): parsed from the exposition, differenced between
two scrapes, and its percentiles read from the buckets as Prometheus reads them."""

import math

import pytest

from bench import stages

SCRAPE = """# HELP realtime_event_stage_seconds Where a live event's time goes.
# TYPE realtime_event_stage_seconds histogram
realtime_event_stage_seconds_bucket{le="0.001",stage="socket"} 10.0
realtime_event_stage_seconds_bucket{le="0.002",stage="socket"} 30.0
realtime_event_stage_seconds_bucket{le="+Inf",stage="socket"} 30.0
realtime_event_stage_seconds_count{stage="socket"} 30.0
realtime_event_stage_seconds_sum{stage="socket"} 0.04
realtime_delivery_delay_seconds_count 99.0
"""


def test_a_scrape_is_read_per_stage_and_nothing_else():
    found = stages.parse(SCRAPE)
    assert found == {
        "socket": {
            "buckets": {0.001: 10.0, 0.002: 30.0, math.inf: 30.0},
            "count": 30.0,
            "sum": 0.04,
        }
    }


def test_the_difference_of_two_scrapes_is_what_was_observed_between_them():
    before = stages.parse(SCRAPE)
    after = stages.parse(SCRAPE.replace("30.0", "70.0").replace("0.04", "0.1"))
    assert stages.between(before, after)["socket"] == {
        "buckets": {0.001: 0.0, 0.002: 40.0, math.inf: 40.0},
        "count": 40.0,
        "sum": pytest.approx(0.06),
    }


def test_percentiles_interpolate_within_their_bucket_and_inf_gives_its_lower_bound():
    buckets = {0.001: 10.0, 0.002: 30.0, math.inf: 40.0}
    assert stages.quantile(0.25, buckets) == pytest.approx(0.001)  # 10 of 40: the first bound
    assert stages.quantile(0.5, buckets) == pytest.approx(0.0015)  # halfway through the second
    assert stages.quantile(0.99, buckets) == 0.002  # in +Inf: its lower bound
    assert stages.quantile(0.5, {math.inf: 0.0}) is None


def test_the_summary_keeps_the_stage_order_and_adds_the_means():
    observed = {
        "socket": {"buckets": {0.001: 4.0, math.inf: 4.0}, "count": 4.0, "sum": 0.002},
        "commit": {"buckets": {0.01: 2.0, math.inf: 2.0}, "count": 2.0, "sum": 0.01},
        "redis": {"buckets": {math.inf: 0.0}, "count": 0.0, "sum": 0.0},  # none: left out
    }
    found = stages.summary(observed)
    assert list(found["by_stage"]) == ["commit", "socket"]
    assert found["by_stage"]["commit"]["mean_ms"] == 5.0
    assert found["by_stage"]["socket"]["p50_ms"] == 0.5
    assert found["by_stage"]["socket"]["clock"] == "web process, monotonic, per stream"
    assert found["sum_of_means_ms"] == 5.5
