"""Reads: what a member sees of the board (the anonymity and hiding rules live here), summaries, trends.

Every page, API response and export shows cards through ``board()`` or ``snapshot()``: a card's
author is never part of them when the retrospective is anonymous; "mine" is computed for the viewer.
"""

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Avg, Count, QuerySet
from django.utils import timezone

from projects.models import Project
from retrospectives.models import (
    HEALTH_STATEMENTS,
    PHASES,
    ActionItem,
    Card,
    CardGroup,
    DiscussionNote,
    HealthRating,
    Phase,
    Retrospective,
    Vote,
    column_title,
)

TOP_TOPICS = 5


@dataclass
class CardView:
    id: int
    column: str
    text: str
    group_id: int | None
    mine: bool
    author: str | None  # a display name; None when anonymous
    author_username: str | None  # None when anonymous
    votes: int | None  # None while totals are hidden
    my_votes: int
    created_at: object = None


@dataclass
class GroupView:
    id: int
    title: str
    column: str
    cards: list[CardView]
    votes: int | None
    my_votes: int


@dataclass
class Topic:
    """A group or a card standing alone, as the discussion orders them."""

    kind: str  # "group" | "card"
    id: int
    title: str
    column: str
    votes: int
    cards: list[CardView]
    notes: list[dict] = field(default_factory=list)


@dataclass
class ColumnView:
    key: str
    title: str
    cards: list[CardView]  # cards standing alone
    groups: list[GroupView]

    @property
    def count(self) -> int:
        return len(self.cards) + sum(len(g.cards) for g in self.groups)


@dataclass
class Board:
    retro: Retrospective
    columns: list[ColumnView]
    groups: list[GroupView]
    cards: list[CardView]
    hidden_count: int  # others' cards not yet revealed
    votes_used: int
    votes_left: int
    topics: list[Topic]
    version: str


def _author_name(user) -> str | None:
    if user is None:
        return None
    return user.get_full_name() or user.get_username()


def retro_version(retro: Retrospective) -> str:
    """Changes with every write inside the retrospective (services touch ``updated_at``): the board polls it."""
    stamp = Retrospective.objects.filter(pk=retro.pk).values_list("updated_at", flat=True).first()
    raw = f"{retro.pk}:{stamp.isoformat() if stamp else ''}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _vote_counts(retro: Retrospective, user=None) -> tuple[dict, dict]:
    """(card id -> votes, group id -> votes), everyone's or ``user``'s."""
    votes = Vote.objects.filter(retrospective=retro)
    if user is not None:
        votes = votes.filter(voter=user)
    by_card: dict[int, int] = {}
    by_group: dict[int, int] = {}
    for card_id, group_id, count in votes.values_list("card_id", "group_id").annotate(n=Count("pk")).order_by():
        if card_id is not None:
            by_card[card_id] = by_card.get(card_id, 0) + count
        else:
            by_group[group_id] = by_group.get(group_id, 0) + count
    return by_card, by_group


