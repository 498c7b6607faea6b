"""Rate limits: the sliding-window estimate, shared through Redis, in-process without it."""

import uuid

import pytest

from realtime import ratelimit
from realtime.broker import clients
from tests.support.servers import free_port


@pytest.fixture
def scope() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


def test_within_the_limit_passes_and_beyond_it_is_refused_with_a_wait():
    assert ratelimit.verdict(current=10, previous=0, fraction=0.5, limit=10, window_s=60).allowed
    refused = ratelimit.verdict(current=11, previous=0, fraction=0.5, limit=10, window_s=60)
    assert not refused.allowed
    # The rest of this window (30 s), then until this window's 11 hits, fading as the
    # previous window, leave room for one more: 11 * (1 - g) <= 9 at g = 2/11 (10.9 s).
    assert refused.retry_after_s == 41


def test_the_previous_window_counts_by_how_much_of_it_is_still_within_the_window():
    assert not ratelimit.verdict(
        current=5, previous=10, fraction=0.2, limit=10, window_s=60
    ).allowed  # 10 * 0.8 + 5 = 13
    assert ratelimit.verdict(
        current=5, previous=10, fraction=0.6, limit=10, window_s=60
    ).allowed  # 10 * 0.4 + 5 = 9
    refused = ratelimit.verdict(current=5, previous=10, fraction=0.2, limit=10, window_s=60)
    # Room for one more when 10 * (1 - f) + 5 <= 9, at f = 0.6: 24 s from f = 0.2.
    assert refused.retry_after_s == 24


def test_a_limit_of_zero_counts_nothing_and_refuses_nothing(scope):
    assert all(ratelimit.hit(scope=scope, key="k", limit=0).allowed for _ in range(50))
    assert not list(clients.sync_client().scan_iter(match=f"*{scope}*"))


def test_counts_are_kept_in_redis_for_every_process(scope):
    verdicts = [ratelimit.hit(scope=scope, key="user:1", limit=3) for _ in range(4)]

    assert [v.allowed for v in verdicts] == [True, True, True, False]
    keys = list(clients.sync_client().scan_iter(match=f"{ratelimit.namespace()}{scope}:*"))
    assert len(keys) == 1 and int(clients.sync_client().get(keys[0])) == 4
    assert 0 < clients.sync_client().ttl(keys[0]) <= 120
    assert ratelimit.hit(scope=scope, key="user:2", limit=3).allowed  # a key of its own


def test_without_redis_each_process_counts_on_its_own(scope, settings):
    settings.REDIS_URL = ""
    verdicts = [ratelimit.hit(scope=scope, key="k", limit=2) for _ in range(3)]
    assert [v.allowed for v in verdicts] == [True, True, False]


def test_while_redis_is_down_counting_goes_on_in_process_and_redis_rests(scope, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there

    verdicts = [ratelimit.hit(scope=scope, key="k", limit=2) for _ in range(3)]

    assert [v.allowed for v in verdicts] == [True, True, False]
    assert ratelimit._redis_retry_at > 0  # the next tries skip Redis for a while


def test_local_counts_expire_and_are_pruned():
    counter = ratelimit.LocalCounter()
    assert counter.window_hit(current="a:2", previous="a:1", ttl_s=60) == (1, 0)
    assert counter.window_hit(current="a:3", previous="a:2", ttl_s=60) == (1, 1)
    assert counter.window_hit(current="b:1", previous="b:0", ttl_s=0) == (1, 0)
    assert counter.window_hit(current="b:1", previous="b:0", ttl_s=0) == (1, 0)  # expired
    counter._next_prune = 0
    counter.window_hit(current="c:1", previous="c:0", ttl_s=60)
    assert "b:1" not in counter._counts
