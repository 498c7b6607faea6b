"""The hub's link is chosen by the URL alone (realtime/broker/links.py), in process."""

import asyncio

import pytest

from realtime.broker.cluster_link import ClusterLink
from realtime.broker.link import PubSubLink
from realtime.broker.links import open_link


async def _state(up: bool) -> None:
    return None


def _open(url: str) -> object:
    async def build() -> object:  # links make their asyncio objects on the loop
        return open_link(
            url=url,
            wanted=set,
            on_message=lambda channel, payload: None,
            on_subscribed=lambda channel: None,
            on_state=_state,
            on_lost=lambda channels: None,
        )

    return asyncio.run(build())


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/2", "unix:///run/redis.sock"])
def test_one_redis_gets_one_pubsub_connection(url):
    assert isinstance(_open(url), PubSubLink)


def test_a_redis_cluster_gets_sharded_pubsub():
    assert isinstance(_open("redis+cluster://127.0.0.1:7101,127.0.0.1:7102"), ClusterLink)


def test_a_malformed_cluster_url_is_refused_by_name():
    with pytest.raises(ValueError, match="host:port"):
        _open("redis+cluster://127.0.0.1:nope")