def board(retro: Retrospective, user=None, *, reveal_all: bool = False) -> Board:
    """What ``user`` sees: others' cards after the writing, totals after the voting, no authors if anonymous."""
    revealed = reveal_all or retro.revealed
    uid = getattr(user, "pk", None)
    cards_qs = Card.objects.filter(retrospective=retro).select_related("author")
    all_count = None
    if not revealed:
        all_count = cards_qs.count()
        cards_qs = cards_qs.filter(author_id=uid) if uid is not None else cards_qs.none()
    rows = list(cards_qs.order_by("created_at", "id"))
    totals_visible = reveal_all or retro.votes_visible
    totals = _vote_counts(retro) if totals_visible else ({}, {})
    mine = _vote_counts(retro, user) if uid is not None and retro.phase_index >= PHASES.index(Phase.VOTE) else ({}, {})
    cards = [
        CardView(
            id=card.pk,
            column=card.column,
            text=card.text,
            group_id=card.group_id,
            mine=uid is not None and card.author_id == uid,
            author=None if retro.anonymous else _author_name(card.author),
            author_username=None if retro.anonymous or card.author is None else card.author.get_username(),
            votes=totals[0].get(card.pk, 0) if totals_visible else None,
            my_votes=mine[0].get(card.pk, 0),
            created_at=card.created_at,
        )
        for card in rows
    ]
    group_rows = list(CardGroup.objects.filter(retrospective=retro).order_by("created_at", "id")) if revealed else []
    members: dict[int, list[CardView]] = defaultdict(list)
    for card in cards:
        if card.group_id is not None:
            members[card.group_id].append(card)
    groups = [
        GroupView(
            id=group.pk,
            title=group.title,
            column=group.column,
            cards=members.get(group.pk, []),
            votes=totals[1].get(group.pk, 0) if totals_visible else None,
            my_votes=mine[1].get(group.pk, 0),
        )
        for group in group_rows
    ]
    known_groups = {group.id for group in groups}
    alone = [card for card in cards if card.group_id is None or card.group_id not in known_groups]
    columns = []
    keys = [column["key"] for column in retro.columns]
    for column in retro.columns:
        columns.append(
            ColumnView(
                key=column["key"],
                title=column_title(column["title"]),
                cards=[card for card in alone if card.column == column["key"]],
                groups=[group for group in groups if group.column == column["key"]],
            )
        )
    # Cards of a column that was removed (custom columns never change, but be safe) join the first.
    stray = [card for card in alone if card.column not in keys]
    if stray and columns:
        columns[0].cards += stray
    used = sum(mine[0].values()) + sum(mine[1].values())
    topics: list[Topic] = []
    if totals_visible:
        topics = [Topic("group", g.id, g.title, g.column, g.votes or 0, g.cards) for g in groups] + [
            Topic("card", c.id, c.text, c.column, c.votes or 0, [c]) for c in alone
        ]
        order = {key: n for n, key in enumerate(keys)}
        topics.sort(key=lambda t: (-t.votes, order.get(t.column, 99), t.kind != "group", t.id))
    hidden = (all_count - len(cards)) if all_count is not None else 0
    return Board(
        retro=retro,
        columns=columns,
        groups=groups,
        cards=cards,
        hidden_count=hidden,
        votes_used=used,
        votes_left=max(retro.votes_per_member - used, 0),
        topics=topics,
        version=retro_version(retro),
    )


def notes_by_topic(retro: Retrospective) -> dict[tuple[str, int | None], list[dict]]:
    """Discussion notes by ("group", id) / ("card", id) / ("", None); never their authors when anonymous."""
    notes: dict[tuple[str, int | None], list[dict]] = defaultdict(list)
    for note in DiscussionNote.objects.filter(retrospective=retro).select_related("author").order_by("created_at"):
        key: tuple[str, int | None] = (
            ("group", note.group_id) if note.group_id else ("card", note.card_id) if note.card_id else ("", None)
        )
        notes[key].append(
            {
                "id": note.pk,
                "text": note.text,
                "author": None if retro.anonymous else _author_name(note.author),
                "created_at": note.created_at,
            }
        )
    return notes


def action_items(retro: Retrospective) -> QuerySet[ActionItem]:
    return (
        ActionItem.objects.filter(retrospective=retro)
        .select_related("owner", "backlog_item__project")
        .order_by("created_at", "id")
    )


def previous_retrospective(retro: Retrospective) -> Retrospective | None:
    """The project's last closed retrospective before this one: its action items are reviewed first."""
    return (
        Retrospective.objects.filter(project_id=retro.project_id, phase=Phase.CLOSED)
        .exclude(pk=retro.pk)
        .filter(created_at__lte=retro.created_at)
        .order_by("-closed_at", "-id")
        .first()
    )


def project_retrospectives(project: Project) -> QuerySet[Retrospective]:
    """The project's retrospectives, newest first, with their sprint and counts (one query)."""
    return (
        Retrospective.objects.filter(project=project)
        .select_related("sprint", "facilitator")
        .annotate(
            card_count=Count("cards", distinct=True),
            action_count=Count("action_items", distinct=True),
        )
        .order_by("-created_at", "-id")
    )


