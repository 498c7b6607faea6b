"""Choose the hub's pub/sub link from the URL: one Redis, or a Redis Cluster."""

from collections.abc import Callable, Collection

from realtime.broker.clients import cluster_nodes
from realtime.broker.cluster_link import ClusterLink
from realtime.broker.link import PubSubLink
from realtime.broker.protocol import Link, OnLost, OnMessage, OnState, OnSubscribed


def open_link(
    *,
    url: str,
    wanted: Callable[[], Collection[str]],
    on_message: OnMessage,
    on_subscribed: OnSubscribed,
    on_state: OnState,
    on_lost: OnLost,
) -> Link:
    """Return the hub's link for `url`: sharded pub/sub with a connection per shard on a
    Redis Cluster (which tells `on_lost` of the channels of a lost shard), else one
    connection."""
    if cluster_nodes(url) is None:
        return PubSubLink(
            url=url,
            wanted=wanted,
            on_message=on_message,
            on_subscribed=on_subscribed,
            on_state=on_state,
        )
    return ClusterLink(
        url=url,
        wanted=wanted,
        on_message=on_message,
        on_subscribed=on_subscribed,
        on_state=on_state,
        on_lost=on_lost,
    )
