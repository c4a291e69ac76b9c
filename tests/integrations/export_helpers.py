"""Shared by the export tests: a small project with every kind of object, restoring, comparing documents."""

import datetime
import json

import time_machine
from django.db import transaction
from django.utils import timezone

from backlog import services as backlog
from backlog.models import Status
from integrations.exporting import export_project
from integrations.importing import scrumboard_source
from projects.models import Project
from projects.services import create_project
from retrospectives.models import ActionItem, Card, CardGroup, DiscussionNote, HealthRating, Retrospective, Vote
from roadmap.models import Milestone, Phase, Release, ReleaseItem
from roles.models import Membership, Role
from roles.services import add_member
from sprints import services as sprints
from standups.models import DailyScrum, Entry, Impediment
from tests.factories import UserFactory, make_member

TZ = datetime.timezone(datetime.timedelta(hours=5))


def at(day: int, hour: int = 10) -> datetime.datetime:
    return datetime.datetime(2026, 3, day, hour, tzinfo=TZ)


def build_small_project(team, *, extra_items: int = 0, former_leaves: bool = True) -> Project:
    """SB with one of everything, written through the services where they exist, at fixed times.

    ``extra_items`` more stories (each with a comment, a link and a watcher) for the size tests.
    A member who took part leaves at the end (``former_leaves``): the history still names them.
    """
    project, admin, dev, po = team.project, team.admin, team.developer, team.product_owner
    name = f"former-{project.key.lower()}"
    former = make_member(project, "backend", user=UserFactory(username=name, email=f"{name}@example.com")).user
    with time_machine.travel(at(2), tick=False):
        epic = backlog.create_item(project=project, by=admin, title="Қазақша эпик", type="epic", labels=["roadmap"])
        story = backlog.create_item(
            project=project,
            by=po,
            title="Жүйеге кіру — вход в систему",
            parent=epic,
            labels=["бэкенд", "ux"],
            assignee=dev,
            estimate="3",
            due_date=datetime.date(2026, 3, 20),
            description="Markdown **body**",
            acceptance_criteria=["Works"],
        )
        task = backlog.create_item(project=project, by=dev, title="Task", type="task", parent=story, estimate="2")
        doomed = backlog.create_item(project=project, by=po, title="Will be deleted", estimate="1")
        backlog.link_items(source=story, target=task, kind="blocks", by=admin)
        backlog.watch_item(item=story, by=po)
        backlog.add_comment(item=story, by=former, body="@dev please look, Сәлем!")
        for n in range(extra_items):
            extra = backlog.create_item(project=project, by=po, title=f"Extra {n}", estimate="1", labels=["ux"])
            backlog.add_comment(item=extra, by=dev, body=f"comment {n}")
            backlog.link_items(source=extra, target=story, kind="relates", by=admin)
            backlog.watch_item(item=extra, by=dev)
    with time_machine.travel(at(5, 9), tick=False):
        sprint = sprints.create_sprint(project=project, by=admin, goal="Sign-in", start_date=datetime.date(2026, 3, 9))
        for item in (story, task, doomed):
            backlog.move_item(item=item, by=admin, sprint=sprint)
        sprints.set_days_off(sprint=sprint, by=admin, user=dev, days=2)
    with time_machine.travel(at(9), tick=False):
        sprints.start_sprint(sprint=sprint, by=admin)
    with time_machine.travel(at(10, 11), tick=False):
        backlog.delete_item(item=doomed, by=admin)
        done = Status.objects.get(project=project, name="Done")
        task.refresh_from_db()
        backlog.update_item(item=task, by=dev, status=done, override_reason="Tiny")
    with time_machine.travel(at(20, 16), tick=False):
        sprints.complete_sprint(sprint=sprint, by=admin)
        sprints.add_review_feedback(sprint=sprint, by=po, title="Feedback item")
    second = sprints.create_sprint(project=project, by=admin, goal="Next", start_date=datetime.date(2026, 3, 23))
    _meetings(project, sprint, admin, dev, story)
    _retrospectives(project, sprint, admin, dev, former, task)
    _roadmap(project, admin, epic, story)
    assert second.pk
    if former_leaves:  # the export lists them under "people"
        Membership.objects.filter(project=project, user=former).delete()
    return project


