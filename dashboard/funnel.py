"""The journey funnel: for a range of days and a template, where people stop, why, how long.

Read from the journey rollup (`jobs.journey_rollup`: one row per journey, with when each stage
was first reached), never from the raw events, so that its cost grows with the journeys of the
range, not with everything they did. The funnel counts the journeys begun in the wizard
within the range (a cohort): each stage's distinct visitors, the conversion from the stage
before and from the start, the median and 90th percentile of the time from the stage before
(per journey), and the same counts for the period of the same length just before. Two queries:
one per visitor (counts, both periods), one per journey (times and where each stopped).

Drop-offs are the journeys of the range that reached a stage and went no further: who
(pseudonym), when, and the last thing they did and the last error they met.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.db import connection
from django.db.models import Aggregate, BitOr, Count, F, FloatField, Func, Q, QuerySet, Sum
from django.db.models.lookups import GreaterThan
from django.http import QueryDict
from django.utils import timezone

from dashboard.selectors import DEFAULT_PERIOD, PERIODS, percentile
from jobs.drafts import STEP_LABELS
from jobs.forms import JobParamsForm
from jobs.journey_rollup import FUNNEL_SOURCES, STAGE_INDEX, STAGES
from jobs.models import Journey, JourneyKind
from jobs.pipeline import STEPS as PIPELINE_STEPS
from jobs.scaffolds import TEMPLATES, template_label

PRESETS = PERIODS
"""The preset ranges, in days back from now."""
DEFAULT_DAYS = DEFAULT_PERIOD
MAX_DAYS = 366
"""The longest custom range, in days."""
STILL_GOING = timedelta(minutes=30)
"""A journey active this recently may not have stopped at all."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Range:
    """A span of time: the last N days, or whole calendar days (UTC) chosen by hand."""

    start: datetime
    """Included."""
    end: datetime
    """Excluded."""
    days: int | None = None
    """The preset it is, or None for dates chosen by hand."""

    @property
    def previous(self) -> "Range":
        """Return the range of the same length just before this one."""
        return Range(start=self.start - (self.end - self.start), end=self.start)

    @property
    def label(self) -> str:
        """Return the range in words: "last 7 days", "1 Dec 2026 to 7 Dec 2026"."""
        if self.days is not None:
            return "last 24 hours" if self.days == 1 else f"last {self.days} days"
        last = self.end - timedelta(days=1)
        if last.date() == self.start.date():
            return _day(self.start)
        return f"{_day(self.start)} to {_day(last)}"

    def query(self) -> dict[str, str]:
        """Return the range as URL parameters."""
        if self.days is not None:
            return {"days": str(self.days)}
        last = (self.end - timedelta(days=1)).date()
        return {"from": self.start.date().isoformat(), "to": last.isoformat()}


def _day(moment: datetime) -> str:
    return f"{moment.day} {moment:%b %Y}"


def preset(*, days: int, now: datetime) -> Range:
    """Return the last `days` days up to `now`."""
    return Range(start=now - timedelta(days=days), end=now, days=days)


@dataclass(frozen=True, kw_only=True, slots=True)
class Selection:
    """What the funnel is asked for: a range and a template ("" for all)."""

    range: Range
    template: str = ""
    errors: tuple[str, ...] = ()
    """What was wrong with the request (the default range is used instead)."""

    @property
    def is_live(self) -> bool:
        """Return True for a preset over every template: the live dashboard's own funnels."""
        return self.range.days is not None and not self.template

    @property
    def template_label(self) -> str:
        """Return the template in words, or "all templates"."""
        return template_label(self.template) if self.template else "all templates"

    def query(self) -> dict[str, str]:
        """Return the selection as URL parameters."""
        return {**self.range.query(), **({"template": self.template} if self.template else {})}


def parse_selection(query: QueryDict, *, now: datetime) -> Selection:
    """Return the funnel asked for by `?days=` or `?from=&to=` (UTC dates, both included) and
    `?template=`; what cannot be used is said in `errors` and replaced by the default."""
    errors: list[str] = []
    template = query.get("template", "")
    if template and template not in TEMPLATES:
        errors.append(f"There is no template “{template}”; showing all templates.")
        template = ""
    if query.get("from") or query.get("to"):
        chosen = _dates(query.get("from", ""), query.get("to", ""), errors)
        if chosen is not None:
            return Selection(range=chosen, template=template, errors=tuple(errors))
    raw = query.get("days", "")
    days = int(raw) if raw in {str(d) for d in PRESETS} else DEFAULT_DAYS
    return Selection(range=preset(days=days, now=now), template=template, errors=tuple(errors))


