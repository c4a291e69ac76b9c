"""Jira CSV parser: the shared sample read exactly, and the ways real exports go wrong."""

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from integrations.importing import github_projects, jira_csv, jira_json
from integrations.importing.records import ImportFileError, Person

FILES = Path(__file__).resolve().parent / "files"
SAMPLE = (FILES / "jira-export.csv").read_bytes()
ALMATY = ZoneInfo("Asia/Almaty")
AIGERIM = Person(name="Aigerim Nurlanovna", login="712020:1f0c2a7e-aa11-4a4b-9d3e-000000000001")
DANIYAR = Person(name="Daniyar Seitkali", login="712020:1f0c2a7e-aa11-4a4b-9d3e-000000000002")
MARIA = Person(name="Maria Ivanova", login="712020:1f0c2a7e-aa11-4a4b-9d3e-000000000003")


def by_key(parsed):
    return {item.source_key: item for item in parsed.items}


def csv_bytes(*lines: str, bom: bool = False, newline: str = "\r\n") -> bytes:
    return ("\ufeff" if bom else "").encode() + (newline.join(lines) + newline).encode()


def error_of(data: bytes) -> ImportFileError:
    with pytest.raises(ImportFileError) as caught:
        jira_csv.parse(data)
    return caught.value


# The sample, exactly.


def test_sample_gives_every_issue_in_file_order_with_its_first_line():
    parsed = jira_csv.parse(SAMPLE, tz=ALMATY)

    assert parsed.source == "jira_csv"
    assert [(item.row, item.source_key) for item in parsed.items] == [
        (2, "CRM-1"),
        (3, "CRM-2"),
        (4, "CRM-3"),
        (6, "CRM-4"),
        (10, "CRM-5"),
        (11, "CRM-6"),
        (12, "CRM-7"),
        (13, "CRM-8"),
        (17, "CRM-9"),
        (18, "CRM-10"),
    ]
    assert parsed.problems == []


def test_sample_types_statuses_categories_and_priorities():
    items = by_key(jira_csv.parse(SAMPLE))

    assert [(i.type, i.status, i.status_category, i.priority) for i in items.values()] == [
        ("Epic", "Done", "done", "High"),
        ("Epic", "In Progress", "in_progress", "High"),
        ("Story", "Done", "done", "High"),
        ("Story", "In Progress", "in_progress", "Medium"),
        ("Story", "In Review", "in_progress", "High"),
        ("Subtask", "Done", "done", "Medium"),
        ("Task", "To Do", "todo", "Medium"),
        ("Bug", "To Do", "todo", "Highest"),
        ("Story", "Backlog", "todo", "Low"),
        ("Task", "Backlog", "todo", "Medium"),
    ]


def test_sample_labels_points_parents_and_sprints():
    items = by_key(jira_csv.parse(SAMPLE))

    assert items["CRM-3"].labels == ["database", "architecture"]
    assert items["CRM-9"].labels == []
    assert {key: item.points for key, item in items.items() if item.points is not None} == {
        "CRM-3": Decimal(5),
        "CRM-4": Decimal(8),
        "CRM-5": Decimal(5),
        "CRM-7": Decimal(3),
        "CRM-8": Decimal(2),
        "CRM-9": Decimal(13),
    }
    assert items["CRM-4"].estimate == "8"
    assert items["CRM-1"].estimate == ""
    assert {key: item.parent_key for key, item in items.items() if item.parent_key} == {
        "CRM-3": "CRM-1",
        "CRM-4": "CRM-2",
        "CRM-5": "CRM-2",
        "CRM-6": "CRM-5",
        "CRM-7": "CRM-1",
        "CRM-9": "CRM-2",
    }
    assert items["CRM-4"].sprint_keys == ["CRM Sprint 2", "CRM Sprint 3"]
    assert items["CRM-7"].sprint_keys == []


