"""The journey rollup: each developer journey as one row, folded from its events as they come.

A journey begins with `wizard_started` (or with a job made without the wizard: through the API
or "Run again") and gathers the visitor's events until the next one begins; the events about a
job (its outcome, its download) go to the journey that submitted it, however much later. The
events stay the truth: the same fold serves each event as it is recorded (`journey_fold`) and
the whole history at once (`journeys_rebuild`), so that the two can never disagree.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Model

from jobs.models import Journey, JourneyEvent, JourneyKind, JourneySource


@dataclass(frozen=True, kw_only=True, slots=True)
class Stage:
    """One stage of the funnel, with the journey column that says when it was reached."""

    key: str
    """Stable key, as the dashboard and its exports write it."""
    label: str
    """What a person reads."""
    column: str
    """The `Journey` field holding when it was first reached."""


STAGES: tuple[Stage, ...] = (
    Stage(key="wizard_started", label="Wizard started", column="at_wizard"),
    Stage(key="step:basics", label="Step 1: Basics", column="at_basics"),
    Stage(key="step:template", label="Step 2: Template", column="at_template"),
    Stage(key="step:options", label="Step 3: Options", column="at_options"),
    Stage(key="step:review", label="Step 4: Review (reached)", column="at_review"),
    Stage(key="submitted", label="Submitted", column="at_submitted"),
    Stage(key="job_succeeded", label="Project generated", column="at_succeeded"),
    Stage(key="downloaded", label="Downloaded", column="at_downloaded"),
)
"""The funnel's stages, in order."""
STAGE_INDEX = {stage.key: index for index, stage in enumerate(STAGES)}
EDIT_DETAIL = "edit"
"""The `detail` of a `wizard_started` that prefilled the wizard from an earlier job."""
FUNNEL_SOURCES = (JourneySource.WIZARD,)
"""The journeys the funnel counts: begun from scratch in the wizard."""
_JOB_KINDS = frozenset(
    {
        JourneyKind.JOB_SUCCEEDED,
        JourneyKind.JOB_FAILED,
        JourneyKind.JOB_CANCELLED,
        JourneyKind.DOWNLOADED,
    }
)
_ERROR_KINDS = frozenset({JourneyKind.VALIDATION_ERROR, JourneyKind.JOB_FAILED})
_OPEN_SOURCES = frozenset({JourneySource.WIZARD, JourneySource.EDIT})
_COPIED = ("kind", "visitor", "step", "field", "template", "detail", "job_id", "created_at")


@dataclass(frozen=True, kw_only=True, slots=True)
class Fact:
    """One journey event, as the fold reads it."""

    kind: str
    visitor: str
    step: str
    field: str
    template: str
    detail: str
    job_id: uuid.UUID | None
    at: datetime

    @classmethod
    def of(cls, event: JourneyEvent) -> "Fact":
        """Return the fact of a stored event."""
        return cls.of_row(tuple(getattr(event, name) for name in _COPIED))

    @classmethod
    def of_row(cls, row: tuple[Any, ...]) -> "Fact":
        """Return the fact of a row of the `_COPIED` columns."""
        kind, visitor, step, field, template, detail, job_id, at = row
        return cls(
            kind=kind,
            visitor=visitor,
            step=step,
            field=field,
            template=template,
            detail=detail,
            job_id=job_id,
            at=at,
        )


def stage_of(*, kind: str, step: str) -> int | None:
    """Return the index of the stage an event reaches, or None if it reaches none."""
    key = f"step:{step}" if kind == JourneyKind.STEP_COMPLETED else kind
    return STAGE_INDEX.get(key)


def _source(fact: Fact) -> str | None:
    """Return the source of the journey `fact` begins, or None if it begins none."""
    if fact.kind == JourneyKind.WIZARD_STARTED:
        return JourneySource.EDIT if fact.detail == EDIT_DETAIL else JourneySource.WIZARD
    if fact.kind == JourneyKind.SUBMITTED and fact.step in {JourneySource.API, JourneySource.AGAIN}:
        return fact.step
    return None


def journey_for(fact: Fact, *, latest: Journey | None, of_job: Journey | None) -> Journey | None:
    """Return the journey `fact` belongs to: the visitor's `latest`, the one that submitted
    its job (`of_job`), a new one, or None (an event about a job no journey submitted)."""
    source = _source(fact)
    if source is not None:
        return _new(fact, source)
    if fact.kind in _JOB_KINDS:
        return of_job
    if latest is not None and latest.source in _OPEN_SOURCES and latest.at_submitted is None:
        return latest
    return _new(fact, JourneySource.WIZARD)  # its start was never recorded (older records)