def _dates(first: str, last: str, errors: list[str]) -> Range | None:
    try:
        start, end = date.fromisoformat(first), date.fromisoformat(last)
    except ValueError:
        errors.append("Give both dates as year-month-day, e.g. 2026-12-01.")
        return None
    if end < start:
        errors.append("The first day comes after the last; showing the default range instead.")
        return None
    if (end - start).days + 1 > MAX_DAYS:
        errors.append(f"A range can span at most {MAX_DAYS} days.")
        return None
    midnight = time(tzinfo=UTC)
    return Range(
        start=datetime.combine(start, midnight),
        end=datetime.combine(end + timedelta(days=1), midnight),
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class StageFigures:
    """One stage of the funnel over the range, and against the period before."""

    key: str
    """The stage's stable key."""
    label: str
    """What a person reads."""
    visitors: int
    """Distinct visitors whose journey of the range reached it."""
    previous_visitors: int
    """The same over the period before."""
    from_previous: float | None
    """Visitors as a share of the stage before's (None for the first, or after none)."""
    from_start: float | None
    """Visitors as a share of the first stage's."""
    previous_from_start: float | None
    """The same over the period before."""
    time_p50_s: float | None
    """Median seconds from the stage before, per journey that reached both (None if none)."""
    time_p90_s: float | None
    """90th percentile of the same."""
    timed: int
    """Journeys the times are measured over."""
    stopped: int | None
    """Journeys that reached this stage and went no further (None for the last stage)."""

    @property
    def change(self) -> float | None:
        """Return the visitors' change against the period before, as a share of it."""
        if not self.previous_visitors:
            return None
        return (self.visitors - self.previous_visitors) / self.previous_visitors


@dataclass(frozen=True, kw_only=True, slots=True)
class FunnelReport:
    """The funnel of a selection."""

    selection: Selection
    stages: list[StageFigures]
    journeys: int
    """Journeys begun in the range."""
    previous_journeys: int
    """Journeys begun in the period before."""


def funnel_report(*, selection: Selection) -> FunnelReport:
    """Return the funnel of `selection` (two queries on PostgreSQL)."""
    current, previous = selection.range, selection.range.previous
    both = _journeys(selection).filter(started_at__gte=previous.start, started_at__lt=current.end)
    if connection.vendor == "postgresql":
        visitors = _visitor_counts(both, since=current.start)
        per_journey = _journey_figures(both.filter(started_at__gte=current.start))
    else:
        visitors, per_journey = figures_in_python(both, since=current.start)
    return FunnelReport(
        selection=selection,
        stages=_stages(visitors, per_journey),
        journeys=per_journey["journeys"] or 0,
        previous_journeys=visitors["b"] or 0,
    )


def _journeys(selection: Selection) -> QuerySet[Journey]:
    journeys = Journey.objects.filter(source__in=FUNNEL_SOURCES)
    if selection.template:
        journeys = journeys.filter(template=selection.template)
    return journeys.order_by()


def _has(stages: Any, index: int) -> GreaterThan:
    return GreaterThan(stages.bitand(1 << index), 0)


def _visitor_counts(journeys: QuerySet[Journey], *, since: datetime) -> dict[str, int | None]:
    """Return, per stage and period, how many distinct visitors reached it: per visitor the
    stages their journeys reached (`reached`, a bit each, OR-ed), then counted per bit."""
    now_ = Q(started_at__gte=since)
    per_visitor = journeys.values("visitor").annotate(
        now_reached=BitOr("reached", filter=now_),
        before_reached=BitOr("reached", filter=~now_),
        before=Count("pk", filter=~now_),
    )
    counts: dict[str, Any] = {"b": Sum("before")}
    for i in range(len(STAGES)):
        counts[f"c{i}"] = Count("visitor", filter=_has(F("now_reached"), i))
        counts[f"p{i}"] = Count("visitor", filter=_has(F("before_reached"), i))
    return per_visitor.aggregate(**counts)


QUANTILES = (50, 90)
"""The percentiles of the times between stages."""


class PercentileDisc(Aggregate):
    """PostgreSQL's nearest-rank percentiles (the rule of `percentile`), all of them from one
    sort: an array, one per fraction."""

    function = "percentile_disc"
    template = "%(function)s(ARRAY[%(fractions)s]) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression: Any, *, fractions: Sequence[float], **extra: Any) -> None:
        listed = ", ".join(f"{float(f)!r}" for f in fractions)
        super().__init__(
            expression, fractions=listed, output_field=ArrayField(FloatField()), **extra
        )


class Seconds(Func):
    """The seconds of an interval, as a float: sorted much faster than the interval."""

    template = "date_part('epoch', %(expressions)s)"
    output_field = FloatField()


def _gap(index: int) -> Seconds:
    return Seconds(F(STAGES[index].column) - F(STAGES[index - 1].column))


def _timed(index: int) -> Q:
    return Q(**{f"{STAGES[index].column}__gte": F(STAGES[index - 1].column)})


def _journey_figures(journeys: QuerySet[Journey]) -> dict[str, Any]:
    """Return, over the range's journeys, the times between stages and where each stopped."""
    figures: dict[str, Any] = {"journeys": Count("pk")}
    for i in range(len(STAGES)):
        figures[f"s{i}"] = Count("pk", filter=Q(furthest=i))
        if i:
            figures[f"n{i}"] = Count("pk", filter=_timed(i))
            fractions = [q / 100 for q in QUANTILES]
            figures[f"t{i}"] = PercentileDisc(_gap(i), fractions=fractions, filter=_timed(i))
    found = journeys.aggregate(**figures)
    for i in range(1, len(STAGES)):
        values = found.pop(f"t{i}") or [None] * len(QUANTILES)
        for q, value in zip(QUANTILES, values, strict=True):
            found[f"q{q}_{i}"] = value
    return found


def figures_in_python(
    journeys: QuerySet[Journey], *, since: datetime
) -> tuple[dict[str, int | None], dict[str, Any]]:
    """Return what the two queries of `funnel_report` return, computed here from the rows:
    for databases without bitwise aggregates or percentiles (development only)."""
    columns = [stage.column for stage in STAGES]
    now_mask: dict[str, int] = {}
    before_mask: dict[str, int] = {}
    per_journey: dict[str, Any] = {"journeys": 0, **{f"s{i}": 0 for i in range(len(STAGES))}}
    gaps: list[list[float]] = [[] for _ in STAGES]
    rows = journeys.values_list("visitor", "started_at", "reached", "furthest", *columns)
    before = 0
    for visitor, started_at, reached, furthest, *times in rows.iterator():
        masks = now_mask if started_at >= since else before_mask
        masks[visitor] = masks.get(visitor, 0) | reached
        if started_at < since:
            before += 1
            continue
        per_journey["journeys"] += 1
        per_journey[f"s{furthest}"] = per_journey.get(f"s{furthest}", 0) + 1
        for i in range(1, len(STAGES)):
            if times[i] is not None and times[i - 1] is not None and times[i] >= times[i - 1]:
                gaps[i].append((times[i] - times[i - 1]).total_seconds())
    for i in range(1, len(STAGES)):
        per_journey[f"n{i}"] = len(gaps[i])
        ordered = sorted(gaps[i])
        for q in QUANTILES:
            per_journey[f"q{q}_{i}"] = percentile(ordered, q / 100)
    visitors: dict[str, int | None] = {"b": before}
    for i in range(len(STAGES)):
        visitors[f"c{i}"] = sum(1 for mask in now_mask.values() if mask & 1 << i)
        visitors[f"p{i}"] = sum(1 for mask in before_mask.values() if mask & 1 << i)
    return visitors, per_journey


def _stages(
    visitors: Mapping[str, int | None], per_journey: Mapping[str, Any]
) -> list[StageFigures]:
    count = [visitors[f"c{i}"] or 0 for i in range(len(STAGES))]
    before = [visitors[f"p{i}"] or 0 for i in range(len(STAGES))]
    return [
        StageFigures(
            key=stage.key,
            label=stage.label,
            visitors=count[i],
            previous_visitors=before[i],
            from_previous=_ratio(count[i], count[i - 1]) if i else None,
            from_start=_ratio(count[i], count[0]),
            previous_from_start=_ratio(before[i], before[0]),
            time_p50_s=per_journey.get(f"q50_{i}") if i else None,
            time_p90_s=per_journey.get(f"q90_{i}") if i else None,
            timed=per_journey.get(f"n{i}", 0) if i else 0,
            stopped=(per_journey.get(f"s{i}") or 0) if i < len(STAGES) - 1 else None,
        )
        for i, stage in enumerate(STAGES)
    ]


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


# --- Drop-offs -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class Dropoff:
    """A journey that reached a stage and went no further."""

    visitor: str
    """The person's pseudonym (a keyed hash; "" once anonymized)."""
    started_at: datetime
    """When the journey began."""
    last_at: datetime
    """When they last did something."""
    template: str
    """The template they chose, in words ("" if none yet)."""
    was_on: str
    """Where they were: the wizard step (and option) or the job's step."""
    last_action: str
    """The last thing they did, in words."""
    last_error: str
    """The last error they met (a validation error, or what ended their job), in words."""
    job_id: str
    """The job they submitted ("" if none)."""
    still_going: bool = field(default=False)
    """True when they were active within the last `STILL_GOING`: they may not have left."""


@dataclass(frozen=True, kw_only=True, slots=True)
class DropoffPage:
    """One page of a stage's drop-offs."""

    stage: str
    """The stage's key."""
    label: str
    """The stage in words."""
    total: int
    """Journeys that stopped there, in all."""
    rows: list[Dropoff]
    """This page's, the most recently active first."""


def stage_index(key: str) -> int | None:
    """Return the index of the stage `key`, or None if there is no such stage with drop-offs."""
    index = STAGE_INDEX.get(key)
    return index if index is not None and index < len(STAGES) - 1 else None


def funnel_dropoffs(
    *, selection: Selection, stage: int, offset: int = 0, limit: int | None = 100
) -> DropoffPage:
    """Return the journeys of the range that stopped at `stage` (an index), most recent first."""
    stopped = _journeys(selection).filter(
        started_at__gte=selection.range.start, started_at__lt=selection.range.end, furthest=stage
    )
    ordered = stopped.order_by("-last_at", "-pk")
    rows = ordered[offset : offset + limit] if limit is not None else ordered[offset:]
    recent = timezone.now() - STILL_GOING
    return DropoffPage(
        stage=STAGES[stage].key,
        label=STAGES[stage].label,
        total=stopped.count(),
        rows=[_dropoff(journey, recent) for journey in rows],
    )


def _dropoff(journey: Journey, recent: datetime) -> Dropoff:
    return Dropoff(
        visitor=journey.visitor,
        started_at=journey.started_at,
        last_at=journey.last_at,
        template=template_label(journey.template) if journey.template else "",
        was_on=_was_on(journey),
        last_action=_action(journey),
        last_error=_error(journey),
        job_id=str(journey.job_id or ""),
        still_going=journey.last_at >= recent,
    )


_NEXT_STEP = {
    "wizard_started": "basics",
    "step:basics": "template",
    "step:template": "options",
    "step:options": "review",
}


def _was_on(journey: Journey) -> str:
    """Return where the person was when they stopped."""
    key = STAGES[journey.furthest].key if journey.furthest >= 0 else ""
    if key in _NEXT_STEP:
        step = _NEXT_STEP[key]
        where = STEP_LABELS[step]
        if journey.last_step == step and journey.last_field:
            return f"{where}: {field_label(journey.last_field)}"
        return where
    if key == "step:review":
        return STEP_LABELS["review"]
    if journey.last_kind in {JourneyKind.JOB_FAILED, JourneyKind.JOB_CANCELLED}:
        return f"Generation: {pipeline_step_label(journey.last_step)}"
    if key == "submitted":
        return "Generation"
    return "Download"


def _action(journey: Journey) -> str:
    """Return the last thing the person did, in words."""
    kind, step, where = journey.last_kind, journey.last_step, STEP_LABELS.get(journey.last_step)
    if kind == JourneyKind.FIELD_EDITED:
        return f"Typed in “{field_label(journey.last_field)}” ({where or step})"
    if kind == JourneyKind.VALIDATION_ERROR:
        return (
            f"Pressed Next with an error in “{field_label(journey.last_field)}” ({where or step})"
        )
    if kind == JourneyKind.STEP_COMPLETED:
        return "Reached the review" if step == "review" else f"Completed {where or step}"
    return _JOB_ACTIONS.get(kind, kind).format(step=pipeline_step_label(step))


_JOB_ACTIONS: dict[str, str] = {
    JourneyKind.WIZARD_STARTED: "Opened the wizard",
    JourneyKind.SUBMITTED: "Pressed Generate",
    JourneyKind.JOB_FAILED: "Generation failed during “{step}”",
    JourneyKind.JOB_CANCELLED: "Cancelled the generation during “{step}”",
    JourneyKind.JOB_SUCCEEDED: "Project generated, not downloaded",
    JourneyKind.DOWNLOADED: "Downloaded the project",
}


def _error(journey: Journey) -> str:
    """Return the last error the person met, in words ("" if none)."""
    if not journey.error_kind:
        return ""
    if journey.error_kind == JourneyKind.JOB_FAILED:
        return f"Generation failed: {journey.error_detail or 'no detail recorded'}"
    message = journey.error_detail.partition(": ")[2] or journey.error_detail
    return f"“{field_label(journey.error_field)}”: {message or 'an error'}"


@cache
def _field_labels() -> dict[str, str]:
    labels: dict[str, str] = {}
    for key in TEMPLATES:
        for name, form_field in JobParamsForm(template=key).fields.items():
            labels.setdefault(name, str(form_field.label))
    return labels


def field_label(name: str) -> str:
    """Return what the wizard calls field `name` (the name itself if unknown)."""
    return _field_labels().get(name, name) if name else "—"


def pipeline_step_label(key: str) -> str:
    """Return what the job page calls generation step `key`."""
    return next(
        (label for k, label, _ in PIPELINE_STEPS if k == key), key or "before the first step"
    )
