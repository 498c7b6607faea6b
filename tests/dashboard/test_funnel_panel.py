"""The funnel in words and HTML: shares, changes, spans of time, the table, the CSV exports."""

import csv
import io
from datetime import UTC, datetime

import pytest

from dashboard import funnel_panel
from dashboard.funnel import (
    Dropoff,
    DropoffPage,
    FunnelReport,
    Range,
    Selection,
    StageFigures,
)
from jobs.journey_rollup import STAGES

SELECTION = Selection(
    range=Range(start=datetime(2026, 12, 1, tzinfo=UTC), end=datetime(2026, 12, 8, tzinfo=UTC)),
    template="nft",
)


def _stage(index: int, visitors: int, before: int) -> StageFigures:
    return StageFigures(
        key=STAGES[index].key,
        label=STAGES[index].label,
        visitors=visitors,
        previous_visitors=before,
        from_previous=0.5 if index else None,
        from_start=visitors / 10,
        previous_from_start=before / 10,
        time_p50_s=95.0 if index else None,
        time_p90_s=7300.0 if index else None,
        timed=3 if index else 0,
        stopped=2 if index < len(STAGES) - 1 else None,
    )


REPORT = FunnelReport(
    selection=SELECTION,
    stages=[_stage(i, 10 - i, 8 - i) for i in range(len(STAGES))],
    journeys=12,
    previous_journeys=9,
)


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (None, "—"),
        (4.2, "4.2 s"),
        (75, "75 s"),
        (95, "2 min"),
        (7300, "2 h 02 min"),
        (200_000, "2 d 7 h"),
    ],
)
def test_spans_of_time_read_like_a_person_writes_them(seconds, words):
    assert funnel_panel.span(seconds) == words


def test_shares_and_changes_say_which_way_with_a_true_minus_sign():
    assert [funnel_panel.share(v) for v in (None, 0, 0.042, 0.5)] == ["—", "0 %", "4.2 %", "50 %"]
    assert funnel_panel.change(12, 10) == "+20 %" and funnel_panel.change(7, 10) == "\u221230 %"
    assert funnel_panel.change(3, 0) == "new" and funnel_panel.change(0, 0) == "—"
    assert funnel_panel.points(0.5, 0.46) == "+4 pt" and funnel_panel.points(0.4, None) == "—"


def test_the_panel_names_its_range_and_template_and_links_each_stage_to_who_stopped():
    html = str(funnel_panel.funnel_panel(report=REPORT))

    assert "1 Dec 2026 to 7 Dec 2026 · NFT collection" in html
    assert "12 journeys begun in the wizard in this range (9 in the same length" in html
    assert 'data-key="step:basics" data-value="9"' in html  # the chart
    assert "2 min · 2 h 02 min" in html and "+29 %" in html  # 9 against 7
    assert "/dashboard/journeys/?from=2026-12-01&amp;to=2026-12-07&amp;template=nft" in html
    assert "stage=step%3Abasics" in html and "2 — who and why" in html
    assert "/dashboard/funnel.csv?from=2026-12-01" in html


def test_the_funnel_csv_has_a_row_per_stage_with_raw_figures():
    rows = list(csv.DictReader(io.StringIO(funnel_panel.funnel_csv(REPORT))))
    assert [r["stage"] for r in rows] == [s.key for s in STAGES]
    assert rows[1]["visitors"] == "9" and rows[1]["visitors_previous_period"] == "7"
    assert rows[1]["median_s_from_previous_stage"] == "95" and rows[0]["from_previous_stage"] == ""
    assert rows[-1]["journeys_stopped_here"] == ""


def test_the_drop_off_csv_cannot_smuggle_a_formula_into_a_spreadsheet():
    page = DropoffPage(
        stage="step:options",
        label="Step 3: Options",
        total=1,
        rows=[
            Dropoff(
                visitor="ab12",
                started_at=datetime(2026, 12, 2, 9, tzinfo=UTC),
                last_at=datetime(2026, 12, 2, 9, 5, tzinfo=UTC),
                template="NFT collection",
                was_on="Review",
                last_action='=HYPERLINK("x")',
                last_error="-1 is too small",
                job_id="",
            )
        ],
    )
    [row] = list(csv.DictReader(io.StringIO(funnel_panel.dropoffs_csv(page))))
    assert row["last_action"] == '\'=HYPERLINK("x")' and row["last_error"] == "'-1 is too small"
    assert row["journey_started_utc"] == "2026-12-02T09:00:00Z" and row["stopped_after"] == (
        "Step 3: Options"
    )
