"""The background publisher (realtime/publisher.py): in order, never waiting for Redis, each
envelope carrying the writer's stages up to its PUBLISH."""

import os
import signal
import time

import pytest
import redis

from realtime import envelope, metrics, publisher
from realtime.broker import clients
from realtime.message import Message
from realtime.publisher import Publisher
from realtime.stages import Write


def _subscriber(url: str, channel: str) -> redis.client.PubSub:
    pubsub = redis.Redis.from_url(url).pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel)
    assert pubsub.get_message(timeout=2) is None  # the confirmation, skipped
    return pubsub


def _message(n: int) -> Message:
    return Message(id=n, event="e", data="{}")


def _received(pubsub: redis.client.PubSub, count: int, timeout: float = 10) -> list[str]:
    got: list[str] = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.5)
        if message is not None:
            got.append(message["data"].decode())
    return got


def test_messages_arrive_all_and_in_the_order_given(settings):
    publisher = Publisher()
    pubsub = _subscriber(settings.REDIS_URL, "test:publisher:order")
    try:
        for n in range(2000):  # faster than one round trip each: they go out in batches
            publisher.submit("test:publisher:order", _message(n))
        assert publisher.flush(10)
        got = [envelope.unpack(payload).id for payload in _received(pubsub, 2000)]
        assert got == list(range(2000))
    finally:
        pubsub.close()


def test_with_redis_unreachable_nothing_waits_and_the_loss_is_logged(settings, caplog):
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
    publisher = Publisher()

    started = time.monotonic()
    for n in range(100):
        publisher.submit("test:publisher:void", _message(n))
    submitted_in = time.monotonic() - started
    assert publisher.flush(10)

    assert submitted_in < 0.5  # never a connection attempt on the caller's thread
    assert any("listeners will catch up from the database" in r.message for r in caplog.records)


def test_past_the_limit_the_oldest_are_dropped_and_counted(settings, caplog, monkeypatch):
    monkeypatch.setattr(Publisher, "MAX_PENDING", 3)
    publisher = Publisher()
    pubsub = _subscriber(settings.REDIS_URL, "test:publisher:full")
    try:
        with publisher._lock:  # the thread cannot take anything meanwhile
            for n in range(6):
                publisher.submit("test:publisher:full", _message(n))
        assert publisher.flush(10)
        assert [envelope.unpack(p).id for p in _received(pubsub, 3)] == [3, 4, 5]
        assert any("3 message(s) dropped" in r.message for r in caplog.records)
    finally:
        pubsub.close()


@pytest.mark.django_db
def test_the_process_publisher_is_what_the_hub_rings(settings):
    pubsub = _subscriber(settings.REDIS_URL, "test:publisher:hub")
    try:
        before = metrics.local_value("realtime_events_published_total")
        publisher.publish("test:publisher:hub", _message(7))
        assert publisher.PUBLISHER.flush(10)
        assert [envelope.unpack(p) for p in _received(pubsub, 1)] == [_message(7)]
        assert metrics.local_value("realtime_events_published_total") == before + 1
    finally:
        pubsub.close()


def test_without_redis_nothing_is_published_nor_counted(settings):
    settings.REDIS_URL = ""
    before = metrics.local_value("realtime_events_published_total")
    publisher.publish("test:publisher:none", Message(id=1, event="e", data="{}"))
    assert publisher.PUBLISHER.flush(10)
    assert metrics.local_value("realtime_events_published_total") == before


def test_a_failed_publish_is_not_counted(settings):
    settings.REDIS_URL = "redis://127.0.0.1:9/0"
    before = metrics.local_value("realtime_events_published_total")
    publisher.publish("test:publisher:void", Message(id=1, event="e", data="{}"))
    assert publisher.PUBLISHER.flush(10)
    assert metrics.local_value("realtime_events_published_total") == before


def test_the_envelope_carries_the_writers_stages_up_to_its_publish(settings):
    pubsub = _subscriber(settings.REDIS_URL, "test:publisher:trace")
    try:
        began = time.monotonic()
        time.sleep(0.02)  # the write: 20 ms, 5 of them the statement
        publisher.publish(
            "test:publisher:trace", _message(1), Write(began=began, statement_s=0.005)
        )
        before_wall = time.time()
        assert publisher.PUBLISHER.flush(10)
        [payload] = _received(pubsub, 1)
    finally:
        pubsub.close()
    message, trace = envelope.unpack_traced(payload)
    assert message == _message(1) and trace is not None
    assert trace.statement_s == 0.005
    assert trace.commit_s is not None and 0.015 <= trace.commit_s < 5
    assert trace.publish_s is not None and 0 <= trace.publish_s < 5
    assert before_wall - 1 < trace.sent <= time.time()


def test_a_write_answered_before_its_hand_over_counts_its_commit_until_the_answer(settings):
    pubsub = _subscriber(settings.REDIS_URL, "test:publisher:answered")
    try:
        began = time.monotonic()
        write = Write(began=began, statement_s=0.0, committed=began + 0.001)
        time.sleep(0.02)  # work between the answer and the hand-over: the publish stage's
        publisher.publish("test:publisher:answered", _message(1), write)
        assert publisher.PUBLISHER.flush(10)
        [payload] = _received(pubsub, 1)
    finally:
        pubsub.close()
    _, trace = envelope.unpack_traced(payload)
    assert trace is not None and trace.commit_s == pytest.approx(0.001, abs=1e-6)
    assert trace.publish_s is not None and trace.publish_s >= 0.019


def test_once_redis_answered_a_writer_publishes_from_its_own_thread_in_order(settings):
    publisher = Publisher()
    pubsub = _subscriber(settings.REDIS_URL, "test:publisher:quick")
    try:
        publisher.submit("test:publisher:quick", _message(1))  # the thread: not yet answered
        assert publisher.flush(10) and publisher.sent_quick == 0
        for n in range(2, 52):
            publisher.submit("test:publisher:quick", _message(n))
        assert publisher.flush(10)
        got = [envelope.unpack(payload).id for payload in _received(pubsub, 51)]
    finally:
        pubsub.close()
    assert got == list(range(1, 52))
    assert publisher.sent_quick == 50  # one writer, one at a time: none waited for another


def test_a_quick_publish_that_fails_goes_to_the_thread_which_tries_it_again(settings, caplog):
    publisher = Publisher()
    publisher.submit("test:publisher:lost", _message(1))
    assert publisher.flush(10)  # Redis answered: the next goes from this thread
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # and now nothing answers

    publisher.submit("test:publisher:lost", _message(2))
    assert publisher.flush(10)

    assert publisher.sent_quick == 0
    tried_again = [r.message for r in caplog.records if "failed" in r.message]
    assert tried_again and "test:publisher:lost" in tried_again[0]


@pytest.mark.django_db
def test_a_redis_that_stops_answering_holds_a_writer_once_and_briefly(private_redis, settings):
    private_redis.start()
    settings.REDIS_URL = private_redis.url
    publisher = Publisher()
    publisher.submit("test:publisher:frozen", _message(1))
    assert publisher.flush(10)
    os.kill(private_redis.current.pid, signal.SIGSTOP)  # alive, silent
    try:
        waited = []
        for n in range(2, 12):
            started = time.monotonic()
            publisher.submit("test:publisher:frozen", _message(n))
            waited.append(time.monotonic() - started)
    finally:
        os.kill(private_redis.current.pid, signal.SIGCONT)
    assert publisher.flush(10)
    assert waited[0] < clients.QUICK_TIMEOUT_S + 1  # the quick try: its timeout, at most
    assert max(waited[1:]) < 0.5  # the others queue for the thread
