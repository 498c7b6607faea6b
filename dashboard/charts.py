"""Charts drawn on the server as SVG: no JavaScript, no build, readable aloud and on paper.

Each chart is an `<svg role="img">` labelled by its `<title>` and by a `<desc>` that states every
value in words (the text alternative). Every mark carries its value as text, and a "bad" mark is
hatched as well as coloured, so a grey-scale printout or a colour-blind reader loses nothing.
All text goes through `format_html`: names typed by developers are escaped.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

Tone = Literal["neutral", "good", "bad"]
WIDTH = 640
_CAPTION = 26  # room for the drawn title above the chart
_LABEL_CHARS = 48
_VALUE_CHAR_PX = 7.0  # a generous width per character of 13 px text
_AXIS_CHAR_PX = 6.5  # the same for 11 px text
_MIN_BAR_SPAN = 240


@dataclass(frozen=True, kw_only=True, slots=True)
class Bar:
    """One horizontal bar (or funnel stage)."""

    label: str
    """What the bar stands for."""
    value: float
    """Its length, on the chart's scale."""
    text: str
    """The value as a person reads it, e.g. "42 %"."""
    note: str = ""
    """More words shown after the value, e.g. "step 3 of 12: Render contracts"."""
    tone: Tone = "neutral"
    """How the bar is drawn; "bad" is hatched, not only red."""
    key: str = ""
    """An identifier written as `data-key` (for scripts and tests)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Column:
    """One vertical column of a histogram."""

    label: str
    """The bucket's name on the x axis, e.g. "≤ 50 ms" or "14:00"."""
    value: float
    """The column's height, e.g. a count."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Marker:
    """A labelled vertical line on a histogram, e.g. a percentile."""

    at: int
    """The column it stands on (index)."""
    label: str
    """What it marks, e.g. "p95 ≤ 4 s"."""


def bar_chart(
    *, chart_id: str, title: str, bars: Sequence[Bar], max_value: float | None = None
) -> SafeString:
    """Return a horizontal bar chart, one labelled row per bar."""
    top = max_value if max_value is not None else max((b.value for b in bars), default=0)
    # The bars leave room for the longest value text after them: no text leaves the chart.
    longest = max((len(_value_text(b)) * _VALUE_CHAR_PX for b in bars), default=0)
    span = max(min(WIDTH - 150, WIDTH - 6 - longest), _MIN_BAR_SPAN)
    rows = [_bar_row(chart_id, bar, index * 38, top, span) for index, bar in enumerate(bars)]
    return _svg(
        chart_id=chart_id,
        title=title,
        desc=_describe(bars),
        height=len(bars) * 38 + 6,
        body=_join(rows),
    )


def _bar_row(chart_id: str, bar: Bar, y: int, top: float, span: float) -> SafeString:
    width = _scale(bar.value, top, span)
    return format_html(
        '<g class="bar {}" data-key="{}" data-value="{}"><title>{}</title>'
        '<text x="0" y="{}" class="label">{}</text>'
        '<rect x="0" y="{}" width="{}" height="14" fill="{}" stroke="#1b1b1f" stroke-width="0.5"/>'
        '<text x="{}" y="{}" class="value">{}</text></g>',
        bar.tone,
        bar.key,
        _num(bar.value),
        _sentence(bar),
        y + 13,
        _clip(bar.label),
        y + 19,
        width,
        _fill(chart_id, bar.tone),
        width + 6,
        y + 31,
        _value_text(bar),
    )


def funnel_chart(*, chart_id: str, title: str, stages: Sequence[Bar]) -> SafeString:
    """Return a funnel: one centred bar per stage, its count and its drop-off in words."""
    top = max((s.value for s in stages), default=0)
    rows = [_funnel_row(chart_id, stage, index * 44, top) for index, stage in enumerate(stages)]
    return _svg(
        chart_id=chart_id,
        title=title,
        desc=_describe(stages),
        height=len(stages) * 44 + 6,
        body=_join(rows),
    )


def _funnel_row(chart_id: str, stage: Bar, y: int, top: float) -> SafeString:
    width = max(_scale(stage.value, top, WIDTH), 2)
    return format_html(
        '<g class="stage {}" data-key="{}" data-value="{}"><title>{}</title>'
        '<text x="0" y="{}" class="label">{}</text>'
        '<text x="{}" y="{}" class="value" text-anchor="end">{}</text>'
        '<rect x="{}" y="{}" width="{}" height="20" fill="{}" stroke="#1b1b1f" '
        'stroke-width="0.5"/></g>',
        stage.tone,
        stage.key,
        _num(stage.value),
        _sentence(stage),
        y + 13,
        _clip(stage.label),
        WIDTH,
        y + 13,
        _value_text(stage),
        (WIDTH - width) / 2,
        y + 18,
        width,
        _fill(chart_id, stage.tone),
    )


def histogram(
    *,
    chart_id: str,
    title: str,
    columns: Sequence[Column],
    markers: Sequence[Marker] = (),
    label_every: int = 1,
    unit: str = "",
) -> SafeString:
    """Return a column chart with counts on the columns and labelled markers."""
    top = max((c.value for c in columns), default=0)
    step = WIDTH / max(len(columns), 1)
    # Axis labels wider than their column would run into the next: label every n-th column.
    widest = max((len(c.label) * _AXIS_CHAR_PX for c in columns), default=0)
    label_every = max(label_every, math.ceil((widest + 4) / step))
    body = [
        _column(c, i, step, top, show_label=i % label_every == 0) for i, c in enumerate(columns)
    ]
    body += _markers([m for m in markers if 0 <= m.at < len(columns)], step)
    if top <= 0:
        body.append(_empty())  # the axis labels stay: they say what would be counted
    desc = "; ".join(
        [*(f"{c.label}: {_num(c.value)}{unit}" for c in columns), *(m.label for m in markers)]
    )
    return _svg(
        chart_id=chart_id, title=title, desc=desc or "No data yet.", height=176, body=_join(body)
    )


def _column(column: Column, index: int, step: float, top: float, *, show_label: bool) -> SafeString:
    height = _scale(column.value, top, 120)
    x = index * step
    count = (
        format_html(
            '<text x="{}" y="{}" class="value" text-anchor="middle">{}</text>',
            x + step / 2,
            138 - height,
            _num(column.value),
        )
        if column.value
        else ""
    )
    label = (
        format_html(
            '<text x="{}" y="172" class="axis" text-anchor="middle">{}</text>',
            x + step / 2,
            column.label,
        )
        if show_label
        else ""
    )
    return format_html(
        '<g class="column" data-label="{}" data-value="{}"><title>{}: {}</title>'
        '<rect x="{}" y="{}" width="{}" height="{}" fill="#4b5d7a" stroke="#1b1b1f" '
        'stroke-width="0.5"/>{}{}</g>',
        column.label,
        _num(column.value),
        column.label,
        _num(column.value),
        x + 1,
        142 - height,
        max(step - 2, 1),
        height,
        count,
        label,
    )


_MARKER_CHAR_PX = 6.5  # a generous width per character of an 11 px marker label
_MARKER_ROW_PX = 13


def _markers(markers: Sequence[Marker], step: float) -> list[SafeString]:
    """Return the markers with labels that never overlap one another or leave the chart.

    Markers on one column share a line and one label ("p50 9.1 s · p95 9.4 s"). A label goes
    right of its line, else left of it (ending at it), on the first row where it fits; a new
    row below only when neither side is free.
    """
    merged: dict[int, list[str]] = {}
    for marker in markers:
        merged.setdefault(marker.at, []).append(marker.label)
    rows: list[list[tuple[float, float]]] = []  # per row, the spans its labels take
    drawn = []
    for at in sorted(merged):
        label = " · ".join(merged[at])
        x, width = at * step + step / 2, len(label) * _MARKER_CHAR_PX
        sides = [(x + 4, x + 4 + width, "start"), (x - 4 - width, x - 4, "end")]
        sides = [side for side in sides if side[0] >= 0 and side[1] <= WIDTH] or sides[:1]
        row, (left, right, anchor) = _free_place(rows, sides)
        if row == len(rows):
            rows.append([])
        rows[row].append((left, right))
        text_x = left if anchor == "start" else right
        drawn.append(_marker(label, x, text_x, anchor, 10 + row * _MARKER_ROW_PX))
    return drawn


def _free_place(
    rows: list[list[tuple[float, float]]], sides: list[tuple[float, float, str]]
) -> tuple[int, tuple[float, float, str]]:
    for index, taken in enumerate(rows):
        for side in sides:
            if all(side[1] + 4 < left or side[0] > right + 4 for left, right in taken):
                return index, side
    return len(rows), sides[0]


def _marker(label: str, x: float, text_x: float, anchor: str, y: int) -> SafeString:
    return format_html(
        '<g class="marker"><line x1="{}" y1="{}" x2="{}" y2="150" stroke="#1b1b1f" '
        'stroke-dasharray="4 3"/><text x="{}" y="{}" class="marker-label" '
        'text-anchor="{}">{}</text></g>',
        x,
        y + 2,
        x,
        text_x,
        y,
        anchor,
        label,
    )


def _svg(*, chart_id: str, title: str, desc: str, height: int, body: SafeString) -> SafeString:
    # The title is drawn too, so that a printed or exported chart says what it shows.
    height = max(height, 24) + _CAPTION
    return format_html(
        '<svg class="chart" id="{}" role="img" aria-labelledby="{}-title {}-desc" '
        'width="{}" height="{}" viewBox="0 0 {} {}" xmlns="http://www.w3.org/2000/svg">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>{}'
        '<text x="0" y="15" class="caption">{}</text>'
        '<g transform="translate(0 {})">{}</g></svg>',
        chart_id,
        chart_id,
        chart_id,
        WIDTH,
        height,
        WIDTH,
        height,
        chart_id,
        title,
        chart_id,
        desc,
        _defs(chart_id),
        title,
        _CAPTION,
        body if body else _empty(),
    )


def _defs(chart_id: str) -> SafeString:
    # Hatching says "bad" without colour: it survives grey-scale printing.
    return format_html(
        '<defs><pattern id="{}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#f6d5d1"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#9b1c1c" stroke-width="3"/></pattern></defs>',
        chart_id,
    )


def _join(parts: Sequence[SafeString]) -> SafeString:
    return mark_safe("".join(parts))  # noqa: S308 - every part is format_html output


def _empty() -> SafeString:
    return format_html('<text x="0" y="16" class="empty">{}</text>', "No data yet.")


def _fill(chart_id: str, tone: Tone) -> str:
    return {"neutral": "#4b5d7a", "good": "#1f6f43", "bad": f"url(#{chart_id}-hatch)"}[tone]


def _describe(bars: Sequence[Bar]) -> str:
    return "; ".join(_sentence(bar) for bar in bars) or "No data yet."


def _sentence(bar: Bar) -> str:
    return f"{bar.label}: {_value_text(bar)}"


def _value_text(bar: Bar) -> str:
    return f"{bar.text} — {bar.note}" if bar.note else bar.text


def _scale(value: float, top: float, span: float) -> float:
    if top <= 0 or value <= 0 or not math.isfinite(value):
        return 0.0
    return round(span * min(value, top) / top, 1)


def _clip(text: str) -> str:
    return text if len(text) <= _LABEL_CHARS else text[: _LABEL_CHARS - 1] + "…"


def _num(value: float) -> str:
    return f"{value:g}" if math.isfinite(value) else "∞"
