import threading
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from backlog import services
from backlog.models import BacklogItem, ItemEvent, Status
from projects.models import Project
from projects.services import create_project
from roles.models import Role
from roles.services import update_role
from tests.factories import UserFactory, make_member, make_project


def new_item(project, by, title="Story", **fields):
    return services.create_item(project=project, by=by, title=title, **fields)


def backlog_titles(project):
    return list(BacklogItem.objects.filter(project=project).order_by("rank").values_list("title", flat=True))


def test_new_project_gets_the_default_workflow(project):
    statuses = list(Status.objects.filter(project=project).values_list("name", "category"))
    assert statuses == [
        ("To Do", "todo"),
        ("In Progress", "in_progress"),
        ("In Review", "in_progress"),
        ("Done", "done"),
    ]


def test_items_get_consecutive_keys_and_land_at_the_bottom(project, product_owner):
    first, second, third = (new_item(project, product_owner, f"Item {n}") for n in range(3))
    assert [first.key, second.key, third.key] == ["SB-1", "SB-2", "SB-3"]
    assert backlog_titles(project) == ["Item 0", "Item 1", "Item 2"]
    top = new_item(project, product_owner, "Urgent", position="top")
    assert backlog_titles(project)[0] == "Urgent"
    assert top.key == "SB-4"


def test_creating_an_item_records_a_created_event_and_copies_the_definition_of_done(product_owner, project):
    project.definition_of_done = "Reviewed\nTested"
    project.save()
    item = new_item(project, product_owner, labels=["api", "api", " ux "])
    assert item.done_checklist == [{"text": "Reviewed", "done": False}, {"text": "Tested", "done": False}]
    assert sorted(label.name for label in item.labels.all()) == ["api", "ux"]
    event = ItemEvent.objects.get(item_id=item.pk)
    assert event.kind == "created" and event.actor == product_owner
    assert event.new["title"] == "Story" and event.new["labels"] == ["api", "ux"]


def test_stakeholder_cannot_create_items(project, stakeholder):
    with pytest.raises(PermissionDenied):
        new_item(project, stakeholder)
    assert not BacklogItem.objects.exists()


def test_moving_writes_one_item_row_whatever_the_backlog_size(project, product_owner):
    items = [new_item(project, product_owner, f"Item {n}") for n in range(60)]
    with CaptureQueriesContext(connection) as queries:
        services.move_item(item=items[50], by=product_owner, before=items[3])
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE"))
    ]
    item_writes = [sql for sql in writes if "backlog_backlogitem" in sql.split("WHERE")[0]]
    assert len(item_writes) == 1  # the moved item's rank
    assert len(writes) == 2  # ... and its history event
    assert backlog_titles(project)[3] == "Item 50"
    assert backlog_titles(project)[4] == "Item 3"


def test_many_moves_in_a_row_keep_a_consistent_order(project, product_owner):
    items = [new_item(project, product_owner, str(n)) for n in range(12)]
    expected = [item.title for item in items]
    import random

    rng = random.Random(7)
    for _ in range(300):
        item = rng.choice(items)
        how = rng.choice(["before", "after", "top", "bottom"])
        others = [other for other in items if other.pk != item.pk]
        anchor = rng.choice(others)
        expected.remove(item.title)
        if how == "before":
            services.move_item(item=item, by=product_owner, before=anchor)
            expected.insert(expected.index(anchor.title), item.title)
        elif how == "after":
            services.move_item(item=item, by=product_owner, after=anchor)
            expected.insert(expected.index(anchor.title) + 1, item.title)
        elif how == "top":
            services.move_item(item=item, by=product_owner, position="top")
            expected.insert(0, item.title)
        else:
            services.move_item(item=item, by=product_owner, position="bottom")
            expected.append(item.title)
        for other in items:  # anchors are read from the database, as a request would
            other.refresh_from_db(fields=["rank"])
    assert backlog_titles(project) == expected
    rank_events = list(ItemEvent.objects.filter(field="rank").values_list("old", "new"))
    # One event per move that changed a rank (a "top" of the item already on top changes nothing).
    assert 250 < len(rank_events) <= 300
    assert all(old != new for old, new in rank_events)


