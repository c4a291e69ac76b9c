"""The import mapping and apply, on hand-made ``Parsed`` files: what each source word becomes, that the
preview writes nothing, re-imports update instead of duplicating, a failure halfway leaves nothing,
and the number of queries does not grow with the number of rows."""

import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from backlog import services as backlog_services
from backlog.models import BacklogItem, Comment, ItemCounter, ItemEvent, Label, Priority, Status, StatusCategory
from integrations.importing import applying, jobs, mapping
from integrations.importing.records import Parsed, Person, RowProblem, SourceComment, SourceItem, SourceSprint
from integrations.models import ImportJob, ImportState, SourceLink
from sprints import services as sprint_services
from sprints.models import CommittedItem, Sprint, SprintState
from tests.factories import UserFactory, make_member

ALMATY = ZoneInfo("Asia/Almaty")


def item(key: str, title: str = "", **fields) -> SourceItem:
    row = int(key.rsplit("-", 1)[-1]) if key[-1].isdigit() else 1
    return SourceItem(row=row, source_key=key, title=title or f"Title of {key}", **fields)


def parsed(*items: SourceItem, sprints=(), problems=(), unknown=()) -> Parsed:
    return Parsed(
        source="jira_csv",
        items=list(items),
        sprints={sprint.key: sprint for sprint in sprints},
        problems=list(problems),
        unknown_columns=list(unknown),
    )


def run(project, file: Parsed, by) -> dict:
    with transaction.atomic():
        return applying.apply(
            mapping.plan(project, file, system="jira"), actor=by, job=None, progress=lambda d, t: None
        )


def table_counts(project) -> dict:
    """Every row an import could write, counted."""
    through = BacklogItem.labels.through
    return {
        "items": BacklogItem.objects.count(),
        "labels": Label.objects.count(),
        "item_labels": through.objects.count(),
        "comments": Comment.objects.count(),
        "events": ItemEvent.objects.count(),
        "sprints": Sprint.objects.count(),
        "commitments": CommittedItem.objects.count(),
        "links": SourceLink.objects.count(),
        "counters": list(ItemCounter.objects.values_list("project_id", "last_number")),
        "statuses": Status.objects.count(),
        "jobs": ImportJob.objects.count(),
    }


# --- words --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source_type", "labels", "expected"),
    [
        ("Epic", [], "epic"),
        ("Story", [], "story"),
        ("Task", [], "task"),
        ("Sub-task", [], "task"),
        ("Bug", [], "bug"),
        ("Spike", [], "spike"),
        ("Research", [], "spike"),
        ("Issue", [], "story"),
        ("DraftIssue", [], "story"),
        ("PullRequest", [], "task"),
        ("Issue", ["ui", "bug"], "bug"),
        ("Improvement", [], "story"),
    ],
)
def test_source_types_become_item_types(source_type, labels, expected):
    assert mapping.item_type(item("X-1", type=source_type, labels=labels)) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Highest", "highest"),
        ("Blocker", "highest"),
        ("Critical", "highest"),
        ("P0", "highest"),
        ("High", "high"),
        ("Major", "high"),
        ("P1", "high"),
        ("Medium", "medium"),
        ("P2", "medium"),
        ("Low", "low"),
        ("Minor", "low"),
        ("P3", "low"),
        ("Lowest", "lowest"),
        ("Trivial", "lowest"),
        ("P4", "lowest"),
        ("", "medium"),
        ("Whatever", "medium"),
    ],
)
def test_source_priorities_become_priorities(name, expected):
    assert mapping.priority(name) == expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("Closed", "done"),
        ("Resolved", "done"),
        ("Code review", "in_progress"),
        ("Testing", "in_progress"),
        ("Icebox", "todo"),
    ],
)
def test_status_category_is_guessed_from_the_name_when_the_source_does_not_say(status, expected):
    assert mapping.guess_category(status) == expected


@pytest.mark.parametrize(
    ("points", "estimate", "noted"),
    [
        (None, "", False),
        (Decimal("5"), "5", False),
        (Decimal("0"), "0", False),
        (Decimal("2.5"), "3", True),
        (Decimal("250"), "100", True),
    ],
)
def test_points_become_a_value_of_the_scale(points, estimate, noted):
    value, note = mapping.estimate_for(points)
    assert value == estimate
    assert bool(note) is noted


