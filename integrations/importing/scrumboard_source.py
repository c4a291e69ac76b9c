"""Restoring a Scrumboard export (``integrations.exporting``) into a new, empty project.

``sniff`` / ``parse`` / ``preview`` / ``apply`` as the import registry expects. ``parse`` checks
the whole document (shape, types, references, uniqueness) so that ``apply`` meets no surprise;
``apply`` writes everything with bulk queries, inside the caller's transaction, keeping item
numbers (under the new project's key), ranks and the original times. People are matched to the
project's members by username, then e-mail; anyone else becomes "nobody" (null) and is listed.
Rows that cannot exist without their person (entries, votes, days off, health ratings) are left
out and counted. No signal, webhook or notification fires: bulk writes send none.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings
from django.db import IntegrityError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from backlog.models import BacklogItem, ItemEvent
from integrations.exporting import FORMAT, VERSION
from integrations.importing.labels import count_labels
from integrations.importing.records import ImportFileError
from integrations.importing.scrumboard_document import Document, people_of, read_document
from integrations.importing.scrumboard_restore import Progress, Restore
from projects.models import Project
from retrospectives.models import Retrospective
from roadmap.models import Milestone, Phase, Release
from roles.models import Membership, Role
from sprints.models import Sprint
from standups.models import DailyScrum, Impediment

NAME = "scrumboard"
_SNIFF = re.compile(rb'^\s*\{[^{}]{0,200}"format"\s*:\s*"scrumboard-export"')


def sniff(data: bytes) -> bool:
    """A JSON object whose first field says it is a Scrumboard export (the export writes it first)."""
    head = data[:4096].removeprefix(b"\xef\xbb\xbf")
    return bool(_SNIFF.match(head)) or (b'"scrumboard-export"' in head and head.lstrip()[:1] == b"{")


def parse(data: bytes, *, tz=None) -> Document:
    """The checked document; ImportFileError says what is wrong and where. ``tz`` is unused: times carry offsets."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ImportFileError(
            _("The file is not UTF-8 text: byte %(position)d (line %(line)d) cannot be read.")
            % {"position": exc.start + 1, "line": line}
        ) from None
    try:
        raw = json.loads(text)
    except RecursionError:
        raise ImportFileError(_("The file nests its JSON too deeply to be a Scrumboard export.")) from None
    except json.JSONDecodeError as exc:
        raise ImportFileError(
            _("The file is not valid JSON: %(error)s (line %(line)d, column %(column)d).")
            % {"error": exc.msg, "line": exc.lineno, "column": exc.colno}
        ) from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ImportFileError(
            _("This is not a Scrumboard export (its “format” is not “%(format)s”).") % {"format": FORMAT}
        )
    if raw.get("version") != VERSION:
        raise ImportFileError(
            _("This export has version %(found)s; this Scrumboard reads version %(version)d.")
            % {"found": json.dumps(raw.get("version")), "version": VERSION}
        )
    doc = read_document(raw)
    limit = getattr(settings, "IMPORT_MAX_ROWS", 10_000)
    if len(doc.items) > limit:
        raise ImportFileError(
            _("This export has %(count)s items; a restore takes at most %(limit)s (the IMPORT_MAX_ROWS setting).")
            % {"count": f"{len(doc.items):,}", "limit": f"{limit:,}"}
        )
    return doc


# --- people and the target ---------------------------------------------------------------------


class People:
    """The document's usernames mapped to the project's members: by username, then by e-mail."""

    def __init__(self, project: Project, doc: Document) -> None:
        members = [m.user for m in Membership.objects.filter(project=project).select_related("user")]
        by_username = {user.get_username(): user for user in members}
        by_email = {user.email.lower(): user for user in members if user.email}
        emails = people_of(doc)
        self.users: dict[str, Any] = {}
        self.matched: list[dict] = []
        self.unmatched: list[str] = []
        for username in sorted(emails):
            email = emails[username].lower()
            user = by_username.get(username) or (by_email.get(email) if email else None)
            self.users[username] = user
            if user is None:
                self.unmatched.append(username)
            else:
                self.matched.append({"source": username, "member": user.get_username()})

    def __call__(self, username: str | None):
        return None if username is None else self.users.get(username)

    def pk(self, username: str | None) -> int | None:
        user = self(username)
        return None if user is None else user.pk


def _check_empty(project: Project) -> None:
    has_content = (
        BacklogItem.objects.filter(project=project).exists()
        or ItemEvent.objects.filter(project=project).exists()
        or Sprint.objects.filter(project=project).exists()
        or DailyScrum.objects.filter(project=project).exists()
        or Impediment.objects.filter(project=project).exists()
        or Retrospective.objects.filter(project=project).exists()
        or Phase.objects.filter(project=project).exists()
        or Milestone.objects.filter(project=project).exists()
        or Release.objects.filter(project=project).exists()
    )
    if has_content:
        raise ImportFileError(_("Restore an export into a new, empty project."))


def preview(project: Project, doc: Document) -> dict:
    """What a restore would write; writes nothing."""
    _check_empty(project)
    people = People(project, doc)
    problems = []
    skipped = doc.left_out(set(people.unmatched))
    labels = count_labels()
    for name, count in skipped.items():
        if count:
            problems.append(
                {
                    "row": 0,
                    "key": str(labels.get(name, name)),
                    "message": ngettext(
                        "%(count)d row of someone who is not a member is left out.",
                        "%(count)d rows of people who are not members are left out.",
                        count,
                    )
                    % {"count": count},
                }
            )
    existing = {r.slug: r for r in Role.objects.filter(project=project)}
    for role in doc.roles:
        current = existing.get(role["slug"])
        if current is not None and sorted(current.permissions) != sorted(role["permissions"]):
            problems.append(
                {
                    "row": 0,
                    "key": role["slug"],
                    "message": _("The role “%(name)s” exists here with other permissions; it is kept as it is.")
                    % {"name": current.name},
                }
            )
    for username in people.unmatched:
        problems.append(
            {
                "row": 0,
                "key": username,
                "message": _("Not a member of this project: their items and records name nobody."),
            }
        )
    return {
        "source": NAME,
        "counts": doc.counts(),
        "creates": len(doc.items),
        "updates": 0,
        "problems": problems,
        "unknown_columns": [],
        "people": {"matched": people.matched, "unmatched": people.unmatched},
    }


# --- apply -----------------------------------------------------------------------------------------


def apply(project: Project, doc: Document, *, actor=None, job=None, progress: Progress | None = None) -> dict:
    """Writes the document into ``project`` (the caller holds the transaction)."""
    project = Project.objects.select_for_update().get(pk=project.pk)
    _check_empty(project)
    try:
        restore = Restore(project, doc, People(project, doc), progress or (lambda done, total: None), actor=actor)
        return restore.run()
    except IntegrityError as exc:
        raise ImportFileError(
            _("The export contradicts itself and cannot be restored: %(error)s") % {"error": exc}
        ) from None
