"""Jira REST search JSON parser: the shared sample read exactly, v2/v3 and Server variants, wrong shapes."""

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from integrations.importing import github_projects, jira_csv, jira_json
from integrations.importing.records import ImportFileError, Person, SourceSprint

FILES = Path(__file__).resolve().parent / "files"
SAMPLE = (FILES / "jira-search.json").read_bytes()
ALMATY = ZoneInfo("Asia/Almaty")
PLUS_FIVE = timezone(timedelta(hours=5))
AIGERIM = Person(
    name="Aigerim Nurlanovna", email="aigerim@example.kz", login="712020:1f0c2a7e-aa11-4a4b-9d3e-000000000001"
)
DANIYAR = Person(
    name="Daniyar Seitkali", email="daniyar@example.kz", login="712020:1f0c2a7e-aa11-4a4b-9d3e-000000000002"
)


def by_key(parsed):
    return {item.source_key: item for item in parsed.items}


def issue(key="CRM-1", **fields):
    return {"key": key, "fields": {"summary": f"Issue {key}", **fields}}


def search(*issues, **top) -> bytes:
    return json.dumps({"issues": list(issues), **top}).encode()


def error_of(data: bytes) -> ImportFileError:
    with pytest.raises(ImportFileError) as caught:
        jira_json.parse(data)
    return caught.value


# The sample, exactly.


def test_sample_issues_types_statuses_and_categories():
    parsed = jira_json.parse(SAMPLE, tz=ALMATY)

    assert parsed.source == "jira_json"
    assert [(i.row, i.source_key, i.type, i.status, i.status_category, i.priority) for i in parsed.items] == [
        (1, "CRM-2", "Epic", "In Progress", "in_progress", "Medium"),
        (2, "CRM-3", "Story", "Done", "done", "Medium"),
        (3, "CRM-5", "Story", "In Review", "in_progress", "High"),
        (4, "CRM-6", "Subtask", "Done", "done", "Medium"),
        (5, "CRM-8", "Bug", "To Do", "todo", "Highest"),
    ]
    assert parsed.problems == []
    assert parsed.unknown_columns == ["updated"]


def test_sample_labels_points_parents_people_and_urls():
    items = by_key(jira_json.parse(SAMPLE))

    assert {k: i.labels for k, i in items.items()} == {
        "CRM-2": ["mvp"],
        "CRM-3": ["database"],
        "CRM-5": ["api", "mvp"],
        "CRM-6": ["api"],
        "CRM-8": ["bug", "security"],
    }
    assert {k: i.points for k, i in items.items()} == {
        "CRM-2": None,
        "CRM-3": Decimal(5),
        "CRM-5": Decimal(5),
        "CRM-6": None,
        "CRM-8": Decimal(2),
    }
    assert {k: i.parent_key for k, i in items.items()} == {
        "CRM-2": "",
        "CRM-3": "CRM-1",
        "CRM-5": "CRM-2",
        "CRM-6": "CRM-5",
        "CRM-8": "",
    }
    assert items["CRM-3"].assignee == DANIYAR
    assert items["CRM-3"].reporter == AIGERIM
    assert items["CRM-8"].assignee is None
    assert items["CRM-2"].url == "https://example.atlassian.net/browse/CRM-2"


def test_sample_sprints_with_dates_and_states_keyed_by_name():
    parsed = jira_json.parse(SAMPLE, tz=ALMATY)
    items = by_key(parsed)

    assert parsed.sprints == {
        "CRM Sprint 1": SourceSprint("CRM Sprint 1", "CRM Sprint 1", date(2026, 9, 7), date(2026, 9, 21), "closed"),
        "CRM Sprint 3": SourceSprint("CRM Sprint 3", "CRM Sprint 3", date(2026, 11, 9), date(2026, 11, 23), "active"),
    }
    assert items["CRM-3"].sprint_keys == ["CRM Sprint 1"]
    assert items["CRM-8"].sprint_keys == ["CRM Sprint 3"]
    assert items["CRM-2"].sprint_keys == []


def test_sample_dates_keep_their_offsets_and_due_date_is_a_day():
    items = by_key(jira_json.parse(SAMPLE))

    assert items["CRM-2"].created_at == datetime(2026, 9, 20, 14, 45, tzinfo=PLUS_FIVE)
    assert items["CRM-8"].due_date == date(2026, 12, 1)
    assert items["CRM-2"].due_date is None


