"""The server's metrics, with prometheus-client, rendered in the Prometheus text format at /metrics.

Under gunicorn every worker writes its values to memory-mapped files in PROMETHEUS_MULTIPROC_DIR
(made fresh by gunicorn.conf.py at server start, a dead worker's live gauges dropped when it
exits), and a scrape, whichever worker answers it, merges them all: one scrape is the whole
server. Without that directory (scripts/run, tests in process) the values live in this process,
which is then the whole server. Counters of a worker that died keep counting in the total, so
`rate()` sees no reset when one is replaced.

Gauges say how their workers' values combine (`multiprocess_mode`): what is open now in a live
worker is a `livesum`, so a dead worker's streams leave the total with it.

Inside the transport the metric objects are used directly; other apps go through the few
functions that `realtime/api.py` exports (`poll_answered`, `request_refused`, ...), named for what
happened rather than for a metric.
"""

import os
import threading
import time
from bisect import bisect_left
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from typing import Final

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.core import Metric as Metric
from prometheus_client.multiprocess import MultiProcessCollector

from realtime.asgi.types import ASGIApp, Message, Receive, Scope, Send

# The multiprocess files have no `_created` samples; the in-process registry then has none
# either, so both modes export the same series.
disable_created_metrics()  # type: ignore[no-untyped-call]

_LOCAL = CollectorRegistry()
"""Every metric of this process (in multiprocess mode: this worker's own values)."""

Collector = Callable[[], Iterable[Metric]]
"""Return metrics computed at scrape time (from the database, say): never per worker."""

_COLLECTORS: list[Collector] = []


def counter(name: str, help_text: str, labels: Sequence[str] = ()) -> Counter:
    """Return a new counter of this server (name it `<app>_<what>_total`)."""
    return Counter(name, help_text, labels, registry=_LOCAL)


def multiprocess_dir() -> str:
    """Return the directory the workers share their values in, "" when this process is alone."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


STREAMS_OPEN = Gauge(
    "realtime_streams_open",
    "Server-sent event streams open, in every live worker.",
    registry=_LOCAL,
    multiprocess_mode="livesum",
)
STREAMS_OPENED = counter("realtime_streams_opened_total", "Streams opened.")
STREAMS_RESUMED = counter(
    "realtime_streams_resumed_total", "Streams opened with a cursor (reconnects)."
)
EVENTS_PUBLISHED = counter("realtime_events_published_total", "Events handed to Redis.")
EVENTS_DELIVERED = counter(
    "realtime_events_delivered_total", "Events handed to local stream queues."
)
QUEUE_OVERFLOWS = counter(
    "realtime_queue_overflows_total", "Times a stream's queue overflowed (the stream then resyncs)."
)
STREAM_RESYNCS = counter(
    "realtime_stream_resyncs_total", "Times a stream caught up from the database."
)
DELAY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
"""Upper bounds (seconds) of the delivery-delay histogram's buckets, +inf after them."""
DELIVERY_DELAY = Histogram(
    "realtime_delivery_delay_seconds",
    "From an event's record time to its write on a stream.",
    buckets=DELAY_BUCKETS,
    registry=_LOCAL,
)
STAGE_BUCKETS: Final = (
    *(scale * unit for unit in (1e-5, 1e-4, 1e-3, 1e-2, 1e-1) for scale in (1, 2, 5)),
    1.0,
    2.0,
    5.0,
)
"""Upper bounds (seconds) of the stage histogram's buckets, 10 µs to 5 s in 1-2-5 steps:
a stage may take microseconds (one socket write) or a good part of a second (a fan-out)."""
EVENT_STAGES = Histogram(
    "realtime_event_stage_seconds",
    "Where a live event's time goes, stage by stage (realtime/stages.py): statement, commit "
    "and publish in the writer, redis from the writer to this process, fanout and socket for "
    "each stream of this process.",
    ["stage"],
    buckets=STAGE_BUCKETS,
    registry=_LOCAL,
)
POLLS = counter("realtime_polls_total", "Status polls answered.")
POLLS_NOT_MODIFIED = counter("realtime_polls_not_modified_total", "Polls answered with 304.")
POLLS_SHORTCUT = counter(
    "realtime_polls_shortcut_total", "Polls answered 304 in front of Django (also counted above)."
)
RATE_LIMITED = counter("realtime_rate_limited_total", "Requests refused by a rate limit or cap.")
STREAMS_BUSY = counter(
    "realtime_streams_busy_total",
    "Streams answered `busy` (come back after `retry:`), by the cap that was full: client, "
    "address, or process (this worker holds all the streams its descriptors allow).",
    ["cap"],
)
# The labelled counters that alerts and panels name are exported at 0 from the start, so that
# rate() sees their first increase.
for _cap in ("client", "address", "process"):
    STREAMS_BUSY.labels(_cap)
