"""How fast the dashboard answers with a long history of developer journeys.

`python -m bench.journeys [--journeys 100000] [--events 1000000] [--days 45]` makes its own
database (`composer_bench_journeys`, dropped and made anew; `--database` to rename) on the
server of DATABASE_URL, records that many journeys and journey events spread over the last
`--days` days (COPY, as the wizard and the worker would have recorded them: starts, steps,
fields typed in, validation errors, submissions, outcomes, downloads), folds them into the
journey rollup the way `manage.py journeys_rebuild` does, and then times, cold (no cache),
`--repeat` times each:

- the dashboard's snapshot: every panel, the three preset funnels included;
- the dashboard page, as staff, for 30 days and for the whole range with one template;
- one funnel on its own (the whole range), a drop-off list page, and its CSV export;
- recording one more journey event (the write the wizard pays for the rollup).

It prints a table (median and slowest, in ms) and, with `--json FILE`, writes the figures.
A program that prints figures, not a test: nothing here passes or fails.
"""

import argparse
import heapq
import io
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.host import speed
from bench.systems import drop_database, recreate_database, with_database

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/composer"
TEMPLATES = ("token", "nft", "dao", "escrow")
STAGE_ODDS = (1.0, 0.85, 0.9, 0.8, 0.95, 0.85)
"""The chance of reaching each wizard stage from the one before (start … submitted)."""
FIELDS = {
    "basics": ("name", "description", "author"),
    "options": ("network", "frontend", "symbol", "max_supply", "decimals", "quorum_percent"),
}
REPEAT_VISITOR = 0.15
"""The share of journeys made by someone who had submitted a job before."""


@dataclass
class Seeded:
    """What the seeding made."""

    journeys: int = 0
    events: int = 0
    jobs: int = 0
    events_rows: list[tuple[Any, ...]] = field(default_factory=list)
    job_rows: list[tuple[Any, ...]] = field(default_factory=list)


def _gap(rng: random.Random, low: float, high: float) -> timedelta:
    """A log-uniform pause: people take seconds or minutes, rarely the same."""
    return timedelta(seconds=low * (high / low) ** rng.random())


def _journey(
    rng: random.Random, index: int, visitor: str, start: datetime, seeded: Seeded
) -> datetime | None:
    """Record one journey's core events; return when it submitted (None if it did not)."""
    template = rng.choice(TEMPLATES)
    steps = ["basics", "template", "options", "review"]
    at = start
    events = [("wizard_started", "", "", "", "", None, at)]
    reached = 1
    for step in steps:
        if rng.random() > STAGE_ODDS[reached]:
            break
        at += _gap(rng, 5, 600)
        events.append(
            ("step_completed", step, "", template if step != "basics" else "", "", None, at)
        )
        reached += 1
    submitted = None
    if reached == 5 and rng.random() <= STAGE_ODDS[5]:
        at += _gap(rng, 2, 120)
        job = uuid.uuid4()
        submitted = at
        events.append(("submitted", "review", "", template, "", job, at))
        _outcome(rng, job, template, visitor, index, at, events, seeded)
    seeded.events_rows.extend((kind, visitor, *rest) for kind, *rest in events)
    return submitted


def _outcome(
    rng: random.Random,
    job: uuid.UUID,
    template: str,
    visitor: str,
    index: int,
    at: datetime,
    events: list[tuple[Any, ...]],
    seeded: Seeded,
) -> None:
    started = at + _gap(rng, 0.5, 30)
    finished = started + _gap(rng, 20, 120)
    roll = rng.random()
    status = "succeeded" if roll < 0.88 else "failed" if roll < 0.97 else "cancelled"
    if status == "succeeded":
        events.append(("job_succeeded", "", "", template, "", job, finished))
        if rng.random() < 0.8:
            events.append(("downloaded", "", "", template, "", job, finished + _gap(rng, 5, 7200)))
    elif status == "failed":
        detail = "Mint price above the test accounts' funds" if template == "nft" else ""
        events.append(("job_failed", "smoke", "", template, detail, job, finished))
    else:
        events.append(("job_cancelled", "compile", "", template, "", job, finished))
    seeded.job_rows.append(
        (job, f"anon-{index}", f"Bench project {index}", template, status, at, started, finished)
    )


