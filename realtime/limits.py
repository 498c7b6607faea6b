"""Caps on open streams: per client (user or session) and per process.

Counted per process: a client whose streams land on several processes may hold up to the cap
on each. The caps protect the process from one client, not account for clients exactly.
"""

import json
import random

from django.conf import settings
from django.http import HttpResponse

from realtime import metrics
from realtime.sse import CONTENT_TYPE, encode_event


class StreamSlots:
    """Count open streams per client key and in total."""

    def __init__(self) -> None:
        self._by_key: dict[str, int] = {}
        self.total = 0

    def acquire(self, key: str) -> bool:
        """Take a slot for `key`; return False when the client or the process is at its cap."""
        per_client = settings.REALTIME_MAX_STREAMS_PER_CLIENT
        held = self._by_key.get(key, 0)
        if (per_client and held >= per_client) or (
                self.total >= settings.REALTIME_MAX_STREAMS_PER_PROCESS):
            metrics.RATE_LIMITED.inc()
            return False
        self._by_key[key] = held + 1
        self.total += 1
        return True

    def release(self, key: str) -> None:
        """Give back a slot taken by `acquire`."""
        held = self._by_key.get(key, 0)
        if held <= 1:
            self._by_key.pop(key, None)
        else:
            self._by_key[key] = held - 1
        self.total = max(0, self.total - 1)


SLOTS = StreamSlots()


def busy_response() -> HttpResponse:
    """Return a 200 event stream that asks the client to come back later.

    A 503 would stop a browser's EventSource for good; this keeps it retrying, slowly.
    """
    retry_s = 20 + random.randint(0, 20)  # noqa: S311 - jitter, not security
    body = encode_event(event="busy", retry_ms=retry_s * 1000,
                        data=json.dumps({"error": "too_many_streams", "retry_after_s": retry_s}))
    response = HttpResponse(body, content_type=CONTENT_TYPE)
    response["Cache-Control"] = "no-cache"
    return response
