"""From what was published and what each stream received: delays, losses, duplicates."""

import math
from collections import Counter, defaultdict
from typing import Any


def percentile(values: list[float], q: float) -> float | None:
    """Return the q-th percentile (0 to 100, nearest rank) of `values`, None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, math.ceil(q / 100 * len(ordered)) - 1)
    return ordered[rank]


def ms(value: float | None) -> float | None:
    """Return seconds as milliseconds, rounded for the report."""
    return None if value is None else round(value * 1000, 2)


def delay_summary(delays: list[float]) -> dict[str, Any]:
    """Return p50, p99, max, mean (ms) and the count of `delays` (seconds)."""
    return {
        "p50": ms(percentile(delays, 50)),
        "p99": ms(percentile(delays, 99)),
        "max": ms(max(delays) if delays else None),
        "count": len(delays),
        "mean": ms(sum(delays) / len(delays) if delays else None),
    }


def published_by_job(publisher_results: list[dict[str, Any]]) -> dict[str, set[int]]:
    """Return the seqs published on each job."""
    found: dict[str, set[int]] = defaultdict(set)
    for result in publisher_results:
        for job, seq in result["published"]:
            found[job].add(int(seq))
    return found


def deliveries(slots: list[dict[str, Any]], published: dict[str, set[int]]) -> dict[str, Any]:
    """Return lost, duplicated and delivered counts and the delays of published events.

    A stream is expected to get every event published on its job; what it received of
    earlier events (its replay from seq 1) is neither expected nor timed. A duplicate is any
    second receipt of a seq by the same stream, across its reconnects.
    """
    delays: list[float] = []
    lost = duplicated = delivered = expected = 0
    lost_streams = 0
    for slot in slots:
        wanted = published.get(slot["job"], set())
        expected += len(wanted)
        counts = Counter(slot["seqs"])
        duplicated += sum(n - 1 for n in counts.values() if n > 1)
        missing = len(wanted - counts.keys())
        lost += missing
        lost_streams += 1 if missing else 0
        seen: set[int] = set()
        for seq, delay in zip(slot["seqs"], slot["delays"], strict=True):
            if seq in wanted and seq not in seen:
                seen.add(seq)
                delays.append(delay)
                delivered += 1
    return {
        "expected": expected,
        "delivered": delivered,
        "lost": lost,
        "duplicated": duplicated,
        "streams_with_loss": lost_streams,
        "delays": delays,
    }


def connection_summary(slots: list[dict[str, Any]]) -> dict[str, Any]:
    """Return how many streams were made, how many attempts failed, and the HTTP answers."""
    answers: Counter[str] = Counter()
    for slot in slots:
        answers.update(slot["http_status"])
    made = sum(1 for slot in slots if slot["ready_at"])
    return {
        "streams": len(slots),
        "made": made,
        "never_made": len(slots) - made,
        # 204 is a finished job telling the client it has everything: not a failure.
        "failed_attempts": sum(slot["failures"] for slot in slots)
        + sum(n for code, n in answers.items() if code not in ("200", "204")),
        # 200s that said `busy` (no room in the process that took them): come back later.
        "busy": sum(slot.get("busy", 0) for slot in slots),
        "http": dict(answers),
    }


def resume_summary(slots: list[dict[str, Any]], since: float) -> dict[str, Any]:
    """Return how long the streams took to be streaming again after `since` (a kill)."""
    waits, answers = [], []
    for slot in slots:
        after = [t for t in slot["ready_at"] if t > since]
        if after:
            waits.append(after[0] - since)
            tried = [t for t in slot.get("attempt_at", []) if since < t <= after[0]]
            if tried:
                answers.append(after[0] - tried[-1])
    return {
        "resumed": len(waits),
        "of": len(slots),
        "p50_s": _round(percentile(waits, 50)),
        "p99_s": _round(percentile(waits, 99)),
        "all_s": _round(max(waits)) if len(waits) == len(slots) and waits else None,
        "reconnect_answer_p50_s": _round(percentile(answers, 50)),
        "reconnect_answer_p99_s": _round(percentile(answers, 99)),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
