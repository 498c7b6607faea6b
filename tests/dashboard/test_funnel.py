"""The journey funnel: stages, conversions, times, the period before, templates, drop-offs."""

from datetime import UTC, datetime, timedelta

import pytest
from django.http import QueryDict
from django.utils import timezone

from dashboard import funnel
from dashboard.funnel import Range, Selection, funnel_dropoffs, funnel_report, parse_selection
from jobs.journey_rollup import STAGE_INDEX
from jobs.models import Journey
from tests.support.journeys import K, a_job, record, walk

pytestmark = pytest.mark.django_db


def _selection(days: int = 7, template: str = "") -> Selection:
    return Selection(range=funnel.preset(days=days, now=timezone.now()), template=template)


def _visitors(report: funnel.FunnelReport) -> list[int]:
    return [stage.visitors for stage in report.stages]


def _ago(**delta: float) -> datetime:
    return timezone.now() - timedelta(**delta)


@pytest.fixture
def week():
    """Journeys begun in the last week, the week before, and long ago."""
    walk("alice", 8, at=_ago(days=1))
    walk("alice", 3, at=_ago(hours=20))  # a second journey: still one visitor per stage
    walk("bob", 6, at=_ago(days=2), template="nft")
    walk("carol", 4, at=_ago(days=3), template="nft")
    walk("dave", 2, at=_ago(days=4))
    walk("erin", 1, at=_ago(days=5))
    walk("fred", 5, at=_ago(days=9))  # the week before
    walk("gina", 2, at=_ago(days=10))  # the week before
    walk("old", 8, at=_ago(days=40))  # before both


def test_a_stage_counts_the_distinct_visitors_whose_journey_of_the_range_reached_it(week):
    report = funnel_report(selection=_selection())

    assert [s.key for s in report.stages] == [
        "wizard_started",
        "step:basics",
        "step:template",
        "step:options",
        "step:review",
        "submitted",
        "job_succeeded",
        "downloaded",
    ]
    assert _visitors(report) == [5, 4, 3, 3, 2, 2, 1, 1]
    assert report.journeys == 6 and report.previous_journeys == 2
    basics, submitted = report.stages[1], report.stages[5]
    assert basics.from_previous == 4 / 5 and basics.from_start == 4 / 5
    assert submitted.from_previous == 1.0 and submitted.from_start == 2 / 5
    assert report.stages[0].from_previous is None


def test_each_stage_is_compared_with_the_period_of_the_same_length_before(week):
    report = funnel_report(selection=_selection())

    assert [s.previous_visitors for s in report.stages] == [2, 2, 1, 1, 1, 0, 0, 0]
    assert report.stages[0].change == (5 - 2) / 2
    assert report.stages[5].change is None  # nobody the week before
    assert report.stages[1].previous_from_start == 1.0


def test_times_between_stages_are_nearest_rank_median_and_p90_per_journey():
    for i in range(10):  # basics reached 10, 20, … 100 s after the start
        walk(f"v{i}", 2, at=_ago(hours=1), gaps=[10.0 * (i + 1)])

    basics = funnel_report(selection=_selection(1)).stages[1]
    assert (basics.time_p50_s, basics.time_p90_s, basics.timed) == (50.0, 90.0, 10)
    assert funnel_report(selection=_selection(1)).stages[2].time_p50_s is None


def test_the_funnel_computed_in_python_agrees_with_the_database(week):
    for i, gaps in enumerate([[5, 70, 3], [15, 10, 400], [25, 30, 9], [35, 1, 60]]):
        walk(f"w{i}", 4, at=_ago(hours=2 + i), gaps=[float(g) for g in gaps])
    since = _ago(days=7)
    both = Journey.objects.filter(source="wizard", started_at__gte=_ago(days=14)).order_by()

    in_python = funnel.figures_in_python(both, since=since)
    in_sql = (
        funnel._visitor_counts(both, since=since),
        funnel._journey_figures(both.filter(started_at__gte=since)),
    )
    assert in_python == in_sql
    assert in_python[1]["n3"] == 7 and in_python[0]["c0"] == 9 and in_python[0]["b"] == 2


def test_a_template_narrows_every_stage_to_the_journeys_that_chose_it(week):
    report = funnel_report(selection=_selection(template="nft"))
    assert _visitors(report) == [2, 2, 2, 2, 1, 1, 0, 0]
    assert report.journeys == 2


def test_journeys_not_begun_in_the_wizard_are_not_counted():
    record("api", K.SUBMITTED, at=_ago(hours=1), step="api", job=a_job())
    record("edit", K.WIZARD_STARTED, at=_ago(hours=1), detail="edit")
    assert _visitors(funnel_report(selection=_selection(1))) == [0] * 8


