"""The demo project (key SB): a team with a member in every role.

Loading is idempotent: running it again leaves one demo project. Later parts of the
cycle (backlog, sprints, meetings, roadmap) add their own demo data here.
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from backlog.models import BacklogItem, Status
from backlog.services import create_item, update_item
from projects.models import Project
from projects.services import create_project
from roles.models import Role
from roles.services import add_member

DEMO_KEY = "SB"
DEMO_PASSWORD = "scrumboard-demo"  # noqa: S105 (the published demo login, printed by `make run`)
# (username, first name, last name, role slug); the first is the project's administrator.
DEMO_TEAM = [
    ("aigerim", "Aigerim", "Sadykova", "scrum-master"),
    ("daniyar", "Daniyar", "Nurlanov", "product-owner"),
    ("madina", "Madina", "Omarova", "system-analyst"),
    ("arman", "Arman", "Bekov", "backend"),
    ("dana", "Dana", "Ivanova", "frontend"),
    ("timur", "Timur", "Akhmetov", "devops"),
    ("sergey", "Sergey", "Petrov", "stakeholder"),
]


def _user(username: str, first: str, last: str):
    user, created = get_user_model().objects.get_or_create(
        username=username,
        defaults={"first_name": first, "last_name": last, "email": f"{username}@scrumboard.example"},
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    return user


@transaction.atomic
def load_demo() -> Project:
    admin = _user(*DEMO_TEAM[0][:3])
    project = Project.objects.filter(key=DEMO_KEY).first()
    if project is None:
        project = create_project(
            key=DEMO_KEY,
            name="Scrumboard",
            by=admin,
            description="The team building Scrumboard itself, planned month by month.",
            product_goal="Release Scrumboard 1.0: every Scrum event in one place, fast on big backlogs.",
            definition_of_done="Code reviewed\nTests pass in CI\nDeployed to staging\nDocumentation updated",
        )
    roles = {role.slug: role for role in Role.objects.filter(project=project)}
    for username, first, last, role_slug in DEMO_TEAM[1:]:
        user = _user(username, first, last)
        if not project.memberships.filter(user=user).exists():
            add_member(project=project, user=user, role=roles[role_slug])
    if not BacklogItem.objects.filter(project=project).exists():
        _load_backlog(project)
    return project


# Epic title -> [(type, title, estimate, labels, assignee, status)]
DEMO_BACKLOG: dict[str, list[tuple[str, str, str, list[str], str | None, str]]] = {
    "Architecture and technology stack": [
        ("spike", "Choose the database and ORM", "3", ["architecture"], "madina", "Done"),
        (
            "story",
            "Design the data model for projects, roles and backlog",
            "5",
            ["architecture", "db"],
            "madina",
            "Done",
        ),
        ("task", "Set up the Django project, settings and CI", "3", ["devops"], "timur", "Done"),
        ("task", "Kubernetes manifests for dev, stage and prod", "5", ["devops", "k8s"], "timur", "Done"),
        ("task", "Secrets in HashiCorp Vault", "3", ["devops", "security"], "timur", "In Progress"),
        ("story", "Role-based permissions for every action", "8", ["security"], "arman", "Done"),
        ("task", "Grafana dashboards and Sentry alerts", "3", ["devops", "observability"], "timur", "To Do"),
    ],
    "Minimum viable product": [
        ("story", "Product backlog with drag-and-drop ranking", "8", ["backlog", "ux"], "dana", "In Review"),
        ("story", "Create and edit backlog items", "5", ["backlog"], "arman", "Done"),
        ("story", "Estimate stories in points per role", "5", ["backlog", "estimation"], "arman", "In Progress"),
        ("story", "Sprint planning with capacity and velocity", "8", ["sprints"], "arman", "To Do"),
        ("story", "Sprint board with columns per status", "8", ["sprints", "ux"], "dana", "To Do"),
        ("story", "Daily scrum with a 15-minute timer", "5", ["meetings"], "dana", "To Do"),
        ("story", "Burndown and burnup charts", "8", ["reports"], "arman", "To Do"),
        ("story", "Sprint review report for stakeholders", "5", ["reports"], "madina", "To Do"),
        ("story", "Retrospective board with voting", "8", ["meetings", "ux"], "dana", "To Do"),
        ("story", "Invite team members by e-mail", "3", ["team"], "arman", "Done"),
        ("story", "Interface in Kazakh and Russian", "5", ["i18n"], "dana", "In Progress"),
        ("bug", "Drag handle hard to grab on touch screens", "2", ["ux", "mobile"], "dana", "To Do"),
        ("task", "REST API documentation with examples", "3", ["api", "docs"], "madina", "To Do"),
        ("story", "Personal API tokens for integrations", "3", ["api", "security"], "arman", "Done"),
        ("story", "Reminders before the daily scrum", "5", ["notifications"], "arman", "To Do"),
        ("story", "Import a backlog from a Jira CSV export", "8", ["integrations"], "arman", "To Do"),
        ("bug", "Search ignores Cyrillic capital letters", "2", ["search", "i18n"], "arman", "To Do"),
        ("story", "Roadmap timeline by month", "8", ["roadmap"], "dana", "To Do"),
    ],
    "Testing and release 1.0": [
        ("task", "Load test the backlog with 50,000 items", "5", ["performance"], "timur", "To Do"),
        ("task", "Browser journeys for every page", "5", ["testing"], "dana", "To Do"),
        ("task", "Security review and dependency audit", "3", ["security"], "timur", "To Do"),
        ("story", "Release notes generated from done items", "3", ["roadmap"], "madina", "To Do"),
        ("task", "Stage deployment smoke tests", "2", ["devops", "testing"], "timur", "To Do"),
        ("story", "Stakeholder demo of release 1.0", "2", ["review"], "daniyar", "To Do"),
        ("spike", "Accessibility audit of the board", "3", ["ux", "a11y"], "dana", "To Do"),
        ("task", "Write the operations runbook", "3", ["docs", "devops"], "timur", "To Do"),
    ],
}


def _load_backlog(project: Project) -> None:
    product_owner = get_user_model().objects.get(username="daniyar")
    users = {user.username: user for user in get_user_model().objects.filter(memberships__project=project)}
    statuses = {status.name: status for status in Status.objects.filter(project=project)}
    for epic_title, children in DEMO_BACKLOG.items():
        epic = create_item(project=project, by=product_owner, title=epic_title, type="epic", labels=["roadmap"])
        for item_type, title, estimate, labels, assignee, status in children:
            item = create_item(
                project=project,
                by=product_owner,
                title=title,
                type=item_type,
                estimate=estimate,
                labels=labels,
                assignee=users.get(assignee or ""),
                parent=epic,
                description=f"**{title}.** Refined with the Product Owner; see the acceptance criteria below.",
                acceptance_criteria=[f"{title} works on a laptop and a phone", "Covered by tests"],
            )
            if status != "To Do":
                checklist = [{**entry, "done": True} for entry in item.done_checklist] if status == "Done" else None
                changes: dict[str, Any] = {"status": statuses[status]}
                if checklist is not None:
                    changes["done_checklist"] = checklist
                update_item(item=item, by=product_owner, **changes)
