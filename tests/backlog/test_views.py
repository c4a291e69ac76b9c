"""The backlog's browser pages: the ranked list, an item's page, the epics."""

import datetime
import json
import re

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import dateformat, timezone

from backlog import services, views
from backlog.models import BacklogItem, Comment, ItemEvent, ItemLink, Status
from tests.html_safety import unsafe_parts

pytestmark = pytest.mark.django_db

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    '"><svg onload=alert(1)>',
]
# The pages' own markup: forms and the scripts in the layout.
PAGE_TAGS = frozenset({"script", "form", "link", "meta"})


def backlog_url(**query) -> str:
    url = reverse("backlog:list", kwargs={"key": "SB"})
    if query:
        url += "?" + "&".join(f"{name}={value}" for name, value in query.items())
    return url


def item_url(name: str, item, **kwargs) -> str:
    return reverse(f"backlog:{name}", kwargs={"key": item.project.key, "item_key": item.key, **kwargs})


def page_url(name: str) -> str:
    return reverse(f"backlog:{name}", kwargs={"key": "SB"})


def make(project, by, title="Story", **fields) -> BacklogItem:
    return services.create_item(project=project, by=by, title=title, **fields)


def keys_in(html: str) -> list[str]:
    return re.findall(r'<li class="backlog-row" id="row-[^"]+" data-key="([^"]+)"', html)


def status(project, name: str) -> Status:
    return Status.objects.get(project=project, name=name)


def fresh(item) -> BacklogItem:
    return BacklogItem.objects.select_related("status", "assignee", "parent").get(pk=item.pk)


@pytest.fixture
def po_client(client, product_owner):
    client.force_login(product_owner)
    return client


# --- the backlog list ------------------------------------------------------------------------


def test_backlog_lists_items_in_rank_order_with_totals(po_client, project, product_owner, developer):
    first = make(project, product_owner, "Sign in", estimate="3", labels=["auth"], assignee=developer)
    second = make(project, product_owner, "Sign out", estimate="5")
    services.move_item(item=second, by=product_owner, before=first)

    response = po_client.get(backlog_url())

    assert response.status_code == 200
    html = response.content.decode()
    assert keys_in(html) == ["SB-2", "SB-1"]
    assert "2 items · 8 points" in html
    assert "Sign in" in html and ">auth</a>" in html
    assert developer.get_full_name() in html


def test_project_navigation_has_backlog_and_epics_tabs_after_overview(po_client, project):
    html = po_client.get(backlog_url()).content.decode()
    tabs = re.findall(r'<nav class="tabs".*?</nav>', html, re.S)[0]
    names = re.findall(r">([^<]+)</a>", tabs)
    assert names[:3] == ["Overview", "Backlog", "Epics"]
    assert f'href="{backlog_url()}" aria-current="page"' in tabs


def test_editors_get_drag_handles_quick_add_bulk_bar_and_estimate_selects(po_client, project, product_owner):
    make(project, product_owner)
    html = po_client.get(backlog_url()).content.decode()
    assert 'class="drag-handle"' in html
    assert "data-quick-add" in html
    assert 'id="bulk-form"' in html
    assert 'class="estimate-select"' in html
    assert reverse("api:item-move", kwargs={"key": "SB", "item_key": "ITEM-KEY"}) in html