def test_sample_sprints_are_known_by_name_without_dates():
    parsed = jira_csv.parse(SAMPLE)

    assert [(s.key, s.name, s.start, s.end, s.state) for s in parsed.sprints.values()] == [
        ("CRM Sprint 1", "CRM Sprint 1", None, None, ""),
        ("CRM Sprint 2", "CRM Sprint 2", None, None, ""),
        ("CRM Sprint 3", "CRM Sprint 3", None, None, ""),
    ]


def test_sample_people_are_display_names_with_account_ids():
    parsed = jira_csv.parse(SAMPLE)
    items = by_key(parsed)

    assert items["CRM-4"].assignee == MARIA
    assert items["CRM-4"].reporter == AIGERIM
    assert items["CRM-7"].assignee is None
    assert parsed.people == [AIGERIM, DANIYAR, MARIA]


def test_sample_comments_have_authors_times_and_semicolons_kept():
    items = by_key(jira_csv.parse(SAMPLE, tz=ALMATY))

    assert [(c.author, c.at, c.body) for c in items["CRM-4"].comments] == [
        (MARIA, datetime(2026, 11, 10, 11, 0, tzinfo=ALMATY), "Дизайн дайын"),
        (DANIYAR, datetime(2026, 11, 12, 15, 15, tzinfo=ALMATY), "API is ready, see CRM-5"),
    ]
    assert items["CRM-3"].comments[0].author == AIGERIM
    assert items["CRM-3"].comments[0].body == "Looks good, ship it."


def test_sample_dates_are_made_aware_in_the_project_zone_or_utc():
    almaty = by_key(jira_csv.parse(SAMPLE, tz=ALMATY))
    utc = by_key(jira_csv.parse(SAMPLE))

    assert almaty["CRM-3"].created_at == datetime(2026, 9, 4, 10, 0, tzinfo=ALMATY)
    assert almaty["CRM-3"].created_at.utcoffset().total_seconds() == 5 * 3600
    assert almaty["CRM-3"].resolved_at == datetime(2026, 9, 16, 18, 5, tzinfo=ALMATY)  # 6:05 PM
    assert utc["CRM-3"].created_at == datetime(2026, 9, 4, 10, 0, tzinfo=UTC)
    assert almaty["CRM-8"].due_date == date(2026, 12, 1)
    assert almaty["CRM-2"].resolved_at is None


def test_sample_kazakh_and_russian_text_and_quoted_newlines_are_intact():
    items = by_key(jira_csv.parse(SAMPLE))

    assert items["CRM-4"].title == "Пациенттерді тіркеу формасы"
    assert items["CRM-4"].description == (
        "Пациент аты-жөні, ЖСН, телефон нөмірі.\n\nҚабылдау критерийлері:\n- ЖСН 12 цифрдан тұрады"
    )
    assert items["CRM-9"].title == "Запись на приём через Telegram-бот"
    assert items["CRM-8"].title == 'Login fails when password contains "quotes", commas, or ; semicolons'
    assert items["CRM-8"].description == 'Steps:\n1. Password: a"b,c;d\n2. Log in\nExpected: logged in. Actual: 500.'


def test_sample_keeps_recognised_unmapped_fields_and_lists_unknown_columns_once():
    parsed = jira_csv.parse(SAMPLE)
    items = by_key(parsed)

    assert items["CRM-3"].extra == {"resolution": ["Done"], "fix_versions": ["1.0"], "components": ["Backend"]}
    assert items["CRM-3"].rank == "0|i0000f:"
    assert parsed.unknown_columns == ["Updated"]


def test_sniff_recognises_only_jira_csv():
    assert jira_csv.sniff(SAMPLE)
    assert jira_csv.sniff(SAMPLE.removeprefix(b"\xef\xbb\xbf"))
    assert not jira_csv.sniff((FILES / "jira-search.json").read_bytes())
    assert not jira_csv.sniff((FILES / "github-project-items.json").read_bytes())
    assert not jira_csv.sniff(b"Title,Owner\r\nx,y\r\n")
    assert not jira_csv.sniff(b"")