def seed_rows(*, journeys: int, events: int, days: float, now: datetime, seed: int = 28) -> Seeded:
    """Return `journeys` journeys of exactly `events` events in all, begun over `days` days."""
    rng = random.Random(seed)
    seeded = Seeded(journeys=journeys)
    starts = sorted(now - timedelta(days=days * rng.random()) for _ in range(journeys))
    returning: list[tuple[datetime, str]] = []  # (free from, visitor) of people who submitted
    spans: list[tuple[str, datetime, datetime]] = []  # (visitor, start, last wizard moment)
    for index, start in enumerate(starts):
        visitor = f"{rng.getrandbits(128):032x}"
        if returning and returning[0][0] < start and rng.random() < REPEAT_VISITOR:
            visitor = heapq.heappop(returning)[1]
        before = len(seeded.events_rows)
        submitted = _journey(rng, index, visitor, start, seeded)
        wizard_end = max(row[-1] for row in seeded.events_rows[before:] if row[6] is None)
        spans.append((visitor, start, wizard_end))
        if submitted is not None:
            heapq.heappush(returning, (submitted + timedelta(hours=1), visitor))
    _extras(rng, seeded, spans, events - len(seeded.events_rows))
    seeded.events, seeded.jobs = len(seeded.events_rows), len(seeded.job_rows)
    return seeded


def _extras(
    rng: random.Random, seeded: Seeded, spans: list[tuple[str, datetime, datetime]], count: int
) -> None:
    """Add `count` fields typed in and errors met, inside the wizard part of random journeys."""
    if count < 0:
        raise SystemExit(f"{len(seeded.events_rows)} events are needed for the journeys alone")
    for _ in range(count):
        visitor, start, end = spans[rng.randrange(len(spans))]
        at = start + (end - start) * rng.random() + timedelta(microseconds=1)
        step = rng.choice(("basics", "options"))
        name = rng.choice(FIELDS[step])
        if rng.random() < 0.25:
            row = (
                "validation_error",
                visitor,
                step,
                name,
                "",
                "invalid: Enter a valid value.",
                None,
                at,
            )
        else:
            row = ("field_edited", visitor, step, name, "", "", None, at)
        seeded.events_rows.append(row)


def _copy(table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def load(seeded: Seeded) -> None:
    """Write the seeded jobs and events into the database."""
    from jobs.models import Job, JourneyEvent

    jobs = [
        (
            job,
            anon,
            "",  # no address hash: the benchmark's visitors come from nowhere in particular
            name,
            template,
            "{}",
            status,
            100 if status == "succeeded" else 60,
            "",
            0,
            "",
            "",
            created,
            started,
            finished,
        )
        for job, anon, name, template, status, created, started, finished in seeded.job_rows
    ]
    _copy(
        Job._meta.db_table,
        (
            "id",
            "anon_owner",
            "anon_address",
            "name",
            "template",
            "params",
            "status",
            "percent",
            "message",
            "last_seq",
            "error",
            "artifact",
            "created_at",
            "started_at",
            "finished_at",
        ),
        jobs,
    )
    _copy(
        JourneyEvent._meta.db_table,
        ("kind", "visitor", "step", "field", "template", "detail", "job_id", "created_at"),
        seeded.events_rows,
    )


def timed(repeat: int, action: Callable[[], Any], *, before: Callable[[], None]) -> list[float]:
    """Return the milliseconds of `repeat` runs of `action`, `before` run untimed before each."""
    spent = []
    for _ in range(repeat):
        before()
        started = time.perf_counter()
        action()
        spent.append((time.perf_counter() - started) * 1000)
    return spent


def measure(*, repeat: int, days: float, now: datetime) -> list[dict[str, Any]]:
    """Time each read of the dashboard, cold; return one row per read."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from dashboard.funnel import Range, Selection, funnel_report
    from dashboard.funnel_views import funnel_cache_clear
    from dashboard.snapshot import snapshot_current, snapshot_reset

    staff, _ = get_user_model().objects.get_or_create(username="bench", defaults={"is_staff": True})
    client = Client()
    client.force_login(staff)
    first = (now - timedelta(days=days)).date().isoformat()
    whole = {"from": first, "to": now.date().isoformat()}

    def cold() -> None:
        snapshot_reset()
        funnel_cache_clear()

    def get(path: str, query: dict[str, str] | None = None) -> Callable[[], Any]:
        def fetch() -> Any:
            response = client.get(path, query or {})
            assert response.status_code == 200, (path, response.status_code)
            return response

        return fetch

    everything = Selection(
        range=Range(start=now - timedelta(days=days + 1), end=now + timedelta(days=1))
    )
    reads: list[tuple[str, Callable[[], Any]]] = [
        ("dashboard snapshot (every panel, 3 preset funnels)", snapshot_current),
        ("GET /dashboard/?days=30", get("/dashboard/", {"days": "30"})),
        (
            "GET /dashboard/ whole range, template nft",
            get("/dashboard/", {**whole, "template": "nft"}),
        ),
        ("funnel alone, whole range, all templates", lambda: funnel_report(selection=everything)),
        (
            "GET drop-off list, step 1, 30 days",
            get("/dashboard/journeys/", {"days": "30", "stage": "step:basics"}),
        ),
        (
            "GET drop-off CSV, step 3, whole range",
            get("/dashboard/journeys.csv", {**whole, "stage": "step:options"}),
        ),
    ]
    rows = []
    for name, action in reads:
        spent = timed(repeat, action, before=cold)
        rows.append(_row(name, spent))
    rows.append(_row("record one journey event (+ fold)", _record_times(repeat * 20)))
    return rows


def _record_times(count: int) -> list[float]:
    from jobs.journey import journey_record
    from jobs.models import JourneyKind

    spent = []
    for i in range(count):
        visitor = f"bench-writer-{i % 5}"
        kind = JourneyKind.WIZARD_STARTED if i % 10 == 0 else JourneyKind.FIELD_EDITED
        started = time.perf_counter()
        journey_record(kind=kind, visitor=visitor, step="options", field="symbol")
        spent.append((time.perf_counter() - started) * 1000)
    return spent


def _row(name: str, spent: list[float]) -> dict[str, Any]:
    return {
        "what": name,
        "median_ms": round(statistics.median(spent), 1),
        "max_ms": round(max(spent), 1),
        "runs": len(spent),
    }


def _environment(url: str) -> None:
    """Point Django at the benchmark's database, as production runs (DEBUG off, no Redis)."""
    os.environ["DATABASE_URL"] = url
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", uuid.uuid4().hex + uuid.uuid4().hex)
    os.environ["SECURE_SSL_REDIRECT"] = "false"
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ.pop("REDIS_URL", None)  # the transport's figures are not what is measured here
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "composer_realtime.settings")