def test_move_refuses_an_anchor_from_another_project(project, product_owner):
    item = new_item(project, product_owner)
    elsewhere = make_project()
    foreign = new_item(elsewhere, Project.objects.get(pk=elsewhere.pk).memberships.get().user)
    with pytest.raises(ValidationError):
        services.move_item(item=item, by=product_owner, before=foreign)


def test_update_records_one_event_per_changed_field(project, product_owner, developer):
    item = new_item(project, product_owner)
    in_progress = Status.objects.get(project=project, name="In Progress")
    services.update_item(
        item=item, by=product_owner, title="Better title", status=in_progress, assignee=developer, priority="medium"
    )
    events = {e.field: e for e in ItemEvent.objects.filter(item_id=item.pk, kind="changed")}
    assert set(events) == {"title", "status", "assignee"}  # priority did not change
    assert events["status"].old["name"] == "To Do" and events["status"].new["name"] == "In Progress"
    assert events["assignee"].new == developer.username


def test_assignee_must_be_a_member(project, product_owner, outsider):
    item = new_item(project, product_owner)
    with pytest.raises(ValidationError) as error:
        services.update_item(item=item, by=product_owner, assignee=outsider)
    assert "assignee" in error.value.message_dict
    item.refresh_from_db()
    assert item.assignee is None


def test_estimates_follow_the_scale_and_role_points_sum(project, product_owner, developer):
    item = new_item(project, product_owner, estimate="5")
    assert item.points == Decimal(5)
    with pytest.raises(ValidationError):
        services.update_item(item=item, by=developer, estimate="4")
    services.update_item(item=item, by=developer, role_points={"backend": "3", "frontend": "2", "devops": "1"})
    item.refresh_from_db()
    assert item.points == Decimal(6) and item.estimate == "6"
    with pytest.raises(ValidationError):
        services.update_item(item=item, by=developer, role_points={"product-owner": "3"})
    services.update_item(item=item, by=developer, role_points={})
    item.refresh_from_db()
    assert item.points is None and item.estimate == ""
    services.update_item(item=item, by=developer, estimate="?")
    item.refresh_from_db()
    assert item.points is None and item.estimate == "?"


def test_estimating_needs_the_estimate_permission(project, product_owner, developer):
    item = new_item(project, product_owner)
    backend = Role.objects.get(project=project, slug="backend")
    update_role(role=backend, by=project.memberships.get(is_admin=True).user, permissions=["view", "edit_backlog"])
    developer.__dict__.pop("_scrumboard_memberships", None)
    with pytest.raises(PermissionDenied):
        services.update_item(item=item, by=developer, estimate="3")


def test_parent_rules(project, product_owner):
    epic = new_item(project, product_owner, "Epic", type="epic")
    story = new_item(project, product_owner, "Story", parent=epic)
    task = new_item(project, product_owner, "Task", type="task", parent=story)
    assert task.parent == story
    with pytest.raises(ValidationError):
        new_item(project, product_owner, "Story under story", parent=story)
    with pytest.raises(ValidationError):
        services.update_item(item=epic, by=product_owner, parent=story)  # epics have no parent
    other_epic = new_item(make_project(admin=product_owner), product_owner, "Foreign epic", type="epic")
    with pytest.raises(ValidationError):
        services.update_item(item=story, by=product_owner, parent=other_epic)


def test_done_needs_the_definition_of_done_or_a_reason(project, product_owner):
    project.definition_of_done = "Reviewed"
    project.save()
    item = new_item(project, product_owner)
    done = Status.objects.get(project=project, name="Done")
    with pytest.raises(ValidationError) as error:
        services.update_item(item=item, by=product_owner, status=done)
    assert "Reviewed" in error.value.message_dict["status"][0]
    item.refresh_from_db()
    assert item.status.name == "To Do"
    services.update_item(item=item, by=product_owner, status=done, override_reason="Hotfix, reviewed after")
    assert ItemEvent.objects.get(item_id=item.pk, field="done_override").new == "Hotfix, reviewed after"
    other = new_item(project, product_owner)
    services.update_item(item=other, by=product_owner, done_checklist=[{"text": "Reviewed", "done": True}])
    services.update_item(item=other, by=product_owner, status=done)
    other.refresh_from_db()
    assert other.status == done


