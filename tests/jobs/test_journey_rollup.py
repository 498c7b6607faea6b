"""The journey rollup: events folded into journeys as they come, and the same from scratch."""

from datetime import UTC, datetime, timedelta

import pytest
from django.forms.models import model_to_dict

from jobs.journey_rollup import STAGE_INDEX, STAGES, journeys_rebuild, stage_of
from jobs.models import Journey, JourneySource
from tests.support.journeys import K, a_job, record, walk

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _rows() -> list[dict[str, object]]:
    return [
        {k: v for k, v in model_to_dict(j).items() if k != "id"}
        for j in Journey.objects.order_by("started_at", "visitor")
    ]


def test_each_stage_maps_to_its_event_and_nothing_else_is_a_stage():
    assert [stage_of(kind=k, step=s) for k, s in [(K.WIZARD_STARTED, ""), (K.SUBMITTED, "review")]]
    assert stage_of(kind=K.STEP_COMPLETED, step="options") == 3
    assert stage_of(kind=K.VALIDATION_ERROR, step="options") is None
    assert stage_of(kind=K.JOB_FAILED, step="compile") is None
    assert len({stage.column for stage in STAGES}) == len(STAGES)


def test_a_whole_wizard_journey_is_one_row_with_when_each_stage_was_reached():
    job = walk("ann", 8, at=T0, template="nft")

    [journey] = Journey.objects.all()
    assert journey.source == JourneySource.WIZARD and journey.job == job
    assert journey.template == "nft" and journey.furthest == len(STAGES) - 1
    assert journey.started_at == journey.at_wizard == T0
    assert journey.at_downloaded == T0 + timedelta(minutes=7)
    assert journey.last_kind == K.DOWNLOADED and not journey.error_kind


def test_the_next_wizard_start_begins_a_new_journey_and_a_late_job_event_finds_its_own():
    first = walk("bea", 6, at=T0)  # submitted, still generating
    walk("bea", 2, at=T0 + timedelta(hours=1))  # starts another project
    record("bea", K.JOB_SUCCEEDED, at=T0 + timedelta(hours=2), job=first)

    older, newer = Journey.objects.order_by("started_at")
    assert older.job == first and older.at_succeeded == T0 + timedelta(hours=2)
    assert older.furthest == 6
    assert newer.furthest == 1 and newer.at_succeeded is None


def test_the_last_thing_done_and_the_last_error_met_are_kept_apart():
    walk("cy", 3, at=T0, template="nft")
    later = T0 + timedelta(minutes=5)
    record(
        "cy",
        K.VALIDATION_ERROR,
        at=later,
        step="options",
        field="max_supply",
        template="nft",
        detail="max_value: Maximum supply can be at most 1,000; … is too large.",
    )
    record(
        "cy",
        K.FIELD_EDITED,
        at=later + timedelta(seconds=20),
        step="options",
        field="base_uri",
        template="nft",
    )

    journey = Journey.objects.get()
    assert (journey.last_kind, journey.last_step, journey.last_field) == (
        K.FIELD_EDITED,
        "options",
        "base_uri",
    )
    assert (journey.error_field, journey.error_at) == ("max_supply", later)
    assert journey.error_detail.startswith("max_value: Maximum supply")
    assert journey.furthest == 2  # an error or a typed field reaches no stage


def test_a_stage_keeps_its_first_time_whatever_order_events_arrive_in():
    record("dee", K.WIZARD_STARTED, at=T0)
    record("dee", K.STEP_COMPLETED, at=T0 + timedelta(minutes=9), step="basics")
    record("dee", K.STEP_COMPLETED, at=T0 + timedelta(minutes=2), step="basics")  # late

    journey = Journey.objects.get()
    assert journey.at_basics == T0 + timedelta(minutes=2)
    assert journey.last_at == T0 + timedelta(minutes=9)


def test_jobs_made_without_the_wizard_are_journeys_of_their_own_source():
    api_job, again_job = a_job(), a_job()
    record("eve", K.SUBMITTED, at=T0, step="api", template="token", job=api_job)
    record("eve", K.SUBMITTED, at=T0 + timedelta(minutes=1), step="again", job=again_job)
    record("eve", K.JOB_FAILED, at=T0 + timedelta(minutes=2), job=again_job, step="smoke")
    record("eve", K.WIZARD_STARTED, at=T0 + timedelta(minutes=3), detail="edit")

    sources = list(Journey.objects.order_by("started_at").values_list("source", flat=True))
    assert sources == [JourneySource.API, JourneySource.AGAIN, JourneySource.EDIT]
    again = Journey.objects.get(source=JourneySource.AGAIN)
    assert again.error_kind == K.JOB_FAILED and again.error_step == "smoke"
    assert again.at_wizard is None and again.furthest == STAGE_INDEX["submitted"]


def test_an_event_about_a_job_no_journey_submitted_folds_nowhere():
    record("fay", K.JOB_SUCCEEDED, at=T0, job=a_job())  # e.g. an admin's retry
    assert not Journey.objects.exists()


def test_rebuilding_from_the_events_gives_the_very_rows_folding_gave():
    for i, visitor in enumerate(["gus", "hal", "ida", "jo"]):
        walk(visitor, 3 + i, at=T0 + timedelta(minutes=i))
    job = walk("gus", 8, at=T0 + timedelta(hours=1))
    record("ida", K.VALIDATION_ERROR, at=T0 + timedelta(hours=2), step="basics", field="name")
    record("kim", K.SUBMITTED, at=T0, step="api", job=a_job())
    record("lou", K.STEP_COMPLETED, at=T0, step="basics")  # its start was never recorded
    assert job is not None
    folded = _rows()

    assert journeys_rebuild() == len(folded) == 7
    assert _rows() == folded


def test_anonymized_events_belong_to_no_journey_when_rebuilt():
    walk("", 3, at=T0)  # what journeys_anonymize leaves of old records
    walk("max", 2, at=T0)
    assert journeys_rebuild() == 1
    assert Journey.objects.get().visitor == "max"
