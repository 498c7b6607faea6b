"""Process-local metrics, rendered in the Prometheus text format at /metrics.

Counters and gauges are plain integers touched from the event loop or from sync code; the
GIL makes `+=` on them safe enough for monitoring. Each web process reports its own figures
(Prometheus sums them across targets).
"""

import bisect
import threading
from collections.abc import Iterable, Sequence


class Counter:
    """A value that only goes up."""

    kind = "counter"

    def __init__(self, name: str, help_text: str) -> None:
        self.name, self.help, self.value = name, help_text, 0.0
        REGISTRY.append(self)

    def inc(self, amount: float = 1) -> None:
        """Add `amount`."""
        self.value += amount

    def samples(self) -> Iterable[tuple[str, float]]:
        """Return (sample name with labels, value) pairs."""
        yield self.name, self.value


class Gauge(Counter):
    """A value that goes up and down."""

    kind = "gauge"

    def dec(self, amount: float = 1) -> None:
        """Subtract `amount`."""
        self.value -= amount


class Histogram:
    """Observations counted into fixed buckets."""

    kind = "histogram"

    def __init__(self, name: str, help_text: str, buckets: Sequence[float]) -> None:
        self.name, self.help = name, help_text
        self.bounds = list(buckets)
        self.counts = [0] * (len(self.bounds) + 1)
        self.total = 0.0
        self._lock = threading.Lock()
        REGISTRY.append(self)

    def observe(self, value: float) -> None:
        """Count one observation."""
        with self._lock:
            self.counts[bisect.bisect_left(self.bounds, value)] += 1
            self.total += value

    def quantile(self, q: float) -> float | None:
        """Return the upper bound of the bucket holding quantile `q`, None when empty."""
        seen, goal = 0, q * sum(self.counts)
        if goal == 0:
            return None
        for bound, count in zip([*self.bounds, float("inf")], self.counts, strict=True):
            seen += count
            if seen >= goal:
                return bound
        return None

    def samples(self) -> Iterable[tuple[str, float]]:
        """Return cumulative bucket samples, then sum and count."""
        running = 0
        for bound, count in zip([*self.bounds, float("inf")], self.counts, strict=True):
            running += count
            label = "+Inf" if bound == float("inf") else repr(bound)
            yield f'{self.name}_bucket{{le="{label}"}}', running
        yield f"{self.name}_sum", self.total
        yield f"{self.name}_count", running


REGISTRY: list[Counter | Histogram] = []

STREAMS_OPEN = Gauge("realtime_streams_open", "Server-sent event streams open in this process.")
STREAMS_OPENED = Counter("realtime_streams_opened_total", "Streams opened.")
STREAMS_RESUMED = Counter("realtime_streams_resumed_total",
                          "Streams opened with a cursor (reconnects).")
EVENTS_PUBLISHED = Counter("realtime_events_published_total", "Events published.")
EVENTS_DELIVERED = Counter("realtime_events_delivered_total",
                           "Events handed to local stream queues.")
STREAM_RESYNCS = Counter("realtime_stream_resyncs_total",
                         "Times a stream caught up from the database.")
DELIVERY_DELAY = Histogram(
    "realtime_delivery_delay_seconds", "From an event's record time to its write on a stream.",
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0],
)
POLLS = Counter("realtime_polls_total", "Status polls answered.")
POLLS_NOT_MODIFIED = Counter("realtime_polls_not_modified_total", "Polls answered with 304.")
RATE_LIMITED = Counter("realtime_rate_limited_total", "Requests refused by a rate limit or cap.")
FALLBACKS = Counter("realtime_fallbacks_total", "Clients that reported falling back to polling.")


def render(extra: Iterable[Counter | Histogram] = ()) -> str:
    """Return every metric in the Prometheus text exposition format."""
    lines: list[str] = []
    for metric in [*REGISTRY, *extra]:
        lines.append(f"# HELP {metric.name} {metric.help}")
        lines.append(f"# TYPE {metric.name} {metric.kind}")
        lines.extend(f"{name} {value:g}" for name, value in metric.samples())
    return "\n".join(lines) + "\n"