def health_averages(retro: Retrospective) -> dict[str, dict]:
    """Per statement: the average score and how many rated it."""
    rows = (
        HealthRating.objects.filter(retrospective=retro)
        .values("statement")
        .annotate(average=Avg("score"), count=Count("pk"))
        .order_by()
    )
    return {row["statement"]: {"average": round(float(row["average"]), 2), "count": row["count"]} for row in rows}


def my_health(retro: Retrospective, user) -> dict[str, int]:
    if getattr(user, "pk", None) is None:
        return {}
    return dict(HealthRating.objects.filter(retrospective=retro, member=user).values_list("statement", "score"))


def health_trend(project: Project) -> dict:
    """Average score per statement per retrospective with a health check, oldest first."""
    retros = list(
        Retrospective.objects.filter(project=project, health_check=True)
        .select_related("sprint")
        .order_by("created_at", "id")
    )
    averages: dict[int, dict[str, float]] = defaultdict(dict)
    rows = (
        HealthRating.objects.filter(retrospective__in=retros)
        .values("retrospective_id", "statement")
        .annotate(average=Avg("score"))
        .order_by()
    )
    for row in rows:
        averages[row["retrospective_id"]][row["statement"]] = round(float(row["average"]), 2)
    return {
        "retrospectives": [
            {"id": r.pk, "title": r.title, "sprint": r.sprint.name if r.sprint else None} for r in retros
        ],
        "statements": [
            {"key": key, "text": text, "averages": [averages[r.pk].get(key) for r in retros]}
            for key, text in HEALTH_STATEMENTS
        ],
    }


def _sprint_figures(retro: Retrospective) -> dict | None:
    if retro.sprint is None:
        return None
    from sprints.selectors import sprint_report

    report = sprint_report(retro.sprint)
    change = report["scope_change"]
    return {
        "id": retro.sprint.pk,
        "name": retro.sprint.name,
        "goal": retro.sprint.goal,
        "committed_points": report["committed"]["points"],
        "committed_items": report["committed"]["items"],
        "completed_points": report["completed"]["points"],
        "completed_items": report["completed"]["items"],
        "completion_percent": report["completion_percent"],
        "scope_change": {
            "added_points": change["added_points"],
            "removed_points": change["removed_points"],
            "changed_points": change["changed_points"],
            "percent": change["percent"],
        },
    }


def _card_data(card: CardView, *, anonymous: bool, user=None) -> dict:
    data: dict = {"id": card.id, "column": card.column, "text": card.text, "votes": card.votes}
    if not anonymous:
        data["author"] = card.author
    if user is not None:
        data["mine"] = card.mine
    return data


def snapshot(retro: Retrospective, user=None, *, with_sprint: bool = True) -> dict:
    """The retrospective as data (the export and the frozen summary): never an author when anonymous."""
    closing = retro.phase == Phase.CLOSED
    view = board(retro, user, reveal_all=closing)
    notes = notes_by_topic(retro) if view.topics else {}
    anonymous = retro.anonymous
    actions = [
        {
            "text": action.text,
            "owner": action.owner.get_username() if action.owner else None,
            "due_date": action.due_date.isoformat() if action.due_date else None,
            "backlog_item": action.backlog_item.key if action.backlog_item else None,
            "done": action.done,
        }
        for action in action_items(retro)
    ]
    return {
        "id": retro.pk,
        "title": retro.title,
        "template": retro.template,
        "phase": retro.phase,
        "anonymous": anonymous,
        "closed_at": retro.closed_at.isoformat() if retro.closed_at else None,
        "generated_at": timezone.now().isoformat(),
        "sprint": _sprint_figures(retro) if with_sprint else None,
        "columns": [
            {
                "key": column.key,
                "title": column.title,
                "cards": [_card_data(c, anonymous=anonymous, user=user) for c in column.cards],
                "groups": [
                    {
                        "id": g.id,
                        "title": g.title,
                        "votes": g.votes,
                        "cards": [_card_data(c, anonymous=anonymous, user=user) for c in g.cards],
                    }
                    for g in column.groups
                ],
            }
            for column in view.columns
        ],
        "top_topics": [
            {
                "kind": topic.kind,
                "title": topic.title,
                "column": topic.column,
                "votes": topic.votes,
                "cards": [c.text for c in topic.cards],
                "notes": [n["text"] for n in notes.get((topic.kind, topic.id), [])],
            }
            for topic in view.topics[:TOP_TOPICS]
        ],
        "action_items": actions,
        "health": health_averages(retro) if retro.health_check else None,
        "card_count": len(view.cards) + view.hidden_count,
    }


