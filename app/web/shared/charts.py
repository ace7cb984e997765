"""Charts drawn on the server as SVG: no script, no library, readable with no network.

Each chart is an ``<svg role="img">`` with a title naming what it shows; the pages put
the same figures in a table beside it for screen readers and exact values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

# Colours with at least 3:1 contrast on white (WCAG's rule for graphics).
SERIES_COLOURS = ("#0b5d3b", "#a3121b", "#0a4fb3", "#6b4500")


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: Sequence[int]


def bar_chart(
    title: str, labels: Sequence[str], series: Sequence[Series], *, width: int = 400
) -> Markup:
    """Horizontal bars, one group per label and one bar per series in it."""
    shown = [_short(label) for label in labels]
    # Room for the longest label at ~7 units a character of 12px text.
    label_width = 16 + 7 * max([4, *(len(label) for label in shown)])
    bar_height, gap, value_room = 18, 10, 64
    group = bar_height * len(series) + gap
    legend = 22 if len(series) > 1 else 0
    height = legend + group * len(labels) + 4
    top = max([1, *(v for s in series for v in s.values)])
    room = width - label_width - value_room
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    if legend:
        x = 4
        for index, one in enumerate(series):
            colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
            parts.append(
                f'<rect x="{x}" y="4" width="12" height="12" fill="{colour}"/>'
                f'<text x="{x + 16}" y="14">{escape(one.name)}</text>'
            )
            x += 28 + 7 * len(one.name)
    for row, label in enumerate(shown):
        y = legend + row * group
        parts.append(
            f'<text x="{label_width - 8}" y="{y + bar_height * len(series) / 2 + 4}" '
            f'text-anchor="end">{escape(label)}</text>'
        )
        for index, one in enumerate(series):
            value = one.values[row]
            length = round(room * value / top)
            colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
            bar_y = y + index * bar_height
            parts.append(
                f'<rect x="{label_width}" y="{bar_y}" width="{length}" '
                f'height="{bar_height - 2}" fill="{colour}"/>'
                f'<text x="{label_width + length + 4}" y="{bar_y + bar_height - 4}">'
                f"{value:,}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


MAX_LABEL = 22


def _short(label: str) -> str:
    """A label cut to fit beside its bars (the table beside the chart has it whole)."""
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1].rstrip() + "…"
