import csv
import io

import pytest

from backlog import services
from backlog.models import BacklogItem, ItemEvent, Status
from tests.html_safety import unsafe_parts

URL = "/api/v1/projects/SB/items/"


def seed(project, by, count, **fields):
    return [services.create_item(project=project, by=by, title=f"Item {n}", **fields) for n in range(count)]


def titles(response):
    return [row["title"] for row in response.json()["results"]]


def test_create_item_and_read_it_back(api, project, product_owner, developer):
    response = api.as_(product_owner).post(
        URL,
        {
            "title": "Sign in with e-mail",
            "type": "story",
            "labels": ["auth", "mvp"],
            "estimate": "5",
            "assignee": developer.username,
            "acceptance_criteria": [{"text": "Wrong password shows an error"}],
            "description": "**bold** <script>alert(1)</script> [x](javascript:alert(1))",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["key"] == "SB-1" and body["status"] == "To Do" and body["points"] == "5.0"
    assert body["labels"] == ["auth", "mvp"] and body["assignee"] == developer.username
    assert body["reporter"] == product_owner.username
    assert unsafe_parts(body["description_html"]) == []
    assert "<strong>bold</strong>" in body["description_html"]
    detail = api.get(URL + "SB-1/")
    assert detail.status_code == 200 and detail["ETag"]


@pytest.mark.parametrize("field", ["project", "key", "reporter", "created_at", "rank", "points"])
def test_read_only_fields_cannot_be_written(api, project, product_owner, developer, field):
    api.as_(product_owner).post(URL, {"title": "A"}, format="json")
    before = BacklogItem.objects.values().get()
    value = {
        "project": 999,
        "key": "XX-9",
        "reporter": developer.username,
        "created_at": "2001-01-01T00:00:00Z",
        "rank": "a0",
        "points": "99",
    }[field]
    response = api.patch(URL + "SB-1/", {field: value}, format="json")
    assert response.status_code == 200
    after = BacklogItem.objects.values().get()
    assert {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in before.items() if k != "updated_at"
    }


def test_bad_input_gets_field_errors_and_changes_nothing(api, project, product_owner):
    api.as_(product_owner).post(URL, {"title": "A"}, format="json")
    for payload, field in [
        ({"estimate": "4"}, "estimate"),
        ({"status": "Nope"}, "status"),
        ({"assignee": "ghost"}, "assignee"),
        ({"assignee": "dev\x00"}, "assignee"),  # PostgreSQL refuses NUL in a query: a 500 unless checked first
        ({"type": "saga"}, "type"),
        ({"parent": "SB-99"}, "parent"),
        ({"title": ""}, "title"),
        ({"due_date": "tomorrow"}, "due_date"),
    ]:
        response = api.patch(URL + "SB-1/", payload, format="json")
        assert response.status_code == 400, payload
        assert response.json()["type"] == "validation_error"
        assert field in response.json()["errors"], response.json()
    item = BacklogItem.objects.get()
    assert (item.title, item.estimate, item.type) == ("A", "", "story")
    assert api.post(URL, {"type": "story"}, format="json").json()["errors"] == {"title": ["This field is required."]}


def test_stale_if_match_gets_412_and_changes_nothing(api, project, product_owner):
    api.as_(product_owner).post(URL, {"title": "A"}, format="json")
    etag = api.get(URL + "SB-1/")["ETag"]
    assert api.patch(URL + "SB-1/", {"title": "B"}, format="json", HTTP_IF_MATCH=etag).status_code == 200
    response = api.patch(URL + "SB-1/", {"title": "C"}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 412 and response.json()["type"] == "precondition_failed"
    assert BacklogItem.objects.get().title == "B"


def test_list_filters_and_search(api, project, product_owner, developer):
    client = api.as_(product_owner)
    services.create_item(project=project, by=product_owner, title="Login page", labels=["ux"], assignee=developer)
    services.create_item(project=project, by=product_owner, title="Database schema", type="task", labels=["db"])
    bug = services.create_item(project=project, by=product_owner, title="Crash on login", type="bug")
    services.update_item(item=bug, by=product_owner, status=Status.objects.get(project=project, name="In Progress"))
    assert titles(client.get(URL, {"type": "bug"})) == ["Crash on login"]
    assert titles(client.get(URL, {"label": "ux"})) == ["Login page"]
    assert titles(client.get(URL, {"assignee": developer.username})) == ["Login page"]
    assert titles(client.get(URL, {"assignee": "none"})) == ["Database schema", "Crash on login"]
    assert titles(client.get(URL, {"status": "In Progress"})) == ["Crash on login"]
    assert titles(client.get(URL, {"category": "todo"})) == ["Login page", "Database schema"]
    assert sorted(titles(client.get(URL, {"search": "login"}))) == ["Crash on login", "Login page"]
    assert titles(client.get(URL, {"search": "SB-2"})) == ["Database schema"]


def test_list_is_paginated_in_backlog_order(api, project, product_owner):
    items = seed(project, product_owner, 7)
    services.move_item(item=items[6], by=product_owner, position="top")
    client = api.as_(product_owner)
    first = client.get(URL, {"limit": 4}).json()
    assert [r["title"] for r in first["results"]] == ["Item 6", "Item 0", "Item 1", "Item 2"]
    second = client.get(first["next"]).json()
    assert [r["title"] for r in second["results"]] == ["Item 3", "Item 4", "Item 5"]
    assert second["next"] is None
    assert len(client.get(URL, {"limit": 1000}).json()["results"]) == 7  # capped at 200, fewer here


@pytest.mark.parametrize("count", [5, 500])
def test_items_list_runs_a_constant_number_of_queries(api, project, product_owner, count, django_assert_num_queries):
    epic = services.create_item(project=project, by=product_owner, title="Epic", type="epic")
    for n in range(count):
        services.create_item(
            project=project,
            by=product_owner,
            title=f"S{n}",
            labels=["a", "b"],
            parent=epic,
            estimate="3",
            assignee=product_owner,
        )
    client = api.as_(product_owner)
    # project, membership, statuses, items page, labels prefetch
    with django_assert_num_queries(5):
        response = client.get(URL, {"limit": 200})
    assert response.status_code == 200
    assert len(response.json()["results"]) == min(count + 1, 200)
    assert response.json()["results"][0]["children_points"] == f"{3 * count}.0"


def test_move_before_after_top_bottom(api, project, product_owner):
    seed(project, product_owner, 4)
    client = api.as_(product_owner)
    assert client.post(URL + "SB-4/move/", {"before": "SB-2"}, format="json").status_code == 200
    assert titles(client.get(URL)) == ["Item 0", "Item 3", "Item 1", "Item 2"]
    client.post(URL + "SB-1/move/", {"after": "SB-3"}, format="json")
    assert titles(client.get(URL)) == ["Item 3", "Item 1", "Item 2", "Item 0"]
    client.post(URL + "SB-1/move/", {"position": "top"}, format="json")
    client.post(URL + "SB-4/move/", {"position": "bottom"}, format="json")
    assert titles(client.get(URL)) == ["Item 0", "Item 1", "Item 2", "Item 3"]
    bad = client.post(URL + "SB-1/move/", {"before": "SB-2", "position": "top"}, format="json")
    assert bad.status_code == 400
    assert client.post(URL + "SB-1/move/", {"before": "SB-1"}, format="json").status_code == 400
    assert client.post(URL + "SB-1/move/", {"before": "XX-1"}, format="json").status_code == 400


def test_bulk_update_and_delete(api, project, product_owner, developer):
    seed(project, product_owner, 3)
    client = api.as_(product_owner)
    response = client.post(
        URL + "bulk/",
        {
            "items": ["SB-1", "SB-2"],
            "status": "In Review",
            "labels": ["x"],
            "assignee": developer.username,
            "estimate": "2",
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    changed = BacklogItem.objects.filter(number__in=[1, 2])
    assert {(i.status.name, i.assignee_id, i.estimate) for i in changed} == {("In Review", developer.pk, "2")}
    assert BacklogItem.objects.get(number=3).status.name == "To Do"
    missing = client.post(URL + "bulk/", {"items": ["SB-1", "SB-9"], "status": "Done"}, format="json")
    assert missing.status_code == 400
    assert BacklogItem.objects.get(number=1).status.name == "In Review"  # all or nothing
    assert client.post(URL + "bulk/", {"items": ["SB-3"], "action": "delete"}, format="json").json() == {"deleted": 1}
    assert BacklogItem.objects.count() == 2


def test_comments_and_history(api, project, product_owner, developer):
    seed(project, product_owner, 1)
    client = api.as_(developer)
    response = client.post(
        URL + "SB-1/comments/", {"body": f"@{product_owner.username} <img src=x onerror=alert(1)>"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["mentions"] == [product_owner.username] and unsafe_parts(body["body_html"]) == []
    comment_url = URL + f"SB-1/comments/{body['id']}/"
    assert api.as_(product_owner).patch(comment_url, {"body": "edited"}, format="json").status_code == 403
    assert api.as_(developer).patch(comment_url, {"body": "edited"}, format="json").json()["body"] == "edited"
    api.as_(product_owner).patch(URL + "SB-1/", {"title": "Renamed"}, format="json")
    history = api.get(URL + "SB-1/history/").json()["results"]
    assert [(e["kind"], e["field"]) for e in history] == [("created", ""), ("changed", "title")]
    assert history[1]["old"] == "Item 0" and history[1]["new"] == "Renamed" and history[1]["actor"] == "po"


def test_csv_export_neutralises_formulas(api, project, product_owner):
    for title in ['=HYPERLINK("http://evil")', "+1", "-2", "@SUM(A1)", "Normal, with comma"]:
        services.create_item(project=project, by=product_owner, title=title, description="\t=1+1")
    response = api.as_(product_owner).get(URL + "export/")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Key", "Type", "Title"]
    assert [row[2] for row in rows[1:]] == [
        '\'=HYPERLINK("http://evil")',
        "'+1",
        "'-2",
        "'@SUM(A1)",
        "Normal, with comma",
    ]
    assert {row[-1] for row in rows[1:]} == {"'\t=1+1"}


def test_delete_keeps_history(api, project, product_owner, stakeholder):
    seed(project, product_owner, 1)
    assert api.as_(stakeholder).delete(URL + "SB-1/").status_code == 403
    assert api.as_(product_owner).delete(URL + "SB-1/").status_code == 204
    assert not BacklogItem.objects.exists()
    assert ItemEvent.objects.filter(kind="deleted").count() == 1
    assert api.get(URL + "SB-1/").status_code == 404


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_writers_holding_one_etag_cannot_both_win(team, monkeypatch):
    import threading

    from django.contrib.auth import get_user_model
    from django.db import connection
    from rest_framework.test import APIClient

    from backlog import selectors

    services.create_item(project=team.project, by=team.product_owner, title="Original")
    reader = APIClient()
    reader.force_authenticate(team.product_owner)
    etag = reader.get(URL + "SB-1/")["ETag"]
    # Both requests have read the item before either compares the ETag: only the row lock tells them apart.
    barrier = threading.Barrier(2, timeout=10)
    real_item_by_key = selectors.item_by_key
    arrived = threading.local()

    def item_by_key_when_both_arrive(*args, **kwargs):
        item = real_item_by_key(*args, **kwargs)
        if not getattr(arrived, "done", False):  # each request waits once, at its first lookup
            arrived.done = True
            barrier.wait()
        return item

    monkeypatch.setattr(selectors, "item_by_key", item_by_key_when_both_arrive)
    statuses: dict[str, int] = {}

    def rename(title):
        client = APIClient()
        client.force_authenticate(get_user_model().objects.get(pk=team.product_owner.pk))
        try:
            statuses[title] = client.patch(
                URL + "SB-1/", {"title": title}, format="json", HTTP_IF_MATCH=etag
            ).status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=rename, args=(title,)) for title in ("One", "Two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses.values()) == [200, 412]
    winner = next(title for title, status in statuses.items() if status == 200)
    assert BacklogItem.objects.get().title == winner


def test_a_sprint_manager_sets_and_clears_a_columns_wip_limit(api, project, product_owner):
    column = Status.objects.get(project=project, name="In Progress")
    url = f"/api/v1/projects/{project.key}/statuses/{column.pk}/"
    response = api.as_(product_owner).patch(url, {"wip_limit": 3}, format="json")
    assert response.status_code == 200
    assert response.json()["wip_limit"] == 3
    assert Status.objects.get(pk=column.pk).wip_limit == 3
    listed = api.as_(product_owner).get(f"/api/v1/projects/{project.key}/statuses/").json()
    assert [s["wip_limit"] for s in listed if s["name"] == "In Progress"] == [3]
    assert api.as_(product_owner).patch(url, {"wip_limit": None}, format="json").json()["wip_limit"] is None
    assert Status.objects.get(pk=column.pk).wip_limit is None


@pytest.mark.parametrize("limit", [0, 1000, "many"])
def test_a_wip_limit_out_of_range_is_refused_and_the_old_one_kept(api, project, product_owner, limit):
    column = Status.objects.get(project=project, name="In Progress")
    services.set_wip_limit(status=column, by=product_owner, limit=4)
    url = f"/api/v1/projects/{project.key}/statuses/{column.pk}/"
    response = api.as_(product_owner).patch(url, {"wip_limit": limit}, format="json")
    assert response.status_code == 400
    assert "wip_limit" in response.json()["errors"]
    assert Status.objects.get(pk=column.pk).wip_limit == 4


def test_a_columns_name_and_category_are_not_changed_through_the_wip_limit_endpoint(api, project, product_owner):
    column = Status.objects.get(project=project, name="In Progress")
    url = f"/api/v1/projects/{project.key}/statuses/{column.pk}/"
    api.as_(product_owner).patch(url, {"name": "Hacked", "category": "done"}, format="json")
    column.refresh_from_db()
    assert (column.name, column.category) == ("In Progress", "in_progress")


def test_create_item_sets_ready_and_done_checklist_too(api, project, product_owner):
    # Found by the API fuzzer: both fields are in the create schema, and sending them was a 500.
    checklist = [{"text": "Reviewed", "done": True}]
    response = api.as_(product_owner).post(
        URL, {"title": "Ready one", "ready": True, "done_checklist": checklist}, format="json"
    )
    assert response.status_code == 201, response.json()
    item = BacklogItem.objects.get(project=project, number=1)
    assert item.ready is True
    assert item.done_checklist == checklist


@pytest.mark.parametrize("body", ["null", "[]", '"top"'])
def test_move_with_a_body_that_is_not_an_object_is_400(api, project, product_owner, body):
    services.create_item(project=project, by=product_owner, title="Item")
    response = api.as_(product_owner).generic("POST", URL + "SB-1/move/", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["type"] == "validation_error"