def test_stakeholder_sees_a_read_only_backlog(client, project, product_owner, stakeholder):
    make(project, product_owner, estimate="5")
    client.force_login(stakeholder)
    response = client.get(backlog_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert "SB-1" in html
    for control in ['class="drag-handle"', "data-quick-add", 'id="bulk-form"', 'class="estimate-select"', "row-check"]:
        assert control not in html
    assert '<span class="points" title="Estimate">5</span>' in html


@pytest.mark.parametrize("name", ["list", "epics"])
def test_outsiders_get_404_and_anonymous_visitors_log_in_first(client, project, outsider, name):
    url = page_url(name)
    assert client.get(url)["Location"].startswith(reverse("login"))
    client.force_login(outsider)
    assert client.get(url).status_code == 404


def test_empty_backlog_invites_to_add_the_first_story(po_client, project):
    html = po_client.get(backlog_url()).content.decode()
    assert "The backlog is empty" in html


# --- quick add ------------------------------------------------------------------------------------


def test_quick_add_creates_a_story_at_the_bottom(po_client, project, product_owner):
    make(project, product_owner, "Existing")
    response = po_client.post(
        page_url("quick_add"), {"titles": "  Reset a password  ", "type": "story", "position": "bottom"}
    )
    assert response.status_code == 302
    assert response["Location"] == backlog_url()
    item = BacklogItem.objects.get(number=2)
    assert (item.title, item.type, item.reporter) == ("Reset a password", "story", product_owner)
    assert [i.title for i in BacklogItem.objects.order_by("rank")] == ["Existing", "Reset a password"]
    assert "Added SB-2 at the bottom of the backlog." in po_client.get(response["Location"]).content.decode()


def test_pasting_several_lines_creates_one_story_per_line_in_the_pasted_order(po_client, project, product_owner):
    make(project, product_owner, "Existing")
    pasted = "- Export to CSV\n\n* Import from Jira\r\n• Print the board\n   \n"
    response = po_client.post(page_url("quick_add"), {"titles": pasted, "type": "bug", "position": "top"})
    assert response.status_code == 302
    ordered = list(BacklogItem.objects.order_by("rank").values_list("title", "type"))
    assert ordered == [
        ("Export to CSV", "bug"),
        ("Import from Jira", "bug"),
        ("Print the board", "bug"),
        ("Existing", "story"),
    ]
    html = po_client.get(response["Location"]).content.decode()
    assert "Added 3 items at the top of the backlog:" in html


def test_quick_add_keeps_the_filters_of_the_page(po_client, project):
    response = po_client.post(page_url("quick_add") + "?type=bug&label=ux", {"titles": "A", "type": "bug"})
    assert response["Location"] == backlog_url(type="bug", label="ux")


def test_quick_add_with_a_too_long_line_redisplays_the_text_and_creates_nothing(po_client, project):
    pasted = "Fine title\n" + "x" * 300
    response = po_client.post(page_url("quick_add"), {"titles": pasted, "type": "story", "position": "bottom"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Line 2 is longer than 255 characters." in html
    assert "Fine title\n" + "x" * 300 in html
    assert not BacklogItem.objects.exists()


def test_quick_add_is_all_or_nothing_when_a_service_refuses(po_client, project, product_owner):
    task = make(project, product_owner, "A task", type="task")
    # A story cannot belong to a task: the first creation is refused, so none is kept.
    response = po_client.post(
        page_url("quick_add"),
        {"titles": "One\nTwo", "type": "story", "parent": task.key, "next": item_url("item", task)},
    )
    assert response.status_code == 302
    assert BacklogItem.objects.count() == 1
    html = po_client.get(response["Location"]).content.decode()
    assert "cannot belong to a Task" in html


def test_adding_a_child_from_an_epic_page_returns_there(po_client, project, product_owner):
    epic = make(project, product_owner, "Payments", type="epic")
    response = po_client.post(
        page_url("quick_add"),
        {"titles": "Pay by card", "type": "story", "parent": epic.key, "next": item_url("item", epic) + "#children"},
    )
    assert response["Location"] == item_url("item", epic) + "#children"
    assert BacklogItem.objects.get(title="Pay by card").parent == epic
    assert "Pay by card" in po_client.get(item_url("item", epic)).content.decode()


def test_quick_add_ignores_a_next_url_on_another_site(po_client, project):
    response = po_client.post(page_url("quick_add"), {"titles": "A", "type": "story", "next": "https://evil.example/"})
    assert response["Location"] == backlog_url()


# --- inline estimate -----------------------------------------------------------------------------


def test_inline_estimate_answers_htmx_with_the_cell_and_new_totals(po_client, project, product_owner):
    item = make(project, product_owner, estimate="3")
    make(project, product_owner, "Other", estimate="2", type="bug")
    response = po_client.post(
        item_url("item_estimate", item) + "?type=story", {"estimate": "8"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith('<span class="cell-estimate">')
    assert "<option selected>8</option>" in html
    assert 'id="backlog-totals" hx-swap-oob="true">1 item · 8 points' in html
    assert fresh(item).estimate == "8"
    assert ItemEvent.objects.filter(item_id=item.pk, field="estimate", old="3", new="8").exists()


def test_inline_estimate_of_an_item_estimated_per_role_says_why_and_changes_nothing(po_client, project, product_owner):
    item = make(project, product_owner, role_points={"backend": "3", "frontend": "2"})
    response = po_client.post(item_url("item_estimate", item), {"estimate": "8"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "estimated per role" in response.content.decode()
    assert fresh(item).estimate == "5"


def test_inline_estimate_without_htmx_redirects_back_with_a_message(po_client, project, product_owner):
    item = make(project, product_owner)
    response = po_client.post(item_url("item_estimate", item), {"estimate": "13"}, follow=True)
    assert "SB-1 estimated: 13." in response.content.decode()
    assert po_client.post(item_url("item_estimate", item), {"estimate": "4"}).status_code == 302
    assert fresh(item).estimate == "13"


# --- bulk actions ---------------------------------------------------------------------------------


def test_bulk_changes_status_assignee_estimate_and_adds_labels(po_client, project, product_owner, developer):
    one = make(project, product_owner, labels=["ux"])
    two = make(project, product_owner, labels=["db"])
    untouched = make(project, product_owner)
    in_progress = status(project, "In Progress")
    response = po_client.post(
        page_url("bulk") + "?label=ux",
        {
            "items": [one.key, two.key],
            "action": "update",
            "status": str(in_progress.pk),
            "assignee": str(developer.pk),
            "estimate": "5",
            "labels": "mvp, ux",
            "labels_mode": "add",
        },
    )
    assert response["Location"] == backlog_url(label="ux")
    for item in (one, two):
        item = fresh(item)
        assert (item.status, item.assignee, item.estimate) == (in_progress, developer, "5")
    assert sorted(label.name for label in one.labels.all()) == ["mvp", "ux"]
    assert sorted(label.name for label in two.labels.all()) == ["db", "mvp", "ux"]
    assert fresh(untouched).status.name == "To Do"
    assert "Updated 2 items." in po_client.get(backlog_url()).content.decode()


@pytest.mark.parametrize(
    ("mode", "typed", "expected"),
    [("replace", "new", ["new"]), ("replace", "", []), ("remove", "ux", ["db"])],
)
def test_bulk_replaces_or_removes_labels(po_client, project, product_owner, mode, typed, expected):
    item = make(project, product_owner, labels=["ux", "db"])
    po_client.post(page_url("bulk"), {"items": [item.key], "action": "update", "labels": typed, "labels_mode": mode})
    assert sorted(label.name for label in item.labels.all()) == expected


def test_bulk_unassigns_and_clears_estimates(po_client, project, product_owner, developer):
    item = make(project, product_owner, assignee=developer, estimate="3")
    po_client.post(page_url("bulk"), {"items": [item.key], "assignee": "none", "estimate": "none", "action": "update"})
    item = fresh(item)
    assert (item.assignee, item.estimate, item.points) == (None, "", None)


def test_bulk_delete_removes_the_selected_items(po_client, project, product_owner):
    one, two, kept = make(project, product_owner), make(project, product_owner), make(project, product_owner)
    response = po_client.post(page_url("bulk"), {"items": [one.key, two.key], "action": "delete"}, follow=True)
    assert list(BacklogItem.objects.values_list("number", flat=True)) == [kept.number]
    assert "Deleted 2 items." in response.content.decode()


def test_a_bulk_change_refused_for_one_item_names_it_and_changes_none(po_client, project, product_owner):
    project.definition_of_done = "Reviewed"
    project.save()
    ready = make(project, product_owner, "Checked")
    services.update_item(item=ready, by=product_owner, done_checklist=[{"text": "Reviewed", "done": True}])
    open_item = make(project, product_owner, "Not checked")
    done = status(project, "Done")
    response = po_client.post(
        page_url("bulk"), {"items": [ready.key, open_item.key], "status": str(done.pk), "action": "update"}, follow=True
    )
    html = response.content.decode()
    assert "SB-2: The Definition of Done is not met (Reviewed)" in html
    assert fresh(ready).status.name == "To Do" and fresh(open_item).status.name == "To Do"


def test_bulk_without_a_selection_or_a_change_says_so(po_client, project, product_owner):
    item = make(project, product_owner)
    assert "Select items first." in po_client.post(page_url("bulk"), {"action": "update"}, follow=True).content.decode()
    response = po_client.post(page_url("bulk"), {"items": [item.key], "action": "update"}, follow=True)
    assert "Choose what to change" in response.content.decode()


def test_bulk_ignores_keys_of_other_projects(po_client, project, product_owner, admin):
    from tests.factories import make_project

    other = make_project(admin=admin, key="OT")
    foreign = make(other, admin)
    po_client.post(page_url("bulk"), {"items": ["OT-1"], "action": "delete"})
    assert BacklogItem.objects.filter(pk=foreign.pk).exists()


# --- filters --------------------------------------------------------------------------------------


def test_filters_narrow_the_list_and_keep_their_values(po_client, project, product_owner, developer):
    make(project, product_owner, "Login page", labels=["ux"], assignee=developer, estimate="3")
    make(project, product_owner, "Database schema", type="task", labels=["db"], assignee=product_owner)
    bug = make(project, product_owner, "Crash on login", type="bug")
    services.update_item(item=bug, by=product_owner, status=status(project, "In Progress"))

    def shown(**query):
        return keys_in(po_client.get(backlog_url(**query)).content.decode())

    assert shown(type="bug") == ["SB-3"]
    assert shown(status="In%20Progress") == ["SB-3"]
    assert shown(label="ux") == ["SB-1"]
    assert shown(assignee=developer.username) == ["SB-1"]
    assert shown(assignee="me") == ["SB-2"]
    assert shown(assignee="none") == ["SB-3"]
    assert sorted(shown(search="login")) == ["SB-1", "SB-3"]
    assert shown(search="SB-2") == ["SB-2"]

    html = po_client.get(backlog_url(type="task", label="db", assignee="me", search="schema")).content.decode()
    assert '<option value="task" selected>' in html
    assert '<option value="db" selected>' in html
    assert '<option value="me" selected>' in html
    assert 'value="schema"' in html
    assert "Clear filters" in html
    assert "1 item · 0 points" in html


def test_totals_count_an_item_with_two_matching_labels_once(po_client, project, product_owner):
    make(project, product_owner, labels=["a", "b"], estimate="5")
    html = po_client.get(backlog_url() + "?label=a&label=b").content.decode()
    assert keys_in(html) == ["SB-1"]
    assert "1 item · 5 points" in html


def test_no_match_says_so_and_offers_to_clear(po_client, project, product_owner):
    make(project, product_owner)
    html = po_client.get(backlog_url(type="epic")).content.decode()
    assert "No items match these filters" in html


# --- size: pages and query counts ----------------------------------------------------------------


def test_the_list_shows_a_page_and_a_show_more_link(po_client, project, product_owner, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 3)
    items = [make(project, product_owner, f"Item {n}") for n in range(5)]
    html = po_client.get(backlog_url()).content.decode()
    assert keys_in(html) == ["SB-1", "SB-2", "SB-3"]
    assert "5 items" in html
    more = re.search(r'hx-get="\?after=([^"]+)"', html)
    assert more and more.group(1) == items[2].rank
    partial = po_client.get(backlog_url(after=items[2].rank), HTTP_HX_REQUEST="true").content.decode()
    assert keys_in(partial) == ["SB-4", "SB-5"]
    assert "<html" not in partial and "Show more" not in partial
    full = po_client.get(backlog_url(after=items[2].rank)).content.decode()
    assert keys_in(full) == ["SB-4", "SB-5"] and "Back to the top of the backlog" in full


@pytest.mark.parametrize("count", [5, 500])
def test_backlog_page_runs_a_constant_number_of_queries(
    po_client, project, product_owner, developer, count, django_assert_num_queries
):
    epic = make(project, product_owner, "Epic", type="epic")
    for n in range(count):
        make(project, product_owner, f"S{n}", labels=["a", "b"], parent=epic, estimate="3", assignee=developer)
    # session, user, project, membership, items (one page), their labels, totals,
    # statuses, label names, members
    with django_assert_num_queries(10):
        response = po_client.get(backlog_url())
    assert len(keys_in(response.content.decode())) == min(count + 1, views.PAGE_SIZE)
    with django_assert_num_queries(10):
        filtered = po_client.get(backlog_url(label="a", assignee=developer.username, search="S1"))
    assert "S1" in filtered.content.decode()


# --- moving: the page's JavaScript calls the move API ------------------------------------------------


def test_the_pages_move_contract_saves_a_move_that_survives_a_reload(project, product_owner):
    one, two, three = (make(project, product_owner, f"Item {n}") for n in range(3))
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(product_owner)
    html = browser.get(backlog_url()).content.decode()
    token = json.loads(re.search(r"hx-headers='([^']+)'", html).group(1))["X-CSRFToken"]
    move_url = re.search(r'data-move-url="([^"]+)"', html).group(1).replace("ITEM-KEY", three.key)

    response = browser.post(
        move_url, json.dumps({"before": one.key}), content_type="application/json", HTTP_X_CSRFTOKEN=token
    )

    assert response.status_code == 200
    assert keys_in(browser.get(backlog_url()).content.decode()) == [three.key, one.key, two.key]
    after = browser.post(
        move_url.replace(three.key, one.key),
        json.dumps({"after": two.key}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert after.status_code == 200
    assert keys_in(browser.get(backlog_url()).content.decode()) == [three.key, two.key, one.key]


def test_a_move_without_the_csrf_header_is_refused(project, product_owner):
    make(project, product_owner)
    two = make(project, product_owner)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(product_owner)
    url = reverse("api:item-move", kwargs={"key": "SB", "item_key": two.key})
    response = browser.post(url, json.dumps({"position": "top"}), content_type="application/json")
    assert response.status_code == 403
    assert list(BacklogItem.objects.order_by("rank").values_list("number", flat=True)) == [1, 2]


def test_move_to_top_or_bottom_without_javascript(po_client, project, product_owner):
    make(project, product_owner)
    two = make(project, product_owner)
    response = po_client.post(item_url("item_move", two), {"position": "top"}, follow=True)
    assert "SB-2 moved to the top of the backlog." in response.content.decode()
    assert list(BacklogItem.objects.order_by("rank").values_list("number", flat=True)) == [2, 1]
    po_client.post(item_url("item_move", two), {"position": "bottom"})
    assert list(BacklogItem.objects.order_by("rank").values_list("number", flat=True)) == [1, 2]
    assert "Say where" in po_client.post(item_url("item_move", two), {"position": "x"}, follow=True).content.decode()


# --- the item page --------------------------------------------------------------------------------


def test_item_page_shows_every_part(po_client, project, product_owner, developer):
    project.definition_of_ready = "Estimated\nAcceptance criteria written"
    project.definition_of_done = "Reviewed"
    project.save()
    epic = make(project, product_owner, "Payments", type="epic")
    item = make(
        project,
        product_owner,
        "Pay by card",
        parent=epic,
        description="Use **Stripe**",
        acceptance_criteria=["Card declined shows a message"],
        labels=["pay"],
        assignee=developer,
    )
    make(project, product_owner, "Card form", type="task", parent=item)
    services.add_comment(item=item, by=developer, body="Which provider?")

    response = po_client.get(item_url("item", item))

    assert response.status_code == 200
    html = response.content.decode()
    for text in [
        "Pay by card",
        "<strong>Stripe</strong>",
        "Card declined shows a message",
        "Card form",
        "Which provider?",
        "Definition of Done",
        "Reviewed",
        "Estimated",
        "Acceptance criteria written",
        "Ready for a sprint",
        "created the item",
        'value="SB-1"',
        "pay",
        "Linked items",
        "Backend Developer",
    ]:
        assert text in html, text
    assert response.context["form"]["assignee"].value() == str(developer.pk)


def test_unknown_or_foreign_item_keys_are_404(po_client, project, product_owner):
    make(project, product_owner)
    assert po_client.get(reverse("backlog:item", kwargs={"key": "SB", "item_key": "SB-99"})).status_code == 404
    assert po_client.get(reverse("backlog:item", kwargs={"key": "SB", "item_key": "OT-1"})).status_code == 404
    # Keys are read case-insensitively, as people type them.
    assert po_client.get(reverse("backlog:item", kwargs={"key": "SB", "item_key": "sb-1"})).status_code == 200


def item_form_data(item, **changes) -> dict:
    data = {
        "title": item.title,
        "description": item.description,
        "status": str(item.status_id),
        "type": item.type,
        "priority": item.priority,
        "assignee": str(item.assignee_id or ""),
        "estimate": item.estimate,
        "parent": item.parent.key if item.parent_id else "",
        "due_date": item.due_date.isoformat() if item.due_date else "",
        "labels": ", ".join(label.name for label in item.labels.all()),
        "done": [str(i) for i, entry in enumerate(item.done_checklist) if entry["done"]],
    }
    if item.ready:
        data["ready"] = "on"
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def test_saving_the_item_form_changes_only_what_changed(po_client, project, product_owner, developer):
    epic = make(project, product_owner, "Epic", type="epic")
    item = make(project, product_owner, "Old title", labels=["a"])
    response = po_client.post(
        item_url("item_update", item),
        item_form_data(
            item,
            title="New   title",
            assignee=str(developer.pk),
            estimate="8",
            parent=epic.key.lower(),
            due_date="2030-05-01",
            labels="a, b",
            ready="on",
            priority="high",
            description="**Now**",
        ),
    )
    assert response.status_code == 302 and response["Location"] == item_url("item", item)
    item = fresh(item)
    assert (item.title, item.assignee, item.estimate, item.parent, item.priority) == (
        "New title",
        developer,
        "8",
        epic,
        "high",
    )
    assert (item.due_date, item.ready, item.description) == (datetime.date(2030, 5, 1), True, "**Now**")
    assert sorted(label.name for label in item.labels.all()) == ["a", "b"]
    changed = set(ItemEvent.objects.filter(item_id=item.pk, kind="changed").values_list("field", flat=True))
    assert changed == {
        "title",
        "assignee",
        "estimate",
        "parent",
        "due_date",
        "labels",
        "ready",
        "priority",
        "description",
    }
    again = po_client.post(item_url("item_update", item), item_form_data(item), follow=True)
    assert "Nothing to save" in again.content.decode()


def test_bad_input_redisplays_the_form_with_errors_and_keeps_what_was_typed(po_client, project, product_owner):
    item = make(project, product_owner, "Keep me", estimate="3")
    response = po_client.post(
        item_url("item_update", item),
        item_form_data(item, title="", description="My long text", parent="SB-99", estimate="4", due_date="soon"),
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "This field is required." in html
    assert "No item SB-99 in this project." in html
    assert "Select a valid choice." in html
    assert "Enter a valid date." in html
    assert "My long text" in html and 'value="SB-99"' in html
    item = fresh(item)
    assert (item.title, item.estimate, item.description) == ("Keep me", "3", "")


def test_a_service_refusal_is_shown_on_its_field_and_the_page_shows_what_is_stored(po_client, project, product_owner):
    task = make(project, product_owner, "A task", type="task")
    story = make(project, product_owner, "A story")
    response = po_client.post(item_url("item_update", story), item_form_data(story, title="Renamed", parent=task.key))
    assert response.status_code == 200
    html = response.content.decode()
    assert "A Story cannot belong to a Task." in html
    assert "<title>SB-2 A story" in html  # the stored title, not the refused one
    assert ">\nRenamed</textarea>" in html  # what was typed is kept in the form
    assert fresh(story).title == "A story"


def test_finishing_with_an_unmet_definition_of_done_needs_a_reason(po_client, project, product_owner):
    project.definition_of_done = "Reviewed\nTested"
    project.save()
    item = make(project, product_owner, "Ship it")
    done = status(project, "Done")

    refused = po_client.post(item_url("item_update", item), item_form_data(item, status=str(done.pk), title="Shipped"))

    assert refused.status_code == 200
    html = refused.content.decode()
    assert "The Definition of Done is not met (Reviewed; Tested)" in html
    assert re.search(r'<div class="override[^"]*" data-override>', html)  # the reason field is shown
    assert ">\nShipped</textarea>" in html
    assert fresh(item).status.name == "To Do" and fresh(item).title == "Ship it"

    accepted = po_client.post(
        item_url("item_update", item),
        item_form_data(item, status=str(done.pk), override_reason="Hotfix agreed with the PO"),
    )
    assert accepted.status_code == 302
    assert fresh(item).status == done
    event = ItemEvent.objects.get(item_id=item.pk, field="done_override")
    assert event.new == "Hotfix agreed with the PO"
    assert (
        "finished it without meeting the Definition of Done" in po_client.get(item_url("item", item)).content.decode()
    )


def test_ticking_the_definition_of_done_lets_the_item_finish(po_client, project, product_owner):
    project.definition_of_done = "Reviewed\nTested"
    project.save()
    item = make(project, product_owner)
    done = status(project, "Done")
    response = po_client.post(item_url("item_update", item), item_form_data(item, status=str(done.pk), done=["0", "1"]))
    assert response.status_code == 302
    item = fresh(item)
    assert item.status == done
    assert [entry["done"] for entry in item.done_checklist] == [True, True]


def test_points_per_role_add_up_to_the_estimate(po_client, project, product_owner):
    item = make(project, product_owner)
    po_client.post(item_url("item_update", item), item_form_data(item, points_backend="3", points_frontend="5"))
    item = fresh(item)
    assert (item.role_points, item.estimate) == ({"backend": "3", "frontend": "5"}, "8")
    po_client.post(item_url("item_update", item), item_form_data(item, points_backend="", points_frontend=""))
    item = fresh(item)
    assert (item.role_points, item.estimate) == ({}, "8")


def test_stakeholders_read_the_item_without_a_form(client, project, product_owner, stakeholder):
    item = make(project, product_owner, "Read me", description="Plain")
    client.force_login(stakeholder)
    response = client.get(item_url("item", item))
    html = response.content.decode()
    assert response.context["form"] is None
    assert 'id="item-form"' not in html and "Add a comment" not in html
    assert '<h1 class="item-title">Read me</h1>' in html
    assert client.post(item_url("item_update", item), item_form_data(item, title="X")).status_code == 403


def test_deleting_an_item_returns_to_the_backlog(po_client, project, product_owner):
    item = make(project, product_owner, "Obsolete")
    response = po_client.post(item_url("item_delete", item), follow=True)
    assert response.redirect_chain[-1][0] == backlog_url()
    assert "SB-1 “Obsolete” deleted." in response.content.decode()
    assert not BacklogItem.objects.exists()


# --- acceptance criteria -------------------------------------------------------------------------------


def test_acceptance_criteria_are_added_ticked_and_removed(po_client, project, product_owner):
    item = make(project, product_owner)
    url = item_url("criteria", item)
    response = po_client.post(url, {"action": "add", "text": "Works offline"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith('<section class="card item-section" id="criteria">') and "Works offline" in html
    po_client.post(url, {"action": "add", "text": "Fast"})
    po_client.post(url, {"action": "toggle", "index": "0", "text": "Works offline"})
    assert fresh(item).acceptance_criteria == [{"text": "Works offline", "done": True}, {"text": "Fast", "done": False}]
    assert "1 of 2 met" in po_client.get(item_url("item", item)).content.decode()
    po_client.post(url, {"action": "remove", "index": "0", "text": "Works offline"})
    assert fresh(item).acceptance_criteria == [{"text": "Fast", "done": False}]


def test_a_stale_or_empty_criterion_change_is_refused_with_a_message(po_client, project, product_owner):
    item = make(project, product_owner, acceptance_criteria=["A", "B"])
    url = item_url("criteria", item)
    stale = po_client.post(url, {"action": "remove", "index": "0", "text": "B"}, HTTP_HX_REQUEST="true")
    assert "The list has changed" in stale.content.decode()
    empty = po_client.post(url, {"action": "add", "text": "  "}, HTTP_HX_REQUEST="true")
    assert "This field is required." in empty.content.decode()
    assert [entry["text"] for entry in fresh(item).acceptance_criteria] == ["A", "B"]


# --- links and watching ------------------------------------------------------------------------------


def test_links_are_added_by_key_shown_from_both_sides_and_removed(po_client, project, product_owner):
    blocker = make(project, product_owner, "Blocker")
    blocked = make(project, product_owner, "Blocked")
    response = po_client.post(item_url("link_add", blocker), {"kind": "blocks", "target": "sb-2"})
    assert response.status_code == 302
    link = ItemLink.objects.get()
    assert (link.source, link.target, link.kind) == (blocker, blocked, "blocks")
    assert "is blocked by" in po_client.get(item_url("item", blocked)).content.decode()
    po_client.post(item_url("link_remove", blocked, pk=link.pk))
    assert not ItemLink.objects.exists()


def test_linking_to_an_unknown_item_or_itself_redisplays_the_form(po_client, project, product_owner):
    item = make(project, product_owner)
    unknown = po_client.post(item_url("link_add", item), {"kind": "relates", "target": "SB-42"})
    assert unknown.status_code == 200 and "No item SB-42 in this project." in unknown.content.decode()
    itself = po_client.post(item_url("link_add", item), {"kind": "relates", "target": item.key})
    assert itself.status_code == 200 and "An item cannot link to itself." in itself.content.decode()
    assert not ItemLink.objects.exists()


def test_a_link_of_another_item_cannot_be_removed_through_this_one(po_client, project, product_owner):
    a, b, c = make(project, product_owner), make(project, product_owner), make(project, product_owner)
    link = services.link_items(source=a, target=b, kind="relates", by=product_owner)
    assert po_client.post(item_url("link_remove", c, pk=link.pk)).status_code == 404
    assert ItemLink.objects.exists()


def test_any_member_may_watch_and_unwatch(client, project, product_owner, stakeholder):
    item = make(project, product_owner)
    client.force_login(stakeholder)
    client.post(item_url("watch", item), {"watching": "1"})
    assert stakeholder in item.watchers.all()
    assert "Watching" in client.get(item_url("item", item)).content.decode()
    client.post(item_url("watch", item), {"watching": "0"})
    assert stakeholder not in item.watchers.all()


# --- comments -------------------------------------------------------------------------------------


def test_comments_render_markdown_and_link_mentions_of_members_only(
    po_client, project, product_owner, developer, outsider
):
    item = make(project, product_owner)
    response = po_client.post(
        item_url("comment_add", item),
        {"body": f"Ask @{developer.username} and @{outsider.username}, see `@{developer.username}` **now**"},
    )
    comment = Comment.objects.get()
    assert response["Location"] == item_url("item", item) + f"#comment-{comment.pk}"
    html = po_client.get(item_url("item", item)).content.decode()
    member_link = f'<a class="mention" href="{backlog_url(assignee=developer.username)}">@{developer.username}</a>'
    assert member_link in html
    assert f"@{outsider.username}" in html and f">@{outsider.username}</a>" not in html
    assert f"<code>@{developer.username}</code>" in html
    assert "<strong>now</strong>" in html


def test_an_empty_comment_redisplays_the_form(po_client, project, product_owner):
    item = make(project, product_owner)
    response = po_client.post(item_url("comment_add", item), {"body": "   "})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not Comment.objects.exists()


def test_authors_edit_their_comments_and_administrators_delete_any(client, project, product_owner, developer, admin):
    item = make(project, product_owner)
    comment = services.add_comment(item=item, by=developer, body="Frist")
    client.force_login(product_owner)
    assert client.post(item_url("comment_edit", item, pk=comment.pk), {"body": "Hacked"}).status_code == 403
    assert client.post(item_url("comment_delete", item, pk=comment.pk)).status_code == 403
    client.force_login(developer)
    client.post(item_url("comment_edit", item, pk=comment.pk), {"body": "First"})
    comment.refresh_from_db()
    assert comment.body == "First" and comment.edited_at is not None
    client.force_login(admin)
    client.post(item_url("comment_delete", item, pk=comment.pk))
    assert not Comment.objects.exists()


# --- history ---------------------------------------------------------------------------------------


def test_history_says_who_changed_what_in_the_projects_time_zone(po_client, project, product_owner, developer):
    moment = datetime.datetime(2025, 3, 1, 10, 0, tzinfo=datetime.UTC)
    with time_machine.travel(moment, tick=False):
        make(project, product_owner, "Neighbour")  # each move below really changes the order
        item = make(project, product_owner, "Tracked")
        services.update_item(item=item, by=product_owner, status=status(project, "In Progress"), assignee=developer)
        services.move_item(item=item, by=product_owner, position="top")
        services.move_item(item=item, by=product_owner, position="bottom")
    html = po_client.get(item_url("item", item)).content.decode()
    local = timezone.localtime(moment, project.tzinfo)
    assert dateformat.format(local, "P") in html  # 3 p.m. in Almaty, not 10 a.m. UTC
    name = product_owner.get_full_name()
    assert re.search(
        rf"<strong>{name}</strong>\s*changed Status\s*<span class=\"change\"><span class=\"old\">To Do</span>", html
    )
    assert f'<span class="new">{developer.get_full_name()}</span>' in html
    assert 'moved it in the backlog <span class="muted">(×2)</span>' in html


# --- markdown preview -------------------------------------------------------------------------------


def test_markdown_preview_is_sanitized(po_client, project):
    response = po_client.post(
        page_url("markdown_preview"), {"text": "**hi** <script>alert(1)</script> [x](javascript:alert(1))"}
    )
    html = response.content.decode()
    assert "<strong>hi</strong>" in html
    assert unsafe_parts(html) == []
    assert "Nothing to preview." in po_client.post(page_url("markdown_preview"), {"text": " "}).content.decode()


# --- epics --------------------------------------------------------------------------------------------


def test_epics_page_shows_progress_and_creates_epics(po_client, project, product_owner):
    epic = make(project, product_owner, "Checkout", type="epic")
    finished = make(project, product_owner, "Cart", parent=epic, estimate="3")
    make(project, product_owner, "Pay", parent=epic, estimate="5")
    services.update_item(item=finished, by=product_owner, status=status(project, "Done"))

    html = po_client.get(page_url("epics")).content.decode()

    assert "Checkout" in html
    assert "1 of 2 items done" in html
    assert "3 of 8 points" in html and 'aria-valuenow="38"' in html
    assert f"{backlog_url()}?parent={epic.key}" in html

    response = po_client.post(
        page_url("quick_add"), {"titles": "Search", "type": "epic", "position": "bottom", "next": page_url("epics")}
    )
    assert response["Location"] == page_url("epics")
    assert BacklogItem.objects.filter(title="Search", type="epic").exists()


@pytest.mark.parametrize("count", [1, 10])
def test_epics_page_runs_a_constant_number_of_queries(
    po_client, project, product_owner, count, django_assert_num_queries
):
    for n in range(count):
        epic = make(project, product_owner, f"Epic {n}", type="epic")
        make(project, product_owner, f"Story {n}", parent=epic, estimate="2")
    # session, user, project, membership, epics with progress
    with django_assert_num_queries(5):
        response = po_client.get(page_url("epics"))
    assert len(response.context["epics"]) == count


# --- XSS -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS)
def test_user_text_renders_inert_on_every_backlog_page(po_client, project, product_owner, developer, payload):
    epic = make(project, product_owner, payload, type="epic", description=payload, labels=[payload[:50]])
    item = make(
        project,
        product_owner,
        payload,
        parent=epic,
        description=payload,
        labels=[payload[:50]],
        acceptance_criteria=[payload],
    )
    other = make(project, product_owner, "Other")
    services.link_items(source=other, target=item, kind="blocks", by=product_owner)
    services.add_comment(item=item, by=developer, body=f"{payload} @{product_owner.username}")
    services.update_item(item=item, by=product_owner, title=payload + "!")

    pages = [
        (backlog_url(), {}),
        (backlog_url(), {"label": payload[:50], "search": payload, "type": payload}),
        (item_url("item", item), {}),
        (item_url("item", epic), {}),
        (item_url("item", other), {}),
        (page_url("epics"), {}),
    ]
    for url, params in pages:
        html = po_client.get(url, params).content.decode()
        assert unsafe_parts(html, allow_tags=PAGE_TAGS) == [], url
        assert "<script>alert" not in html and "javascript:alert" not in html.replace("[x](javascript:alert(1))", "")


def test_a_comment_of_another_item_is_not_found_through_this_one(client, project, product_owner, admin):
    mine, other = make(project, product_owner), make(project, product_owner)
    comment = services.add_comment(item=other, by=admin, body="Elsewhere")
    client.force_login(admin)
    assert client.post(item_url("comment_delete", mine, pk=comment.pk)).status_code == 404
    assert client.post(item_url("comment_edit", mine, pk=comment.pk), {"body": "x"}).status_code == 404
    assert Comment.objects.get().body == "Elsewhere"


def test_an_archived_project_shows_its_backlog_read_only(client, project, product_owner, admin):
    from projects.services import archive_project

    item = make(project, product_owner)
    archive_project(project=project, by=admin)
    client.force_login(product_owner)
    html = client.get(backlog_url()).content.decode()
    assert "SB-1" in html and "data-quick-add" not in html and 'class="drag-handle"' not in html
    assert client.get(item_url("item", item)).context["form"] is None
    assert client.post(page_url("quick_add"), {"titles": "No"}).status_code == 403


def test_saving_an_untouched_description_sent_with_crlf_records_no_change(po_client, project, product_owner):
    item = make(project, product_owner, description="Line one\nLine two\n")
    data = item_form_data(item, description="Line one\r\nLine two\r\n", title="Retitled")
    po_client.post(item_url("item_update", item), data)
    assert fresh(item).description == "Line one\nLine two\n"
    changed = set(ItemEvent.objects.filter(item_id=item.pk, kind="changed").values_list("field", flat=True))
    assert changed == {"title"}


@pytest.mark.parametrize("count", [1, 20])
def test_item_page_runs_a_constant_number_of_queries(
    po_client, project, product_owner, developer, count, django_assert_num_queries
):
    story = make(project, product_owner, "Story", labels=["a"])
    for n in range(count):
        child = make(project, product_owner, f"Task {n}", type="task", parent=story, assignee=developer)
        services.add_comment(item=story, by=developer, body=f"@{product_owner.username} comment {n}")
        services.update_item(item=story, by=product_owner, title=f"Story v{n}")
        services.link_items(source=story, target=child, kind="relates", by=product_owner)
    url = reverse("backlog:item", kwargs={"key": "SB", "item_key": story.key})
    # session, user, project, membership, item + labels, members, statuses, estimating roles,
    # comments + mentions, history, children, links, watchers, epic suggestions
    with django_assert_num_queries(16):
        response = po_client.get(url)
    assert response.status_code == 200
    assert f"comment {count - 1}" in response.content.decode()