def test_sample_is_not_taken_by_the_json_parsers():
    assert not jira_json.sniff(SAMPLE)
    assert not github_projects.sniff(SAMPLE)


# Encodings, line endings, delimiters.


def test_without_bom_and_with_lf_only_the_result_is_the_same():
    plain = SAMPLE.removeprefix(b"\xef\xbb\xbf").replace(b"\r\n", b"\n")

    assert jira_csv.parse(plain, tz=ALMATY) == jira_csv.parse(SAMPLE, tz=ALMATY)


def test_cp1251_bytes_name_the_byte_and_line():
    data = csv_bytes("Summary,Issue key", "Ok,CRM-1").removesuffix(b"\r\n") + "\r\nВход,CRM-2\r\n".encode("cp1251")

    error = error_of(data)

    assert error.status == 400
    assert "not UTF-8" in error.message
    assert "0xC2" in error.message
    assert "line 3" in error.message


def test_semicolon_delimited_export_is_read():
    parsed = jira_csv.parse(csv_bytes("Summary;Issue key;Labels;Labels", '"Login; broken";CRM-1;a;b'))

    assert [(i.source_key, i.title, i.labels) for i in parsed.items] == [("CRM-1", "Login; broken", ["a", "b"])]


# Whole-file errors.


def test_empty_file_is_refused():
    assert error_of(b"").message == "The file is empty."
    assert error_of(b"\xef\xbb\xbf \r\n").message == "The file is empty."


def test_header_only_is_refused():
    assert error_of(csv_bytes("Summary,Issue key,Status")).message == "The file has a header line but no issues."


def test_no_summary_column_is_refused_with_a_hint():
    error = error_of(csv_bytes("Title,Issue key", "Login,CRM-1"))

    assert "no \u201cSummary\u201d column" in error.message
    assert "Export CSV (all fields)" in error.message


def test_unterminated_quote_names_the_line_where_the_field_starts():
    data = csv_bytes(
        "Summary,Issue key,Description", "Ok,CRM-1,fine", 'Broken,CRM-2,"starts here', "more", "Last,CRM-3,x"
    )

    error = error_of(data)

    assert "line 3" in error.message
    assert "never closed" in error.message


def test_stray_text_after_a_closing_quote_names_the_line():
    error = error_of(csv_bytes("Summary,Issue key", "Ok,CRM-1", '"Bad"x,CRM-2'))

    assert "near line 3" in error.message


def test_unterminated_quote_swallowing_a_huge_tail_says_so():
    data = csv_bytes("Summary,Issue key,Description", 'Broken,CRM-1,"open', *(["x" * 1000] * 200))

    error = error_of(data)

    assert "line 2" in error.message
    assert "never closed" in error.message


def test_huge_field_below_the_csv_limit_is_kept_whole():
    description = "Ж" * 100_000

    item = jira_csv.parse(csv_bytes("Summary,Issue key,Description", f'Big,CRM-1,"{description}"')).items[0]

    assert item.description == description


def test_row_limit_is_checked_with_count_and_limit(settings):
    settings.IMPORT_MAX_ROWS = 3
    rows = [f"Issue {n},CRM-{n}" for n in range(1, 5)]

    error = error_of(csv_bytes("Summary,Issue key", *rows))

    assert error.status == 400
    assert "4 rows" in error.message
    assert "at most 3" in error.message
    settings.IMPORT_MAX_ROWS = 4
    assert len(jira_csv.parse(csv_bytes("Summary,Issue key", *rows)).items) == 4


# Rows and fields.


