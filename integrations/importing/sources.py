"""The import sources: how to recognise, parse, preview and apply each kind of file.

Foreign sources (``jira_csv``, ``jira_json``, ``github_projects``) parse into records and share
the mapping (``mapping.plan``, ``applying.apply``); a Scrumboard export restores itself
(``scrumboard_source``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from integrations.importing import applying, github_projects, jira_csv, jira_json, mapping, scrumboard_source
from integrations.importing.records import ImportFileError


@dataclass(frozen=True)
class Source:
    name: str
    label: str | Promise
    system: str  # source keys are unique per system: a re-import matches on (system, key)
    sniff: Callable[[bytes], bool]
    parse: Callable[..., Any]  # (data, *, tz) -> Parsed, or the export document
    preview: Callable[[Any, Any], dict]  # (project, parsed) -> report; writes nothing
    apply: Callable[..., dict]  # (project, parsed, *, actor, job, progress) -> result


def _foreign(name: str, module: ModuleType, label: Promise, system: str) -> Source:
    def preview(project, parsed) -> dict:
        return mapping.plan(project, parsed, system=system).report

    def apply(project, parsed, *, actor, job, progress) -> dict:
        return applying.apply(mapping.plan(project, parsed, system=system), actor=actor, job=job, progress=progress)

    return Source(name, label, system, sniff=module.sniff, parse=module.parse, preview=preview, apply=apply)


# Detection tries them in this order: the export first (its format marker is unambiguous).
SOURCES: dict[str, Source] = {
    "scrumboard": Source(
        "scrumboard",
        gettext_lazy("Scrumboard export (restore into this new project)"),
        "scrumboard",
        sniff=scrumboard_source.sniff,
        parse=scrumboard_source.parse,
        preview=scrumboard_source.preview,
        apply=scrumboard_source.apply,
    ),
    "jira_json": _foreign("jira_json", jira_json, gettext_lazy("Jira (JSON from the REST search API)"), "jira"),
    "github_projects": _foreign(
        "github_projects", github_projects, gettext_lazy("GitHub Projects (gh project item-list JSON)"), "github"
    ),
    "jira_csv": _foreign("jira_csv", jira_csv, gettext_lazy("Jira (CSV export, all fields)"), "jira"),
}


def detect(data: bytes) -> Source:
    for source in SOURCES.values():
        if source.sniff(data):
            return source
    raise ImportFileError(
        _(
            "The file's format was not recognised. Choose its source: Jira CSV or JSON, "
            "GitHub Projects JSON, or a Scrumboard export."
        )
    )
