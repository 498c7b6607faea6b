"""Web processes share their transport figures through the real Redis (realtime/presence.py)."""

import time
import uuid

import pytest
from django.conf import settings

from realtime import metrics, presence
from realtime.broker.figures import figures_put

pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis (scripts/test)")


def _peer(name: str, open_streams: int = 7) -> presence.ProcessFigures:
    counts = [0] * (len(metrics.DELAY_BUCKETS) + 1)
    counts[2] = 10
    return presence.ProcessFigures(
        process=name,
        open_streams=open_streams,
        polling_clients=3,
        reconnects_per_minute=1.5,
        delay_counts=tuple(counts),
        at=time.time(),
    )


def test_figures_survive_the_round_trip_through_a_redis_hash():
    peer = _peer("host-b:2")
    assert presence.ProcessFigures.decode(peer.process, peer.encode()) == peer


def test_every_live_process_is_seen_this_one_first_and_fresh():
    name = f"peer-{uuid.uuid4()}:9"
    figures_put(
        namespace=str(settings.DATABASES["default"]["NAME"]),
        member=name,
        figures=_peer(name).encode(),
        ttl_s=5,
    )

    processes, shared = presence.presence_all()

    assert shared
    assert processes[0].process == presence.process_name()
    assert name in [p.process for p in processes[1:]]


def test_the_dashboard_sums_the_processes_and_keeps_each_ones_figures():
    from dashboard.selectors import dashboard_realtime

    name = f"peer-{uuid.uuid4()}:9"
    figures_put(
        namespace=str(settings.DATABASES["default"]["NAME"]),
        member=name,
        figures=_peer(name, open_streams=7).encode(),
        ttl_s=5,
    )

    realtime = dashboard_realtime()

    peer = next(p for p in realtime.processes if p.process == name)
    assert realtime.shared and peer.open_streams == 7
    assert realtime.open_streams == sum(p.open_streams for p in realtime.processes)
    assert realtime.open_streams >= 7
    assert sum(n for _, n in realtime.delay_buckets) >= 10
    assert realtime.delay_p50_s is not None


def test_without_redis_only_this_process_is_known(settings):
    settings.REDIS_URL = ""
    processes, shared = presence.presence_all()
    assert not shared and [p.process for p in processes] == [presence.process_name()]
