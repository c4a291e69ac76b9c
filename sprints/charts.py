"""Server-side SVG charts for the sprint pages (burndown, burnup, velocity): no JavaScript, no library.

Colours, dashes and stroke widths come from the ``chart-*`` classes in app.css, so the stylesheet
decides how a chart looks and this module only where things go. Every chart also carries a visually
hidden table of its data, for screen readers.
"""

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.utils.formats import number_format
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe

LEFT, RIGHT, TOP, BOTTOM = 60, 32, 20, 34  # room for y tick labels and the rotated y label, the marker, x labels
MAX_X_LABELS = 12
MAX_DOTTED_POINTS = 31  # with more points the dots would merge into a thick line
NO_VALUE = "\u2013"  # an en dash, as for "not estimated" in the backlog
SELF_CLOSING = {"line", "polyline", "circle"}


@dataclass(frozen=True)
class Line:
    label: str  # legend text, already translated; escaped here
    values: list[float | None]  # one per x position; None = no data, the line breaks there
    kind: str  # "ideal", "remaining", "scope", "completed", "forecast" -> class "chart-line--<kind>"
    dashed: bool = False


@dataclass(frozen=True)
class BarSeries:
    label: str
    kind: str  # "committed", "completed" -> class "chart-bar--<kind>"


def nice_ticks(maximum: float) -> list[float]:
    """Four to six y ticks from 0 to at least ``maximum``, in steps of 1, 2, 2.5 or 5 times a power of ten."""
    # An empty chart still gets a whole-number axis; finer steps than 0.2 would need two decimals.
    maximum = max(maximum, 1.0) if maximum > 0 else 5.0
    exponent = math.floor(math.log10(maximum)) - 1
    while True:
        for mantissa in (1, 2, 2.5, 5) if exponent >= 0 else (1, 2, 5):
            step = mantissa * 10.0**exponent
            intervals = math.ceil(maximum / step - 1e-9)  # the epsilon forgives float noise: 0.3 / 0.1
            if intervals <= 5:
                return [round(i * step, 6) for i in range(intervals + 1)]
        exponent += 1


def format_number(value: float | None) -> str:
    """Compact and localised: ``3``, ``2.5`` (``2,5`` in Russian), at most one decimal."""
    if value is None:
        return NO_VALUE
    rounded = round(value, 1) + 0.0  # + 0.0 turns -0.0 into 0.0
    return number_format(rounded, decimal_pos=0 if rounded.is_integer() else 1)


def shown_x_indexes(count: int) -> list[int]:
    """Which x labels to draw: all up to MAX_X_LABELS, else evenly spaced ones, first and last always."""
    if count <= MAX_X_LABELS:
        return list(range(count))
    step = math.ceil((count - 1) / (MAX_X_LABELS - 1))
    return [*(i for i in range(0, count - 1, step) if count - 1 - i >= step * 0.75), count - 1]


def _c(value: float) -> str:
    """A coordinate, rounded so the output stays short and the same on every run."""
    rounded = round(value, 1) + 0.0
    return str(int(rounded)) if rounded.is_integer() else str(rounded)


def _join(parts: Iterable[SafeString]) -> SafeString:
    return mark_safe("".join(parts))  # noqa: S308 - every part was escaped by format_html or conditional_escape


def _el(tag: str, *children: str, **attributes: object) -> SafeString:
    """One element, text and attribute values escaped; ``class_`` is ``class``, ``text_anchor`` ``text-anchor``.

    Numbers become short coordinates; None leaves the attribute out.
    """
    attrs = _join(
        format_html(' {}="{}"', name.rstrip("_").replace("_", "-"), _c(v) if isinstance(v, int | float) else v)
        for name, v in attributes.items()
        if v is not None
    )
    if tag in SELF_CLOSING:
        return format_html("<{}{}/>", tag, attrs)
    return format_html("<{}{}>{}</{}>", tag, attrs, _join(conditional_escape(child) for child in children), tag)


def _rule(x1: float, y1: float, x2: float, y2: float, class_: str | None = None) -> SafeString:
    return _el("line", class_=class_, x1=x1, y1=y1, x2=x2, y2=y2)


def _text(text: str, x: float, y: float, anchor: str, class_: str | None = None, **attributes: object) -> SafeString:
    return _el("text", text, class_=class_, x=x, y=y, text_anchor=anchor, **attributes)


