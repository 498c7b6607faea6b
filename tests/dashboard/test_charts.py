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
    def widths(svg: str) -> list[float]:
        return [
            float(r.get("width")) for r in _parse(svg).iter(f"{SVG}rect") if r.get("height") == "14"
        ]

    bars = [charts.Bar(label="a", value=10, text="10"), charts.Bar(label="b", value=5, text="5")]
    assert widths(charts.bar_chart(chart_id="c", title="t", bars=bars)) == [490, 245]
    assert widths(charts.bar_chart(chart_id="c", title="t", bars=bars, max_value=100)) == [49, 24.5]


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


def _marker_labels(svg: str) -> list[tuple[float, float, str]]:
    import re

    found = re.findall(
        r'<text x="([\d.]+)" y="(\d+)" class="marker-label" '
        r'text-anchor="(start|end)">([^<]*)</text>',
        svg,
    )
    return [(float(x), float(y), f"{anchor}:{label}") for x, y, anchor, label in found]


def _spans(labels: list[tuple[float, float, str]]) -> list[tuple[float, float, float]]:
    spans = []
    for x, y, text in labels:
        anchor, label = text.split(":", 1)
        width = len(label) * 6.5
        left = x if anchor == "start" else x - width
        spans.append((y, left, left + width))
    return spans


@pytest.mark.parametrize("at", [(3, 3), (3, 4), (0, 1), (10, 10), (9, 10), (0, 10)])
def test_marker_labels_never_overlap_or_leave_the_chart_even_for_equal_values(at):
    columns = [charts.Column(label=f"≤{i} s", value=i) for i in range(11)]
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

    spans = _spans(_marker_labels(svg))
    assert "p50 9.1 s" in svg and "p95 9.4 s" in svg
    for _, left, right in spans:
        assert 0 <= left and right <= charts.WIDTH, (left, right)
    for i, (y1, l1, r1) in enumerate(spans):
        for y2, l2, r2 in spans[i + 1 :]:
            assert y1 != y2 or r1 <= l2 or r2 <= l1, spans
    if at[0] == at[1]:
        assert "p50 9.1 s · p95 9.4 s" in svg  # one line, one label


def test_axis_labels_too_wide_for_their_column_are_thinned_out_not_overlapped():
    import re

    columns = [charts.Column(label=f"≤{i} 000 000 ms", value=i) for i in range(24)]
    svg = str(charts.histogram(chart_id="t", title="t", columns=columns))
    xs = [float(x) for x in re.findall(r'<text x="([\d.]+)" y="172" class="axis"', svg)]
    assert 1 < len(xs) < 24
    assert all(b - a >= len("≤10 000 000 ms") * 6.5 for a, b in itertools.pairwise(xs))


def test_bar_values_stay_inside_the_chart():
    import re

    bars = [charts.Bar(label="nft", value=2, text="2 jobs", note="oldest waiting 12 min 30 s")]
    svg = str(charts.bar_chart(chart_id="t", title="t", bars=bars))
    [x] = re.findall(r'<text x="([\d.]+)" y="\d+" class="value">', svg)
    assert float(x) + len("2 jobs — oldest waiting 12 min 30 s") * 7 <= charts.WIDTH
