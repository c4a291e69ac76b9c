"""Management commands a new user runs first: ``loaddemo`` and ``createtoken``."""

import datetime
import re
import zoneinfo
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from backlog.models import BacklogItem, ItemEvent
from projects.models import Project
from roles.models import Membership, Role
from roles.services import DEFAULT_ROLES
from scrumboard.demo import DEMO_TEAM
from sprints.models import DaysOff, GoalOutcome, Sprint, SprintState
from sprints.selectors import active_sprint, forecast, sprint_burndown, sprint_report, velocity

pytestmark = pytest.mark.django_db


def loaddemo() -> str:
    out = StringIO()
    call_command("loaddemo", stdout=out)
    return out.getvalue()


def test_loaddemo_creates_project_sb_with_a_member_in_every_role():
    loaddemo()

    project = Project.objects.get(key="SB")
    memberships = Membership.objects.filter(project=project).select_related("role", "user")
    assert len(DEFAULT_ROLES) == 7
    assert sorted(m.role.slug for m in memberships) == sorted(slug for slug, *_ in DEFAULT_ROLES)
    assert set(Role.objects.filter(project=project).values_list("slug", flat=True)) == {
        m.role.slug for m in memberships
    }
    admins = [m.user.username for m in memberships if m.is_admin]
    assert admins == ["aigerim"]


def test_loaddemo_twice_leaves_one_project_and_seven_memberships():
    loaddemo()
    second_output = loaddemo()

    assert Project.objects.filter(key="SB").count() == 1
    assert Membership.objects.filter(project__key="SB").count() == 7
    assert get_user_model().objects.filter(username__in=[name for name, *_ in DEMO_TEAM]).count() == 7
    assert "Demo project SB ready." in second_output


def test_loaddemo_twice_writes_the_backlog_and_sprint_history_once():
    loaddemo()
    counts = (BacklogItem.objects.count(), ItemEvent.objects.count(), Sprint.objects.count())
    loaddemo()

    assert (BacklogItem.objects.count(), ItemEvent.objects.count(), Sprint.objects.count()) == counts
    assert counts[2] == 4


ALMATY = zoneinfo.ZoneInfo("Asia/Almaty")


@pytest.mark.parametrize(
    "now",
    [
        datetime.datetime(2026, 3, 2, 8, 0, tzinfo=ALMATY),  # Monday, before the day's work: week 2 just began
        datetime.datetime(2026, 3, 4, 22, 30, tzinfo=ALMATY),  # Wednesday evening
        datetime.datetime(2026, 3, 8, 12, 0, tzinfo=ALMATY),  # Sunday: all of week 2 is behind
    ],
    ids=["monday-morning", "wednesday-evening", "sunday"],
)
def test_demo_has_three_completed_sprints_and_an_active_one_in_its_second_week(time_machine, now):
    time_machine.move_to(now, tick=False)
    loaddemo()

    project = Project.objects.get(key="SB")
    sprints = list(project.sprints.order_by("number"))
    assert [s.state for s in sprints] == [SprintState.COMPLETED] * 3 + [SprintState.ACTIVE]
    assert all(s.start_date.isoweekday() == 1 for s in sprints)
    rows = velocity(project)
    assert [(row.committed, row.completed) for row in rows] == [(26, 21), (30, 27), (28, 29)]
    assert forecast(project) is not None

    active = active_sprint(project)
    assert active is not None
    today = now.date()
    assert 7 <= (today - active.start_date).days <= 13  # its second week
    burndown = sprint_burndown(active)
    days = [datetime.date.fromisoformat(label) for label in burndown["days"][1:]]
    passed = 1 + sum(1 for day in days if day <= today)  # "start" and the working days begun so far
    assert burndown["today"] == passed - 1
    assert None not in burndown["remaining"][:passed]
    assert burndown["remaining"][passed:] == [None] * (len(days) + 1 - passed)
    assert 0 < burndown["remaining"][passed - 1] < burndown["remaining"][0]
    # History is dated when it happened, never later than now.
    assert not ItemEvent.objects.filter(project=project, at__gt=now).exists()


def test_demo_reports_replay_the_sprints_history(time_machine):
    time_machine.move_to(datetime.datetime(2026, 3, 4, 22, 30, tzinfo=ALMATY), tick=False)
    loaddemo()

    project = Project.objects.get(key="SB")
    first, second, third, active = project.sprints.order_by("number")
    kubernetes = BacklogItem.objects.get(project=project, title__startswith="Kubernetes manifests")
    assert [row["key"] for row in first.report["carry_over"]] == [kubernetes.key]
    assert first.goal_outcome == GoalOutcome.PARTLY and first.goal_note
    assert second.report["scope_change"]["removed_points"] == 3
    assert third.report["scope_change"]["added_points"] == 1
    assert third.feedback_items.count() == 1
    assert all(s.goal and s.report["burndown"]["remaining"][-1] is not None for s in (first, second, third))

    report = sprint_report(active)
    assert report["scope_change"]["added_points"] == 1
    assert [(row["old"], row["new"]) for row in report["scope_change"]["changed"]] == [(5, 8)]
    assert DaysOff.objects.filter(sprint=active, user__username="dana", days=2).exists()
    assert BacklogItem.objects.filter(sprint=active).exclude(role_points={}).exists()
    assert ItemEvent.objects.filter(project=project, field="done_override").count() == 1


def test_demo_users_log_in_with_the_printed_password(client, api):
    output = loaddemo()
    match = re.search(r"Log in as (\w+) / (\S+) ", output)
    assert match, output
    username, password = match.groups()
    assert username == "aigerim"

    for name, *_ in DEMO_TEAM:
        assert client.login(username=name, password=password), name
        client.logout()

    response = api.post("/api/v1/auth/token/", {"username": username, "password": password}, format="json")
    assert response.status_code == 201, response.content
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}")
    assert api.get("/api/v1/me/").json()["username"] == "aigerim"


def test_createtoken_prints_a_token_that_authenticates(api):
    loaddemo()
    out = StringIO()
    call_command("createtoken", "aigerim", stdout=out)
    token = out.getvalue().strip()

    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = api.get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["username"] == "aigerim"


def test_createtoken_for_unknown_user_fails():
    with pytest.raises(CommandError, match="No user called 'nobody'"):
        call_command("createtoken", "nobody", stdout=StringIO())
