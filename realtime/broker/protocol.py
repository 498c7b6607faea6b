"""What the hub and its pub/sub links (one Redis, or a Redis Cluster) say to each other."""

from collections.abc import Awaitable, Callable, Collection
from typing import Protocol

OnMessage = Callable[[str, bytes], None]
"""Take a raw message on a channel (the hub checks the envelope)."""
OnSubscribed = Callable[[str], None]
"""Take the confirmation that a channel is live."""
OnState = Callable[[bool], Awaitable[None]]
"""Take the news that the whole link is up (True) or lost (False)."""
OnLost = Callable[[Collection[str]], None]
"""Take the news that these channels lost their live link (one cluster shard went away)."""


class Link(Protocol):
    """What the hub needs of its pub/sub link."""

    def reconcile(self, channel: str | None = None) -> None:
        """Ask the link to bring its subscriptions in line with `wanted()`: for `channel`,
        the one whose wanting changed, or for every channel (None)."""

    def is_live(self, channel: str) -> bool:
        """Return True when `channel` is subscribed, confirmed, and not being dropped."""

    async def run(self) -> None:
        """Stay connected until cancelled."""


def take_confirmation(
    channel: str, *, pending: dict[str, int], subscribed: set[str], live: set[str]
) -> bool:
    """Count one (S)SUBSCRIBE reply for `channel`; return True when it makes the channel live.

    Only the reply to the last subscribe sent counts: an earlier one may precede an
    unsubscribe that Redis has processed since.
    """
    left = pending.pop(channel, 1) - 1
    if left > 0:
        pending[channel] = left
        return False
    if channel not in subscribed:
        return False
    live.add(channel)
    return True
