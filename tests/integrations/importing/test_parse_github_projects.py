"""GitHub Projects (v2) JSON parser: the shared sample read exactly, drafts, iterations, wrong shapes."""

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine

from integrations.importing import github_projects, jira_csv, jira_json
from integrations.importing.records import ImportFileError, Person, SourceSprint

FILES = Path(__file__).resolve().parent / "files"
SAMPLE = (FILES / "github-project-items.json").read_bytes()
ALMATY = ZoneInfo("Asia/Almaty")


def by_key(parsed):
    return {item.source_key: item for item in parsed.items}


def issue(number=1, repository="org/app", **values):
    return {
        "id": f"PVTI_{number}",
        "title": f"Issue {number}",
        "content": {"type": "Issue", "number": number, "title": f"Issue {number}", "repository": repository},
        **values,
    }


def project(*items, **top) -> bytes:
    return json.dumps({"items": list(items), **top}).encode()


def iteration(title, start, duration=14, iteration_id=None):
    return {"title": title, "startDate": start, "duration": duration, "iterationId": iteration_id or f"it-{start}"}


def error_of(data: bytes) -> ImportFileError:
    with pytest.raises(ImportFileError) as caught:
        github_projects.parse(data)
    return caught.value


# The sample, exactly.


@time_machine.travel(datetime(2026, 11, 20, 12, 0, tzinfo=ALMATY), tick=False)
def test_sample_items_keys_types_and_fields():
    parsed = github_projects.parse(SAMPLE, tz=ALMATY)

    assert parsed.source == "github_projects"
    assert [
        (i.row, i.source_key, i.type, i.title, i.status, i.status_category, i.priority, i.points, i.labels)
        for i in parsed.items
    ] == [
        (1, "clinic-team/crm#14", "Issue", "Patient registration form", "In Progress", "", "P1", Decimal(8),
         ["frontend", "mvp"]),
        (2, "clinic-team/crm#21", "PullRequest", "REST API for appointments", "Done", "", "P0", Decimal(5),
         ["backend"]),
        (3, "draft:PVTI_lADOBdemo03", "DraftIssue", "Telegram-бот арқылы жазылу", "Todo", "", "", Decimal(13), []),
        (4, "clinic-team/crm#30", "Issue", "CI pipeline with security scan", "Todo", "", "P2", None, ["devops"]),
    ]  # fmt: skip
    assert parsed.problems == []
    assert parsed.unknown_columns == []


@time_machine.travel(datetime(2026, 11, 20, 12, 0, tzinfo=ALMATY), tick=False)
def test_sample_people_bodies_and_urls():
    items = by_key(github_projects.parse(SAMPLE, tz=ALMATY))

    assert items["clinic-team/crm#14"].assignee == Person(login="m-ivanova")
    assert items["clinic-team/crm#30"].assignee == Person(login="aigerim-n")
    assert items["clinic-team/crm#30"].extra == {"assignees": ["aigerim-n", "daniyar-s"]}
    assert items["draft:PVTI_lADOBdemo03"].assignee is None
    assert items["clinic-team/crm#14"].description == "Name, IIN, phone.\n\n- [ ] IIN has 12 digits\n- [x] phone mask"
    assert items["draft:PVTI_lADOBdemo03"].description == "Идея: пациент ботқа жазады."
    assert items["clinic-team/crm#21"].url == "https://github.com/clinic-team/crm/pull/21"
    assert items["draft:PVTI_lADOBdemo03"].url == ""


@time_machine.travel(datetime(2026, 11, 20, 12, 0, tzinfo=ALMATY), tick=False)
def test_sample_iterations_are_sprints_with_inclusive_end_and_state_from_today():
    parsed = github_projects.parse(SAMPLE, tz=ALMATY)
    items = by_key(parsed)

    assert parsed.sprints == {
        "it20261109": SourceSprint("it20261109", "Sprint 3", date(2026, 11, 9), date(2026, 11, 22), "active"),
        "it20261026": SourceSprint("it20261026", "Sprint 2", date(2026, 10, 26), date(2026, 11, 8), "closed"),
    }
    assert items["clinic-team/crm#14"].sprint_keys == ["it20261109"]
    assert items["clinic-team/crm#30"].sprint_keys == ["it20261109"]
    assert items["draft:PVTI_lADOBdemo03"].sprint_keys == []


def test_sprint_state_follows_the_day_in_the_project_zone():
    data = project(issue(1, sprint=iteration("Next", "2026-11-23")))
    # 23:30 on the 22nd in UTC is already the 23rd in Almaty.
    with time_machine.travel(datetime(2026, 11, 22, 23, 30, tzinfo=ZoneInfo("UTC")), tick=False):
        in_almaty = github_projects.parse(data, tz=ALMATY)
        in_utc = github_projects.parse(data)

    assert in_almaty.sprints["it-2026-11-23"].state == "active"
    assert in_utc.sprints["it-2026-11-23"].state == "future"


def test_sniff_recognises_only_github_project_json():
    assert github_projects.sniff(SAMPLE)
    assert not github_projects.sniff((FILES / "jira-search.json").read_bytes())
    assert not github_projects.sniff((FILES / "jira-export.csv").read_bytes())
    assert not github_projects.sniff(b'{"format": "scrumboard-export", "version": 1, "items": [{"content": ""}]}')
    assert not jira_json.sniff(SAMPLE)
    assert not jira_csv.sniff(SAMPLE)


# Variants.


