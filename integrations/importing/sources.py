"""The import sources: how to recognise, parse, preview and apply each kind of file.

Parsers live in their own modules (``jira_csv``, ``jira_json``, ``github_projects``, and the
Scrumboard export's ``scrumboard_source``); they are imported when first used, so the registry
stays cheap to import. Foreign sources share the mapping (``mapping.plan`` / ``mapping.apply``).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from integrations.importing import applying, mapping
from integrations.importing.records import ImportFileError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Source:
    name: str
    label: str | Promise
    system: str  # source keys are unique per system: a re-import matches on (system, key)
    sniff: Callable[[bytes], bool]
    parse: Callable[..., Any]  # (data, *, tz) -> Parsed, or the export document
    preview: Callable[[Any, Any], dict]  # (project, parsed) -> report; writes nothing
    apply: Callable[..., dict]  # (project, parsed, *, actor, job, progress) -> result


def _module(name: str):
    return importlib.import_module(f"integrations.importing.{name}")


def _foreign(name: str, label: Promise, system: str) -> Source:
    def sniff(data: bytes) -> bool:
        return bool(_module(name).sniff(data))

    def parse(data: bytes, *, tz: ZoneInfo | None = None) -> Any:
        return _module(name).parse(data, tz=tz)

    def preview(project, parsed) -> dict:
        return mapping.plan(project, parsed, system=system).report

    def apply(project, parsed, *, actor, job, progress) -> dict:
        return applying.apply(mapping.plan(project, parsed, system=system), actor=actor, job=job, progress=progress)

    return Source(name=name, label=label, system=system, sniff=sniff, parse=parse, preview=preview, apply=apply)


def _scrumboard() -> Source:
    def sniff(data: bytes) -> bool:
        return bool(_module("scrumboard_source").sniff(data))

    def parse(data: bytes, *, tz: ZoneInfo | None = None) -> Any:
        return _module("scrumboard_source").parse(data)

    def preview(project, document) -> dict:
        return _module("scrumboard_source").preview(project, document)

    def apply(project, document, *, actor, job, progress) -> dict:
        return _module("scrumboard_source").apply(project, document, actor=actor, job=job, progress=progress)

    label = gettext_lazy("Scrumboard export (restore into this new project)")
    return Source(
        name="scrumboard", label=label, system="scrumboard", sniff=sniff, parse=parse, preview=preview, apply=apply
    )


# Detection tries them in this order: the export first (its format marker is unambiguous).
SOURCES: dict[str, Source] = {
    "scrumboard": _scrumboard(),
    "jira_json": _foreign("jira_json", gettext_lazy("Jira (JSON from the REST search API)"), "jira"),
    "github_projects": _foreign(
        "github_projects", gettext_lazy("GitHub Projects (gh project item-list JSON)"), "github"
    ),
    "jira_csv": _foreign("jira_csv", gettext_lazy("Jira (CSV export, all fields)"), "jira"),
}


def available(name: str) -> bool:
    """Whether the source's module imports: the registry names modules that other work provides."""
    module = "scrumboard_source" if name == "scrumboard" else name
    try:
        _module(module)
    except ImportError:
        logger.warning("import source %s is not available", name, exc_info=True)
        return False
    return True


def detect(data: bytes) -> Source:
    for source in SOURCES.values():
        if available(source.name) and source.sniff(data):
            return source
    raise ImportFileError(
        _(
            "The file's format was not recognised. Choose its source: Jira CSV or JSON, "
            "GitHub Projects JSON, or a Scrumboard export."
        )
    )
