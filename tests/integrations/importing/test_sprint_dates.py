"""Undated sprints (Jira's CSV) get an order, a state and dates from the items that name them."""

import datetime
from zoneinfo import ZoneInfo

from integrations.importing import jira_csv
from integrations.importing.records import Parsed, SourceItem, SourceSprint
from integrations.importing.sprint_dates import infer_undated

from .test_parse_jira_csv import FILES

ALMATY = ZoneInfo("Asia/Almaty")
TODAY = datetime.date(2026, 11, 26)
CATEGORY = {
    "To Do": "todo",
    "Backlog": "todo",
    "In Progress": "in_progress",
    "In Review": "in_progress",
    "Done": "done",
}


def category(item: SourceItem) -> str:
    return CATEGORY[item.status]


def at(day: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(day + "T12:00").replace(tzinfo=ALMATY)


def item(key: str, status: str, sprints: list[str], resolved: str = "") -> SourceItem:
    return SourceItem(
        row=1,
        source_key=key,
        title=key,
        status=status,
        sprint_keys=sprints,
        resolved_at=at(resolved) if resolved else None,
    )


def infer(*items: SourceItem, sprints: list[SourceSprint] | None = None) -> dict[str, SourceSprint]:
    names = sprints or [SourceSprint(key=k, name=k) for k in dict.fromkeys(k for i in items for k in i.sprint_keys)]
    parsed = Parsed(source="jira_csv", items=list(items), sprints={s.key: s for s in names})
    infer_undated(parsed, today=TODAY, length_days=14, tz=ALMATY, category=category)
    return parsed.sprints


def shape(sprints: dict[str, SourceSprint]) -> dict[str, tuple]:
    return {k: (s.state, s.start and s.start.isoformat(), s.end and s.end.isoformat()) for k, s in sprints.items()}


def test_the_sample_jira_csv_has_two_closed_sprints_and_an_active_one():
    parsed = jira_csv.parse((FILES / "jira-export.csv").read_bytes(), tz=ALMATY)
    infer_undated(parsed, today=TODAY, length_days=14, tz=ALMATY, category=category)
    assert shape(parsed.sprints) == {
        # CRM-3, done in sprint 1, was resolved on 16 September; CRM-6, in sprint 2, on 2 October.
        "CRM Sprint 1": ("closed", "2026-09-03", "2026-09-16"),
        "CRM Sprint 2": ("closed", "2026-09-19", "2026-10-02"),
        # CRM-4 (in progress) was carried over from sprint 2: sprint 3 is the running one, up to today.
        "CRM Sprint 3": ("active", "2026-11-13", "2026-11-26"),
    }


def test_the_items_order_wins_over_the_names_and_names_sort_naturally():
    sprints = infer(
        item("A-1", "Done", ["Sprint 10"], "2026-10-30"),
        item("A-2", "Done", ["Sprint 9", "Sprint 10"], "2026-10-29"),
        item("A-3", "Done", ["Zeta"], "2026-10-01"),
        item("A-4", "Done", ["Zeta", "Sprint 9"], "2026-10-15"),
    )
    assert [k for k, _ in sorted(sprints.items(), key=lambda kv: kv[1].start)] == ["Zeta", "Sprint 9", "Sprint 10"]


def test_work_not_started_makes_every_open_sprint_future_without_dates():
    sprints = infer(
        item("A-1", "Done", ["S1"], "2026-11-01"), item("A-2", "To Do", ["S2"]), item("A-3", "To Do", ["S3"])
    )
    assert shape(sprints) == {
        "S1": ("closed", "2026-10-19", "2026-11-01"),
        "S2": ("future", None, None),
        "S3": ("future", None, None),
    }


def test_closed_sprints_never_overlap_and_end_before_today():
    sprints = infer(
        item("A-1", "Done", ["S1"], "2026-11-20"),
        item("A-2", "Done", ["S2"], "2026-11-25"),
        item("A-3", "Done", ["S3"], "2026-11-26"),
    )
    assert shape(sprints) == {
        "S1": ("closed", "2026-11-07", "2026-11-20"),
        "S2": ("closed", "2026-11-21", "2026-11-25"),
        "S3": ("closed", "2026-11-26", "2026-11-26"),
    }


def test_a_closed_sprint_with_nothing_resolved_sits_before_the_next_one():
    sprints = infer(item("A-1", "Done", ["S1", "S2"], "2026-10-10"), item("A-2", "In Progress", ["S3"]))
    assert shape(sprints) == {
        "S1": ("closed", "2026-09-13", "2026-09-26"),
        "S2": ("closed", "2026-09-27", "2026-10-10"),
        "S3": ("active", "2026-11-13", "2026-11-26"),
    }


def test_dated_or_stated_sprints_are_left_alone():
    dated = SourceSprint(key="D", name="D", start=datetime.date(2026, 1, 5), end=datetime.date(2026, 1, 16))
    stated = SourceSprint(key="F", name="F", state="future")
    sprints = infer(
        item("A-1", "Done", ["D"], "2026-01-10"), item("A-2", "In Progress", ["F"]), sprints=[dated, stated]
    )
    assert shape(sprints) == {"D": ("", "2026-01-05", "2026-01-16"), "F": ("future", None, None)}