def test_statuses_map_by_exact_name_first_then_by_category_to_the_first_status_of_it(team):
    project = team.project
    file = parsed(
        item("J-1", status="In Review", status_category="in_progress"),
        item("J-2", status="Doing", status_category="in_progress"),
        item("J-3", status="Closed"),
        item("J-4", status="Ready"),
    )
    plan = mapping.plan(project, file, system="jira")
    assert [p.status.name for p in plan.items] == ["In Review", "In Progress", "Done", "To Do"]
    assert {"source": "Doing", "category": "in_progress", "status": "In Progress"} in plan.report["status_mapping"]


def test_people_match_by_email_then_login_then_full_name_and_the_rest_stay_unassigned(team):
    project = team.project
    alice = make_member(project, "backend", user=UserFactory(username="alice", email="alice@example.com")).user
    bob = make_member(project, "backend", user=UserFactory(username="bob", first_name="Bob", last_name="Stone")).user
    file = parsed(
        item("J-1", assignee=Person(name="A. Lice", email="alice@example.com")),
        item("J-2", assignee=Person(login="dev")),
        item("J-3", assignee=Person(name="bob stone")),
        item(
            "J-4",
            assignee=Person(name="Stranger Danger", email="stranger@example.org"),
            comments=[SourceComment(body="Looks good", author=Person(name="Stranger Danger"))],
        ),
    )
    plan = mapping.plan(project, file, system="jira")
    assert [p.assignee for p in plan.items] == [alice, team.developer, bob, None]
    assert plan.report["people"]["matched"] == [
        {"source": "A. Lice", "member": "alice"},
        {"source": "dev", "member": "dev"},
        {"source": "bob stone", "member": "bob"},
    ]
    assert plan.report["people"]["unmatched"] == ["Stranger Danger"]
    run(project, file, team.admin)
    comment = Comment.objects.get(item__project=project)
    assert comment.author is None
    assert comment.body == "**Stranger Danger:** Looks good"
    assert not project.memberships.filter(user__email="stranger@example.org").exists()


# --- preview -------------------------------------------------------------------------------------


def rich_file() -> Parsed:
    return parsed(
        item("J-3", type="Task", parent_key="J-2", labels=["api"], points=Decimal("3"), sprint_keys=["S1", "S2"]),
        item("J-1", type="Epic", status="Done", status_category="done", labels=["mvp"]),
        item(
            "J-2",
            type="Story",
            parent_key="J-1",
            priority="Blocker",
            labels=["api", "mvp"],
            points=Decimal("5"),
            sprint_keys=["S1"],
            comments=[
                SourceComment(
                    body="First!", author=Person(login="dev"), at=datetime.datetime(2026, 9, 1, 9, tzinfo=ALMATY)
                )
            ],
            created_at=datetime.datetime(2026, 8, 30, 12, tzinfo=ALMATY),
        ),
        sprints=[
            SourceSprint(
                key="S1",
                name="Sprint One",
                start=datetime.date(2026, 9, 1),
                end=datetime.date(2026, 9, 14),
                state="closed",
            ),
            SourceSprint(
                key="S2",
                name="Sprint Two",
                start=datetime.date(2026, 9, 15),
                end=datetime.date(2026, 9, 28),
                state="active",
            ),
        ],
        problems=[RowProblem(row=7, source_key="J-7", message="No summary: skipped.")],
        unknown=["Custom field (Team)"],
    )


def test_preview_writes_nothing(team, django_assert_max_num_queries):
    project = team.project
    before = table_counts(project)
    report = mapping.plan(project, rich_file(), system="jira").report
    assert table_counts(project) == before
    assert report["creates"] == 3
    assert report["updates"] == 0
    assert report["by_type"] == {"task": 1, "epic": 1, "story": 1}
    assert report["counts"] == {"items": 3, "sprints": 2, "comments": 1, "labels": 2}
    assert report["unknown_columns"] == ["Custom field (Team)"]
    assert {"row": 7, "key": "J-7", "message": "No summary: skipped."} in report["problems"]
    assert [(s["name"], s["state"], s["action"]) for s in report["sprints"]] == [
        ("Sprint One", "completed", "create"),
        ("Sprint Two", "active", "create"),
    ]