def test_drafts_need_an_item_id_and_issues_a_repository_and_number():
    draft = {"id": "PVTI_d", "content": {"type": "DraftIssue", "title": "Idea", "body": "x"}}
    parsed = github_projects.parse(
        project(
            draft,
            {"content": {"type": "DraftIssue", "title": "No id"}},
            {"id": "x", "content": {"type": "Issue", "title": "No number", "repository": "org/app"}},
            {"id": "y", "content": {"type": "Issue", "title": "No repo", "number": 3}},
            {"id": "z", "title": "From the url", "content": {"type": "PullRequest", "number": 4,
                                                              "url": "https://github.com/org/other/pull/4"}},
            {"id": "r", "content": {"type": "RedactedItem"}},
            issue(9, title=""),
            {"id": "t", "content": {"type": "Issue", "number": 10, "repository": "org/app"}},
        )
    )  # fmt: skip

    assert [(i.row, i.source_key, i.title) for i in parsed.items] == [
        (1, "draft:PVTI_d", "Idea"),
        (5, "org/other#4", "From the url"),
        (7, "org/app#9", "Issue 9"),
    ]
    assert [(p.row, p.source_key, p.message) for p in parsed.problems] == [
        (2, "", "The draft issue has no item id: skipped."),
        (3, "", "The item has no repository or number: skipped."),
        (4, "", "The item has no repository or number: skipped."),
        (6, "", "Items of type RedactedItem cannot be imported: skipped."),
        (8, "org/app#10", "The item has no title: skipped."),
    ]


def test_repository_given_as_url_and_duplicates_keep_the_first():
    parsed = github_projects.parse(
        project(issue(1, repository="https://github.com/org/app"), issue(1, repository="org/app"))
    )

    assert [item.source_key for item in parsed.items] == ["org/app#1"]
    assert [(p.row, p.message) for p in parsed.problems] == [(2, "org/app#1 appears again (first as item 1): skipped.")]


def test_points_fields_by_name_and_their_odd_values():
    parsed = github_projects.parse(
        project(
            issue(1, **{"story points": 3}),
            issue(2, size="2,5"),
            issue(3, estimate="?"),
            issue(4, points=-1),
            issue(5, size="M"),
            issue(6, estimate=None),
            issue(7, estimate=1.5),
        )
    )

    assert [(i.points, i.estimate) for i in parsed.items] == [
        (Decimal(3), "3"),
        (Decimal("2.5"), "2.5"),
        (None, "?"),
        (None, ""),
        (None, ""),
        (None, ""),
        (Decimal("1.5"), "1.5"),
    ]
    assert parsed.items[4].extra == {"size": ["M"]}
    assert [(p.row, p.message) for p in parsed.problems] == [
        (4, "points ignored: \u201c-1\u201d is not a number of points between 0 and 999999.9."),
    ]


def test_iteration_fields_any_name_sprint_named_one_preferred_and_unknown_fields_listed():
    parsed = github_projects.parse(
        project(
            issue(
                1,
                quarter=iteration("Q4", "2026-10-01", 92, "q4"),
                cycle=iteration("Sprint 7", "2026-11-16", 7, "s7"),
                team="Core",
                milestone={"title": "v1.0", "dueOn": "2026-12-01"},
                **{"linked pull requests": ["https://github.com/org/app/pull/2"]},
            ),
            issue(2, iteration={"title": "Undated", "startDate": "someday", "duration": 14, "iterationId": "u"}),
            issue(3, sprint=iteration("Sprint 7", "2026-11-16", 7, "s7"), empty_field=""),
        )
    )
    items = parsed.items

    assert items[0].sprint_keys == ["q4"]  # neither is named like a sprint: the first wins
    assert items[0].extra == {"milestone": ["v1.0"]}
    assert items[1].sprint_keys == []
    assert items[2].sprint_keys == ["s7"]
    assert parsed.sprints["s7"].end == date(2026, 11, 22)
    assert parsed.sprints["q4"].end == date(2026, 12, 31)
    assert parsed.unknown_columns == ["team", "linked pull requests"]
    assert [(p.row, p.message) for p in parsed.problems] == [(2, "iteration ignored: its start date is not a date.")]


def test_sprint_named_field_beats_an_earlier_iteration_field():
    parsed = github_projects.parse(
        project(issue(1, quarter=iteration("Q4", "2026-10-01", 92, "q4"), sprint=iteration("S", "2026-11-16", 7, "s")))
    )

    assert parsed.items[0].sprint_keys == ["s"]


def test_labels_as_objects_and_blank_assignees_are_tolerated():
    parsed = github_projects.parse(project(issue(1, labels=[{"name": "bug"}, "ui", "", None], assignees=["", 5])))

    assert (parsed.items[0].labels, parsed.items[0].assignee) == (["bug", "ui"], None)


def test_truncated_gh_output_is_reported():
    parsed = github_projects.parse(project(issue(1), issue(2), totalCount=120))

    assert len(parsed.items) == 2
    assert [(p.row, p.source_key) for p in parsed.problems] == [(0, "")]
    assert "holds 2 of the project's 120 items" in parsed.problems[0].message
    assert "--limit 120" in parsed.problems[0].message


# Whole-file errors.


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"   ", "The file is empty."),
        (b'{"items": [', "The file is not valid JSON: Expecting value at line 1, column 12."),
        (b"[]", "expected an object with \u201citems\u201d"),
        (b'{"items": {"id": "x"}}', "no \u201citems\u201d list"),
        (b'{"totalCount": 3}', "no \u201citems\u201d list"),
        (b'{"items": ["PVTI_1"]}', "Item 1 in the \u201citems\u201d list is not an object."),
    ],
)
def test_wrong_shapes_are_refused_with_a_clear_message(data, message):
    error = error_of(data)

    assert error.status == 400
    assert message in error.message


def test_row_limit_is_checked_with_count_and_limit(settings):
    settings.IMPORT_MAX_ROWS = 1

    error = error_of(project(issue(1), issue(2)))

    assert "2 rows" in error.message
    assert "at most 1" in error.message
