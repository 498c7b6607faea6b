"""The stage table: where an event's time went, from the server's own histograms.

Our server times every live event stage by stage (realtime/stages.py) in the histogram
`realtime_event_stage_seconds{stage=…}` on `/metrics` (one scrape is the whole gunicorn
server). The benchmark scrapes it just before the publishers start and once the streams have
drained, and turns the difference into a count, a mean (exact: sum over count) and a p50 and
p99 per stage, interpolated within the histogram's buckets as Prometheus's
`histogram_quantile` does (so a percentile is as fine as the buckets: 1-2-5 steps). The
writer's stages and `redis` count once per event and web process that received it, `fanout`
and `socket` once per stream; the sum of the means is what one delivery took in the server,
beside the end-to-end delay the clients measured (which adds the kernel and the client).
"""

import math
import re
import urllib.request
from typing import Any

METRIC = "realtime_event_stage_seconds"
STAGES = ("statement", "commit", "publish", "redis", "fanout", "socket")
"""The stages in the order an event goes through them (realtime/stages.py)."""
CLOCKS = {
    "statement": "database server's clock",
    "commit": "writer, monotonic",
    "publish": "writer, monotonic",
    "redis": "writer's wall clock to the web process's",
    "fanout": "web process, monotonic, per stream",
    "socket": "web process, monotonic, per stream",
}
"""Which clock measures each stage (realtime/stages.py says why)."""
_SAMPLE = re.compile(r"^(?P<name>[a-z_]+)\{(?P<labels>[^}]*)\} (?P<value>\S+)$")
_LABEL = re.compile(r'(\w+)="([^"]*)"')

Histograms = dict[str, dict[str, Any]]
"""Per stage: `buckets` ({upper bound: cumulative count}), `count` and `sum`."""


def scrape(port: int) -> Histograms:
    """Return the stage histograms of the server on `port` (empty if it has none)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        return parse(answer.read().decode())


def parse(text: str) -> Histograms:
    """Return the stage histograms found in a Prometheus text exposition."""
    found: Histograms = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match is None or not match["name"].startswith(METRIC):
            continue
        labels = dict(_LABEL.findall(match["labels"]))
        stage = found.setdefault(labels.get("stage", ""), {"buckets": {}, "count": 0.0, "sum": 0.0})
        suffix, value = match["name"].removeprefix(METRIC), float(match["value"])
        if suffix == "_bucket":
            stage["buckets"][float(labels["le"])] = value
        elif suffix in {"_count", "_sum"}:
            stage[suffix[1:]] = value
    return found


def between(before: Histograms, after: Histograms) -> Histograms:
    """Return what was observed from `before` to `after` (two scrapes of one server)."""
    empty: dict[str, Any] = {"buckets": {}, "count": 0.0, "sum": 0.0}
    return {
        stage: {
            "buckets": {
                bound: count - before.get(stage, empty)["buckets"].get(bound, 0.0)
                for bound, count in now["buckets"].items()
            },
            "count": now["count"] - before.get(stage, empty)["count"],
            "sum": now["sum"] - before.get(stage, empty)["sum"],
        }
        for stage, now in after.items()
    }


def quantile(q: float, buckets: dict[float, float]) -> float | None:
    """Return the `q` quantile (0 to 1) of cumulative `buckets`, interpolated within the bucket
    it falls in (`histogram_quantile`'s way; the +Inf bucket gives its lower bound)."""
    bounds = sorted(buckets)
    total = buckets[bounds[-1]] if bounds else 0.0
    if total <= 0:
        return None
    rank, lower, below = q * total, 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower
            inside = count - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = bound, count
    return lower


def summary(observed: Histograms) -> dict[str, Any]:
    """Return per stage (in order) its count, mean, p50 and p99 in ms and its clock, and the
    sum of the means."""
    by_stage: dict[str, dict[str, Any]] = {}
    for stage in STAGES:
        histogram = observed.get(stage)
        if histogram is None or histogram["count"] <= 0:
            continue
        by_stage[stage] = {
            "count": int(histogram["count"]),
            "mean_ms": _ms(histogram["sum"] / histogram["count"]),
            "p50_ms": _ms(quantile(0.5, histogram["buckets"])),
            "p99_ms": _ms(quantile(0.99, histogram["buckets"])),
            "clock": CLOCKS[stage],
        }
    means = [figures["mean_ms"] for figures in by_stage.values()]
    return {"by_stage": by_stage, "sum_of_means_ms": round(sum(means), 3) if means else None}


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)