def test_preview_through_a_job_writes_only_the_job(team):
    project = team.project
    before = table_counts(project)
    data = b"Summary,Issue key\nHello,J-1\n"
    job = jobs.create_job(project=project, by=team.admin, filename="x.csv", data=data, source="jira_csv")
    after = table_counts(project)
    assert after.pop("jobs") == before.pop("jobs") + 1
    assert after == before
    assert job.state == ImportState.PREVIEWED
    assert job.preview["creates"] == 1


# --- apply ---------------------------------------------------------------------------------------


def test_apply_creates_items_with_numbers_ranks_parents_labels_sprints_comments_and_history(team):
    project = team.project
    existing = backlog_services.create_item(project=project, by=team.admin, title="Already here")
    result = run(project, rich_file(), team.scrum_master)
    assert result["created"] == 3
    items = {link.source_key: link.item for link in SourceLink.objects.filter(kind="item").select_related("item")}
    task, epic, story = items["J-3"], items["J-1"], items["J-2"]
    assert [task.number, epic.number, story.number] == [2, 3, 4]
    assert ItemCounter.objects.get(project=project).last_number == 4
    ranks = list(BacklogItem.objects.filter(project=project).order_by("rank").values_list("number", flat=True))
    assert ranks == [existing.number, 2, 3, 4]
    assert (task.type, epic.type, story.type) == ("task", "epic", "story")
    assert task.parent == story
    assert story.parent == epic
    assert story.priority == Priority.HIGHEST
    assert epic.status.category == StatusCategory.DONE
    assert (story.estimate, story.points) == ("5", Decimal("5"))
    assert sorted(story.labels.values_list("name", flat=True)) == ["api", "mvp"]
    assert story.created_at == datetime.datetime(2026, 8, 30, 12, tzinfo=ALMATY)
    comment = story.comments.get()
    assert (comment.author, comment.body) == (team.developer, "First!")
    assert comment.created_at == datetime.datetime(2026, 9, 1, 9, tzinfo=ALMATY)
    created = ItemEvent.objects.filter(item=story, kind="created").get()
    assert created.actor == team.scrum_master
    assert created.new["labels"] == ["api", "mvp"]
    one, two = Sprint.objects.filter(project=project).order_by("number")
    assert (one.name, one.state, two.name, two.state) == ("Sprint One", "completed", "Sprint Two", "active")
    assert story.sprint == one
    assert task.sprint == two  # the last sprint of its list is its current one
    assert one.report is not None
    assert one.committed_points == Decimal("5")
    assert list(one.commitment.values_list("item_number", flat=True)) == [story.number]
    assert list(two.commitment.values_list("item_number", flat=True)) == [task.number]  # active: committed
    assert two.report is None


def test_an_active_source_sprint_is_planned_when_the_project_already_has_an_active_one(team):
    project = team.project
    today = datetime.date.today()
    sprint = sprint_services.create_sprint(project=project, by=team.admin, start_date=today)
    sprint_services.start_sprint(sprint=sprint, by=team.admin)
    file = parsed(
        item("J-1", sprint_keys=["S9"]), sprints=[SourceSprint(key="S9", name="Theirs", start=today, state="active")]
    )
    plan = mapping.plan(project, file, system="jira")
    assert plan.report["sprints"][0]["state"] == SprintState.PLANNED
    assert any("already has an active sprint" in p["message"] for p in plan.report["problems"])


def test_a_sprint_without_dates_is_planned_after_the_last_sprint(team):
    project = team.project
    last = sprint_services.create_sprint(
        project=project, by=team.admin, start_date=datetime.date(2030, 1, 1), end_date=datetime.date(2030, 1, 14)
    )
    file = parsed(item("J-1", sprint_keys=["Later"]), sprints=[SourceSprint(key="Later", name="Later")])
    run(project, file, team.admin)
    later = Sprint.objects.get(name="Later")
    assert later.start_date == last.end_date + datetime.timedelta(days=1)
    assert (later.end_date - later.start_date).days == project.sprint_length_days - 1


def test_a_parent_not_in_the_file_is_found_through_an_earlier_import(team):
    project = team.project
    run(project, parsed(item("J-1", type="Epic")), team.admin)
    run(project, parsed(item("J-2", type="Story", parent_key="J-1")), team.admin)
    story = SourceLink.objects.get(source_key="J-2").item
    assert story.parent == SourceLink.objects.get(source_key="J-1").item


def test_a_parent_the_rules_refuse_is_left_out_with_a_note(team):
    plan = mapping.plan(
        team.project, parsed(item("J-1", type="Story"), item("J-2", type="Story", parent_key="J-1")), system="jira"
    )
    assert plan.items[1].parent_key == ""
    assert "cannot belong to" in plan.report["problems"][0]["message"]