def test_rows_without_summary_or_key_are_skipped_with_a_problem():
    parsed = jira_csv.parse(csv_bytes("Summary,Issue key", ",CRM-1", "No key,", "Fine,CRM-3", ",,"))

    assert [item.source_key for item in parsed.items] == ["CRM-3"]
    assert [(p.row, p.source_key, p.message) for p in parsed.problems] == [
        (2, "CRM-1", "The row has no summary: skipped."),
        (3, "", "The row has no issue key: skipped."),
    ]


def test_duplicate_keys_keep_the_first_row():
    parsed = jira_csv.parse(csv_bytes("Summary,Issue key,Created", "First,CRM-1,", "Second,CRM-1,not a date"))

    assert [item.title for item in parsed.items] == ["First"]
    assert [(p.row, p.source_key) for p in parsed.problems] == [(3, "CRM-1")]
    assert "first on line 2" in parsed.problems[0].message


def test_five_labels_columns_are_one_list_without_blanks_or_repeats():
    parsed = jira_csv.parse(csv_bytes("Summary,Issue key,Labels,Labels,Labels,Labels,Labels", "X,CRM-1,a,,b,a,c"))

    assert parsed.items[0].labels == ["a", "b", "c"]
    assert parsed.unknown_columns == []


def test_points_empty_unknown_comma_decimal_and_garbage():
    parsed = jira_csv.parse(
        csv_bytes(
            "Summary,Issue key,Custom field (Story Points)",
            "Empty,CRM-1,",
            "Unknown,CRM-2,?",
            'Comma,CRM-3,"2,5"',
            "Dot,CRM-4,0.5",
            "Text,CRM-5,lots",
            "Negative,CRM-6,-3",
            "Fine,CRM-7,1.25",
        )
    )
    items = by_key(parsed)

    assert [(key, item.points, item.estimate) for key, item in items.items()] == [
        ("CRM-1", None, ""),
        ("CRM-2", None, "?"),
        ("CRM-3", Decimal("2.5"), "2.5"),
        ("CRM-4", Decimal("0.5"), "0.5"),
        ("CRM-5", None, ""),
        ("CRM-6", None, ""),
        ("CRM-7", Decimal("1.3"), "1.3"),
    ]
    assert [(p.row, p.source_key, p.message) for p in parsed.problems] == [
        (6, "CRM-5", "Story points ignored: \u201clots\u201d is not a number."),
        (7, "CRM-6", "Story points ignored: \u201c-3\u201d is not a number of points between 0 and 999999.9."),
    ]


def test_parent_from_id_column_or_epic_link_resolves_to_keys():
    parsed = jira_csv.parse(
        csv_bytes(
            "Summary,Issue key,Issue id,Parent id,Custom field (Epic Link)",
            "Epic,CRM-1,100,,",
            "Child by id,CRM-2,101,100,",
            "Story by epic link,CRM-3,102,,crm-1",
            "Lost parent,CRM-4,103,999,",
            "Lost parent id but an epic link,CRM-5,104,998,CRM-1",
        )
    )
    items = by_key(parsed)

    assert [items[key].parent_key for key in ("CRM-1", "CRM-2", "CRM-3", "CRM-4", "CRM-5")] == [
        "",
        "CRM-1",
        "CRM-1",
        "",
        "CRM-1",
    ]
    assert [(p.row, p.source_key, p.message) for p in parsed.problems] == [
        (5, "CRM-4", "Parent ignored: issue 999 is not in this file."),
    ]


