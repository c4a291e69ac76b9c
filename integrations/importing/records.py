"""What every parser produces: the source's own words, not yet mapped to a project.

Parsers (``jira_csv``, ``jira_json``, ``github_projects``) turn bytes into a :class:`Parsed`; the
mapping (``mapping``) decides what those words mean in a given project. Nothing here touches
the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal


class ImportFileError(Exception):
    """The file as a whole cannot be imported; nothing is written.

    ``message`` is for the user (already translated in the caller's language); ``status`` is
    the HTTP status the API answers with: 400 for a malformed file, 413 for one too large.
    """

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Person:
    """Someone named in the source: matched to a member by e-mail, then login, never invited."""

    name: str = ""
    email: str = ""  # lower-cased
    login: str = ""  # GitHub login or Jira account id

    @property
    def label(self) -> str:
        return self.name or self.email or self.login


@dataclass
class SourceSprint:
    key: str  # the source's id for it (Jira sprint name or id, GitHub iterationId)
    name: str
    start: date | None = None
    end: date | None = None
    state: str = ""  # "closed" | "active" | "future" | "" (unknown)


@dataclass
class SourceComment:
    body: str
    author: Person | None = None
    at: datetime | None = None  # aware


@dataclass
class SourceItem:
    row: int  # 1-based: CSV line of the record's start, or index in the JSON list
    source_key: str  # "CRM-3", "clinic-team/crm#14", "draft:PVTI_…": stable across exports
    title: str
    type: str = ""  # the source's own type name: "Story", "Bug", "Epic", "Issue", "PullRequest", "DraftIssue"
    status: str = ""  # the source's own status name
    status_category: str = ""  # "todo" | "in_progress" | "done" | "" when the source does not say
    priority: str = ""  # the source's own priority name ("High", "P1")
    description: str = ""  # Markdown
    labels: list[str] = field(default_factory=list)
    points: Decimal | None = None
    estimate: str = ""  # the estimate as the backlog writes it: "5", "2.5", "?" (cannot estimate yet), ""
    assignee: Person | None = None
    reporter: Person | None = None
    parent_key: str = ""  # source key of the parent or epic
    sprint_keys: list[str] = field(default_factory=list)  # oldest first; the last is the current one
    comments: list[SourceComment] = field(default_factory=list)
    due_date: date | None = None
    created_at: datetime | None = None  # aware
    resolved_at: datetime | None = None  # aware
    url: str = ""
    rank: str = ""  # the source's own backlog order (Jira's LexoRank): sorts as text, "" when unknown
    # Recognised but not mapped (components, fix versions, resolution…): shown in the preview.
    extra: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class RowProblem:
    row: int
    source_key: str
    message: str  # translated; the row is skipped (or the field ignored, when the message says so)


@dataclass
class Parsed:
    source: str  # "jira_csv" | "jira_json" | "github_projects"
    items: list[SourceItem]
    sprints: dict[str, SourceSprint] = field(default_factory=dict)
    unknown_columns: list[str] = field(default_factory=list)  # columns or fields nothing reads
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def people(self) -> list[Person]:
        seen: dict[tuple[str, str, str], Person] = {}
        for item in self.items:
            for person in (item.assignee, item.reporter, *(c.author for c in item.comments)):
                if person is not None:
                    seen.setdefault((person.email, person.login, person.name), person)
        return list(seen.values())
