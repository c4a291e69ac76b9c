"""The roadmap timeline: a Gantt-like SVG drawn on the server, like sprints/charts.py draws the sprint charts.

A column of row labels on the left; right of it a month grid with the sprints as a band, each phase as a
bar (its progress filled in) with its epics' progress under it, the milestones as diamonds and each
release with its target flag and its P50 to P85 forecast span. Every object is a link to its page. The
``rm-*`` classes in roadmap.css decide colours; this module decides where things go. A visually hidden
table carries the same facts for screen readers.
"""

import datetime
import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.formats import date_format
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from roadmap.selectors import Progress, Roadmap
from sprints.charts import _c, _el, _rule, _text

# viewBox units are CSS pixels: the SVG is drawn at its natural width and scrolls in its card when long.
WIDTH = 1100  # a laptop's card (1280px screen)
LABEL_WIDTH = 250  # the column of row names
RIGHT_PAD = 16
MIN_MONTH_WIDTH = 130  # below this a month's name no longer fits: the chart grows and scrolls
HEADER_HEIGHT = 48
SPRINT_ROW, PHASE_ROW, EPIC_ROW, RELEASE_ROW, LANE = 36, 46, 24, 46, 22
CHAR_WIDTH = 0.6  # of the font size: a generous average for Latin and Cyrillic, so estimates err long


def text_width(text: str, size: float) -> float:
    return len(text) * size * CHAR_WIDTH


def shorten(text: str, width: float, size: float) -> str:
    """``text`` cut with an ellipsis to fit ``width`` (the full text goes in the link's <title>)."""
    fits = max(int(width / (size * CHAR_WIDTH)), 1)
    return text if len(text) <= fits else text[: fits - 1].rstrip() + "\u2026"


def wrap(text: str, width: float, size: float, lines: int = 2) -> list[str]:
    """Up to ``lines`` lines by words; the last one shortened if the text is longer still."""
    fits = max(int(width / (size * CHAR_WIDTH)), 1)
    result: list[str] = []
    words = text.split()
    while words and len(result) < lines - 1:
        line = words.pop(0)
        while words and len(line) + 1 + len(words[0]) <= fits:
            line += " " + words.pop(0)
        result.append(line)
    if words:
        result.append(" ".join(words))
    return [shorten(line, width, size) for line in result]


def lanes(spans: list[tuple[float, float]], gap: float = 8) -> list[int]:
    """A lane per span so that no two spans in a lane overlap (first lane that is free)."""
    ends: list[float] = []
    result = []
    for start, end in spans:
        for lane, last in enumerate(ends):
            if start >= last + gap:
                ends[lane] = end
                result.append(lane)
                break
        else:
            ends.append(end)
            result.append(len(ends) - 1)
    return result


