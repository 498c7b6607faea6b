"""System checks for the real-time settings."""

import ipaddress
from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from realtime.broker import clients


@register()
def check_realtime_settings(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    """Return errors for knobs that would break streaming."""
    problems: list[CheckMessage] = []
    if settings.REALTIME_HEARTBEAT_S <= 0:
        problems.append(Error("REALTIME_HEARTBEAT_S must be positive.", id="realtime.E001"))
    if settings.REALTIME_QUEUE_SIZE < 1:
        problems.append(Error("REALTIME_QUEUE_SIZE must be at least 1.", id="realtime.E002"))
    if settings.REALTIME_MAX_STREAM_AGE_S <= settings.REALTIME_HEARTBEAT_S:
        problems.append(
            Error("REALTIME_MAX_STREAM_AGE_S must exceed REALTIME_HEARTBEAT_S.", id="realtime.E003")
        )
    if settings.REALTIME_SYNC_THREADS < 1:
        problems.append(Error("REALTIME_SYNC_THREADS must be at least 1.", id="realtime.E004"))
    if not _networks_valid(settings.REALTIME_OPS_ALLOW):
        problems.append(
            Error(
                "REALTIME_OPS_ALLOW must be a list of CIDRs or addresses.",
                hint="e.g. 127.0.0.1/32,::1/128,10.0.0.0/8",
                id="realtime.E005",
            )
        )
    if settings.REALTIME_REDIS_HEALTH_CHECK_S <= 0 or settings.REALTIME_REDIS_HEALTH_TIMEOUT_S <= 0:
        problems.append(
            Error(
                "REALTIME_REDIS_HEALTH_CHECK_S and REALTIME_REDIS_HEALTH_TIMEOUT_S must be "
                "positive: without them a silent Redis path would never be noticed.",
                id="realtime.E008",
            )
        )
    problems += _redis_url_problems(settings.REDIS_URL)
    if not settings.DEBUG and not settings.REDIS_URL:
        problems.append(
            Warning(
                "REDIS_URL is not set: every web process polls the database for new events.",
                hint="Set REDIS_URL in production for sub-100 ms delivery.",
                id="realtime.W001",
            )
        )
    return problems


def _networks_valid(networks: Sequence[str]) -> bool:
    try:
        for network in networks:
            ipaddress.ip_network(network, strict=False)
    except ValueError:
        return False
    return True


def _redis_url_problems(url: str) -> list[CheckMessage]:
    """Return an error for a REDIS_URL that names neither one Redis nor a Redis Cluster."""
    if not url:
        return []
    try:
        if clients.cluster_nodes(url) is not None:
            return []
    except ValueError as exc:
        return [
            Error(
                f"REDIS_URL names a Redis Cluster badly: {exc}.",
                hint="Write redis+cluster://host:port,host:port (any of its nodes).",
                id="realtime.E006",
            )
        ]
    if url.partition("://")[0] not in {"redis", "rediss", "unix"}:
        return [
            Error(
                f"REDIS_URL {url!r} is neither redis://, rediss://, unix:// nor "
                f"{clients.CLUSTER_SCHEME}://.",
                id="realtime.E007",
            )
        ]
    return []
