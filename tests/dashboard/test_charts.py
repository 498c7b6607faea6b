"""Server-side SVG charts: labelled for screen readers, escaped, readable without colour."""

import itertools
import xml.etree.ElementTree as ET

import pytest

from dashboard import charts

SVG = "{http://www.w3.org/2000/svg}"
NASTY = '<script>alert("x")</script> & co'


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # our own output: parsing proves it is well-formed


def _assert_accessible(svg: str) -> ET.Element:
    root = _parse(svg)
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby").split()
    assert root.find(f"{SVG}title").get("id") == title_id
    assert root.find(f"{SVG}desc").get("id") == desc_id
    return root


def test_a_bar_chart_names_every_bar_and_value_in_its_text_alternative():
    bars = [
        charts.Bar(label="token", value=7, text="7 jobs", key="token"),
        charts.Bar(label="nft", value=2, text="2 jobs", note="1 failed", tone="bad"),
    ]
    root = _assert_accessible(charts.bar_chart(chart_id="c1", title="Popularity", bars=bars))

    assert root.find(f"{SVG}title").text == "Popularity"
    assert root.find(f"{SVG}desc").text == "token: 7 jobs; nft: 2 jobs — 1 failed"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "7 jobs" in texts and "2 jobs — 1 failed" in texts


def test_text_from_developers_is_escaped_everywhere():
    bar = charts.Bar(label=NASTY, value=1, text=NASTY, note=NASTY, key=NASTY)
    for svg in (
        charts.bar_chart(chart_id="c", title=NASTY, bars=[bar]),
        charts.funnel_chart(chart_id="c", title=NASTY, stages=[bar]),
        charts.histogram(
            chart_id="c",
            title=NASTY,
            columns=[charts.Column(label=NASTY, value=1)],
            markers=[charts.Marker(at=0, label=NASTY)],
        ),
    ):
        assert "<script>" not in svg
        root = _parse(svg)
        assert root.find(f"{SVG}title").text == NASTY


def test_a_bad_bar_is_hatched_not_only_coloured():
    svg = charts.bar_chart(
        chart_id="fails",
        title="t",
        bars=[charts.Bar(label="nft", value=50, text="50 %", tone="bad")],
    )
    root = _parse(svg)
    assert root.find(f".//{SVG}pattern").get("id") == "fails-hatch"
    assert root.find(f".//{SVG}rect[@fill='url(#fails-hatch)']") is not None


def test_bars_scale_to_the_longest_or_to_a_given_maximum():
    def widths(svg: str) -> list[str]:
        return [r.get("width") for r in _parse(svg).iter(f"{SVG}rect") if r.get("height") == "14"]

    bars = [charts.Bar(label="a", value=10, text="10"), charts.Bar(label="b", value=5, text="5")]
    assert widths(charts.bar_chart(chart_id="c", title="t", bars=bars)) == ["100.0%", "50.0%"]
    assert widths(charts.bar_chart(chart_id="c", title="t", bars=bars, max_value=100)) == [
        "10.0%",
        "5.0%",
    ]


def test_a_funnel_states_each_stage_and_its_drop_off_in_words():
    stages = [
        charts.Bar(label="Wizard started", value=10, text="10 visitors"),
        charts.Bar(label="Submitted", value=4, text="4 visitors", note="6 dropped off (60 %)"),
    ]
    root = _assert_accessible(charts.funnel_chart(chart_id="f", title="Journey", stages=stages))
    assert root.find(f"{SVG}desc").text == (
        "Wizard started: 10 visitors; Submitted: 4 visitors — 6 dropped off (60 %)"
    )


def test_a_histogram_labels_its_columns_and_markers():
    columns = [charts.Column(label=f"≤{i} s", value=i) for i in range(4)]
    root = _assert_accessible(
        charts.histogram(
            chart_id="h",
            title="Timing",
            columns=columns,
            unit=" jobs",
            markers=[charts.Marker(at=2, label="p50 2.0 s")],
        )
    )
    assert root.find(f"{SVG}desc").text == (
        "≤0 s: 0 jobs; ≤1 s: 1 jobs; ≤2 s: 2 jobs; ≤3 s: 3 jobs; p50 2.0 s"
    )
    assert [g.get("data-value") for g in root.iter(f"{SVG}g") if g.get("class") == "column"] == [
        "0",
        "1",
        "2",
        "3",
    ]
    assert root.find(f".//{SVG}line[@stroke-dasharray]") is not None


def test_an_empty_chart_says_so():
    for svg in (
        charts.bar_chart(chart_id="e", title="t", bars=[]),
        charts.histogram(chart_id="e", title="t", columns=[]),
    ):
        root = _assert_accessible(svg)
        assert root.find(f"{SVG}desc").text == "No data yet."
        assert "No data yet." in [t.text for t in root.iter(f"{SVG}text")]


