"""Caps on open streams: per client (user or session), per client address, and per process.

Counted per process: a client whose streams land on several processes may hold up to the cap
on each. The caps protect the process from one client, not account for clients exactly.
Sessions cost nothing to make, so the per-client cap alone would not stop one address from
opening thousands of streams; the per-address cap does, generous because many people may
share one address (a company's proxy). The per-process cap never exceeds what the process's
file-descriptor limit leaves once the database, Redis and the listening sockets have theirs,
so a refused stream gets the `busy` answer instead of an accept() failing for want of
descriptors.
"""

import json
import logging
import random
import resource

from django.conf import settings
from django.http import HttpResponse

from realtime import metrics
from realtime.sse import CONTENT_TYPE, encode_event

logger = logging.getLogger(__name__)

DESCRIPTOR_HEADROOM_MIN = 64
"""Descriptors always kept out of the stream cap: database pool, Redis, listeners, files."""
DESCRIPTOR_HEADROOM_FRACTION = 0.10
"""And at least this share of the limit."""


def descriptor_cap(soft_limit: int) -> int:
    """Return how many streams a process with this open-file soft limit can hold."""
    headroom = max(DESCRIPTOR_HEADROOM_MIN, int(soft_limit * DESCRIPTOR_HEADROOM_FRACTION))
    return max(1, soft_limit - headroom)


def process_cap() -> int:
    """Return this process's stream cap: the setting, lowered to what descriptors allow."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return int(settings.REALTIME_MAX_STREAMS_PER_PROCESS)
    return min(int(settings.REALTIME_MAX_STREAMS_PER_PROCESS), descriptor_cap(soft))


def raise_descriptor_limit() -> int:
    """Raise the open-file soft limit to the hard limit where allowed; return the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):  # e.g. an unlimited hard limit the kernel refuses
            logger.info("open-file limit left at %s (hard %s)", soft, hard)
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def log_process_cap() -> None:
    """Raise the descriptor limit and log the stream caps this process will apply."""
    soft = raise_descriptor_limit()
    logger.info(
        "streams: at most %s in this process (setting %s, open-file limit %s), "
        "%s per client, %s per address",
        process_cap(),
        settings.REALTIME_MAX_STREAMS_PER_PROCESS,
        soft,
        settings.REALTIME_MAX_STREAMS_PER_CLIENT or "no cap",
        settings.REALTIME_MAX_STREAMS_PER_ADDRESS or "no cap",
    )


class StreamSlots:
    """Count open streams per client key, per client address and in total."""

    def __init__(self) -> None:
        self._by_key: dict[str, int] = {}
        self._by_address: dict[str, int] = {}
        self.total = 0

    def acquire(self, key: str, address: str = "") -> bool:
        """Take a slot for `key` from `address` ("" = unknown, not capped per address);
        return False when the client, its address or the process is at its cap."""
        if (
            _full(self._by_key, key, settings.REALTIME_MAX_STREAMS_PER_CLIENT)
            or (
                address
                and _full(self._by_address, address, settings.REALTIME_MAX_STREAMS_PER_ADDRESS)
            )
            or self.total >= process_cap()
        ):
            metrics.RATE_LIMITED.inc()
            return False
        self._by_key[key] = self._by_key.get(key, 0) + 1
        if address:
            self._by_address[address] = self._by_address.get(address, 0) + 1
        self.total += 1
        return True

    def release(self, key: str, address: str = "") -> None:
        """Give back a slot taken by `acquire`."""
        _give_back(self._by_key, key)
        if address:
            _give_back(self._by_address, address)
        self.total = max(0, self.total - 1)


def _full(held: dict[str, int], name: str, cap: int) -> bool:
    return bool(cap) and held.get(name, 0) >= cap


def _give_back(held: dict[str, int], name: str) -> None:
    count = held.get(name, 0)
    if count <= 1:
        held.pop(name, None)
    else:
        held[name] = count - 1


SLOTS = StreamSlots()


def busy_response(*, error: str = "too_many_streams", retry_s: int | None = None) -> HttpResponse:
    """Return a 200 event stream that asks the client to come back later (after `retry_s`,
    20-40 s by default), saying why (`error`).

    A 503 would stop a browser's EventSource for good; this keeps it retrying, slowly.
    """
    if retry_s is None:
        retry_s = 20 + random.randint(0, 20)  # noqa: S311 - jitter, not security
    body = encode_event(
        event="busy",
        retry_ms=retry_s * 1000,
        data=json.dumps({"error": error, "retry_after_s": retry_s}),
    )
    response = HttpResponse(body, content_type=CONTENT_TYPE)
    response["Cache-Control"] = "no-cache"
    return response
