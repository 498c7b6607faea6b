"""The snapshot: once per interval per process, whatever the number of viewers."""

import asyncio
import json
import threading
import time

import pytest
from django.db import OperationalError

from dashboard import snapshot
from dashboard.snapshot import COMPUTED, snapshot_current, snapshot_reset, snapshot_stream
from jobs.models import Job
from tests.support.database import database_refused
from tests.support.sse import parse_lines

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh(settings):
    settings.DASHBOARD_INTERVAL_S = 60.0
    settings.DASHBOARD_SLOW_INTERVAL_S = 60.0
    snapshot_reset()
    yield
    snapshot_reset()


def test_concurrent_callers_share_one_computation():
    before = COMPUTED.value
    got: list[snapshot.Snapshot] = []
    threads = [threading.Thread(target=lambda: got.append(snapshot_current())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert len(got) == 8 and len({s.id for s in got}) == 1
    assert COMPUTED.value - before == 1


def test_the_snapshot_is_recomputed_once_it_is_an_interval_old(settings):
    first = snapshot_current()
    assert snapshot_current() is first
    settings.DASHBOARD_INTERVAL_S = 0.05
    time.sleep(0.1)
    assert snapshot_current().id > first.id


def test_a_snapshot_costs_five_queries_and_the_funnels_one_more_now_and_then(
    settings, django_assert_num_queries
):
    settings.DASHBOARD_INTERVAL_S = 0
    with django_assert_num_queries(6):
        snapshot_current()
    with django_assert_num_queries(5):  # counts, timings, per hour, running, queue; funnels cached
        snapshot_current()


def test_a_snapshot_is_encoded_once_per_period_and_carries_its_funnel():
    current = snapshot_current()
    assert current.message(days=7) is current.message(days=7)
    payload = json.loads(current.message(days=1).data)
    assert payload["id"] == current.id == current.message(days=1).id
    assert "last 24 hours" in payload["panels"]["funnel"]
    assert payload["panels"]["running"] == current.panels["running"]


async def _read(stream, count: int) -> list:
    events: list = []
    async with asyncio.timeout(20):
        async for chunk in stream:
            events += parse_lines(chunk.decode().split("\n"))[0]
            if len(events) >= count:
                break
    await stream.aclose()
    return events


def test_many_viewers_cost_one_computation_per_interval(settings):
    settings.DASHBOARD_INTERVAL_S = 0.1
    Job.objects.create(name="Seen by all", template="token", status="running", percent=30)
    before = COMPUTED.value

    async def go() -> list[list]:
        streams = [snapshot_stream(days=7) for _ in range(6)]
        streams += [snapshot_stream(days=30) for _ in range(2)]
        return await asyncio.gather(*(_read(stream, 5) for stream in streams))

    results = asyncio.run(go())

    computed = COMPUTED.value - before
    ids = {event.id for events in results for event in events}
    assert sum(len(events) for events in results) == 40
    assert computed <= len(ids) + 1, "one computation per snapshot sent, not per viewer"
    assert len(ids) <= 12
    by_days = {json.loads(e.data)["days"] for events in results for e in events}
    assert by_days == {7, 30}
    assert all(
        "Seen by all" in json.loads(e.data)["panels"]["running"]
        for events in results
        for e in events
    )


def test_nothing_is_computed_while_nobody_watches(settings):
    settings.DASHBOARD_INTERVAL_S = 0.05

    async def go() -> float:
        await _read(snapshot_stream(days=7), 2)
        idle_from = COMPUTED.value
        await asyncio.sleep(0.5)  # ten intervals with no viewer
        return COMPUTED.value - idle_from

    assert asyncio.run(go()) <= 1  # at most the interval that was under way


def test_while_the_database_does_not_answer_the_last_snapshot_is_kept(settings):
    """The dashboard's streams and pages keep the last figures (dated) through an outage,
    instead of failing every interval; without any snapshot yet, the error shows."""
    settings.DASHBOARD_INTERVAL_S = 0.05  # (a change of it forgets the snapshot)
    first = snapshot_current()
    time.sleep(0.1)
    with database_refused():
        assert snapshot_current() is first
        snapshot_reset()
        with pytest.raises(OperationalError):
            snapshot_current()
    time.sleep(0.1)
    assert snapshot_current().id > first.id, "computed again once it answers"
