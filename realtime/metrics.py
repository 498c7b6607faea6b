"""Process-local metrics, rendered in the Prometheus text format at /metrics.

Counters and gauges are plain integers touched from the event loop or from sync code; the
GIL makes `+=` on them safe enough for monitoring. Each web process reports its own figures
(Prometheus sums them across targets).
"""

import bisect
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol


class Metric(Protocol):
    """What `render` needs of a metric."""

    name: str
    help: str
    kind: str

    def samples(self) -> Iterable[tuple[str, float]]:
        """Return (sample name with labels, value) pairs."""
        ...


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


class LabelledCounter:
    """A family of counters told apart by the values of fixed labels (prometheus-client's
    `Counter(name, help, labelnames).labels(...)`)."""

    kind = "counter"

    def __init__(self, name: str, help_text: str, labelnames: Sequence[str]) -> None:
        self.name, self.help, self.labelnames = name, help_text, tuple(labelnames)
        self._children: dict[tuple[str, ...], _Child] = {}
        self._lock = threading.Lock()
        REGISTRY.append(self)

    def labels(self, **values: str) -> "_Child":
        """Return the counter of one set of label values (made at its first use)."""
        key = tuple(values[name] for name in self.labelnames)
        with self._lock:
            child = self._children.get(key)
            if child is None:
                child = self._children[key] = _Child()
        return child

    def samples(self) -> Iterable[tuple[str, float]]:
        """Return one sample per set of label values seen."""
        for key, child in sorted(self._children.items()):
            text = ",".join(
                f'{name}="{_escape_label(value)}"'
                for name, value in zip(self.labelnames, key, strict=True)
            )
            yield f"{self.name}{{{text}}}", child.value