def run(args: argparse.Namespace, base: str) -> dict[str, Any]:
    """Seed, fold, measure; return the figures."""
    host = speed()
    recreate_database(base, args.database, connection_limit=10)
    _environment(with_database(base, args.database, "bench-journeys"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import setup_test_environment

    from jobs.journey_rollup import journeys_rebuild

    setup_test_environment()  # the test client's host, nothing else
    figures: dict[str, Any] = {"host": host, "journeys": args.journeys, "events": args.events}
    now = datetime.now(UTC)
    clock = time.perf_counter()
    call_command("migrate", verbosity=0)
    seeded = seed_rows(journeys=args.journeys, events=args.events, days=args.days, now=now)
    load(seeded)
    figures["seed_s"] = round(time.perf_counter() - clock, 1)
    clock = time.perf_counter()
    figures["journeys_folded"] = journeys_rebuild()
    figures["fold_s"] = round(time.perf_counter() - clock, 1)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    figures["jobs"] = seeded.jobs
    figures["reads"] = measure(repeat=args.repeat, days=args.days, now=now)
    return figures


def report(figures: dict[str, Any]) -> str:
    """Return the figures as a table for a person."""
    out = io.StringIO()
    host = figures["host"]
    out.write(
        f"{figures['journeys']:,} journeys, {figures['events']:,} journey events, "
        f"{figures['jobs']:,} jobs; seeded in {figures['seed_s']} s, folded "
        f"({figures['journeys_folded']:,} journeys) in {figures['fold_s']} s\n"
        f"machine: python loop {host['python_loop_ms']} ms, "
        f"thread hop {host['thread_hop_us']} µs\n\n"
    )
    out.write(f"{'what':<56} {'median ms':>10} {'max ms':>9} {'runs':>5}\n")
    for row in figures["reads"]:
        out.write(f"{row['what']:<56} {row['median_ms']:>10} {row['max_ms']:>9} {row['runs']:>5}\n")
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print (and optionally write) its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journeys", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=float, default=45.0)
    parser.add_argument("--repeat", type=int, default=5, help="cold runs of each read")
    parser.add_argument("--database", default="composer_bench_journeys")
    parser.add_argument("--json", help="write the figures to this file too")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    base = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if not base.startswith(("postgres://", "postgresql://")):
        raise SystemExit("the benchmark needs PostgreSQL")
    try:
        figures = run(args, base)
    finally:
        if not args.keep:
            drop_database(base, args.database)
    print(report(figures))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(figures, handle, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
