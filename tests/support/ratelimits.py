"""Start rate-limit tests from zero: the counters outlive a test (Redis keys, process memory)."""

from composer_realtime import ratelimit, redis_link


def clear_rate_limits() -> None:
    """Forget every rate-limit count of this database, in Redis and in this process."""
    ratelimit.local_counter.clear()
    client = redis_link.sync_client()
    keys = list(client.scan_iter(match=f"{ratelimit.namespace()}*", count=1000))
    if keys:
        client.delete(*keys)
