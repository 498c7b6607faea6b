"""System checks for the real-time settings (realtime/checks.py)."""

import pytest

from realtime.checks import check_realtime_settings


def _ids(settings: object) -> set[str]:
    return {problem.id or "" for problem in check_realtime_settings(None)}


def test_the_test_settings_pass(settings):
    assert _ids(settings) == set()


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("REALTIME_HEARTBEAT_S", 0, "realtime.E001"),
        ("REALTIME_QUEUE_SIZE", 0, "realtime.E002"),
        ("REALTIME_MAX_STREAM_AGE_S", 1, "realtime.E003"),
        ("REALTIME_SYNC_THREADS", 0, "realtime.E004"),
        ("REALTIME_OPS_ALLOW", ["10.0.0.0/33"], "realtime.E005"),
        ("REDIS_URL", "redis+cluster://a:x", "realtime.E006"),
        ("REDIS_URL", "http://127.0.0.1:6379", "realtime.E007"),
    ],
)
def test_a_setting_that_would_break_streaming_is_an_error_with_its_id(
    settings, name, value, problem
):
    setattr(settings, name, value)
    assert problem in _ids(settings)


def test_production_without_redis_is_warned_about(settings):
    settings.DEBUG, settings.REDIS_URL = False, ""
    assert "realtime.W001" in _ids(settings)
