"""Redis clients built lazily from settings (realtime/broker/clients.py), against real Redis."""

import asyncio
import uuid

import pytest
import redis
from django.conf import settings

from realtime.broker import clients
from tests.support.servers import free_port

pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis (scripts/test)")


@pytest.mark.parametrize(
    ("url", "nodes"),
    [
        ("redis://127.0.0.1:6379/0", None),
        ("redis+cluster://a:7101,b:7102", [("a", 7101), ("b", 7102)]),
        ("redis+cluster://[::1]:7101/", [("::1", 7101)]),
    ],
)
def test_the_url_alone_tells_one_redis_from_a_cluster(url, nodes):
    assert clients.cluster_nodes(url) == nodes


@pytest.mark.parametrize(
    ("url", "named"),
    [("redis+cluster://", "names no node"), ("redis+cluster://a:0", "'a:0'")],
)
def test_a_malformed_cluster_url_names_the_culprit(url, named):
    with pytest.raises(ValueError, match=named):
        clients.cluster_nodes(url)


def test_a_batch_reaches_subscribers_in_order_in_one_round_trip():
    channel = f"test:clients:{uuid.uuid4()}"
    listener = redis.Redis.from_url(settings.REDIS_URL).pubsub()
    try:
        listener.subscribe(channel)
        assert listener.get_message(timeout=5)["type"] == "subscribe"
        clients.publish_batch([(channel, "one"), (channel, "two")])
        got = [listener.get_message(timeout=5) for _ in range(2)]
    finally:
        listener.close()
    assert [m["data"] for m in got] == [b"one", b"two"]


def test_a_batch_that_cannot_reach_redis_fails_naming_what_was_not_sent(settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    batch = [("a", "1"), ("b", "2")]
    with pytest.raises(clients.PublishFailed) as failed:
        clients.publish_batch(batch)
    assert failed.value.unsent == batch
    assert clients.ping() is False


def test_a_changed_url_builds_new_clients(settings):
    first = clients.sync_client()
    assert clients.sync_client() is first and clients.ping()
    settings.REDIS_URL = settings.REDIS_URL  # any change of the setting drops them
    assert clients.sync_client() is not first


def test_each_event_loop_has_its_own_asyncio_client():
    async def client() -> clients.AsyncClient:
        found = clients.async_client()
        assert clients.async_client() is found
        assert await found.ping()
        await found.aclose()
        return found

    assert asyncio.run(client()) is not asyncio.run(client())


def test_window_hits_count_in_redis_from_sync_and_async_code():
    current, previous = f"test:hits:{uuid.uuid4()}", f"test:hits:{uuid.uuid4()}"
    redis.Redis.from_url(settings.REDIS_URL).set(previous, 3, ex=10)
    assert clients.window_hit(current=current, previous=previous, ttl_s=10) == (1, 3)

    async def hit() -> tuple[int, int]:
        client = clients.async_client()
        try:
            return await clients.awindow_hit(current=current, previous=previous, ttl_s=10)
        finally:
            await client.aclose()

    assert asyncio.run(hit()) == (2, 3)
    ttl = redis.Redis.from_url(settings.REDIS_URL).ttl(current)
    assert 0 < ttl <= 10, "every window expires"