def test_sample_descriptions_are_markdown_and_text_is_intact():
    items = by_key(jira_json.parse(SAMPLE))

    assert items["CRM-3"].description == "Tables for patients, doctors, visits.\n\nIndexes on phone and IIN."
    assert items["CRM-5"].description == (
        "GET/POST /appointments:\n\n- Filter by doctor\n- Filter by day, **in the clinic's timezone**"
    )
    assert items["CRM-6"].description == ""
    assert items["CRM-8"].title == "Пароль с кавычками ломает вход"
    assert items["CRM-8"].description == 'Steps: password a"b,c;d — 500.'


def test_sniff_recognises_only_jira_search_json():
    assert jira_json.sniff(SAMPLE)
    assert not jira_json.sniff((FILES / "jira-export.csv").read_bytes())
    assert not jira_json.sniff((FILES / "github-project-items.json").read_bytes())
    assert not jira_json.sniff(b'{"format": "scrumboard-export", "items": []}')
    assert not github_projects.sniff(SAMPLE)
    assert not jira_csv.sniff(SAMPLE)


# Variants real exports take.


def test_without_names_the_well_known_fields_and_sprint_shape_are_used():
    data = search(
        issue(
            customfield_10016=3,
            customfield_10014="crm-9",
            customfield_10777=[{"id": 5, "name": "Sprint 5", "state": "future"}],
        )
    )

    item = jira_json.parse(data).items[0]

    assert (item.points, item.parent_key, item.sprint_keys) == (Decimal(3), "CRM-9", ["Sprint 5"])


def test_names_map_is_the_truth_when_present():
    data = search(
        issue(customfield_10016=3, customfield_10050="2,5", customfield_10014="CRM-9"),
        names={"customfield_10050": "Story Points", "customfield_10016": "Team"},
    )
    parsed = jira_json.parse(data)

    assert (parsed.items[0].points, parsed.items[0].parent_key) == (Decimal("2.5"), "")
    assert parsed.unknown_columns == ["Team", "customfield_10014"]


def test_legacy_greenhopper_sprint_strings_are_read_oldest_first():
    legacy = (
        "com.atlassian.greenhopper.service.sprint.Sprint@1a2b[id={id},rapidViewId=2,state={state},"
        "name={name},goal=,startDate={start},endDate={end},completeDate=<null>,sequence={id}]"
    )
    data = search(
        issue(
            customfield_10020=[
                legacy.format(id=2, state="ACTIVE", name="Sprint 2, the big one", start="2026-11-09T09:00:00.000+05:00",
                              end="2026-11-23T09:00:00.000+05:00"),
                legacy.format(id=1, state="CLOSED", name="Sprint 1", start="2026-10-26T09:00:00.000+05:00",
                              end="2026-11-08T09:00:00.000+05:00"),
            ]
        ),
        names={"customfield_10020": "Sprint"},
    )  # fmt: skip

    parsed = jira_json.parse(data, tz=ALMATY)

    assert parsed.items[0].sprint_keys == ["Sprint 1", "Sprint 2, the big one"]
    assert parsed.sprints["Sprint 2, the big one"] == SourceSprint(
        "Sprint 2, the big one", "Sprint 2, the big one", date(2026, 11, 9), date(2026, 11, 23), "active"
    )
    assert parsed.sprints["Sprint 1"].state == "closed"


ADF_TEXT = [{"type": "text", "text": "Дайын, "}, {"type": "text", "text": "see", "marks": [{"type": "em"}]}]


def test_v2_string_description_and_comments_with_adf_or_text_bodies():
    data = search(
        issue(
            description="h1. Wiki markup stays as it is",
            comment={
                "comments": [
                    {
                        "author": {"accountId": "acc-1", "displayName": "Aigerim", "emailAddress": "A@X.KZ"},
                        "created": "2026-11-12T15:15:00.000+0500",
                        "body": {"type": "doc", "content": [{"type": "paragraph", "content": ADF_TEXT}]},
                    },
                    {"author": {"name": "daniyar", "displayName": "Daniyar"}, "created": "garbage", "body": "v2 text"},
                    "not a comment",
                ]
            },
        )
    )  # fmt: skip

    item = jira_json.parse(data).items[0]

    assert item.description == "h1. Wiki markup stays as it is"
    assert [(c.author, c.at, c.body) for c in item.comments] == [
        (
            Person(name="Aigerim", email="a@x.kz", login="acc-1"),
            datetime(2026, 11, 12, 10, 15, tzinfo=UTC),
            "Дайын, *see*",
        ),
        (Person(name="Daniyar", login="daniyar"), None, "v2 text"),
    ]