def test_jira_date_formats_and_bad_dates():
    parsed = jira_csv.parse(
        csv_bytes(
            "Summary,Issue key,Created,Resolved,Due date",
            "A,CRM-1,24/Nov/26 10:15 AM,24/Nov/2026 22:15,2026-12-01",
            "B,CRM-2,2026-11-24T10:15:00+03:00,24/Nov/26 12:05 AM,01/Dec/26",
            "C,CRM-3,24/ноя/26 10:15,yesterday,32/Dec/26",
        ),
        tz=ALMATY,
    )
    items = by_key(parsed)

    assert items["CRM-1"].created_at == datetime(2026, 11, 24, 10, 15, tzinfo=ALMATY)
    assert items["CRM-1"].resolved_at == datetime(2026, 11, 24, 22, 15, tzinfo=ALMATY)
    assert items["CRM-1"].due_date == date(2026, 12, 1)
    assert items["CRM-2"].created_at == datetime(2026, 11, 24, 7, 15, tzinfo=UTC)
    assert items["CRM-2"].resolved_at == datetime(2026, 11, 24, 0, 5, tzinfo=ALMATY)
    assert items["CRM-2"].due_date == date(2026, 12, 1)
    assert items["CRM-3"].created_at == datetime(2026, 11, 24, 10, 15, tzinfo=ALMATY)
    assert (items["CRM-3"].resolved_at, items["CRM-3"].due_date) == (None, None)
    assert [(p.source_key, p.message) for p in parsed.problems] == [
        ("CRM-3", "Resolved ignored: \u201cyesterday\u201d is not a date."),
        ("CRM-3", "Due date ignored: \u201c32/Dec/26\u201d is not a date."),
    ]


def test_status_category_localised_and_missing():
    parsed = jira_csv.parse(
        csv_bytes(
            "Summary,Issue key,Status,Status Category",
            "A,CRM-1,Сделать,К выполнению",
            "B,CRM-2,В работе,В работе",
            "C,CRM-3,Готово,Готово",
            "D,CRM-4,Weird,",
        )
    )

    assert [item.status_category for item in parsed.items] == ["todo", "in_progress", "done", ""]


def test_people_with_email_columns_and_comment_authors_matching_them():
    parsed = jira_csv.parse(
        csv_bytes(
            "Summary,Issue key,Assignee,Assignee Id,Assignee Email,Comment,Comment",
            "A,CRM-1,Aigerim N,acc-1,Aigerim@Example.KZ,24/Nov/26 10:15 AM;acc-1;see; also this,"
            "24/Nov/26 11:00 AM;acc-9;who is this",
            "B,CRM-2,,,,no structure here,",
        )
    )
    items = by_key(parsed)
    aigerim = Person(name="Aigerim N", email="aigerim@example.kz", login="acc-1")

    assert items["CRM-1"].assignee == aigerim
    assert [(c.author, c.body) for c in items["CRM-1"].comments] == [
        (aigerim, "see; also this"),
        (Person(login="acc-9"), "who is this"),
    ]
    assert [(c.author, c.at, c.body) for c in items["CRM-2"].comments] == [(None, None, "no structure here")]


def test_unknown_columns_are_listed_once_in_header_order():
    parsed = jira_csv.parse(
        csv_bytes("Summary,Issue key,Watchers,Watchers,Environment,Parent summary", "A,CRM-1,x,y,z,")
    )

    assert parsed.unknown_columns == ["Watchers", "Environment"]


def test_extra_fields_past_the_header_are_reported_and_short_rows_read():
    parsed = jira_csv.parse(csv_bytes("Summary,Issue key,Status", "A,CRM-1,Done,surprise", "B,CRM-2"))

    assert [(i.source_key, i.status) for i in parsed.items] == [("CRM-1", "Done"), ("CRM-2", "")]
    assert [(p.row, p.message) for p in parsed.problems] == [
        (2, "The row has 4 fields but the header has 3: the extra fields are ignored.")
    ]


def test_wiki_markup_in_descriptions_and_comments_becomes_markdown():
    parsed = jira_csv.parse(
        csv_bytes(
            "Summary,Issue key,Description,Comment",
            'A,CRM-1,"h3. Steps\n# open {{/login}}\n# type a *long* password","24/Nov/26 10:15 AM;acc-1;_done_; see [PR|https://git.example/1]"',
        )
    )
    item = parsed.items[0]

    assert item.description == "### Steps\n1. open `/login`\n1. type a **long** password"
    assert item.comments[0].body == "*done*; see [PR](https://git.example/1)"
