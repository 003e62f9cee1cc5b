"""Server-side SVG charts: plain geometry computed here, drawn by templates/charts/chart.svg.

The same charts appear on the managers' review and in the donor PDF. Every chart has a visible title, a legend, a
value axis with a few rounded ticks and light grid lines, a label on every bar, and notes and a source line at its
foot. Text stays text (selectable, translatable); screen readers get the chart's title and description.

Colours are Okabe and Ito's, told apart by the common colour blindnesses, and never red: a bar at zero is a plain
"$0". Text is dark grey on white (at least 7:1); the light bars have a darker outline so that they stand out from
the page (3:1).

Text is measured (:mod:`tracker.chart_measure`) with the metrics of the font the PDF embeds, wider than the usual
screen fonts. A chart is laid out for one of two sizes:

- :data:`PRINT`: 680 units across the PDF's content box (A4 less 18 mm margins: 174 mm), so a unit is about
  0.26 mm and 11 units make 8 pt;
- :data:`SCREEN`: 420 units, shown at 420 px at most and scaled down by the viewBox on a phone (about 350 px
  wide at 390 px), where its 14-unit labels are still about 11.7 px.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from tracker.chart_measure import clip, nice_ticks, text_width, wrap

# --- colours ---------------------------------------------------------------------------------------------------------

#: Text: titles, labels, values (15.5:1 on white).
INK = "#1d2433"
#: Ticks, codes, notes and the source line (7.5:1 on white).
MUTED = "#4b5565"
GRID = "#e1e5ec"
AXIS = "#8c95a6"
#: Okabe–Ito: sky blue (with a darker outline), blue, orange (with a darker outline).
SKY = ("#56B4E9", "#3a8fc7")
BLUE = ("#0072B2", None)
ORANGE = ("#E69F00", "#b37a00")
#: The rest of Okabe–Ito but vermilion (never red), for charts of more series: bluish green, yellow and reddish
#: purple (with darker outlines), black.
GREEN = ("#009E73", None)
YELLOW = ("#F0E442", "#a39a1c")
PURPLE = ("#CC79A7", "#a0527f")
BLACK = ("#000000", None)


# --- what a chart is made of -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    fill: str
    #: A tooltip (the exact value) on screen.
    title: str = ""
    stroke: str | None = None
    #: ``bar`` (one value of a series) or ``swatch`` (a legend's).
    kind: str = "bar"


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    stroke: str = GRID
    width: float = 1


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    size: float
    fill: str = INK
    anchor: str = "start"
    bold: bool = False
    #: Degrees about (x, y): -90 for a value written upwards above a narrow column.
    rotate: int = 0
    #: What the text is: title, legend, heading, label, code, value, tick, unit, axis, note, source, empty.
    kind: str = ""


@dataclass(frozen=True)
class Series:
    name: str
    fill: str
    stroke: str | None = None


@dataclass
class Chart:
    title: str
    description: str
    width: int
    height: float = 0
    legend: list[Series] = field(default_factory=list)
    rects: list[Rect] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)

    def bars(self) -> list[Rect]:
        return [r for r in self.rects if r.kind == "bar"]

    def text_of(self, kind: str) -> list[str]:
        return [t.text for t in self.texts if t.kind == kind]


@dataclass(frozen=True)
class Frame:
    """What a chart says around its bars."""

    title: str
    #: For screen readers (the SVG's ``<desc>``): what is drawn, and how it was computed.
    description: str
    #: The value axis's label, with its unit ("US dollars").
    unit: str
    #: The source line at the chart's foot.
    source: str
    #: Short notes above the source (what is left out, how a series is computed).
    notes: Sequence[str] = ()
    #: The label of the axis of categories (columns only: "Month received").
    across: str = ""
    #: Said in place of the bars when there is nothing to draw.
    empty: str = ""


@dataclass(frozen=True)
class Sizes:
    width: int
    title: float
    #: Legend, labels of rows and columns, group headings.
    text: float
    #: Values on bars, ticks.
    value: float
    #: Codes, notes, source.
    small: float
    #: Thickness of a horizontal bar.
    bar: float
    #: Lines a row's label may take before it is clipped with an ellipsis.
    label_lines: int
    #: Height of the area of the columns.
    plot_height: float


PRINT = Sizes(width=680, title=14, text=11, value=10, small=9.5, bar=9, label_lines=1, plot_height=190)
SCREEN = Sizes(width=420, title=16, text=14, value=13, small=12, bar=12, label_lines=2, plot_height=220)

PAD = 8


@dataclass(frozen=True)
class Row:
    """One group of horizontal bars: a project, a category."""

    label: str
    values: Sequence[Decimal]
    #: Small text after the label (a project's code).
    aside: str = ""


@dataclass(frozen=True)
class Group:
    """Rows under a heading (a country); ``heading`` may be empty."""

    heading: str
    rows: Sequence[Row]


@dataclass(frozen=True)
class Column:
    """One column of a chart over time: its label (the first of ``labels`` that fits), and a second line under it
    (a year) where it starts something."""

    labels: Sequence[str]
    value: Decimal
    under: str = ""


@dataclass(frozen=True)
class Stack:
    """A column of a stacked chart over time (:func:`stacked_columns`): as :class:`Column`, with one value per
    series, the first at the bottom."""

    labels: Sequence[str]
    values: Sequence[Decimal]
    under: str = ""


def _scale(top: Decimal, length: float) -> Callable[[Decimal], float]:
    top_f = float(top) if top > 0 else 1.0
    return lambda value: max(0.0, float(value) / top_f * length)


def _bar_length(length: float, value: Decimal) -> float:
    """A bar's length: 0 for nothing, at least a hairline for something."""
    if value <= 0:
        return 0.0
    return round(max(length, 1.0), 1)