class _Frame:
    """The plot area in viewBox units, the y scale, and the axes every chart shares."""

    def __init__(self, width: int, height: int, maximum: float) -> None:
        self.width, self.height = width, height
        self.left, self.right, self.top, self.bottom = LEFT, width - RIGHT, TOP, height - BOTTOM
        self.ticks = nice_ticks(maximum)

    def y(self, value: float) -> float:
        return self.bottom - (self.bottom - self.top) * value / self.ticks[-1]

    def axes(self, y_label: str, x_labels: Sequence[str], xs: Sequence[float]) -> SafeString:
        middle = (self.top + self.bottom) / 2
        return _el(
            "g",
            *(_rule(self.left, self.y(t), self.right, self.y(t), "chart-grid") for t in self.ticks),
            *(
                _text(format_number(t), self.left - 8, self.y(t) + 4, "end", "chart-tick chart-tick--y")
                for t in self.ticks
            ),
            *(
                _text(x_labels[i], xs[i], self.bottom + 18, "middle", "chart-tick chart-tick--x")
                for i in shown_x_indexes(len(x_labels))
            ),
            _rule(self.left, self.bottom, self.right, self.bottom, "chart-axis"),
            _text(y_label, 0, 0, "middle", "chart-axis-label", transform=f"translate(14 {_c(middle)}) rotate(-90)"),
            class_="chart-axes",
        )

    def figure(
        self,
        kind: str,
        title: str,
        summary: str,
        body: list[SafeString],
        x_labels: Sequence[str],
        series: Sequence[tuple[str, str]],
        rows: Sequence[Sequence[float | None]],
        *footer: SafeString,
    ) -> SafeString:
        """The whole chart: svg, a legend from ``series`` (swatch classes, label) and the hidden data table."""
        # Ids from the content: the same chart renders the same string, and two charts on a page differ.
        chart_id = "chart-" + hashlib.blake2b(f"{kind}\n{title}\n{summary}".encode(), digest_size=5).hexdigest()
        svg = _el(
            "svg",
            _el("title", title, id=f"{chart_id}-title"),
            _el("desc", summary, id=f"{chart_id}-desc"),
            *body,
            class_="chart-svg",
            viewBox=f"0 0 {self.width} {self.height}",
            width="100%",
            role="img",
            aria_labelledby=f"{chart_id}-title",
            aria_describedby=f"{chart_id}-desc",
        )
        swatches = [_el("span", class_=f"chart-swatch {swatch}", aria_hidden="true") for swatch, _ in series]
        legend = (
            _el("li", swatch, label, class_="chart-legend-item")
            for swatch, (_, label) in zip(swatches, series, strict=True)
        )
        table = _el(
            "table",
            _el("caption", title),
            _el("thead", _el("tr", _el("td"), *(_el("th", label, scope="col") for _, label in series))),
            _el(
                "tbody",
                *(
                    _el("tr", _el("th", x_label, scope="row"), *(_el("td", format_number(value)) for value in row))
                    for x_label, row in zip(x_labels, rows, strict=True)
                ),
            ),
            *footer,
            class_="visually-hidden",
        )
        return _el(
            "figure",
            _el("div", svg, class_="chart-frame"),
            _el("ul", *legend, class_="chart-legend"),
            table,
            class_=f"chart chart--{kind}",
        )


def _summary(x_labels: Sequence[str], series: Iterable[tuple[str, str]]) -> str:
    """The one-line <desc>: the x range, then each series' values; only the caller's words, no English."""
    span = f"{x_labels[0]} \u2013 {x_labels[-1]}. " if x_labels else ""
    return span + "; ".join(f"{label}: {values}" for label, values in series)


def _line(line: Line, xs: Sequence[float], frame: _Frame, *, dots: bool) -> SafeString:
    runs: list[list[tuple[float, float]]] = [[]]
    for x, value in zip(xs, line.values, strict=True):
        if value is not None:
            runs[-1].append((x, frame.y(value)))
        elif runs[-1]:
            runs.append([])
    polylines = [_el("polyline", points=" ".join(f"{_c(x)},{_c(y)}" for x, y in run)) for run in runs if len(run) > 1]
    # A point without neighbours has no segment to show it, so it gets its dot however many points there are.
    dotted = [point for run in runs for point in run] if dots else [run[0] for run in runs if len(run) == 1]
    circles = [_el("circle", class_="chart-point", cx=x, cy=y, r=3) for x, y in dotted]
    dashed = " chart-line--dashed" if line.dashed else ""
    return _el("g", *polylines, *circles, class_=f"chart-line chart-line--{line.kind}{dashed}")