def test_reimport_updates_the_same_items_with_history_and_no_duplicates(team):
    project = team.project
    run(project, rich_file(), team.admin)
    counts = table_counts(project)
    changed = rich_file()
    story = changed.items[2]
    story.title = "Renamed story"
    story.labels = ["api"]
    story.priority = "Low"
    story.assignee = Person(login="po")
    story.comments.append(SourceComment(body="A new one", author=Person(login="po")))
    plan = mapping.plan(project, changed, system="jira")
    assert (plan.report["creates"], plan.report["updates"]) == (0, 3)
    result = run(project, changed, team.admin)
    assert (result["created"], result["updated"], result["unchanged"]) == (0, 1, 2)
    after = table_counts(project)
    assert after["items"] == counts["items"]
    assert after["sprints"] == counts["sprints"]
    assert after["comments"] == counts["comments"] + 1
    item_ = SourceLink.objects.get(source_key="J-2").item
    assert (item_.title, item_.priority, item_.assignee) == ("Renamed story", "low", team.product_owner)
    assert list(item_.labels.values_list("name", flat=True)) == ["api"]
    fields = set(ItemEvent.objects.filter(item=item_, kind="changed").values_list("field", flat=True))
    assert fields == {"title", "priority", "assignee", "labels"}


def _many(count: int) -> Parsed:
    epics = [item(f"J-{n}", type="Epic", labels=["e"]) for n in range(1, 3)]
    stories = [
        item(
            f"J-{n}",
            type="Story",
            parent_key="J-1",
            labels=["a", "b"],
            points=Decimal("3"),
            sprint_keys=["S1"],
            comments=[SourceComment(body="c", author=Person(login="dev"))],
        )
        for n in range(3, count + 1)
    ]
    return parsed(*epics, *stories, sprints=[SourceSprint(key="S1", name="S1", start=datetime.date(2030, 1, 1))])


@pytest.mark.parametrize("phase", ["plan", "apply", "reimport"])
def test_queries_do_not_grow_with_the_number_of_rows(team, phase):
    counts = []
    for size in (10, _large()):
        project = team.project if size == 10 else _fresh_project(team)
        if phase == "reimport":
            run(project, _many(size), team.admin)
        with CaptureQueriesContext(connection) as queries:
            if phase == "plan":
                mapping.plan(project, _many(size), system="jira")
            else:
                file = _many(size)
                for source in file.items:
                    source.title += " changed"
                run(project, file, team.admin)
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def _large() -> int:
    """A size past several rows of everything yet within one insert statement: SQLite caps a statement
    at 999 parameters, so Django splits one bulk insert of ~40 items (23 columns) into several there."""
    return 300 if connection.vendor == "postgresql" else 40


def _fresh_project(team):
    from tests.factories import make_project

    project = make_project(admin=team.admin, key="BIG")
    make_member(project, "backend", user=team.developer)
    return project


def test_a_failure_halfway_rolls_back_everything_and_the_job_says_why(team, monkeypatch):
    project = team.project
    monkeypatch.setattr(applying, "CHUNK", 2)
    original = applying._create_chunk

    def failing(plan, chunk, *args):
        if any(p.source.source_key == "J-5" for p in chunk):  # row 5: in the third chunk
            raise RuntimeError("row 5 broke")
        return original(plan, chunk, *args)

    monkeypatch.setattr(applying, "_create_chunk", failing)
    before = table_counts(project)
    data = "Summary,Issue key\n" + "".join(f"Item {n},J-{n}\n" for n in range(1, 8))
    job = jobs.create_job(project=project, by=team.admin, filename="x.csv", data=data.encode(), source="jira_csv")
    jobs.queue_job(job=job, by=team.admin)
    job = jobs.run_job(job.pk)
    assert job.state == ImportState.FAILED
    assert job.error == "The import failed and nothing was imported."
    assert bytes(ImportJob.objects.get(pk=job.pk).data)  # kept: it can run again
    after = table_counts(project)
    assert after == before | {"jobs": before["jobs"] + 1}


SAMPLES = Path(__file__).resolve().parent / "importing" / "files"


