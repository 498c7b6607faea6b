"""Per-process figures shared through Redis: each process writes its own, anyone reads them all.

Every key carries one hash tag, so that on a Redis Cluster the members set and the figures of
every process live in one slot and one pipeline reads them. A process that stops writing
disappears by itself: its hash expires, and readers skip members whose beat is too old.
"""

import time

from realtime.broker.clients import sync_client

_TAG = "{realtime-figures}"


def _members_key(namespace: str) -> str:
    return f"{_TAG}:{namespace}:members"


def _figures_key(namespace: str, member: str) -> str:
    return f"{_TAG}:{namespace}:{member}"


def figures_put(*, namespace: str, member: str, figures: dict[str, str], ttl_s: int) -> None:
    """Store `member`'s figures for `ttl_s` and note it as alive now; raise RedisError."""
    key = _figures_key(namespace, member)
    pipe = sync_client().pipeline(transaction=False)
    pipe.delete(key)
    pipe.hset(key, items=[part for pair in figures.items() for part in pair])
    pipe.expire(key, ttl_s)
    pipe.zadd(_members_key(namespace), {member: time.time()})
    pipe.zremrangebyscore(_members_key(namespace), "-inf", time.time() - 10 * ttl_s)
    pipe.execute()


def figures_all(*, namespace: str, within_s: float) -> dict[str, dict[str, str]]:
    """Return the figures of every member that wrote within `within_s`; raise RedisError."""
    client = sync_client()
    found: list[bytes] = client.zrangebyscore(
        _members_key(namespace), time.time() - within_s, "+inf"
    )  # type: ignore[assignment]
    members = [member.decode() for member in found]
    if not members:
        return {}
    pipe = client.pipeline(transaction=False)
    for member in members:
        pipe.hgetall(_figures_key(namespace, member))
    return {
        member: {k.decode(): v.decode() for k, v in figures.items()}
        for member, figures in zip(members, pipe.execute(), strict=True)
        if figures
    }