def test_mentions_link_members_only(project, product_owner, developer, outsider):
    item = new_item(project, product_owner)
    comment = services.add_comment(item=item, by=product_owner, body=f"@{developer.username} and @{outsider.username}")
    assert list(comment.mentions.all()) == [developer]


def test_deleting_keeps_the_history(project, product_owner):
    item = new_item(project, product_owner)
    item_id = item.pk
    services.delete_item(item=item, by=product_owner)
    assert list(ItemEvent.objects.filter(item_id=item_id).values_list("kind", flat=True)) == ["created", "deleted"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_get_distinct_gapless_keys():
    admin = UserFactory()
    project = create_project(key="CC", name="Concurrent", by=admin)
    errors = []

    def create(n):
        try:
            for i in range(5):
                services.create_item(project=Project.objects.get(pk=project.pk), by=admin, title=f"{n}-{i}")
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=create, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    numbers = sorted(BacklogItem.objects.filter(project=project).values_list("number", flat=True))
    assert numbers == list(range(1, 21))
    ranks = list(BacklogItem.objects.filter(project=project).values_list("rank", flat=True))
    assert len(set(ranks)) == 20


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_moves_into_the_same_gap_never_collide():
    admin = UserFactory()
    project = create_project(key="CM", name="Concurrent moves", by=admin)
    items = [services.create_item(project=project, by=admin, title=str(n)) for n in range(10)]
    anchor = items[0]
    barrier = threading.Barrier(6)
    errors = []

    def move(item):
        try:
            barrier.wait()
            services.move_item(
                item=BacklogItem.objects.select_related("project").get(pk=item.pk),
                by=admin,
                before=BacklogItem.objects.get(pk=anchor.pk),
            )
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=move, args=(item,)) for item in items[4:]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    titles = backlog_titles(project)
    assert len(titles) == 10 and len(set(BacklogItem.objects.values_list("rank", flat=True))) == 10
    assert set(titles[:6]) == {"4", "5", "6", "7", "8", "9"}
    assert titles[6] == "0"


def test_members_of_another_role_cannot_comment_without_the_right(project, product_owner):
    item = new_item(project, product_owner)
    viewer = make_member(project, "stakeholder").user
    with pytest.raises(PermissionDenied):
        services.add_comment(item=item, by=viewer, body="hello")


@pytest.mark.postgres
def test_text_search_uses_the_full_text_index(project, product_owner):
    from backlog.selectors import search

    for n in range(50):
        services.create_item(project=project, by=product_owner, title=f"Ordinary story {n}")
    services.create_item(project=project, by=product_owner, title="Кіру беті", description="Вход в систему")
    found = search(BacklogItem.objects.filter(project=project), "вход")
    assert [item.title for item in found] == ["Кіру беті"]
    # On a 51-row table the planner prefers other plans; forbid them to prove the index matches.
    sql, params = search(BacklogItem.objects.all(), "вход").order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Bitmap Index Scan on item_search" in plan


def test_search_ignores_case_in_cyrillic_on_every_database(project, product_owner):
    from backlog.selectors import search

    services.create_item(project=project, by=product_owner, title="Экспорт отчёта", description="Қазақша СИПАТТАМА")
    services.create_item(project=project, by=product_owner, title="Something else")
    items = BacklogItem.objects.filter(project=project)
    assert [item.title for item in search(items, "экспорт")] == ["Экспорт отчёта"]
    assert [item.title for item in search(items, "сипаттама")] == ["Экспорт отчёта"]


def test_many_moves_into_one_gap_rebalance_ranks_and_keep_the_order(project, product_owner):
    from backlog.services import REBALANCE_RANK_LENGTH

    first, *others = [new_item(project, product_owner, f"Item {n}") for n in range(6)]
    expected = ["Item 0"]
    # Always "right after the first item": the worst case, the key grows with every move.
    for n in range(REBALANCE_RANK_LENGTH * 7):
        moving = others[n % len(others)]
        services.move_item(item=moving, by=product_owner, after=first)
        first.refresh_from_db(fields=["rank"])
        expected = ["Item 0", moving.title, *[t for t in expected[1:] if t != moving.title]]
    ranks = list(BacklogItem.objects.filter(project=project).values_list("rank", flat=True))
    assert max(len(rank) for rank in ranks) <= REBALANCE_RANK_LENGTH
    assert backlog_titles(project) == expected  # every item was moved at least once
