"""The demo project (key SB): a team with a member in every role.

Loading is idempotent: running it again leaves one demo project. Later parts of the
cycle (backlog, sprints, meetings, roadmap) add their own demo data here.
"""

import datetime

from django.contrib.auth import get_user_model
from django.db import transaction

from projects.models import Project
from projects.services import create_project
from roles.models import Role
from roles.services import add_member

DEMO_KEY = "SB"
DEMO_PASSWORD = "scrumboard-demo"
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
    return project