def build_summary(retro: Retrospective) -> dict:
    """The summary frozen at close (no viewer: no "mine" flags, no authors at all)."""
    data = snapshot(retro, None)
    for column in data["columns"]:
        for card in column["cards"] + [c for g in column["groups"] for c in g["cards"]]:
            card.pop("author", None)
    return data


def summary_markdown(data: dict) -> str:
    """The export in Markdown (from ``snapshot``/the summary)."""
    lines = [f"# {_md(data['title'])}", ""]
    sprint = data.get("sprint")
    if sprint:
        lines += [
            f"## {_md(sprint['name'])}",
            "",
            f"- Committed: {sprint['committed_points']} points ({sprint['committed_items']} items)",
            f"- Completed: {sprint['completed_points']} points ({sprint['completed_items']} items)",
            f"- Completion: {sprint['completion_percent'] if sprint['completion_percent'] is not None else '-'}%",
            f"- Scope change: +{sprint['scope_change']['added_points']} / -{sprint['scope_change']['removed_points']}"
            " points",
            "",
        ]
    for column in data["columns"]:
        lines += [f"## {_md(column['title'])}", ""]
        for group in column["groups"]:
            votes = f" ({group['votes']} votes)" if group["votes"] is not None else ""
            lines.append(f"- **{_md(group['title'])}**{votes}")
            lines += [f"  - {_md(card['text'])}{_by(card)}" for card in group["cards"]]
        for card in column["cards"]:
            votes = f" ({card['votes']} votes)" if card["votes"] is not None else ""
            lines.append(f"- {_md(card['text'])}{votes}{_by(card)}")
        lines.append("")
    if data["top_topics"]:
        lines += ["## Top topics", ""]
        lines += [f"1. {_md(t['title'])} ({t['votes']} votes)" for t in data["top_topics"]]
        lines.append("")
    lines += ["## Action items", ""]
    for action in data["action_items"]:
        extra = [
            part
            for part in (
                f"owner: {action['owner']}" if action["owner"] else "",
                f"due {action['due_date']}" if action["due_date"] else "",
                action["backlog_item"] or "",
            )
            if part
        ]
        lines.append(
            f"- [{'x' if action['done'] else ' '}] {_md(action['text'])}" + (f" ({', '.join(extra)})" if extra else "")
        )
    if not data["action_items"]:
        lines.append("- none")
    if data.get("health"):
        lines += ["", "## Team health", ""]
        lines += [f"- {key}: {value['average']} ({value['count']})" for key, value in data["health"].items()]
    return "\n".join(lines) + "\n"


def _by(card: dict) -> str:
    return f" — {card['author']}" if card.get("author") else ""


def _md(text: str) -> str:
    """One line of Markdown: newlines folded, markup characters escaped."""
    flat = " ".join(text.split())
    for char in "\\`*_[]<>#|":
        flat = flat.replace(char, "\\" + char)
    return flat


def card_for(retro: Retrospective, card_id, user) -> Card | None:
    """A card the user may address: after the reveal any of the retrospective's, before it only their own."""
    cards = Card.objects.filter(retrospective=retro, pk=card_id)
    if not retro.revealed:
        cards = cards.filter(author_id=getattr(user, "pk", None))
    return cards.select_related("retrospective__project").first()


__all__ = [
    "Board",
    "CardView",
    "ColumnView",
    "GroupView",
    "Topic",
    "action_items",
    "board",
    "build_summary",
    "card_for",
    "health_averages",
    "health_trend",
    "my_health",
    "notes_by_topic",
    "previous_retrospective",
    "project_retrospectives",
    "retro_version",
    "snapshot",
    "summary_markdown",
]