# --- the parts every chart has ---------------------------------------------------------------------------------------

def _head(chart: Chart, frame: Frame, series: Sequence[Series], s: Sizes) -> float:
    """Title and legend; returns where the rest starts."""
    y = PAD
    for line in wrap(frame.title, s.title, [s.width - 2 * PAD] * 2, bold=True):
        y += s.title * 1.25
        chart.texts.append(Text(PAD, round(y, 1), line, s.title, INK, bold=True, kind="title"))
    y += s.text * 0.6
    box, x = s.text * 0.9, PAD
    y_line = y
    for item in series:
        name = clip(item.name, s.text, s.width - 2 * PAD - box - 5)
        item_w = box + 5 + text_width(name, s.text)
        if x > PAD and x + item_w > s.width - PAD:
            x, y_line = PAD, y_line + s.text * 1.5
        chart.rects.append(Rect(round(x, 1), round(y_line, 1), round(box, 1), round(box, 1), item.fill,
                                stroke=item.stroke, kind="swatch"))
        chart.texts.append(Text(round(x + box + 5, 1), round(y_line + box * 0.85, 1), name, s.text, kind="legend"))
        x += item_w + s.text * 1.4
    return y_line + box + s.text * 1.1


def _empty(chart: Chart, frame: Frame, y: float, s: Sizes) -> Chart:
    """What a chart with nothing to draw says in place of its bars."""
    y += s.text * 0.4
    for line in wrap(frame.empty, s.text, [s.width - 2 * PAD] * 3):
        y += s.text * 1.3
        chart.texts.append(Text(PAD, round(y, 1), line, s.text, MUTED, kind="empty"))
    chart.height = _foot(chart, frame, y + s.text * 0.4, s)
    return chart


def _foot(chart: Chart, frame: Frame, y: float, s: Sizes) -> float:
    """Notes and the source line; returns the chart's height."""
    y += s.small * 0.6
    for kind, text in [("note", note) for note in frame.notes] + [("source", frame.source)]:
        for line in wrap(text, s.small, [s.width - 2 * PAD] * 3):
            y += s.small * 1.35
            chart.texts.append(Text(PAD, round(y, 1), line, s.small, MUTED, kind=kind))
    return round(y + PAD, 1)


