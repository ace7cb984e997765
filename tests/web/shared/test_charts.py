"""The server-drawn SVG charts: labelled for screen readers, bars to scale, text escaped."""

from __future__ import annotations

import re

from app.web.shared.charts import Series, bar_chart


def test_a_chart_is_an_image_with_a_title_and_bars_to_scale():
    svg = str(bar_chart("Members per tier", ["Gold", "Silver"], [Series("Members", [10, 5])]))

    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" role="img"')
    assert "<title>Members per tier</title>" in svg
    widths = [int(w) for w in re.findall(r'<rect x="\d+" y="\d+" width="(\d+)"', svg)]
    assert widths[0] == 2 * widths[1]


def test_labels_are_escaped_and_long_ones_cut():
    svg = str(bar_chart("<b>", ["<script>" + "x" * 40], [Series("A & B", [1])]))

    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "…" in svg and "x" * 40 not in svg