def test_resolution_components_and_versions_are_kept_as_extra():
    data = search(
        issue(
            resolution={"name": "Fixed"},
            components=[{"name": "Backend"}, {"name": "API"}],
            fixVersions=[{"name": "1.0"}],
            versions=[],
        )
    )

    assert jira_json.parse(data).items[0].extra == {
        "resolution": ["Fixed"],
        "components": ["Backend", "API"],
        "fix_versions": ["1.0"],
    }


def test_points_problems_and_bad_dates_are_reported_per_issue():
    data = search(
        issue("CRM-1", customfield_10016="lots", created="last week"),
        issue("CRM-2", customfield_10016="?", duedate="soon"),
        names={"customfield_10016": "Story point estimate"},
    )

    parsed = jira_json.parse(data)

    assert [(i.points, i.estimate) for i in parsed.items] == [(None, ""), (None, "?")]
    assert [(p.row, p.source_key, p.message) for p in parsed.problems] == [
        (1, "CRM-1", "Story points ignored: \u201clots\u201d is not a number."),
        (1, "CRM-1", "Created ignored: \u201clast week\u201d is not a date."),
        (2, "CRM-2", "Due date ignored: \u201csoon\u201d is not a date."),
    ]


def test_issues_without_key_summary_or_fields_and_duplicates_are_skipped():
    data = search(
        {"fields": {"summary": "No key"}},
        {"key": "CRM-2", "fields": {"summary": "  "}},
        {"key": "CRM-3"},
        issue("CRM-4"),
        issue("CRM-4"),
    )

    parsed = jira_json.parse(data)

    assert [item.source_key for item in parsed.items] == ["CRM-4"]
    assert [(p.row, p.source_key, p.message) for p in parsed.problems] == [
        (1, "", "The issue has no issue key: skipped."),
        (2, "CRM-2", "The issue has no summary: skipped."),
        (3, "CRM-3", "The issue has no \u201cfields\u201d object: skipped."),
        (5, "CRM-4", "CRM-4 appears again (first as issue 4): skipped."),
    ]


def test_odd_field_values_are_tolerated():
    data = search(
        issue(
            issuetype="Story",
            status={"name": "Blocked", "statusCategory": {"key": "undefined"}},
            labels=["ok", 3, None, "ok"],
            assignee="someone",
            parent=[],
            priority=None,
        )
    )

    item = jira_json.parse(data).items[0]

    assert (item.type, item.status, item.status_category, item.labels, item.assignee, item.parent_key) == (
        "Story",
        "Blocked",
        "",
        ["ok"],
        None,
        "",
    )


# Whole-file errors.


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b'{"issues": [}', "The file is not valid JSON: Expecting value at line 1, column 13."),
        (b'{\n  "issues": [\n    {"key": "A-1",}\n  ]\n}', "at line 3, column 19"),
        (b"[1, 2]", "expected an object with \u201cissues\u201d"),
        (b'"issues"', "expected an object with \u201cissues\u201d"),
        (b'{"issues": {"key": "A-1"}}', "no \u201cissues\u201d list"),
        (b'{"total": 0}', "no \u201cissues\u201d list"),
        (b'{"issues": [{"key": "A-1", "fields": {"summary": "x"}}, 7]}', "Issue 2 in the \u201cissues\u201d list"),
        ('{"issues": "Вход"}'.encode("cp1251"), "not UTF-8 text: byte 0xC2 on line 1"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_wrong_shapes_are_refused_with_a_clear_message(data, message):
    error = error_of(data)

    assert error.status == 400
    assert message in error.message


def test_empty_issues_list_parses_to_nothing():
    parsed = jira_json.parse(search())

    assert (parsed.items, parsed.problems, parsed.unknown_columns) == ([], [], [])


def test_row_limit_is_checked_with_count_and_limit(settings):
    settings.IMPORT_MAX_ROWS = 2

    error = error_of(search(issue("A-1"), issue("A-2"), issue("A-3")))

    assert "3 rows" in error.message
    assert "at most 2" in error.message


def test_csv_and_json_exports_of_one_jira_name_items_and_sprints_alike():
    from_json = by_key(jira_json.parse(SAMPLE))
    from_csv = by_key(jira_csv.parse((FILES / "jira-export.csv").read_bytes()))

    for key in ("CRM-3", "CRM-5", "CRM-8"):
        assert from_json[key].sprint_keys == from_csv[key].sprint_keys
        assert from_json[key].parent_key == from_csv[key].parent_key
        assert from_json[key].points == from_csv[key].points
