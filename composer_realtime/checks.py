"""System checks for the real-time settings."""

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from composer_realtime import redis_link


@register()
def check_realtime_settings(app_configs: Sequence[AppConfig] | None, **kwargs: Any
                            ) -> list[CheckMessage]:
    """Return errors for knobs that would break streaming."""
    problems: list[CheckMessage] = []
    if settings.REALTIME_HEARTBEAT_S <= 0:
        problems.append(Error("REALTIME_HEARTBEAT_S must be positive.", id="realtime.E001"))
    if settings.REALTIME_QUEUE_SIZE < 1:
        problems.append(Error("REALTIME_QUEUE_SIZE must be at least 1.", id="realtime.E002"))
    if settings.REALTIME_MAX_STREAM_AGE_S <= settings.REALTIME_HEARTBEAT_S:
        problems.append(Error("REALTIME_MAX_STREAM_AGE_S must exceed REALTIME_HEARTBEAT_S.",
                              id="realtime.E003"))
    if settings.REALTIME_SYNC_THREADS < 1:
        problems.append(Error("REALTIME_SYNC_THREADS must be at least 1.", id="realtime.E004"))
    problems += _redis_url_problems(settings.REDIS_URL)
    if not settings.DEBUG and not settings.REDIS_URL:
        problems.append(Warning(
            "REDIS_URL is not set: every web process polls the database for new events.",
            hint="Set REDIS_URL in production for sub-100 ms delivery.", id="realtime.W001"))
    return problems


def _redis_url_problems(url: str) -> list[CheckMessage]:
    """Return an error for a REDIS_URL that names neither one Redis nor a Redis Cluster."""
    if not url:
        return []
    try:
        if redis_link.cluster_nodes(url) is not None:
            return []
    except ValueError as exc:
        return [Error(f"REDIS_URL names a Redis Cluster badly: {exc}.",
                      hint="Write redis+cluster://host:port,host:port (any of its nodes).",
                      id="realtime.E005")]
    if url.partition("://")[0] not in {"redis", "rediss", "unix"}:
        return [Error(f"REDIS_URL {url!r} is neither redis://, rediss://, unix:// nor "
                      f"{redis_link.CLUSTER_SCHEME}://.", id="realtime.E006")]
    return []
