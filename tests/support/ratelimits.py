"""Start rate-limit tests from zero: the counters outlive a test (Redis keys, process memory)."""

from realtime import ratelimit
from realtime.broker import clients


def clear_rate_limits(scope: str = "") -> None:
    """Forget every rate-limit count of this database (of one scope prefix, if given), in
    Redis and in this process."""
    if not scope:
        ratelimit.local_counter.clear()
    client = clients.sync_client()
    keys = list(client.scan_iter(match=f"{ratelimit.namespace()}{scope}*", count=1000))
    if keys:
        client.delete(*keys)