def next_month(day: datetime.date) -> datetime.date:
    return (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def month_starts(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    months, day = [], start.replace(day=1)
    while day <= end:
        months.append(day)
        day = next_month(day)
    return months


def _day(day: datetime.date) -> str:
    return date_format(day, "DATE_FORMAT")


def _progress_text(progress: Progress) -> str:
    return _("%(percent)s%% done") % {"percent": progress.percent}


@dataclass(frozen=True)
class Links:
    """Where each object's link goes: the views know the URLs."""

    phase: Callable[[Any], str]
    milestone: Callable[[Any], str]
    release: Callable[[Any], str]
    epic: Callable[[Any], str]
    sprint: Callable[[Any], str]


def chart_range(data: Roadmap) -> tuple[datetime.date, datetime.date]:
    """Whole months around today and the plan's dates; sprints long past do not stretch it (they are cut)."""
    dates = [data.today]
    dates += [day for phase in data.phases for day in (phase.start_date, phase.end_date)]
    dates += [milestone.date for milestone in data.milestones]
    dates += [day for release in data.releases for day in (release.target_date, release.released_on) if day]
    dates += [day for result in data.forecasts.values() if result for day in (result.p50_date, result.p85_date) if day]
    first, last = min(dates).replace(day=1), next_month(max(dates)) - datetime.timedelta(days=1)
    return first, last


class _Scale:
    def __init__(self, start: datetime.date, end: datetime.date) -> None:
        self.start, self.end = start, end
        self.months = month_starts(start, end)
        self.days = (end - start).days + 1
        plot = max(WIDTH - LABEL_WIDTH - RIGHT_PAD, MIN_MONTH_WIDTH * len(self.months))
        self.left, self.right = LABEL_WIDTH, LABEL_WIDTH + plot
        self.width = self.right + RIGHT_PAD
        self.per_day = plot / self.days

    def x(self, day: datetime.date) -> float:
        """The left edge of ``day``; days outside the range are pinned to its edges."""
        offset = min(max((day - self.start).days, 0), self.days)
        return self.left + offset * self.per_day

    def span(self, first: datetime.date, last: datetime.date) -> tuple[float, float]:
        """From the start of ``first`` to the end of ``last``."""
        return self.x(first), self.x(last + datetime.timedelta(days=1))


def _link(href: str, tip: str, *children: SafeString, class_: str) -> SafeString:
    return _el("a", _el("title", tip), *children, href=href, class_=class_)


def _outside_label(text: str, x0: float, x1: float, y: float, scale: _Scale, size: float, class_: str) -> SafeString:
    """After the bar when there is room before the chart's edge, else inside its end (with a halo)."""
    if x1 + 6 + text_width(text, size) <= scale.right:
        return _text(text, x1 + 6, y, "start", class_)
    if x0 - 6 - text_width(text, size) >= scale.left:
        return _text(text, x0 - 6, y, "end", class_)
    return _text(text, x1 - 6, y, "end", class_ + " rm-halo")


def timeline(data: Roadmap, *, links: Links, title: str) -> SafeString:
    """The whole timeline figure: svg, legend and hidden table."""
    scale = _Scale(*chart_range(data))
    body: list[SafeString] = []
    rows: list[list[str]] = []  # the hidden table: what, when, status, progress
    y: float = HEADER_HEIGHT

    # The sprints' band.
    sprint_parts = []
    for sprint in data.sprints:
        if sprint.end_date < scale.start or sprint.start_date > scale.end:
            continue
        x0, x1 = scale.span(sprint.start_date, sprint.end_date)
        x0, x1 = x0 + 1, max(x1 - 1, x0 + 2)
        state = sprint.state
        label = next(
            (t for t in (sprint.name, str(sprint.number)) if text_width(t, 11) <= x1 - x0 - 4),
            "",
        )
        dates = f"{_day(sprint.start_date)} \u2013 {_day(sprint.end_date)}"
        status = sprint.get_state_display()
        sprint_parts.append(
            _link(
                links.sprint(sprint),
                f"{sprint.name}: {dates} ({status})",
                _el("rect", x=x0, y=y + 19, width=x1 - x0, height=10, rx=2, class_="rm-sprint-bar"),
                *([_text(label, (x0 + x1) / 2, y + 14, "middle", "rm-sprint-label")] if label else []),
                class_=f"rm-sprint rm-sprint--{state}",
            )
        )
        rows.append([sprint.name, dates, status, ""])
    body.append(_el("g", _text(_("Sprints"), 12, y + 22, "start", "rm-row-label rm-row-label--section"), *sprint_parts))
    y += SPRINT_ROW
    body.append(_rule(0, y, scale.right, y, "rm-separator"))

    # Phases, each with its epics under it.
    for phase in data.phases:
        progress = data.phase_progress.get(phase.pk, Progress())
        x0, x1 = scale.span(phase.start_date, phase.end_date)
        status = phase.get_status_display()
        dates = f"{_day(phase.start_date)} \u2013 {_day(phase.end_date)}"
        lines = wrap(phase.name, LABEL_WIDTH - 24, 13)
        first_line_y = y + (19 if len(lines) == 2 else 27)
        bar_label = f"{progress.percent}% \u00b7 {status}"
        body.append(
            _link(
                links.phase(phase),
                f"{phase.name}: {dates}. {status}, {_progress_text(progress)}",
                *(
                    _text(line, 12, first_line_y + 15 * n, "start", "rm-row-label rm-row-label--phase")
                    for n, line in enumerate(lines)
                ),
                _el("rect", x=x0, y=y + 12, width=max(x1 - x0, 2), height=20, rx=4, class_="rm-phase-track"),
                _el(
                    "rect",
                    x=x0,
                    y=y + 12,
                    width=(x1 - x0) * progress.percent / 100,
                    height=20,
                    rx=4,
                    class_="rm-phase-fill",
                ),
                _outside_label(bar_label, x0, x1, y + 27, scale, 12, "rm-bar-label"),
                class_=f"rm-phase rm-phase--{phase.status}",
            )
        )
        rows.append([phase.name, dates, status, _progress_text(progress)])
        y += PHASE_ROW
        for epic in data.epics_of(data.phase_items.get(phase.pk, [])):
            epic_progress = data.epic_progress.get(epic.pk, Progress())
            label = shorten(f"{epic.key} {epic.title}", LABEL_WIDTH - 36, 11.5)
            body.append(
                _link(
                    links.epic(epic),
                    f"{epic.key} {epic.title}: {_progress_text(epic_progress)}",
                    _text(label, 28, y + 15, "start", "rm-row-label rm-row-label--epic"),
                    _el("rect", x=x0, y=y + 8, width=max(x1 - x0, 2), height=8, rx=4, class_="rm-epic-track"),
                    _el(
                        "rect",
                        x=x0,
                        y=y + 8,
                        width=(x1 - x0) * epic_progress.percent / 100,
                        height=8,
                        rx=4,
                        class_="rm-epic-fill",
                    ),
                    _outside_label(f"{epic_progress.percent}%", x0, x1, y + 16, scale, 11, "rm-epic-label"),
                    class_="rm-epic",
                )
            )
            rows.append([f"{epic.key} {epic.title}", "", "", _progress_text(epic_progress)])
            y += EPIC_ROW
        body.append(_rule(0, y, scale.right, y, "rm-separator rm-separator--light"))

    # Milestones: diamonds on one row, their names in as many lanes as they need not to overlap.
    if data.milestones:
        spans, labels = [], []
        for milestone in data.milestones:
            x = (sum(scale.span(milestone.date, milestone.date))) / 2
            label = shorten(milestone.name, 220, 11.5)
            width = text_width(label, 11.5)
            right = x + 10 + width <= scale.right
            spans.append((x - 8, x + 12 + width) if right else (x - 12 - width, x + 8))
            labels.append((milestone, x, label, right))
        milestone_lanes = lanes(spans)
        height: float = 14 + LANE * (max(milestone_lanes) + 1)
        diamonds: list[SafeString] = []
        for (milestone, x, label, right), lane in zip(labels, milestone_lanes, strict=True):
            cy = y + 18 + LANE * lane
            state = _("Done") if milestone.done else pgettext("milestone status", "Not done yet")
            points = f"{_c(x)},{_c(cy - 7)} {_c(x + 7)},{_c(cy)} {_c(x)},{_c(cy + 7)} {_c(x - 7)},{_c(cy)}"
            diamonds.append(
                _link(
                    links.milestone(milestone),
                    f"{milestone.name}: {_day(milestone.date)} ({state})",
                    _el("polygon", points=points, class_="rm-diamond"),
                    _text(
                        label, x + 11 if right else x - 11, cy + 4, "start" if right else "end", "rm-milestone-label"
                    ),
                    class_="rm-milestone" + (" rm-milestone--done" if milestone.done else ""),
                )
            )
            rows.append([milestone.name, _day(milestone.date), state, ""])
        body.append(
            _el("g", _text(_("Milestones"), 12, y + 22, "start", "rm-row-label rm-row-label--section"), *diamonds)
        )
        y += height
        body.append(_rule(0, y, scale.right, y, "rm-separator"))

    # Releases: one row each with the target flag, the forecast span and the released mark.
    for release in data.releases:
        progress = data.release_progress.get(release.pk, Progress())
        result = data.forecasts.get(release.pk)
        at_risk = bool(result and result.at_risk and not release.is_released)
        status = release.get_status_display()
        heading = release.version + (f" \u00b7 {release.name}" if release.name else "")
        parts: list[SafeString] = [
            _text(shorten(heading, LABEL_WIDTH - 24, 13), 12, y + 19, "start", "rm-row-label rm-row-label--release"),
            _text(
                f"{status} \u00b7 {progress.percent}%",
                12,
                y + 35,
                "start",
                "rm-row-sub",
            ),
        ]
        facts = [status, _progress_text(progress)]
        mid = y + 24
        span_end: float = scale.left
        if result is not None and not release.is_released:
            if result.p50_date is not None:
                x0 = scale.x(result.p50_date)
                x1 = scale.x(result.p85_date) if result.p85_date else scale.right
                x1 = max(x1, x0 + 3)
                parts += [
                    _el("rect", x=x0, y=mid - 6, width=x1 - x0, height=12, rx=6, class_="rm-forecast"),
                    _rule(x0, mid - 8, x0, mid + 8, "rm-forecast-cap"),
                    _rule(x1, mid - 8, x1, mid + 8, "rm-forecast-cap"),
                ]
                span_end = x1
                p85 = _day(result.p85_date) if result.p85_date else _("beyond the horizon")
                facts.append(
                    _("forecast: 50%% by %(p50)s, 85%% by %(p85)s") % {"p50": _day(result.p50_date), "p85": p85}
                )
            else:
                facts.append(_("forecast: beyond the horizon"))
        if release.target_date:
            tx = sum(scale.span(release.target_date, release.target_date)) / 2
            parts += [
                _rule(tx, y + 6, tx, y + 38, "rm-target-pole"),
                _el(
                    "polygon",
                    points=f"{_c(tx)},{_c(y + 6)} {_c(tx + 10)},{_c(y + 10)} {_c(tx)},{_c(y + 14)}",
                    class_="rm-target-flag",
                ),
            ]
            span_end = max(span_end, tx + 10)
            facts.append(_("target: %(date)s") % {"date": _day(release.target_date)})
        if release.is_released and release.released_on:
            rx = sum(scale.span(release.released_on, release.released_on)) / 2
            parts.append(_el("circle", cx=rx, cy=mid, r=7, class_="rm-released"))
            parts.append(
                _el(
                    "polyline",
                    points=f"{_c(rx - 3.5)},{_c(mid)} {_c(rx - 1)},{_c(mid + 3)} {_c(rx + 4)},{_c(mid - 3)}",
                    class_="rm-released-check",
                )
            )
            span_end = max(span_end, rx + 8)
            facts.append(_("released on %(date)s") % {"date": _day(release.released_on)})
        if at_risk:
            risk = _("At risk")
            facts.insert(0, risk)
            if span_end + 8 + text_width(risk, 12) <= scale.right:
                parts.append(_text(risk, span_end + 8, mid + 4, "start", "rm-risk-label"))
            else:
                parts.append(_text(risk, scale.right - 4, y + 42, "end", "rm-risk-label rm-halo"))
        body.append(
            _link(
                links.release(release),
                f"{heading}: " + "; ".join(facts),
                *parts,
                class_="rm-release" + (" rm-release--at-risk" if at_risk else "") + f" rm-release--{release.status}",
            )
        )
        rows.append(
            [
                heading,
                "; ".join(facts[1:] if at_risk else facts),
                _("At risk") if at_risk else status,
                _progress_text(progress),
            ]
        )
        y += RELEASE_ROW
    height = y + 8

    # The grid and the header go first so that everything draws over them.
    grid: list[SafeString] = [_el("rect", x=0, y=0, width=LABEL_WIDTH, height=height, class_="rm-label-column")]
    for n, month in enumerate(scale.months):
        x0, x1 = scale.x(month), scale.x(next_month(month))
        if n % 2:
            grid.append(
                _el("rect", x=x0, y=HEADER_HEIGHT, width=x1 - x0, height=height - HEADER_HEIGHT, class_="rm-month-band")
            )
        grid.append(_rule(x0, 8, x0, height, "rm-month-rule"))
        name = date_format(month, "YEAR_MONTH_FORMAT")
        if text_width(name, 12) > x1 - x0 - 8:
            name = date_format(month, "M Y")
        grid.append(_text(name, x0 + 8, 24, "start", "rm-month-label"))
    grid.append(_rule(scale.right, 8, scale.right, height, "rm-month-rule"))
    grid.append(_rule(0, HEADER_HEIGHT, scale.right, HEADER_HEIGHT, "rm-separator"))
    if scale.start <= data.today <= scale.end:
        tx = sum(scale.span(data.today, data.today)) / 2
        label = _("Today")
        anchor = "end" if tx + text_width(label, 11) / 2 > scale.right else "middle"
        grid.append(  # under the bars: labels with a halo stay readable where it crosses them
            _el(
                "g",
                _rule(tx, HEADER_HEIGHT - 10, tx, height),
                _text(label, tx, HEADER_HEIGHT - 14, anchor),
                class_="rm-today",
            )
        )

    chart_id = "roadmap-" + hashlib.blake2b(f"{title}\n{height}".encode(), digest_size=5).hexdigest()
    # The dash is the character itself: xgettext keeps a "\u2013" escape as text, and the msgid never matches.
    summary = _("%(start)s – %(end)s. Phases: %(phases)s; milestones: %(milestones)s; releases: %(releases)s.") % {  # noqa: RUF001
        "start": _day(scale.start),
        "end": _day(scale.end),
        "phases": len(data.phases),
        "milestones": len(data.milestones),
        "releases": len(data.releases),
    }
    svg = _el(
        "svg",
        _el("title", title, id=f"{chart_id}-title"),
        _el("desc", summary, id=f"{chart_id}-desc"),
        *grid,
        *body,
        class_="rm-svg",
        viewBox=f"0 0 {_c(scale.width)} {_c(height)}",
        width=math.ceil(scale.width),
        height=math.ceil(height),
        role="img",
        aria_labelledby=f"{chart_id}-title",
        aria_describedby=f"{chart_id}-desc",
    )
    headers = (_("Name"), _("Dates"), _("Status"), _("Progress"))
    table = _el(
        "table",
        _el("caption", title),
        _el("thead", _el("tr", *(_el("th", header, scope="col") for header in headers))),
        _el(
            "tbody",
            *(_el("tr", _el("th", row[0], scope="row"), *(_el("td", cell) for cell in row[1:])) for row in rows),
        ),
        class_="visually-hidden",
    )
    return _el("figure", _el("div", svg, class_="rm-frame"), legend(), table, class_="rm-timeline")


def legend() -> SafeString:
    entries = [
        ("rm-key--planned", _("Planned phase")),
        ("rm-key--active", _("Phase in progress")),
        ("rm-key--done", _("Done phase (filled: progress)")),
        ("rm-key--epic", _("Epic progress")),
        ("rm-key--diamond", _("Milestone (filled when done)")),
        ("rm-key--flag", _("Release target")),
        ("rm-key--forecast", _("Forecast: 50% to 85% likely")),
        ("rm-key--risk", _("At risk: likely to finish after the target")),
        ("rm-key--today", _("Today")),
    ]
    return _el(
        "ul",
        *(
            _el("li", _el("span", class_=f"rm-key {key}", aria_hidden="true"), label, class_="rm-legend-item")
            for key, label in entries
        ),
        class_="rm-legend",
    )