def _meetings(project, sprint, admin, dev, story) -> None:
    meeting = DailyScrum.objects.create(
        project=project,
        sprint=sprint,
        date=datetime.date(2026, 3, 10),
        state="closed",
        started_at=at(10),
        ended_at=at(10, 11),
        facilitator=admin,
        speaking_order=[dev.pk, admin.pk],
        attendance={str(dev.pk): True, str(admin.pk): False},
    )
    impediment = Impediment.objects.create(
        project=project,
        description="Stage is down",
        raised_by=dev,
        owner=admin,
        raised_on=meeting.date,
        raised_in=meeting,
    )
    impediment.items.add(story)
    Impediment.objects.create(
        project=project,
        description="Fixed",
        state="resolved",
        raised_by=dev,
        raised_on=meeting.date,
        resolved_at=at(11),
        resolved_by=admin,
        resolved_on=datetime.date(2026, 3, 11),
    )
    entry = Entry.objects.create(meeting=meeting, user=dev, done="x", next="y", blockers="Stage", impediment=impediment)
    entry.items.add(story)
    meeting.summary = {"reported": ["dev"], "raised": [{"id": impediment.pk, "description": "Stage is down"}]}
    meeting.save(update_fields=["summary"])


def _retrospectives(project, sprint, admin, dev, former, task) -> None:
    # Completing the sprint opened its retrospective; this team keeps the cards anonymous.
    retro = Retrospective.objects.get(sprint=sprint)
    retro.anonymous = True
    group = CardGroup.objects.create(retrospective=retro, title="CI", column="to_improve")
    card = Card.objects.create(retrospective=retro, column="to_improve", text="Slow CI", author=dev, group=group)
    other = Card.objects.create(retrospective=retro, column="went_well", text="Good", author=former)
    Vote.objects.create(retrospective=retro, group=group, voter=dev)
    Vote.objects.create(retrospective=retro, card=other, voter=former)
    DiscussionNote.objects.create(retrospective=retro, card=card, text="Cache deps", author=admin)
    ActionItem.objects.create(retrospective=retro, text="Cache", owner=dev, backlog_item=task, due_date=at(25).date())
    HealthRating.objects.create(retrospective=retro, member=dev, statement="fun", score=4)
    HealthRating.objects.create(retrospective=retro, member=former, statement="fun", score=2)
    retro.summary = {
        "id": retro.pk,
        "sprint": {"id": sprint.pk, "name": sprint.name},
        "columns": [{"key": "to_improve", "cards": [], "groups": [{"id": group.pk, "cards": [{"id": card.pk}]}]}],
        "action_items": [{"backlog_item": f"{project.key}-{task.number}"}],
    }
    retro.phase, retro.closed_at = "closed", at(20, 17)
    retro.save()


def _roadmap(project, admin, epic, story) -> None:
    phase = Phase.objects.create(
        project=project, name="Month 1", start_date=datetime.date(2026, 3, 1), end_date=datetime.date(2026, 3, 31)
    )
    phase.items.add(epic, story)
    Milestone.objects.create(project=project, phase=phase, name="Beta", date=datetime.date(2026, 3, 31), done=True)
    release = Release.objects.create(
        project=project,
        version="1.0.0-rc.1",
        phase=phase,
        status="released",
        released_on=datetime.date(2026, 3, 21),
        released_by=admin,
        notes="- Sign-in",
    )
    ReleaseItem.objects.create(release=release, item=story, released=True)


def new_project_like(source: Project, *, key: str, skip: tuple[str, ...] = ()) -> Project:
    """A new project with the source's members in the same roles (except usernames in ``skip``)."""
    memberships = list(Membership.objects.filter(project=source).select_related("user", "role"))
    admin = next(m.user for m in memberships if m.is_admin)
    with time_machine.travel(timezone.now(), tick=False):
        project = create_project(key=key, name=source.name, by=admin)
    roles = {r.slug: r for r in Role.objects.filter(project=project)}
    for m in memberships:
        if m.user != admin and m.user.get_username() not in skip:
            add_member(project=project, user=m.user, role=roles[m.role.slug], is_admin=m.is_admin)
    return project


def restore(project: Project, document: dict, *, actor=None, progress=None) -> dict:
    parsed = scrumboard_source.parse(json.dumps(document).encode())
    with transaction.atomic():
        return scrumboard_source.apply(project, parsed, actor=actor, job=None, progress=progress or (lambda d, t: None))


def comparable(document: dict) -> dict:
    """The document without what legitimately differs in a copy: its time, the key and name, join dates."""
    key = document["project"]["key"]
    text = json.dumps(document, ensure_ascii=False).replace(f'"{key}-', '"KEY-')
    result = json.loads(text)
    result.pop("exported_at")
    result["project"].pop("key")
    result["project"].pop("name")
    for member in result["members"]:
        member.pop("joined_at")  # memberships are not restored: people join the new project themselves
    return result


def export_of(project: Project) -> dict:
    return export_project(Project.objects.get(pk=project.pk))