def _texts(svg: str, css_class: str) -> list[ET.Element]:
    return [
        t for t in _parse(svg).iter(f"{SVG}text") if css_class in (t.get("class") or "").split()
    ]


def _percent(element: ET.Element) -> float:
    return float(element.get("x", "0").rstrip("%"))


@pytest.mark.parametrize("at", [(3, 3), (3, 4), (0, 1), (10, 10), (9, 10), (0, 10), (5, 6)])
@pytest.mark.parametrize("width", [charts.NARROW, charts.WIDTH, 1000])
def test_marker_labels_never_overlap_leave_the_chart_or_cover_a_count(at, width):
    columns = [charts.Column(label=f"≤{i} s", value=100 * i) for i in range(11)]
    svg = str(
        charts.histogram(
            chart_id="t",
            title="t",
            columns=columns,
            markers=[
                charts.Marker(at=at[0], label="p50 9.1 s"),
                charts.Marker(at=at[1], label="p95 9.4 s"),
            ],
        )
    )

    labels = _texts(svg, "marker-label")
    rows = [float(t.get("y")) for t in labels]
    assert len(set(rows)) == len(labels)  # a row each: none covers another
    lowest_count = min(float(t.get("y")) - 13 for t in _texts(svg, "value"))
    assert max(rows) < lowest_count  # every label above every count
    for label in labels:
        x = _percent(label) * width / 100 + float(label.get("dx"))
        span = len(label.text) * charts.SMALL_CHAR_PX
        left, right = (x, x + span) if label.get("text-anchor") == "start" else (x - span, x)
        assert 0 <= left and right <= width, (label.text, left, right)
    if at[0] == at[1]:
        assert [t.text for t in labels] == ["p50 9.1 s · p95 9.4 s"]  # one line, one label


@pytest.mark.parametrize(
    ("width", "wide_only_shown"), [(charts.NARROW, False), (charts.WIDTH, True)]
)
def test_axis_labels_and_counts_never_run_into_each_other_at_phone_or_wider(width, wide_only_shown):
    columns = [charts.Column(label=f"{h:02d}:00", value=10 + h) for h in range(24)]
    svg = str(charts.histogram(chart_id="t", title="t", columns=columns))

    for kind, char_px in (("axis", charts.SMALL_CHAR_PX), ("value", charts.TEXT_CHAR_PX)):
        shown = [
            t
            for t in _texts(svg, kind)
            if wide_only_shown or "wide-only" not in (t.get("class") or "")
        ]
        assert shown or (kind == "value" and width == charts.NARROW), kind
        for a, b in itertools.pairwise(shown):
            gap = (_percent(b) - _percent(a)) * width / 100
            assert gap >= max(len(a.text), len(b.text)) * char_px, (kind, a.text)
        if kind == "axis":  # each from its column's left edge, inside the chart
            assert all(_percent(t) * width / 100 + len(t.text) * char_px <= width for t in shown)
    assert all("wide-only" in (t.get("class") or "") for t in _texts(svg, "value"))


def test_counts_too_wide_for_their_columns_anywhere_are_left_to_the_text_alternative():
    columns = [charts.Column(label=f"{h:02d}:00", value=10_000 + h) for h in range(24)]
    svg = str(charts.histogram(chart_id="t", title="t", columns=columns))
    assert not _texts(svg, "value")
    assert "00:00: 10000" in _parse(svg).find(f"{SVG}desc").text


def test_every_text_of_a_bar_has_a_line_of_its_own_and_fits_a_phone():
    bars = [
        charts.Bar(label="x" * 80, value=2, text="2 jobs", note="oldest waiting 12 min 30 s " * 3),
        charts.Bar(label="short", value=1, text="1 job"),
    ]
    svg = str(
        charts.bar_chart(chart_id="t", title="A title far longer than a phone " * 2, bars=bars)
    )

    texts = [t for t in _parse(svg).iter(f"{SVG}text")]
    lines = [float(t.get("y")) for t in texts if t.get("class") in {"label", "value"}]
    assert len(lines) == len(set(lines)) == 4
    for t in texts:
        words = "".join(t.itertext())
        if t.get("class") != "caption":
            assert len(words) * charts.TEXT_CHAR_PX <= charts.NARROW, words
    caption = next(t for t in texts if t.get("class") == "caption")
    spans = list(caption.iter(f"{SVG}tspan"))
    assert len(spans) > 1 and all(len(s.text) <= charts.LINE_CHARS for s in spans)
    assert "x" * 10 in svg and "…" in svg  # cut, and the whole of it in the title and desc
    assert _parse(svg).find(f"{SVG}desc").text.startswith("x" * 80)
