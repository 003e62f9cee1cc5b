"""Server-side SVG charts: plain geometry computed here, drawn by templates/charts/*.svg.

The same charts appear on the managers' review and in the donor PDF; their text
stays text (selectable, translatable, read by screen readers through the
title, the description and the table beside each chart).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import gettext as _


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    anchor: str = "start"
    css: str = ""


@dataclass
class Chart:
    title: str
    description: str
    width: int
    height: int
    rects: list[Rect] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)


def _scale(maximum: Decimal, length: float):
    maximum = float(maximum) if maximum and maximum > 0 else 1.0
    return lambda value: max(0.0, float(value) / maximum * length)


def bar_rows(title: str, description: str, rows: list[tuple[str, list[Decimal]]], series: list[tuple[str, str]],
             fmt, *, width: int = 680, label_width: int = 170, value_width: int = 110) -> Chart:
    """Horizontal bars: one group per row (e.g. a project), one bar per series (need, allocated)."""
    bar_h, gap, pad_top = 14, 10, 28
    group_h = bar_h * len(series) + gap
    height = pad_top + group_h * max(len(rows), 1) + 6
    area = width - label_width - value_width
    peak = max((v for _label, values in rows for v in values), default=Decimal(0))
    scale = _scale(peak, area)
    chart = Chart(title, description, width, height, legend=[(name, css) for name, css in series])
    for i, (label, values) in enumerate(rows):
        top = pad_top + i * group_h
        chart.texts.append(Text(label_width - 8, top + bar_h * len(series) / 2 + 4, label, "end", "label"))
        for j, value in enumerate(values):
            y = top + j * bar_h
            w = scale(value)
            name, css = series[j]
            chart.rects.append(Rect(label_width, y, round(w, 1), bar_h - 2, css,
                                    _("%(label)s · %(series)s: %(value)s", label=label, series=name, value=fmt(value))))
            chart.texts.append(Text(label_width + w + 4, y + bar_h - 4, fmt(value), "start", "value"))
    return chart


def columns(title: str, description: str, points: list[tuple[str, Decimal]], fmt, *, width: int = 680,
            height: int = 220, css: str = "s1") -> Chart:
    """Vertical bars over time (e.g. USD received per month), labelled below."""
    pad_left, pad_bottom, pad_top = 12, 34, 24
    n = max(len(points), 1)
    slot = (width - pad_left * 2) / n
    area = height - pad_bottom - pad_top
    peak = max((v for _label, v in points), default=Decimal(0))
    scale = _scale(peak, area)
    chart = Chart(title, description, width, height)
    for i, (label, value) in enumerate(points):
        h = scale(value)
        x = pad_left + i * slot + slot * 0.15
        chart.rects.append(Rect(round(x, 1), round(pad_top + area - h, 1), round(slot * 0.7, 1), round(h, 1), css,
                                _("%(label)s: %(value)s", label=label, value=fmt(value))))
        chart.texts.append(Text(round(x + slot * 0.35, 1), height - pad_bottom + 14, label, "middle", "axis"))
    if points:
        top_label = max(points, key=lambda p: p[1])
        chart.texts.append(Text(pad_left, 14, f"{fmt(top_label[1])} ({top_label[0]})", "start", "value"))
    return chart
