"""Charts drawn on the server as SVG: no JavaScript, no build, readable aloud and on paper.

Each chart is an `<svg role="img">` labelled by its `<title>` and by a `<desc>` that states every
value in words (the text alternative). Every mark carries its value as text, and a "bad" mark is
hatched as well as coloured, so a grey-scale printout or a colour-blind reader loses nothing.
All text goes through `format_html`: names typed by developers are escaped.

The charts are fluid: as wide as their column, their marks placed in percent of it, and their
text never scaled (the stylesheet sets it at 12 px or more). So that no text can run into
another at any width from a 390 px phone up, every text of a bar or funnel has a line of its
own, marker labels have rows of their own above the columns, and the column counts and axis
labels that would not fit a phone's width are drawn for wider screens only (`wide-only`); counts
too wide for their column even there are left to the titles and the text alternative.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

Tone = Literal["neutral", "good", "bad"]
WIDTH = 480
"""The narrowest chart above the phone breakpoint (30rem), in CSS pixels: the wide layout's."""
NARROW = 330
"""The narrowest chart width (a 390 px phone, less the page's margins), in CSS pixels."""
TEXT_CHAR_PX = 7.5
"""A generous width per character of 13 px text."""
SMALL_CHAR_PX = 7.0
"""The same for 12 px text (axis and marker labels)."""
LINE_CHARS = int(NARROW // TEXT_CHAR_PX)
"""Characters of 13 px text that fit the narrowest chart: longer texts are cut with "…"."""
_CAPTION_LINE = 18
_BAR_ROW = 60
_FUNNEL_ROW = 66
_MARKER_ROW = 15
_COLUMN_SPAN = 120  # the tallest column, in px


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
    """Return a horizontal bar chart: per bar, its label, the bar, and its value in words."""
    top = max_value if max_value is not None else max((b.value for b in bars), default=0)
    rows = [_bar_row(chart_id, bar, index * _BAR_ROW, top) for index, bar in enumerate(bars)]
    return _svg(
        chart_id=chart_id,
        title=title,
        desc=_describe(bars),
        height=len(bars) * _BAR_ROW,
        body=_join(rows),
    )


def _bar_row(chart_id: str, bar: Bar, y: int, top: float) -> SafeString:
    return format_html(
        '<g class="bar {}" data-key="{}" data-value="{}"><title>{}</title>'
        '<text x="0" y="{}" class="label">{}</text>'
        '<rect x="0" y="{}" width="{}%" height="14" fill="{}" stroke="#1b1b1f" stroke-width="0.5"/>'
        '<text x="0" y="{}" class="value">{}</text></g>',
        bar.tone,
        bar.key,
        _num(bar.value),
        _sentence(bar),
        y + 13,
        _clip(bar.label),
        y + 20,
        _scale(bar.value, top, 100),
        _fill(chart_id, bar.tone),
        y + 48,
        _clip(_value_text(bar)),
    )


def funnel_chart(*, chart_id: str, title: str, stages: Sequence[Bar]) -> SafeString:
    """Return a funnel: per stage, its name, a centred bar, and its count and drop-off."""
    top = max((s.value for s in stages), default=0)
    rows = [_funnel_row(chart_id, s, index * _FUNNEL_ROW, top) for index, s in enumerate(stages)]
    return _svg(
        chart_id=chart_id,
        title=title,
        desc=_describe(stages),
        height=len(stages) * _FUNNEL_ROW,
        body=_join(rows),
    )


def _funnel_row(chart_id: str, stage: Bar, y: int, top: float) -> SafeString:
    width = max(_scale(stage.value, top, 100), 0.5)
    return format_html(
        '<g class="stage {}" data-key="{}" data-value="{}"><title>{}</title>'
        '<text x="0" y="{}" class="label">{}</text>'
        '<rect x="{}%" y="{}" width="{}%" height="20" fill="{}" stroke="#1b1b1f" '
        'stroke-width="0.5"/>'
        '<text x="0" y="{}" class="value">{}</text></g>',
        stage.tone,
        stage.key,
        _num(stage.value),
        _sentence(stage),
        y + 13,
        _clip(stage.label),
        round((100 - width) / 2, 2),
        y + 19,
        width,
        _fill(chart_id, stage.tone),
        y + 54,
        _clip(_value_text(stage)),
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
    """Return a column chart with counts on the columns and labelled markers above them."""
    top = max((c.value for c in columns), default=0)
    count = max(len(columns), 1)
    shown = [m for m in markers if 0 <= m.at < len(columns)]
    labels, band = _markers(shown, count)
    widest = max((len(c.label) * SMALL_CHAR_PX for c in columns), default=0)
    every_wide = _every(widest, WIDTH / count, label_every)
    layout = _Layout(
        band=band,
        step=100 / count,
        top=top,
        wide=_labelled(count, every_wide, WIDTH, widest),
        narrow=_labelled(
            count,
            every_wide * math.ceil(_every(widest, NARROW / count, 1) / every_wide),
            NARROW,
            widest,
        ),
        counts_narrow=_counts_fit(columns, NARROW / count),
        counts_wide=_counts_fit(columns, WIDTH / count),
    )
    body = [_column(c, i, layout) for i, c in enumerate(columns)] + labels
    if top <= 0:
        body.append(_empty(y=band + 16))  # the axis labels stay: they say what would be counted
    desc = "; ".join(
        [*(f"{c.label}: {_num(c.value)}{unit}" for c in columns), *(m.label for m in markers)]
    )
    return _svg(
        chart_id=chart_id,
        title=title,
        desc=desc or "No data yet.",
        height=band + _COLUMN_SPAN + 40,
        body=_join(body),
    )


@dataclass(frozen=True, slots=True)
class _Layout:
    band: int  # px above the columns, for the marker labels
    step: float  # a column's width, in percent
    top: float  # the tallest column's value
    wide: frozenset[int]  # the columns labelled on a wide chart
    narrow: frozenset[int]  # ... and on the narrowest (a subset)
    counts_narrow: bool  # whether every count fits its column on the narrowest
    counts_wide: bool  # ... on a wide chart (else the counts are in the titles and desc only)


def _every(widest: float, column_px: float, at_least: int) -> int:
    """Return n such that labelling every n-th column leaves no label over another."""
    return max(at_least, math.ceil((widest + 6) / column_px))


def _labelled(count: int, every: int, width: float, widest: float) -> frozenset[int]:
    """Return the columns whose label (from the column's left edge) fits inside `width`."""
    return frozenset(i for i in range(0, count, every) if i * width / count + widest <= width)


def _counts_fit(columns: Sequence[Column], column_px: float) -> bool:
    widest = max((len(_num(c.value)) * TEXT_CHAR_PX for c in columns), default=0)
    return widest + 2 <= column_px


def _column(column: Column, index: int, layout: _Layout) -> SafeString:
    height = _scale(column.value, layout.top, _COLUMN_SPAN)
    base = layout.band + 18 + _COLUMN_SPAN  # the columns' foot
    middle = round((index + 0.5) * layout.step, 3)
    count = (
        format_html(
            '<text x="{}%" y="{}" class="value{}" text-anchor="middle">{}</text>',
            middle,
            base - height - 4,
            "" if layout.counts_narrow else " wide-only",
            _num(column.value),
        )
        if column.value and layout.counts_wide
        else ""
    )
    # From the column's left edge: a label wider than its column never leaves the chart.
    label = (
        format_html(
            '<text x="{}%" y="{}" class="axis{}">{}</text>',
            round(index * layout.step, 3),
            base + 16,
            "" if index in layout.narrow else " wide-only",
            column.label,
        )
        if index in layout.wide
        else ""
    )
    return format_html(
        '<g class="column" data-label="{}" data-value="{}"><title>{}: {}</title>'
        '<rect x="{}%" y="{}" width="{}%" height="{}" fill="#4b5d7a" stroke="#1b1b1f" '
        'stroke-width="0.5"/>{}{}</g>',
        column.label,
        _num(column.value),
        column.label,
        _num(column.value),
        round(index * layout.step + layout.step * 0.05, 3),
        base - height,
        round(layout.step * 0.9, 3),
        height,
        count,
        label,
    )


def _markers(markers: Sequence[Marker], columns: int) -> tuple[list[SafeString], int]:
    """Return the markers, and the height of the band their labels take above the columns.

    Markers on one column share a line and one label ("p50 9.1 s · p95 9.4 s"). Each label has
    a row of its own, so none can cover another or a column's count, and runs from its line
    towards the chart's middle, so none can leave the chart.
    """
    merged: dict[int, list[str]] = {}
    for marker in markers:
        merged.setdefault(marker.at, []).append(marker.label)
    rows = [
        (at, label)
        for at in sorted(merged)
        for label in _fitting(" · ".join(merged[at]), merged[at])
    ]
    band = len(rows) * _MARKER_ROW + (4 if rows else 0)
    drawn = [
        _marker(label, round((at + 0.5) * 100 / columns, 3), row, band)
        for row, (at, label) in enumerate(rows)
    ]
    return drawn, band


def _fitting(joined: str, labels: list[str]) -> list[str]:
    """Return one label for a column's markers if it fits half the narrowest chart, else each
    its own (a label runs from its line towards the middle: half the chart is its room)."""
    if len(joined) * SMALL_CHAR_PX + 8 <= NARROW / 2:
        return [joined]
    return [label[: int((NARROW / 2 - 8) // SMALL_CHAR_PX)] for label in labels]


def _marker(label: str, x: float, row: int, band: int) -> SafeString:
    start = x <= 50
    return format_html(
        '<g class="marker"><line x1="{}%" y1="{}" x2="{}%" y2="{}" stroke="#1b1b1f" '
        'stroke-dasharray="4 3"/><text x="{}%" dx="{}" y="{}" class="marker-label" '
        'text-anchor="{}">{}</text></g>',
        x,
        band,  # below every label: no line crosses another marker's label
        x,
        band + 18 + _COLUMN_SPAN,
        x,
        4 if start else -4,
        row * _MARKER_ROW + 12,
        "start" if start else "end",
        label,
    )


def _svg(*, chart_id: str, title: str, desc: str, height: int, body: SafeString) -> SafeString:
    # The title is drawn too, so that a printed or exported chart says what it shows; on as
    # many lines as the narrowest chart needs.
    lines = _wrap(title, LINE_CHARS)
    caption = len(lines) * _CAPTION_LINE + 8
    height = max(height, 24) + caption
    return format_html(
        '<svg class="chart" id="{}" role="img" aria-labelledby="{}-title {}-desc" '
        'width="100%" height="{}" xmlns="http://www.w3.org/2000/svg">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>{}'
        '<text x="0" y="15" class="caption">{}</text>'
        '<g transform="translate(0 {})">{}</g></svg>',
        chart_id,
        chart_id,
        chart_id,
        height,
        chart_id,
        title,
        chart_id,
        desc,
        _defs(chart_id),
        _join(
            [
                format_html('<tspan x="0" dy="{}">{}</tspan>', _CAPTION_LINE if i else 0, line)
                for i, line in enumerate(lines)
            ]
        ),
        caption,
        body if body else _empty(),
    )


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return lines or [""]


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


def _empty(y: int = 16) -> SafeString:
    return format_html('<text x="0" y="{}" class="empty">{}</text>', y, "No data yet.")


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
    return round(span * min(value, top) / top, 2)


def _clip(text: str) -> str:
    return text if len(text) <= LINE_CHARS else text[: LINE_CHARS - 1] + "…"


def _num(value: float) -> str:
    return f"{value:g}" if math.isfinite(value) else "∞"
