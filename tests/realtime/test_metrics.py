"""Metrics: recent counts and clients, scrape-time samples, the text format, response counts."""

import asyncio
import time

import pytest
from prometheus_client import CollectorRegistry, Histogram

from realtime import metrics


def test_recent_counts_count_the_last_window():
    recent = metrics.RecentCounts(window_s=1)
    recent.add()
    recent.add(2)
    assert recent.recent() == 3
    time.sleep(2.05)  # whole-second buckets: the window has passed
    assert recent.recent() == 0


def test_a_resumed_stream_is_counted_in_the_total_and_in_the_last_minute():
    total, recent = metrics.local_value("realtime_streams_resumed_total"), metrics.RESUMES_RECENT
    before = recent.recent()
    metrics.stream_resumed()
    assert metrics.local_value("realtime_streams_resumed_total") == total + 1
    assert recent.recent() == before + 1


def test_recent_clients_counts_each_client_once_and_forgets_old_ones():
    clients = metrics.RecentClients(window_s=0.2)
    for key in ("a", "b", "a", "a"):
        clients.note(key)
    assert clients.count() == 2
    time.sleep(0.25)
    clients.note("c")
    assert clients.count() == 1


def test_recent_clients_stay_within_their_limit():
    clients = metrics.RecentClients(window_s=60, limit=3)
    for key in "abcde":
        clients.note(key)
    clients.note("c")  # seen again: now the newest
    clients.note("f")
    assert clients.count() == 3
    clients.note("c")
    assert clients.count() == 3


@pytest.mark.django_db  # a scrape asks the project's collectors too
def test_a_poll_counts_the_poll_the_304_the_shortcut_the_fallback_and_the_client():
    names = [
        "realtime_polls_total",
        "realtime_polls_not_modified_total",
        "realtime_polls_shortcut_total",
        "realtime_fallbacks_total",
    ]
    before = [metrics.local_value(name) for name in names]
    metrics.poll_answered(client="metrics-test", fallback=True, not_modified=True, shortcut=True)
    metrics.poll_answered(client="metrics-test", fallback=False, not_modified=False, shortcut=False)
    after = [metrics.local_value(name) for name in names]
    assert [a - b for a, b in zip(after, before, strict=True)] == [2, 1, 1, 1]
    metrics.render_metrics()
    assert metrics.local_value("realtime_polling_clients") >= 1


def test_delay_counts_are_per_bucket_not_cumulative():
    before = metrics.local_delay_counts()
    metrics.DELIVERY_DELAY.observe(0.003)  # first bucket
    metrics.DELIVERY_DELAY.observe(0.3)  # the 0.5 bucket
    metrics.DELIVERY_DELAY.observe(60)  # +inf
    after = metrics.local_delay_counts()
    grew = [a - b for a, b in zip(after, before, strict=True)]
    assert len(grew) == len(metrics.DELAY_BUCKETS) + 1
    assert grew == [1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1]


@pytest.mark.django_db  # a scrape asks the project's collectors too
def test_scrape_time_samples_render_labels_escaped_in_the_text_format():
    def collector() -> list[metrics.Metric]:
        return [
            metrics.gauge_samples("test_jobs", "Jobs.", [({"status": 'we"ird\\'}, 2)]),
            metrics.gauge_samples("test_plain", "Plain.", [({}, 1)]),
        ]

    metrics.register_collector(collector)
    try:
        text = metrics.render_metrics()[0].decode()
    finally:
        metrics._COLLECTORS.remove(collector)
    assert "# TYPE test_jobs gauge\n" in text
    assert 'test_jobs{status="we\\"ird\\\\"} 2.0\n' in text
    assert "\ntest_plain 1.0\n" in text


@pytest.mark.django_db  # the project's own collectors count jobs
def test_collectors_are_registered_once_and_asked_at_every_scrape():
    calls = []

    def collector() -> list[metrics.Metric]:
        calls.append(1)
        return [metrics.gauge_samples("test_collected", "t", [({}, len(calls))])]

    metrics.register_collector(collector)
    metrics.register_collector(collector)
    try:
        metrics.render_metrics()
        text = metrics.render_metrics()[0].decode()
    finally:
        metrics._COLLECTORS.remove(collector)
    assert "test_collected 2.0" in text


def test_every_http_response_is_counted_by_status_and_a_crash_as_500():
    async def app(scope, receive, send):
        if scope["path"] == "/crash":
            raise RuntimeError("boom")
        await send({"type": "http.response.start", "status": 418, "headers": []})
        await send({"type": "http.response.body", "body": b"tea"})

    async def receive():
        return {"type": "http.disconnect"}

    sent = []

    async def send(message):
        sent.append(message["type"])

    counted = metrics.count_responses(app)
    teapots = metrics.local_value("composer_http_responses_total", {"status": "418"})
    crashes = metrics.local_value("composer_http_responses_total", {"status": "500"})
    asyncio.run(counted({"type": "http", "path": "/"}, receive, send))
    with pytest.raises(RuntimeError):
        asyncio.run(counted({"type": "http", "path": "/crash"}, receive, send))
    assert sent == ["http.response.start", "http.response.body"]
    assert metrics.local_value("composer_http_responses_total", {"status": "418"}) == teapots + 1
    assert metrics.local_value("composer_http_responses_total", {"status": "500"}) == crashes + 1


def _histogram(registry: CollectorRegistry, name: str) -> Histogram:
    return Histogram(name, "test", buckets=(0.001, 0.01, 0.1), registry=registry)


def _samples(registry: CollectorRegistry, name: str) -> dict[tuple[str, str], float]:
    return {
        (s.name.removeprefix(name), s.labels.get("le", "")): s.value
        for family in registry.collect()
        for s in family.samples
        if s.name.startswith(name)
    }


def test_a_tally_adds_to_its_histogram_exactly_what_as_many_observes_would():
    registry = CollectorRegistry()
    observed, tallied = _histogram(registry, "observed"), _histogram(registry, "tallied")
    tally = metrics.Tally(tallied)
    for value in (0.0005, 0.001, 0.001, 0.05, 7.0, 0.0):  # bounds count in their bucket
        observed.observe(value)
        tally.add(value)
    assert _samples(registry, "tallied")[("_count", "")] == 0  # nothing written yet
    tally.write()
    tally.write()  # nothing more to write
    assert _samples(registry, "tallied") == _samples(registry, "observed")