FALLBACKS = counter("realtime_fallbacks_total", "Clients that reported falling back to polling.")
MESSAGES_MALFORMED = counter(
    "realtime_messages_malformed_total",
    "Messages on a subscribed channel that were not envelopes (dropped).",
)
LINK_DOWN = Gauge(
    "realtime_redis_link_down",
    "Hubs whose Redis link is configured but down (they read the database instead).",
    registry=_LOCAL,
    multiprocess_mode="livesum",
)
LINK_FAILURES = counter(
    "realtime_redis_link_failures_total",
    "Times the Redis link failed on something other than a lost connection "
    "(restarted, streams resynced).",
)
HUB_TASK_FAILURES = counter(
    "realtime_hub_task_failures_total", "Times a hub background task died and was restarted."
)
SLOW_CLIENTS_DROPPED = counter(
    "realtime_slow_clients_dropped_total", "Streams dropped because the client stopped reading."
)
REDIS_LINK_ERRORS = counter(
    "realtime_redis_link_errors_total",
    "Redis Cluster shard connections ended by a loss or an error (the "
    "shard reconnects, its channels catch up from the database).",
)
REDIS_LINK_LOSSES = counter(
    "realtime_redis_link_losses_total",
    "Times a Redis pub/sub link (link=single) or one Redis Cluster shard's connection "
    "(link=shard) was found down and replaced: reason=health_check when a ping went "
    "unanswered past REALTIME_REDIS_HEALTH_TIMEOUT_S (a silent path), reason=connection when "
    "the connection failed or could not be made.",
    ["link", "reason"],
)
DATABASE_DOWN = counter(
    "realtime_database_down_total",
    "Times a web process found the database not answering and began refusing requests at "
    "once (503): reason=timeout when a round trip went unanswered past its deadline, "
    "connect or pool when no connection could be had.",
    ["reason"],
)
for _reason in ("timeout", "connect", "pool"):
    DATABASE_DOWN.labels(_reason)
DATABASE_UNAVAILABLE_ANSWERS = counter(
    "realtime_database_unavailable_answers_total",
    "Requests answered 503 (or a stream's busy) because the database did not answer.",
)
POLLING_CLIENTS_NOW = Gauge(
    "realtime_polling_clients",
    "Distinct clients that polled in the last minute (one that polled two workers counts twice).",
    registry=_LOCAL,
    multiprocess_mode="livesum",
)
HTTP_RESPONSES = counter(
    "composer_http_responses_total", "HTTP responses started, by status code.", ["status"]
)


class Tally:
    """Observations of one histogram (one label set) made on the event loop and not yet
    written to it: the counts per bucket and their sum."""

    __slots__ = ("_bounds", "_counts", "_histogram", "_n", "_sum")

    def __init__(self, histogram: Histogram) -> None:
        self._histogram = histogram
        self._bounds = tuple(histogram._upper_bounds)  # ascending, +inf last
        if len(histogram._buckets) != len(self._bounds):
            raise TypeError("prometheus-client's Histogram is not laid out as Tally expects")
        self._counts = [0] * len(self._bounds)
        self._n = 0
        self._sum = 0.0

    def add(self, value: float) -> None:
        """Count `value` as `Histogram.observe` would (into the first bucket it fits)."""
        self._counts[bisect_left(self._bounds, value)] += 1
        self._n += 1
        self._sum += value

    def write(self) -> None:
        """Add what was counted to the histogram, one write per bucket that grew."""
        if not self._n:
            return
        counts, total = self._counts, self._sum
        self._counts, self._n, self._sum = [0] * len(counts), 0, 0.0
        # prometheus-client has no public way to add n observations at once: these are the
        # very values `observe` increments (tests/realtime/test_metrics.py compares the two).
        self._histogram._sum.inc(total)
        for bucket, count in zip(self._histogram._buckets, counts, strict=True):
            if count:
                bucket.inc(count)


class RecentCounts:
    """How much something grew over the last `window_s` seconds, in whole seconds."""

    def __init__(self, window_s: int = 60) -> None:
        self._window_s = window_s
        self._seconds: deque[list[float]] = deque()  # [whole second, amount], oldest first
        self._lock = threading.Lock()

    def add(self, amount: float = 1) -> None:
        """Add `amount`, remembering when."""
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


RESUMES_RECENT = RecentCounts(window_s=60)
POLLING_CLIENTS = RecentClients(window_s=60.0)