# --- horizontal bars -------------------------------------------------------------------------------------------------

def bar_rows(frame: Frame, groups: Sequence[Group], series: Sequence[Series], fmt: Callable[[Decimal], str],
             tick_fmt: Callable[[Decimal], str], exact: Callable[[Decimal], str], sizes: Sizes = PRINT) -> Chart:
    """Horizontal bars: one group of bars per row (a project, a category), one bar per series, each labelled with
    ``fmt`` of its value (its tooltip says ``exact``); rows under optional headings (countries).

    A row's label goes left of its bars when every label is short (categories), above them otherwise (project
    titles), clipped with an ellipsis after ``sizes.label_lines`` lines, its aside (a code) beside or under it.
    """
    s, chart = sizes, Chart(frame.title, frame.description, sizes.width, legend=list(series))
    y = _head(chart, frame, series, s)
    rows = [row for group in groups for row in group.rows]
    if not rows:
        return _empty(chart, frame, y, s)

    inner = s.width - 2 * PAD
    widest = max(text_width(row.label, s.text) for row in rows)
    widest_aside = max((text_width(row.aside, s.small) for row in rows if row.aside), default=0)
    left_labels = max(widest, widest_aside) <= inner * 0.34
    label_col = max(widest, widest_aside) + 8 if left_labels else 0
    values = [v for row in rows for v in row.values]
    value_room = max(text_width(fmt(v), s.value) for v in values) + 6
    plot_left, plot_right = PAD + label_col + 2, s.width - PAD - value_room
    plot_w = plot_right - plot_left

    def ticks_fit(ticks: list[Decimal]) -> bool:
        return plot_w / (len(ticks) - 1) >= max(text_width(tick_fmt(t), s.value) for t in ticks) + 10

    ticks = nice_ticks(max(values), ticks_fit)
    x_of = _scale(ticks[-1], plot_w)
    step_bar = s.bar + 1.5
    bars_h = len(series) * step_bar - 1.5
    row_gap = s.bar * 0.9

    # Label lines of each row, laid out before anything is placed: the chart's height depends on them.
    layouts = []
    for row in rows:
        aside_w = text_width(row.aside, s.small) + 6 if row.aside else 0
        if left_labels:
            layouts.append(([row.label], "under" if row.aside else ""))
            continue
        one = wrap(row.label, s.text, [inner - aside_w])
        if one == [row.label] or s.label_lines == 1:
            layouts.append((one, "beside" if row.aside else ""))
            continue
        lines = wrap(row.label, s.text, [inner] * (s.label_lines - 1) + [inner - aside_w])
        if not row.aside:
            layouts.append((lines, ""))
        elif text_width(lines[-1], s.text) + aside_w <= inner:
            layouts.append((lines, "beside"))
        else:
            layouts.append((lines, "under"))
    line_h = s.text * 1.3
    body = sum(bars_h + row_gap + (0 if left_labels else line_h * (len(lines) + (aside == "under")))
               for lines, aside in layouts)
    body += sum(s.text * 1.9 for group in groups if group.heading and group.rows)

    def tick_labels(y_base: float) -> None:
        for t in ticks:
            chart.texts.append(Text(round(plot_left + x_of(t), 1), round(y_base, 1), tick_fmt(t), s.value, MUTED,
                                    "middle", kind="tick"))

    if body > 360:  # a tall chart repeats its scale at the top
        y += s.value * 1.1
        tick_labels(y)
        y += s.value * 0.6
    y += 2
    layout = iter(layouts)
    for group in groups:
        if not group.rows:
            continue
        if group.heading:
            y += s.text * 1.3
            chart.texts.append(Text(PAD, round(y, 1), clip(group.heading, s.text, inner, True), s.text, INK,
                                    bold=True, kind="heading"))
            y += s.text * 0.6
        for row in group.rows:
            lines, aside = next(layout)
            shown = " ".join(lines)  # a tooltip says what the label says (a title may be long: never all of it)
            if left_labels:
                middle = y + bars_h / 2
                if aside:
                    chart.texts.append(Text(PAD, round(middle - 1, 1), row.label, s.text, kind="label"))
                    chart.texts.append(Text(PAD, round(middle + s.small + 1, 1), row.aside, s.small, MUTED,
                                            kind="code"))
                else:
                    chart.texts.append(Text(PAD, round(middle + s.text * 0.35, 1), row.label, s.text, kind="label"))
            else:
                for line in lines:
                    y += line_h
                    chart.texts.append(Text(PAD, round(y - s.text * 0.3, 1), line, s.text, kind="label"))
                if aside == "beside":
                    chart.texts.append(Text(round(PAD + text_width(lines[-1], s.text) + 6, 1),
                                            round(y - s.text * 0.3, 1), row.aside, s.small, MUTED, kind="code"))
                elif aside == "under":
                    y += line_h
                    chart.texts.append(Text(PAD, round(y - s.text * 0.3, 1), row.aside, s.small, MUTED,
                                            kind="code"))
                y += 1
            for t in ticks:
                x = round(plot_left + x_of(t), 1)
                chart.lines.append(Line(x, round(y - 1.5, 1), x, round(y + bars_h + 1.5, 1),
                                        AXIS if t == 0 else GRID))
            for value, item in zip(row.values, series, strict=True):
                length = _bar_length(x_of(value), value)
                chart.rects.append(Rect(plot_left, round(y, 1), length, s.bar, item.fill,
                                        f"{shown} · {item.name}: {exact(value)}",
                                        item.stroke if length else None))
                chart.texts.append(Text(round(plot_left + length + 4, 1), round(y + s.bar / 2 + s.value * 0.36, 1),
                                        fmt(value), s.value, kind="value"))
                y += step_bar
            y += row_gap - 1.5
    plot_bottom = y - row_gap / 2
    chart.lines.append(Line(plot_left, round(plot_bottom, 1), plot_right, round(plot_bottom, 1), AXIS))
    for t in ticks:
        x = round(plot_left + x_of(t), 1)
        chart.lines.append(Line(x, round(plot_bottom, 1), x, round(plot_bottom + 3, 1), AXIS))
    y = plot_bottom + 3 + s.value * 1.1
    tick_labels(y)
    y += s.value * 1.5
    chart.texts.append(Text(round(plot_left + plot_w / 2, 1), round(y, 1), frame.unit, s.value, MUTED, "middle",
                            kind="unit"))
    chart.height = _foot(chart, frame, y, s)
    return chart


