"""Measured step durations, kept per template and step, whose medians make the ETAs."""

from jobs.generation import timings


def test_medians_follow_the_recorded_durations(settings, tmp_path):
    settings.JOBS_BUILD_CACHE_DIR = str(tmp_path / "cache")
    assert timings.median_durations("token") == {}

    for seconds in (1.0, 3.0, 2.0):
        timings.record_durations("token", {"compile": seconds, "render": 0.1234})

    assert timings.median_durations("token") == {"compile": 2.0, "render": 0.123}
    assert timings.median_durations("dao") == {}


def test_only_the_last_samples_are_kept(settings, tmp_path):
    settings.JOBS_BUILD_CACHE_DIR = str(tmp_path)
    for seconds in range(timings.KEEP + 10):
        timings.record_durations("nft", {"deploy": float(seconds)})

    assert timings.median_durations("nft") == {"deploy": 17.0}  # median of 10 … 24


def test_an_unreadable_file_counts_as_no_measurement(settings, tmp_path):
    settings.JOBS_BUILD_CACHE_DIR = str(tmp_path)
    (tmp_path / "timings.json").write_text("{not json", encoding="utf-8")

    assert timings.median_durations("token") == {}
