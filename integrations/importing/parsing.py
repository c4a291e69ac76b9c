"""Helpers the file parsers share: limits, JSON loading, numbers and dates as sources write them."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from .records import ImportFileError

StrOrPromise = str | Promise
# Field labels in row problems, looked up once per message rather than once per row.
CREATED = gettext_lazy("Created")
RESOLVED = gettext_lazy("Resolved")
DUE_DATE = gettext_lazy("Due date")

# The largest number Item.points holds (max_digits=7, decimal_places=1).
MAX_POINTS = Decimal("999999.9")
ONE_PLACE = Decimal("0.1")


def check_row_limit(count: int) -> None:
    limit = getattr(settings, "IMPORT_MAX_ROWS", 10_000)
    if count > limit:
        raise ImportFileError(
            _("The file has %(count)s rows; an import takes at most %(limit)s. Split it and import the parts.")
            % {"count": f"{count:,}", "limit": f"{limit:,}"}
        )


def describe_bad_utf8(data: bytes, error: UnicodeDecodeError) -> str:
    line = data.count(b"\n", 0, error.start) + 1
    return _(
        "The file is not UTF-8 text: byte 0x%(byte)02X on line %(line)s cannot be read. "
        "Export it again as UTF-8 (or save it as “CSV UTF-8”) and upload that."
    ) % {"byte": data[error.start], "line": line}


def load_json(data: bytes) -> Any:
    """The document, or ImportFileError saying what is wrong and where."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFileError(describe_bad_utf8(data, error)) from None
    if not text.strip():
        raise ImportFileError(_("The file is empty."))
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ImportFileError(
            _("The file is not valid JSON: %(problem)s at line %(line)s, column %(column)s.")
            % {"problem": error.msg, "line": error.lineno, "column": error.colno}
        ) from None
    except RecursionError:
        raise ImportFileError(_("The file is not valid JSON: it is nested too deeply.")) from None


class BadValue(ValueError):
    """A field's value the parser ignores; the message says why (translated)."""


def parse_points(value: Any) -> tuple[Decimal | None, str]:
    """(points, estimate) from a number or text: "5", 2.5, "2,5", "?" → (None, "?"), "" → (None, "").

    Raises BadValue for text that is not a number or a number Scrumboard cannot hold; more than
    one decimal place is rounded to one, as the backlog stores it.
    """
    if value is None or isinstance(value, bool):
        return None, ""
    text = str(value).strip()
    if not text:
        return None, ""
    if text == "?":
        return None, "?"
    try:
        number = Decimal(text.replace(",", ".").replace("\u00a0", "").replace(" ", ""))
    except InvalidOperation:
        raise BadValue(_("%(value)s is not a number") % {"value": _quote(text)}) from None
    if not number.is_finite() or number < 0 or number > MAX_POINTS:
        raise BadValue(_("%(value)s is not a number of points between 0 and 999999.9") % {"value": _quote(text)})
    number = number.quantize(ONE_PLACE, rounding=ROUND_HALF_UP).normalize()
    if number == number.to_integral_value():
        number = number.quantize(Decimal(1))
    return number, str(number)


def _quote(text: str) -> str:
    """A value from the file inside a message, in the reader's quotation marks («…» in Russian and Kazakh)."""
    shown = text if len(text) <= 40 else text[:40] + "…"
    return pgettext("a value from the file, quoted in a message", "“%(value)s”") % {"value": shown}


# Jira writes month abbreviations in the exporting user's language: English and Russian here.
MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "янв"),
            ("feb", "фев"),
            ("mar", "мар"),
            ("apr", "апр"),
            ("may", "май", "мая"),
            ("jun", "июн"),
            ("jul", "июл"),
            ("aug", "авг"),
            ("sep", "сен"),
            ("oct", "окт"),
            ("nov", "ноя"),
            ("dec", "дек"),
        ],
        start=1,
    )
    for name in names
}
_JIRA_DATE = re.compile(
    r"^(?P<day>\d{1,2})/(?P<month>[^\W\d_]{3,4})\.?/(?P<year>\d{2}|\d{4})"
    r"(?:\s+(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?\s*(?P<ampm>[AaPp][Mm])?)?$"
)


def parse_datetime(text: str, tz: tzinfo | None) -> datetime | None:
    """An aware datetime from Jira's `24/Nov/26 10:15 AM`, `24/Nov/2026 10:15` or ISO 8601.

    Times without an offset are in ``tz`` (UTC when None). "" → None; anything else → BadValue.
    """
    text = text.strip()
    if not text:
        return None
    zone = tz or UTC
    match = _JIRA_DATE.match(text)
    if match:
        month = MONTHS.get(match["month"].lower()[:3]) or MONTHS.get(match["month"].lower())
        year = int(match["year"])
        year += 2000 if year < 100 else 0
        hour = int(match["hour"] or 0)
        if match["ampm"]:
            if not 1 <= hour <= 12:
                month = None
            hour = hour % 12 + (12 if match["ampm"].lower() == "pm" else 0)
        try:
            if month is None:
                raise ValueError
            moment = datetime(
                year, month, int(match["day"]), hour, int(match["minute"] or 0), int(match["second"] or 0)
            )
        except ValueError:
            raise BadValue(_("%(value)s is not a date") % {"value": _quote(text)}) from None
        return moment.replace(tzinfo=zone)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadValue(_("%(value)s is not a date") % {"value": _quote(text)}) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def parse_date(text: str, tz: tzinfo | None) -> date | None:
    """A calendar date; a moment with an offset is read in ``tz`` (what the project calls that day)."""
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    moment = parse_datetime(text, tz)
    if moment is None:
        return None
    return moment.astimezone(tz or UTC).date()


def status_category(value: str) -> str:
    """Jira's status category (key, English or localised name) → "todo" | "in_progress" | "done" | ""."""
    return STATUS_CATEGORIES.get(value.strip().casefold(), "")


# Jira names the categories in the exporting user's language (the Russian names are Cyrillic on purpose).
STATUS_CATEGORIES = {
    name.casefold(): category
    for category, names in {
        "todo": ("new", "To Do", "К выполнению", "Zu erledigen", "À faire", "Por hacer"),  # noqa: RUF001
        "in_progress": ("indeterminate", "In Progress", "В работе", "In Arbeit", "En cours", "En curso"),  # noqa: RUF001
        "done": ("done", "Готово", "Fertig", "Terminé", "Terminée", "Listo", "Hecho"),
    }.items()
    for name in names
}