def _new(fact: Fact, source: str) -> Journey:
    return Journey(
        visitor=fact.visitor,
        source=source,
        started_at=fact.at,
        last_at=fact.at,
        last_kind=fact.kind,
    )


def apply(journey: Journey, fact: Fact) -> None:
    """Fold one event into its journey: the stage it reaches, and what the person did last.

    Stages keep their first time and the other fields the latest event's, whatever order the
    events arrive in, so that folding as they come and rebuilding in time order agree.
    """
    index = stage_of(kind=fact.kind, step=fact.step)
    if index is not None:
        column = STAGES[index].column
        reached = getattr(journey, column)
        if reached is None or fact.at < reached:
            setattr(journey, column, fact.at)
        journey.furthest = max(journey.furthest, index)
        journey.reached |= 1 << index
    if fact.job_id is not None and journey.job_id is None:
        journey.job_id = fact.job_id
    if fact.at >= journey.last_at:
        journey.last_at, journey.last_kind = fact.at, fact.kind
        journey.last_step, journey.last_field = fact.step, fact.field
        journey.template = fact.template or journey.template
    if fact.kind in _ERROR_KINDS and (journey.error_at is None or fact.at >= journey.error_at):
        journey.error_at, journey.error_kind = fact.at, fact.kind
        journey.error_step, journey.error_field = fact.step, fact.field
        journey.error_detail = fact.detail


def journey_fold(event: JourneyEvent) -> Journey | None:
    """Fold a just-recorded event into its journey (in the caller's transaction)."""
    fact = Fact.of(event)
    if not fact.visitor:
        return None
    # The journey's row lock (select_for_update) folds one journey's events one at a time.
    with transaction.atomic(savepoint=False):
        journey = journey_for(fact, latest=_latest(fact), of_job=_of_job(fact))
        if journey is None:
            return None
        apply(journey, fact)
        journey.save()
    return journey


def _latest(fact: Fact) -> Journey | None:
    if _source(fact) is not None or fact.kind in _JOB_KINDS:
        return None
    return (
        Journey.objects.select_for_update()
        .filter(visitor=fact.visitor)
        .order_by("-started_at", "-pk")
        .first()
    )


def _of_job(fact: Fact) -> Journey | None:
    if fact.kind not in _JOB_KINDS or fact.job_id is None:
        return None
    return (
        Journey.objects.select_for_update()
        .filter(job_id=fact.job_id)
        .order_by("-started_at")
        .first()
    )


def journeys_rebuild(
    *,
    journey_model: type[Model] = Journey,
    event_model: type[Model] = JourneyEvent,
    batch_size: int = 5000,
) -> int:
    """Fold every journey anew from the events, oldest first; return how many there are.

    Events whose visitor was anonymized (older than the retention) belong to no journey. The
    models may be a migration's historical ones.
    """
    rows = (
        event_model._default_manager.exclude(visitor="")
        .order_by("created_at", "pk")
        .values_list(*_COPIED)
        .iterator(chunk_size=10_000)
    )
    journeys = fold_all(Fact.of_row(row) for row in rows)
    with transaction.atomic():
        journey_model._default_manager.all().delete()
        made = [journey_model(**_fields(journey)) for journey in journeys]
        journey_model._default_manager.bulk_create(made, batch_size=batch_size)
    return len(made)


def fold_all(facts: Iterable[Fact]) -> list[Journey]:
    """Return the journeys of `facts` (in time order), folded in memory."""
    latest: dict[str, Journey] = {}
    by_job: dict[uuid.UUID, Journey] = {}
    journeys: list[Journey] = []
    for fact in facts:
        mine = latest.get(fact.visitor)
        of_job = by_job.get(fact.job_id) if fact.job_id is not None else None
        journey = journey_for(fact, latest=mine, of_job=of_job)
        if journey is None:
            continue
        if journey is not mine and journey is not of_job:  # a new one
            journeys.append(journey)
            latest[fact.visitor] = journey
        apply(journey, fact)
        if journey.job_id is not None:
            by_job.setdefault(journey.job_id, journey)
    return journeys


def _fields(journey: Journey) -> dict[str, Any]:
    return {
        field.attname: getattr(journey, field.attname)
        for field in Journey._meta.concrete_fields
        if not field.primary_key
    }
