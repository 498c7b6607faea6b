"""What the hub and its pub/sub links (one Redis, or a Redis Cluster) say to each other."""

import asyncio
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


BATCH_GAP_S = 0.002
"""Least time between two batches of a link's (S)SUBSCRIBE/(S)UNSUBSCRIBE commands.

In an open storm the channels wanted meanwhile join the next batch: one write and one Redis
command for many channels instead of one each (on loopback a write also pays Redis's side of
TCP; bench `--profile` put these writes at 8% of an open's CPU). A change after a quiet spell
goes at once; during a storm an open waits up to this much longer for its confirmation."""


class BatchSpacing:
    """Keeps a link's batches of subscription changes at least BATCH_GAP_S apart."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last = float("-inf")

    async def wait(self) -> None:
        """Return once BATCH_GAP_S has passed since the last batch (at once after a lull)."""
        gap = self._last + BATCH_GAP_S - asyncio.get_running_loop().time()
        if gap > 0:
            await asyncio.sleep(gap)

    def sent(self) -> None:
        """Note that a batch went now."""
        self._last = asyncio.get_running_loop().time()