def line_chart(
    *,
    title: str,
    x_labels: list[str],
    lines: list[Line],
    y_label: str,
    width: int = 760,
    height: int = 320,
    marker_index: int | None = None,
    marker_label: str = "",
) -> SafeString:
    """Lines over shared x positions (None leaves a gap); ``marker_index`` draws the "today" rule there."""
    for line in lines:
        if len(line.values) != len(x_labels):
            raise ValueError(f"{line.label!r} has {len(line.values)} values for {len(x_labels)} x labels")
    count = len(x_labels)
    frame = _Frame(width, height, max((v for line in lines for v in line.values if v is not None), default=0.0))
    span = frame.right - frame.left
    xs = [frame.left + span * i / (count - 1) for i in range(count)] if count > 1 else [frame.left + span / 2] * count
    body = [frame.axes(y_label, x_labels, xs)]
    if marker_index is not None and 0 <= marker_index < count:
        x = xs[marker_index]
        anchor, nudge = ("end", -4) if x > frame.left + span * 0.85 else ("start", 4)
        body.append(
            _el(
                "g",
                _rule(x, frame.top, x, frame.bottom),
                _text(marker_label, x + nudge, frame.top - 6, anchor),
                class_="chart-marker",
            )
        )
    body += [_line(line, xs, frame, dots=count <= MAX_DOTTED_POINTS) for line in lines]
    present = [[format_number(v) for v in line.values if v is not None] for line in lines]
    summary = _summary(
        x_labels,
        (
            (line.label, f"{values[0]} \u2192 {values[-1]}" if values else NO_VALUE)
            for line, values in zip(lines, present, strict=True)
        ),
    )
    series = [
        (f"chart-swatch--{line.kind}" + (" chart-swatch--dashed" if line.dashed else ""), line.label) for line in lines
    ]
    rows = [[line.values[i] for line in lines] for i in range(count)]
    return frame.figure("line", title, summary, body, x_labels, series, rows)


def bar_chart(
    *,
    title: str,
    x_labels: list[str],
    series: list[BarSeries],
    values: list[list[float]],
    y_label: str,
    average: float | None = None,
    average_label: str = "",
    width: int = 760,
    height: int = 320,
) -> SafeString:
    """Grouped bars, ``values[i][j]`` for series j at x position i; ``average`` draws a dashed rule."""
    if len(values) != len(x_labels) or any(len(row) != len(series) for row in values):
        raise ValueError(f"values must be {len(x_labels)} rows of {len(series)}: one row per x label")
    frame = _Frame(width, height, max([v for row in values for v in row] + [average or 0.0], default=0.0))
    band = (frame.right - frame.left) / max(len(x_labels), 1)
    bar_width = band * 0.7 / max(len(series), 1)  # the other 30% of each band keeps the groups apart
    centres = [frame.left + band * (i + 0.5) for i in range(len(x_labels))]
    body = [frame.axes(y_label, x_labels, centres)]
    for x_label, centre, row in zip(x_labels, centres, values, strict=True):
        for j, (bar, value) in enumerate(zip(series, row, strict=True)):
            top = frame.y(max(value, 0))
            tip = _el("title", f"{x_label} \u2013 {bar.label}: {format_number(value)}")
            x = centre - band * 0.35 + bar_width * j
            body.append(
                _el(
                    "rect",
                    tip,
                    class_=f"chart-bar chart-bar--{bar.kind}",
                    x=x,
                    y=top,
                    width=bar_width,
                    height=frame.bottom - top,
                )
            )
    summary = _summary(
        x_labels, ((bar.label, ", ".join(format_number(row[j]) for row in values)) for j, bar in enumerate(series))
    )
    footer = []
    if average is not None:
        y, text = frame.y(average), format_number(average)
        # Named in the legend, not on the rule: a label there would sit on top of the bars.
        body.append(_el("g", _rule(frame.left, y, frame.right, y), class_="chart-average"))
        cells = _el("th", average_label, scope="row") + _el("td", text, colspan=len(series) or 1)
        footer.append(_el("tfoot", _el("tr", cells)))
        summary += f"; {average_label}: {text}" if average_label else f"; {text}"
    legend = [(f"chart-swatch--{bar.kind}", bar.label) for bar in series]
    if average is not None:
        legend.append(("chart-swatch--average", average_label or format_number(average)))
    return frame.figure("bar", title, summary, body, x_labels, legend, values, *footer)