class _Child:
    """One counter of a `LabelledCounter`."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, amount: float = 1) -> None:
        """Add `amount`."""
        self.value += amount


class RecentCounter(Counter):
    """A counter that also knows how much it grew over the last `window_s` seconds."""

    def __init__(self, name: str, help_text: str, window_s: int = 60) -> None:
        super().__init__(name, help_text)
        self._window_s = window_s
        self._seconds: deque[list[float]] = deque()  # [whole second, amount], oldest first
        self._lock = threading.Lock()

    def inc(self, amount: float = 1) -> None:
        """Add `amount`, remembering when."""
        super().inc(amount)
        now = int(time.monotonic())
        with self._lock:
            if self._seconds and self._seconds[-1][0] == now:
                self._seconds[-1][1] += amount
            else:
                self._seconds.append([now, amount])
            self._prune(now)

    def recent(self) -> float:
        """Return how much was added over the last `window_s` seconds."""
        with self._lock:
            self._prune(int(time.monotonic()))
            return sum(amount for _, amount in self._seconds)

    def _prune(self, now: int) -> None:
        while self._seconds and self._seconds[0][0] <= now - self._window_s:
            self._seconds.popleft()


class RecentClients:
    """The distinct clients seen over the last `window_s` seconds, in bounded memory."""

    def __init__(self, window_s: float = 60.0, limit: int = 100_000) -> None:
        self._window_s = window_s
        self._limit = limit
        self._last_seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def note(self, client: str) -> None:
        """Record that `client` was seen now."""
        now = time.monotonic()
        with self._lock:
            self._last_seen.pop(client, None)  # re-insert: the dict stays oldest first
            self._last_seen[client] = now
            if len(self._last_seen) > self._limit:
                self._prune(now, keep=self._limit)

    def count(self) -> int:
        """Return how many distinct clients were seen over the last `window_s` seconds."""
        with self._lock:
            self._prune(time.monotonic(), keep=self._limit)
            return len(self._last_seen)

    def _prune(self, now: float, *, keep: int) -> None:
        # Oldest first (note() re-inserts), so stop at the first fresh entry within the limit.
        while self._last_seen:
            oldest = next(iter(self._last_seen))
            if self._last_seen[oldest] > now - self._window_s and len(self._last_seen) <= keep:
                return
            del self._last_seen[oldest]


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


class Samples:
    """A gauge (family) computed when scraped, e.g. from one query; never registered."""

    kind = "gauge"

    def __init__(
        self, name: str, help_text: str, values: Iterable[tuple[dict[str, str], float]]
    ) -> None:
        self.name, self.help, self.values = name, help_text, list(values)

    def samples(self) -> Iterable[tuple[str, float]]:
        """Return one sample per label set."""
        for labels, amount in self.values:
            text = ",".join(f'{key}="{_escape_label(value)}"' for key, value in labels.items())
            yield (f"{self.name}{{{text}}}" if text else self.name), amount


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


Collector = Callable[[], Iterable[Metric]]
"""Return metrics computed at scrape time."""

REGISTRY: list[Metric] = []
_COLLECTORS: list[Collector] = []


def register_collector(collector: Collector) -> None:
    """Add a function whose metrics every scrape computes afresh (idempotent)."""
    if collector not in _COLLECTORS:
        _COLLECTORS.append(collector)


def collect() -> list[Metric]:
    """Return the metrics of every registered collector."""
    return [metric for collector in _COLLECTORS for metric in collector()]


STREAMS_OPEN = Gauge("realtime_streams_open", "Server-sent event streams open in this process.")
STREAMS_OPENED = Counter("realtime_streams_opened_total", "Streams opened.")
STREAMS_RESUMED = RecentCounter(
    "realtime_streams_resumed_total", "Streams opened with a cursor (reconnects)."
)
EVENTS_PUBLISHED = Counter("realtime_events_published_total", "Events handed to Redis.")
EVENTS_DELIVERED = Counter(
    "realtime_events_delivered_total", "Events handed to local stream queues."
)
QUEUE_OVERFLOWS = Counter(
    "realtime_queue_overflows_total", "Times a stream's queue overflowed (the stream then resyncs)."
)
STREAM_RESYNCS = Counter(
    "realtime_stream_resyncs_total", "Times a stream caught up from the database."
)
DELIVERY_DELAY = Histogram(
    "realtime_delivery_delay_seconds",
    "From an event's record time to its write on a stream.",
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0],
)
POLLS = Counter("realtime_polls_total", "Status polls answered.")
POLLS_NOT_MODIFIED = Counter("realtime_polls_not_modified_total", "Polls answered with 304.")
POLLS_SHORTCUT = Counter(
    "realtime_polls_shortcut_total", "Polls answered 304 in front of Django (also counted above)."
)
RATE_LIMITED = Counter("realtime_rate_limited_total", "Requests refused by a rate limit or cap.")
FALLBACKS = Counter("realtime_fallbacks_total", "Clients that reported falling back to polling.")
MESSAGES_MALFORMED = Counter(
    "realtime_messages_malformed_total",
    "Messages on a subscribed channel that were not envelopes (dropped).",
)
LINK_FAILURES = Counter(
    "realtime_redis_link_failures_total",
    "Times the Redis link failed on something other than a lost connection "
    "(restarted, streams resynced).",
)
HUB_TASK_FAILURES = Counter(
    "realtime_hub_task_failures_total", "Times a hub background task died and was restarted."
)
SLOW_CLIENTS_DROPPED = Counter(
    "realtime_slow_clients_dropped_total", "Streams dropped because the client stopped reading."
)
REDIS_LINK_ERRORS = Counter(
    "realtime_redis_link_errors_total",
    "Redis Cluster shard connections ended by a loss or an error (the "
    "shard reconnects, its channels catch up from the database).",
)
REDIS_LINK_DOWN = LabelledCounter(
    "realtime_redis_link_down_total",
    "Times a Redis pub/sub link (link=single) or one Redis Cluster shard's connection "
    "(link=shard) was found down and replaced: reason=health_check when a ping went "
    "unanswered past REALTIME_REDIS_HEALTH_TIMEOUT_S (a silent path), reason=connection when "
    "the connection failed or could not be made.",
    ["link", "reason"],
)
DATABASE_DOWN = LabelledCounter(
    "realtime_database_down_total",
    "Times a web process found the database not answering and began refusing requests at "
    "once (503): reason=timeout when a round trip went unanswered past its deadline, "
    "connect or pool when no connection could be had.",
    ["reason"],
)
DATABASE_UNAVAILABLE_ANSWERS = Counter(
    "realtime_database_unavailable_answers_total",
    "Requests answered 503 (or a stream's busy) because the database did not answer.",
)
POLLING_CLIENTS = RecentClients(window_s=60.0)


def note_poll(*, client: str) -> None:
    """Record that `client` (a user or session key, never an IP) polled just now."""
    POLLING_CLIENTS.note(client)


def _polling_clients() -> Iterable[Metric]:
    yield Samples(
        "realtime_polling_clients",
        "Distinct clients that polled in the last minute.",
        [({}, POLLING_CLIENTS.count())],
    )


register_collector(_polling_clients)


def render(extra: Iterable[Metric] = ()) -> str:
    """Return every metric in the Prometheus text exposition format."""
    lines: list[str] = []
    for metric in [*REGISTRY, *extra]:
        lines.append(f"# HELP {metric.name} {metric.help}")
        lines.append(f"# TYPE {metric.name} {metric.kind}")
        lines.extend(f"{name} {value:g}" for name, value in metric.samples())
    return "\n".join(lines) + "\n"