def test_a_funnel_costs_two_queries(week, django_assert_num_queries):
    with django_assert_num_queries(2):
        funnel_report(selection=_selection(30))


@pytest.mark.parametrize(
    ("query", "label", "errors"),
    [
        ("", "last 7 days", 0),
        ("days=1", "last 24 hours", 0),
        ("days=30&template=dao", "last 30 days", 0),
        ("days=3", "last 7 days", 0),
        ("from=2026-12-01&to=2026-12-07", "1 Dec 2026 to 7 Dec 2026", 0),
        ("from=2026-12-05&to=2026-12-05", "5 Dec 2026", 0),
        ("from=2026-12-07&to=2026-12-01", "last 7 days", 1),
        ("from=yesterday", "last 7 days", 1),
        ("from=2024-01-01&to=2026-01-01", "last 7 days", 1),
        ("template=nope", "last 7 days", 1),
    ],
)
def test_the_range_is_a_preset_or_whole_utc_days_chosen_by_hand(query, label, errors):
    now = datetime(2026, 12, 8, 15, 30, tzinfo=UTC)
    selection = parse_selection(QueryDict(query), now=now)
    assert selection.range.label == label
    assert len(selection.errors) == errors


def test_dates_chosen_by_hand_include_both_days_and_compare_with_as_many_before():
    chosen = parse_selection(QueryDict("from=2026-12-01&to=2026-12-07"), now=timezone.now()).range
    assert chosen == Range(
        start=datetime(2026, 12, 1, tzinfo=UTC), end=datetime(2026, 12, 8, tzinfo=UTC)
    )
    assert chosen.previous.start == datetime(2026, 11, 24, tzinfo=UTC)
    assert chosen.query() == {"from": "2026-12-01", "to": "2026-12-07"}


def test_the_drop_offs_say_who_stopped_where_when_and_the_last_thing_they_did(week):
    record(
        "carol",
        K.VALIDATION_ERROR,
        at=_ago(days=3) + timedelta(minutes=5),
        step="options",
        field="max_supply",
        template="nft",
        detail="max_value: Maximum supply can be at most 1,000; … is too large.",
    )
    at_basics = funnel_dropoffs(selection=_selection(), stage=STAGE_INDEX["step:basics"])
    assert at_basics.total == 1 and at_basics.label == "Step 1: Basics"
    [dave] = at_basics.rows
    assert dave.visitor == "dave" and dave.template == ""
    assert dave.was_on == "Template" and dave.last_action == "Completed Project basics"
    assert dave.last_error == "" and not dave.still_going and not dave.job_id

    [carol] = funnel_dropoffs(selection=_selection(), stage=STAGE_INDEX["step:options"]).rows
    assert carol.template == "NFT collection" and carol.was_on == "Review"
    assert carol.last_action == "Pressed Next with an error in “Maximum supply” (Options)"
    assert carol.last_error == (
        "“Maximum supply”: Maximum supply can be at most 1,000; … is too large."
    )


def test_a_failed_generation_is_where_and_why_its_journey_stopped():
    job = walk("ivy", 6, at=_ago(hours=3), template="nft")
    record(
        "ivy",
        K.JOB_FAILED,
        at=_ago(hours=2),
        step="smoke",
        template="nft",
        detail="Mint price above the test accounts' funds",
        job=job,
    )
    walk("zed", 3, at=_ago(minutes=5))  # still typing, perhaps

    [ivy] = funnel_dropoffs(selection=_selection(1), stage=STAGE_INDEX["submitted"]).rows
    assert ivy.was_on == "Generation: Run the smoke test"
    assert ivy.last_action == "Generation failed during “Run the smoke test”"
    assert ivy.last_error == "Generation failed: Mint price above the test accounts' funds"
    assert ivy.job_id == str(job.pk)
    [zed] = funnel_dropoffs(selection=_selection(1), stage=STAGE_INDEX["step:template"]).rows
    assert zed.still_going and zed.was_on == "Options"


def test_drop_offs_come_most_recently_active_first_a_page_at_a_time():
    for i in range(5):
        walk(f"p{i}", 1, at=_ago(hours=10 - i))
    selection = _selection(1)
    first = funnel_dropoffs(selection=selection, stage=0, limit=2)
    second = funnel_dropoffs(selection=selection, stage=0, offset=2, limit=2)
    assert first.total == second.total == 5
    assert [r.visitor for r in first.rows + second.rows] == ["p4", "p3", "p2", "p1"]