@pytest.mark.parametrize(
    ("name", "source", "system"),
    [
        ("jira-export.csv", "jira_csv", "jira"),
        ("jira-search.json", "jira_json", "jira"),
        ("github-project-items.json", "github_projects", "github"),
    ],
)
def test_each_sample_export_is_detected_previewed_imported_and_reimported_without_copies(team, name, source, system):
    project = team.project
    data = (SAMPLES / name).read_bytes()
    job = jobs.create_job(project=project, by=team.admin, filename=name, data=data)
    assert job.source == source
    items = job.preview["counts"]["items"]
    assert items > 0
    assert job.preview["creates"] == items
    jobs.queue_job(job=job, by=team.admin)
    job = jobs.run_job(job.pk)
    assert (job.state, job.error) == (ImportState.SUCCEEDED, "")
    assert job.result["created"] == items == project.items.count()
    assert SourceLink.objects.filter(project=project, system=system, kind="item").count() == items
    again = jobs.create_job(project=project, by=team.admin, filename=name, data=data)
    assert (again.preview["creates"], again.preview["updates"]) == (0, items)
    jobs.queue_job(job=again, by=team.admin)
    again = jobs.run_job(again.pk)
    assert again.state == ImportState.SUCCEEDED
    assert (again.result["created"], again.result["updated"]) == (0, 0)
    assert project.items.count() == items


def test_reimport_moves_a_planned_sprint_to_the_sources_new_dates_but_leaves_a_started_one(team):
    project = team.project
    day = datetime.date(2030, 3, 4)
    first = [
        SourceSprint(key="P", name="Planned one", start=day, end=day + datetime.timedelta(days=13), state="future"),
        SourceSprint(
            key="C", name="Closed one", start=datetime.date(2026, 1, 5), end=datetime.date(2026, 1, 16), state="closed"
        ),
    ]
    run(project, parsed(item("J-1", sprint_keys=["C", "P"]), sprints=first), team.admin)
    later = day + datetime.timedelta(days=7)
    second = [
        SourceSprint(
            key="P", name="Planned, renamed", start=later, end=later + datetime.timedelta(days=13), state="future"
        ),
        SourceSprint(
            key="C",
            name="Closed, renamed",
            start=datetime.date(2026, 1, 6),
            end=datetime.date(2026, 1, 17),
            state="closed",
        ),
    ]
    plan = mapping.plan(project, parsed(item("J-1", sprint_keys=["C", "P"]), sprints=second), system="jira")
    assert [s["action"] for s in plan.report["sprints"]] == ["update", "update"]
    run(project, parsed(item("J-1", sprint_keys=["C", "P"]), sprints=second), team.admin)
    planned = Sprint.objects.get(project=project, state=SprintState.PLANNED)
    closed = Sprint.objects.get(project=project, state=SprintState.COMPLETED)
    assert (planned.name, planned.start_date) == ("Planned, renamed", later)
    assert (closed.name, closed.start_date) == ("Closed one", datetime.date(2026, 1, 5))
    assert Sprint.objects.filter(project=project).count() == 2


def test_the_jira_csvs_undated_sprints_become_completed_ones_and_the_running_one(team, time_machine):
    """The CSV names sprints without dates: done work lands in completed sprints, not in future ones."""
    time_machine.move_to(datetime.datetime(2026, 11, 26, 10, tzinfo=ZoneInfo("Asia/Almaty")), tick=False)
    project = team.project
    data = (SAMPLES / "jira-export.csv").read_bytes()
    job = jobs.create_job(project=project, by=team.admin, filename="jira-export.csv", data=data)
    notes = [p["message"] for p in job.preview["problems"] if p["key"].startswith("CRM Sprint")]
    assert notes.count("No dates in the file: dates and state worked out from its items.") == 3
    jobs.queue_job(job=job, by=team.admin)
    assert jobs.run_job(job.pk).state == ImportState.SUCCEEDED
    sprints = {s.name: (s.state, s.start_date.isoformat(), s.end_date.isoformat()) for s in project.sprints.all()}
    assert sprints == {
        "CRM Sprint 1": (SprintState.COMPLETED, "2026-09-03", "2026-09-16"),
        "CRM Sprint 2": (SprintState.COMPLETED, "2026-09-19", "2026-10-02"),
        "CRM Sprint 3": (SprintState.ACTIVE, "2026-11-13", "2026-11-26"),
    }
    assert project.items.get(sprint__name="CRM Sprint 1").status.category == StatusCategory.DONE
