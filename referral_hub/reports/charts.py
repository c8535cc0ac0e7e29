"""Bar and line charts as server-rendered SVG: the geometry here, the markup in small Jinja
templates (templates/reports/_bar.svg.html, _line.svg.html).

Why templates and no chart library: a chart here is a dozen rectangles or one polyline with
its axis, and must be plain SVG the CSP allows (no script, no inline style: presentation
attributes and the site's stylesheet only), with a <title> and <desc>, a title on every
mark, and print in black on A4. Python chart libraries either draw with a script in the
browser (Plotly, Bokeh, Vega-Lite), or bring a full plotting stack for raster-first output
and inline styles (matplotlib, pygal's stylesheets inside the SVG); forty lines of geometry
are easier to keep accessible than either is to tame. Every chart sits beside its table,
which carries the same figures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import has_request_context
from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l

#: A hidden count's mark (as `labels.HIDDEN`).
HIDDEN = _l("disembunyikan")
WIDTH = 640
LABEL_WIDTH = 220
BAR_HEIGHT = 22
GAP = 6
MAX_BARS = 25


def count_axis(value: float) -> tuple[int, list[int]]:
    """The top of a count axis and its ticks: whole numbers only (a count of 1.25 people
    means nothing), at most five steps of 1, 2 or 5 times a power of ten."""
    if value <= 0:
        return 1, [0, 1]
    power = 1
    while True:
        for factor in (1, 2, 5):
            step = factor * power
            if step * 5 >= value:
                top = step * math.ceil(value / step)
                return top, list(range(0, top + 1, step))
        power *= 10


def number_text(value: float | None) -> str:
    if value is None:
        # Hidden: never "<5", since a cell hidden beside a small one may be 9.
        return str(HIDDEN)
    if has_request_context():
        # In the reader's language: 1,5 in Indonesian, where 1.5 reads as fifteen.
        return format_decimal(value, "#,##0.#")
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass
class Chart:
    kind: str
    title: str
    description: str
    width: int
    height: int
    marks: list[dict[str, Any]] = field(default_factory=list)
    ticks: list[dict[str, Any]] = field(default_factory=list)
    path: str = ""


def bar_chart(
    title: str, description: str, labels: Sequence[str], values: Sequence[float | None]
) -> Chart:
    """Horizontal bars, one a row, longest scale at the top value; a hidden count draws no
    bar and says it is hidden."""
    labels, values = list(labels)[:MAX_BARS], list(values)[:MAX_BARS]
    top, steps = count_axis(max((v or 0) for v in values) if values else 0)
    span = WIDTH - LABEL_WIDTH - 60
    height = 30 + len(values) * (BAR_HEIGHT + GAP) + 20
    marks = []
    for index, (name, value) in enumerate(zip(labels, values, strict=True)):
        y = 20 + index * (BAR_HEIGHT + GAP)
        length = 0 if value is None else round(span * value / top, 1)
        marks.append(
            {
                "label": name if len(name) <= 30 else name[:29] + "…",  # fits LABEL_WIDTH at 12 px
                "full_label": name,
                "value": number_text(value),
                "x": LABEL_WIDTH,
                "y": y,
                "width": length,
                "height": BAR_HEIGHT,
                "text_x": LABEL_WIDTH + length + 6,
                "text_y": y + BAR_HEIGHT * 0.7,
                "hidden": value is None,
            }
        )
    bottom = 20 + len(values) * (BAR_HEIGHT + GAP)
    ticks = [
        {"x": LABEL_WIDTH + span * tick / top, "y": bottom + 14, "text": number_text(tick)}
        for tick in steps
    ]
    return Chart("bar", title, description, WIDTH, height, marks, ticks)


def line_chart(
    title: str, description: str, labels: Sequence[str], values: Sequence[float | None]
) -> Chart:
    """One line through the values in order (months); a hidden count breaks the line."""
    left, right, top_margin, plot_height = 50, 20, 20, 200
    top, steps = count_axis(max((v or 0) for v in values) if values else 0)
    count = max(1, len(values) - 1)
    span = WIDTH - left - right
    marks, path, pen_down = [], [], False
    for index, (name, value) in enumerate(zip(labels, values, strict=True)):
        x = round(left + span * index / count, 1) if len(values) > 1 else left + span / 2
        if value is None:
            pen_down = False
            marks.append(
                {
                    "label": name,
                    "value": number_text(None),
                    "x": x,
                    "y": top_margin + plot_height,
                    "hidden": True,
                }
            )
            continue
        y = round(top_margin + plot_height * (1 - value / top), 1)
        path.append(f"{'L' if pen_down else 'M'}{x},{y}")
        pen_down = True
        marks.append({"label": name, "value": number_text(value), "x": x, "y": y, "hidden": False})
    ticks = [
        {
            "x": left - 6,
            "y": top_margin + plot_height * (1 - tick / top) + 4,
            "text": number_text(tick),
        }
        for tick in steps
    ]
    height = top_margin + plot_height + 40
    return Chart("line", title, description, WIDTH, height, marks, ticks, " ".join(path))
