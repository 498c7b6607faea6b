"""The journey funnel in HTML: its chart, its table of stages, its drop-off lists and their CSV.

Words for figures live here: a share ("42 %"), a change ("+12 %", "-3 pt", written with a true
minus sign), a span of time ("45 s", "3 min", "2 h 05 min", "3 d 4 h").
"""

import csv
import io
from datetime import datetime
from urllib.parse import urlencode

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString

from dashboard import charts
from dashboard.funnel import DropoffPage, FunnelReport, Selection, StageFigures

MINUS = "\u2212"
"""The minus sign (typography's, longer than a hyphen)."""


def funnel_panel(*, report: FunnelReport) -> SafeString:
    """Return the funnel of a selection: what it counts, the chart, and a row per stage."""
    selection = report.selection
    chart = charts.funnel_chart(
        chart_id="chart-funnel",
        stages=[_bar(stage) for stage in report.stages],
        title=f"Developer journeys begun in the wizard, {selection.range.label}, "
        f"{selection.template_label}",
    )
    return render_to_string(
        "dashboard/_funnel.html",
        {
            "report": report,
            "selection": selection,
            "chart": chart,
            "rows": [_row(stage, selection) for stage in report.stages],
            "csv_url": _url("dashboard:funnel-csv", selection),
        },
    )


def _bar(stage: StageFigures) -> charts.Bar:
    note = (
        "" if stage.from_previous is None else f"{share(stage.from_previous)} of the stage before"
    )
    return charts.Bar(
        label=stage.label,
        value=stage.visitors,
        key=stage.key,
        text=f"{stage.visitors} visitor{'s' if stage.visitors != 1 else ''}",
        note=note,
    )


def _row(stage: StageFigures, selection: Selection) -> dict[str, object]:
    return {
        "stage": stage,
        "change": change(stage.visitors, stage.previous_visitors),
        "from_previous": share(stage.from_previous),
        "from_start": share(stage.from_start),
        "from_start_change": points(stage.from_start, stage.previous_from_start),
        "p50": span(stage.time_p50_s),
        "p90": span(stage.time_p90_s),
        "stopped_url": (
            _url("dashboard:dropoffs", selection, stage=stage.key) if stage.stopped else ""
        ),
    }


def _url(name: str, selection: Selection, **more: str) -> str:
    return f"{reverse(name)}?{urlencode({**selection.query(), **more})}"


def dropoffs_url(selection: Selection, *, stage: str, csv_: bool = False) -> str:
    """Return the address of a stage's drop-off list (or of its CSV)."""
    return _url("dashboard:dropoffs-csv" if csv_ else "dashboard:dropoffs", selection, stage=stage)


def share(value: float | None) -> str:
    """Return a share as a percentage, "—" for none."""
    if value is None:
        return "—"
    percent = 100 * value
    return f"{percent:.0f} %" if percent >= 10 or percent == 0 else f"{percent:.1f} %"


def change(now: int, before: int) -> str:
    """Return how `now` compares with `before`: "+12 %", "-3 %" (a minus sign), "new" or "—"."""
    if not before:
        return "new" if now else "—"
    delta = 100 * (now - before) / before
    return "±0 %" if round(delta) == 0 else f"{'+' if delta > 0 else MINUS}{abs(delta):.0f} %"


def points(now: float | None, before: float | None) -> str:
    """Return the change of a share in percentage points: "+4 pt", "-1 pt" (a minus sign), "—"."""
    if now is None or before is None:
        return "—"
    delta = 100 * (now - before)
    return "±0 pt" if round(delta) == 0 else f"{'+' if delta > 0 else MINUS}{abs(delta):.0f} pt"


def span(seconds: float | None) -> str:
    """Return a span of time for a person: "4.2 s", "45 s", "12 min", "2 h 05 min", "3 d 4 h"."""
    if seconds is None:
        return "—"
    if seconds < 9.95:
        return f"{seconds:.1f} s"
    if seconds < 90:
        return f"{round(seconds)} s"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


CSV_COLUMNS = (
    "visitor",
    "journey_started_utc",
    "last_active_utc",
    "template",
    "stopped_after",
    "was_on",
    "last_action",
    "last_error",
    "job",
)


def dropoffs_csv(page: DropoffPage) -> str:
    """Return a stage's drop-offs as CSV (UTF-8 text, a header row, one row per journey)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in page.rows:
        writer.writerow(
            _safe(value)
            for value in (
                row.visitor,
                _iso(row.started_at),
                _iso(row.last_at),
                row.template,
                page.label,
                row.was_on,
                row.last_action,
                row.last_error,
                row.job_id,
            )
        )
    return out.getvalue()


def funnel_csv(report: FunnelReport) -> str:
    """Return the funnel's table as CSV, one row per stage (times in seconds)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        (
            "stage",
            "label",
            "visitors",
            "visitors_previous_period",
            "from_previous_stage",
            "from_start",
            "from_start_previous_period",
            "median_s_from_previous_stage",
            "p90_s_from_previous_stage",
            "journeys_timed",
            "journeys_stopped_here",
        )
    )
    for s in report.stages:
        writer.writerow(
            _safe(value)
            for value in (
                s.key,
                s.label,
                s.visitors,
                s.previous_visitors,
                _number(s.from_previous),
                _number(s.from_start),
                _number(s.previous_from_start),
                _number(s.time_p50_s),
                _number(s.time_p90_s),
                s.timed,
                "" if s.stopped is None else s.stopped,
            )
        )
    return out.getvalue()


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def _safe(value: object) -> object:
    """Keep a spreadsheet from reading a cell as a formula (CSV injection)."""
    if isinstance(value, str) and value[:1] in {"=", "+", "-", "@", "\t", "\r"}:
        return f"'{value}"
    return value


def page_count(*, total: int, size: int) -> int:
    """Return how many pages of `size` rows a list of `total` rows takes (at least one)."""
    return max(1, -(-total // size))
