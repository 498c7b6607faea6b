"""Start rate-limit tests from zero: the counters outlive a test (Redis keys, process memory)."""

from realtime import ratelimit
from realtime.broker import clients


def clear_rate_limits() -> None:
    """Forget every rate-limit count of this database, in Redis and in this process."""
    ratelimit.local_counter.clear()
    client = clients.sync_client()
    keys = list(client.scan_iter(match=f"{ratelimit.namespace()}*", count=1000))
    if keys:
        client.delete(*keys)