# --- columns ---------------------------------------------------------------------------------------------------------

def columns(frame: Frame, points: Sequence[Column], item: Series, fmt: Callable[[Decimal], str],
            tick_fmt: Callable[[Decimal], str], exact: Callable[[Decimal], str], sizes: Sizes = PRINT) -> Chart:
    """Vertical bars over time (USD received per month), each labelled with ``fmt`` of its value above it, written
    upwards when the columns are too narrow for it; the value axis on the left, the columns' labels below."""
    stacks = [Stack(p.labels, (p.value,), p.under) for p in points]
    return stacked_columns(frame, stacks, [item], fmt, tick_fmt, exact, sizes)


def stacked_columns(frame: Frame, points: Sequence[Stack], series: Sequence[Series], fmt: Callable[[Decimal], str],
                    tick_fmt: Callable[[Decimal], str], exact: Callable[[Decimal], str],
                    sizes: Sizes = PRINT) -> Chart:
    """Columns over time, each a stack of one part per series (the first at the bottom; a part of 0 is not drawn
    when there are several series), labelled with ``fmt`` of its total above it, written upwards when the columns
    are too narrow for it; the value axis on the left, the columns' labels below. One series: :func:`columns`."""
    s, chart = sizes, Chart(frame.title, frame.description, sizes.width, legend=list(series))
    y = _head(chart, frame, series, s)
    if not points:
        return _empty(chart, frame, y, s)

    values = [sum(p.values, Decimal(0)) for p in points]

    def ticks_fit(ticks: list[Decimal]) -> bool:
        return s.plot_height / (len(ticks) - 1) >= s.value * 2.2

    ticks = nice_ticks(max(values), ticks_fit, most=5)
    tick_w = max(text_width(tick_fmt(t), s.value) for t in ticks)
    plot_left = PAD + max(tick_w, text_width(frame.unit, s.value) / 2) + 6
    plot_w = s.width - PAD - plot_left
    slot = plot_w / len(points)
    bar_w = slot * 0.62
    labels = [fmt(v) for v in values]
    label_w = max(text_width(text, s.value) for text in labels)
    upright = label_w > slot - 3
    y_of = _scale(ticks[-1], s.plot_height)
    # The labels above the columns may rise above the top of the scale: room for the highest.
    headroom = max((text_width(text, s.value) if upright else s.value) + 6 - (s.plot_height - y_of(value))
                   for text, value in zip(labels, values, strict=True))

    unit_y = y + s.value * 1.2
    chart.texts.append(Text(PAD, round(unit_y, 1), frame.unit, s.value, MUTED, kind="unit"))
    plot_top = max(unit_y + s.value * 1.3, y + 2 + headroom)
    plot_bottom = plot_top + s.plot_height
    for t in ticks:
        ty = round(plot_bottom - y_of(t), 1)
        chart.lines.append(Line(plot_left, ty, s.width - PAD, ty, AXIS if t == 0 else GRID))
        chart.texts.append(Text(round(plot_left - 5, 1), round(ty + s.value * 0.35, 1), tick_fmt(t), s.value, MUTED,
                                "end", kind="tick"))

    choice = next((i for i in range(len(points[0].labels))
                   if all(text_width(p.labels[min(i, len(p.labels) - 1)], s.value) <= slot - 2 for p in points)),
                  len(points[0].labels) - 1)
    for i, (point, label) in enumerate(zip(points, labels, strict=True)):
        centre = plot_left + slot * (i + 0.5)
        name = point.labels[min(choice, len(point.labels) - 1)]
        top, below = plot_bottom, Decimal(0)
        for value, item in zip(point.values, series, strict=True):
            if len(series) > 1 and value <= 0:
                continue
            h = _bar_length(y_of(below + value) - y_of(below), value)
            below += value
            top -= h
            chart.rects.append(Rect(round(centre - bar_w / 2, 1), round(top, 1), round(bar_w, 1), h, item.fill,
                                    f"{name} {point.under} · {item.name}: {exact(value)}".replace("  ", " "),
                                    item.stroke if h else None))
        if upright:
            chart.texts.append(Text(round(centre + s.value * 0.36, 1), round(top - 4, 1), label, s.value,
                                    rotate=-90, kind="value"))
        else:
            chart.texts.append(Text(round(centre, 1), round(top - 4, 1), label, s.value, anchor="middle",
                                    kind="value"))
        chart.texts.append(Text(round(centre, 1), round(plot_bottom + s.value * 1.3, 1), name, s.value,
                                anchor="middle", kind="label"))
        if point.under:
            fits = text_width(point.under, s.value) <= slot - 2
            chart.texts.append(Text(round(centre if fits else centre - bar_w / 2, 1),
                                    round(plot_bottom + s.value * 2.6, 1), point.under, s.value, MUTED,
                                    "middle" if fits else "start", kind="label"))
    y = plot_bottom + s.value * 4.1
    chart.texts.append(Text(round(plot_left + plot_w / 2, 1), round(y, 1), frame.across, s.value, MUTED, "middle",
                            kind="axis"))
    chart.height = _foot(chart, frame, y, s)
    return chart
