"""Metric types: recent counts, recent clients, scrape-time samples, the text format."""

import time

import pytest

from realtime import metrics


def test_a_recent_counter_counts_the_last_window_and_keeps_its_total():
    counter = metrics.RecentCounter("test_recent_total", "test", window_s=1)
    metrics.REGISTRY.remove(counter)
    counter.inc()
    counter.inc(2)
    assert (counter.value, counter.recent()) == (3, 3)
    time.sleep(2.05)  # whole-second buckets: the window has passed
    assert (counter.value, counter.recent()) == (3, 0)


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


def test_samples_render_labels_escaped_in_the_text_format():
    sample = metrics.Samples("test_jobs", "Jobs.", [({"status": 'we"ird\\'}, 2), ({}, 1)])
    text = metrics.render(extra=[sample])
    assert "# TYPE test_jobs gauge\n" in text
    assert 'test_jobs{status="we\\"ird\\\\"} 2\n' in text
    assert "\ntest_jobs 1\n" in text


@pytest.mark.django_db  # the project's own collectors count jobs
def test_collectors_are_registered_once_and_asked_at_every_scrape():
    calls = []

    def collector() -> list[metrics.Metric]:
        calls.append(1)
        return [metrics.Samples("test_collected", "t", [({}, len(calls))])]

    metrics.register_collector(collector)
    metrics.register_collector(collector)
    try:
        assert [m.name for m in metrics.collect()].count("test_collected") == 1
        assert "test_collected 2" in metrics.render(extra=metrics.collect())
    finally:
        metrics._COLLECTORS.remove(collector)


def test_a_labelled_counter_renders_one_sample_per_label_set():
    family = metrics.LabelledCounter("test_down_total", "Downs.", ["link", "reason"])
    metrics.REGISTRY.remove(family)
    family.labels(link="single", reason="health_check").inc()
    family.labels(reason="connection", link="single").inc(2)
    family.labels(link="single", reason="health_check").inc()
    text = metrics.render(extra=[family])
    assert "# TYPE test_down_total counter" in text
    assert 'test_down_total{link="single",reason="connection"} 2' in text
    assert 'test_down_total{link="single",reason="health_check"} 2' in text