def poll_answered(*, client: str, fallback: bool, not_modified: bool, shortcut: bool) -> None:
    """Count one answered status poll from `client` (a user or session key, never an IP)."""
    if fallback:
        FALLBACKS.inc()
    POLLS.inc()
    if not_modified:
        POLLS_NOT_MODIFIED.inc()
    if shortcut:
        POLLS_SHORTCUT.inc()
    poller_seen(client=client)


def poller_seen(*, client: str) -> None:
    """Record that `client` (a user or session key, never an IP) polled just now."""
    POLLING_CLIENTS.note(client)


def refresh() -> None:
    """Bring this process's gauges of recent activity up to date (clients age out unseen)."""
    POLLING_CLIENTS_NOW.set(POLLING_CLIENTS.count())


def stream_resumed() -> None:
    """Count a stream opened by a client reconnecting with its cursor."""
    STREAMS_RESUMED.inc()
    RESUMES_RECENT.add()


def database_down(*, reason: str) -> None:
    """Count a web process finding the database not answering (`timeout`, `connect`, `pool`)."""
    DATABASE_DOWN.labels(reason=reason).inc()


def database_unavailable_answered() -> None:
    """Count a request answered 503 (or `busy`) because the database did not answer."""
    DATABASE_UNAVAILABLE_ANSWERS.inc()


def request_refused() -> None:
    """Count a request refused by a rate limit or a cap (it was answered 429 or `busy`)."""
    RATE_LIMITED.inc()


def stream_busy(*, cap: str) -> None:
    """Count a stream answered `busy` because `cap` (client, address, process) was full."""
    STREAMS_BUSY.labels(cap).inc()
    RATE_LIMITED.inc()


def link_down(*, down: bool) -> None:
    """Count a hub's Redis link going down (True) or coming back (False)."""
    LINK_DOWN.inc(1 if down else -1)


def register_collector(collector: Collector) -> None:
    """Add a function whose metrics every scrape computes afresh (idempotent)."""
    if collector not in _COLLECTORS:
        _COLLECTORS.append(collector)


def gauge_samples(
    name: str, help_text: str, values: Iterable[tuple[dict[str, str], float]]
) -> Metric:
    """Return a gauge family computed at scrape time: one sample per label set."""
    values = list(values)
    keys = sorted({key for labels, _ in values for key in labels})
    family = GaugeMetricFamily(name, help_text, labels=keys)
    for labels, amount in values:
        family.add_metric([labels.get(key, "") for key in keys], amount)
    return family


class _Scrape:
    """What one scrape exports: every worker's values and the scrape-time collectors."""

    def collect(self) -> Iterator[Metric]:
        refresh()
        if path := multiprocess_dir():
            yield from MultiProcessCollector(None, path=path).collect()  # type: ignore[no-untyped-call]
        else:
            yield from _LOCAL.collect()
        for collector in list(_COLLECTORS):
            yield from collector()


def render_metrics() -> tuple[bytes, str]:
    """Return every metric of the server in the Prometheus text format, and its content type."""
    return generate_latest(_Scrape()), CONTENT_TYPE_PLAIN_0_0_4


def local_value(name: str, labels: dict[str, str] | None = None) -> float:
    """Return this process's own value of the sample `name` (0 when it has none yet)."""
    return _LOCAL.get_sample_value(name, labels) or 0.0


def local_delay_counts() -> tuple[int, ...]:
    """Return this process's deliveries per delay bucket (DELAY_BUCKETS, then +inf)."""
    bounds = [*(repr(float(b)) for b in DELAY_BUCKETS), "+Inf"]
    cumulative = [
        int(local_value("realtime_delivery_delay_seconds_bucket", {"le": le})) for le in bounds
    ]
    return tuple(n - before for n, before in zip(cumulative, [0, *cumulative], strict=False))


def count_responses(app: ASGIApp) -> ASGIApp:
    """Return `app` counting the status of every HTTP response it starts."""

    async def counted(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await app(scope, receive, send)
        counting = _CountingSend(send)
        try:
            await app(scope, receive, counting)
        except Exception:
            if not counting.started:  # the server answers 500 for it (a cancelled request: nothing)
                HTTP_RESPONSES.labels("500").inc()
            raise

    return counted


class _CountingSend:
    """The server's `send`, counting the response's status as it starts: an object and no
    coroutine of its own, as it is held for as long as an open stream."""

    __slots__ = ("send", "started")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.started = False

    def __call__(self, message: Message) -> Awaitable[None]:
        if not self.started and message["type"] == "http.response.start":
            self.started = True
            HTTP_RESPONSES.labels(str(message["status"])).inc()
        return self.send(message)
