"""Capacity: the team's available days in a sprint against what is planned in it."""

from collections import defaultdict
from dataclasses import dataclass

from backlog.models import BacklogItem, ItemType
from projects.models import Project
from roles.models import Membership
from sprints.models import DaysOff, Sprint, SprintState
from sprints.selectors.forecasting import VELOCITY_WINDOW


@dataclass
class MemberCapacity:
    membership: Membership
    days_off: int
    available: int


@dataclass
class RoleLoad:
    slug: str
    name: str
    available_days: int
    capacity_points: float | None
    planned_points: float

    @property
    def over(self) -> bool:
        return self.capacity_points is not None and self.planned_points > self.capacity_points


@dataclass
class Capacity:
    working_days: int
    members: list[MemberCapacity]
    available_days: int
    points_per_day: float | None  # from the last completed sprints; None without history
    capacity_points: float | None
    average_velocity: float | None
    planned_points: float
    planned_items: int
    roles: list[RoleLoad]
    unestimated_items: int

    @property
    def over_velocity(self) -> bool:
        return self.average_velocity is not None and self.planned_points > self.average_velocity

    @property
    def over_capacity(self) -> bool:
        return self.capacity_points is not None and self.planned_points > self.capacity_points


def _team(project: Project) -> list[Membership]:
    """The Developers: members whose role estimates points do the sprint's work."""
    return list(
        Membership.objects.filter(project=project, role__estimates_points=True)
        .select_related("user", "role")
        .order_by("role__order", "user__first_name", "user__username")
    )


def capacity_summary(sprint: Sprint) -> dict:
    capacity = sprint_capacity(sprint)
    return {
        "working_days": capacity.working_days,
        "available_days": capacity.available_days,
        "members": [
            {
                "username": m.membership.user.get_username(),
                "name": m.membership.user.get_full_name() or m.membership.user.get_username(),
                "role": m.membership.role.slug,
                "days_off": m.days_off,
                "available_days": m.available,
            }
            for m in capacity.members
        ],
    }


def recent_velocity(project: Project, *, before: Sprint | None = None) -> tuple[float | None, float | None]:
    """(average completed points, points per available person-day) over the last three completed sprints."""
    done = Sprint.objects.filter(project=project, state=SprintState.COMPLETED)
    if before is not None and before.completed_at is not None:
        done = done.filter(completed_at__lt=before.completed_at)
    rows = list(done.order_by("-completed_at").values_list("completed_points", "available_days")[:VELOCITY_WINDOW])
    if not rows:
        return None, None
    points = [float(p or 0) for p, _days in rows]
    days = sum(d or 0 for _p, d in rows)
    return round(sum(points) / len(points), 1), (round(sum(points) / days, 2) if days else None)


def sprint_capacity(sprint: Sprint) -> Capacity:
    """The team's available days in the sprint, against what is planned in it, per role too."""
    project = sprint.project
    working = len(sprint.working_days())
    off = dict(DaysOff.objects.filter(sprint=sprint).values_list("user_id", "days"))
    members = [
        MemberCapacity(m, off.get(m.user_id, 0), max(0, working - off.get(m.user_id, 0))) for m in _team(project)
    ]
    available = sum(m.available for m in members)
    average, per_day = recent_velocity(project, before=sprint if sprint.is_completed else None)
    items = list(
        BacklogItem.objects.filter(sprint=sprint)
        .exclude(type=ItemType.EPIC)
        .values_list("points", "role_points", "assignee_id")
    )
    role_of_user = {m.membership.user_id: m.membership.role.slug for m in members}
    planned_by_role: dict[str, float] = defaultdict(float)
    for points, role_points, assignee_id in items:
        if role_points:
            for slug, value in role_points.items():
                planned_by_role[slug] += float(value)
        elif points is not None and assignee_id in role_of_user:
            planned_by_role[role_of_user[assignee_id]] += float(points)
    days_by_role: dict[str, int] = defaultdict(int)
    names: dict[str, str] = {}
    for m in members:
        days_by_role[m.membership.role.slug] += m.available
        names[m.membership.role.slug] = m.membership.role.name
    roles = [
        RoleLoad(
            slug=slug,
            name=names.get(slug, slug),
            available_days=days_by_role.get(slug, 0),
            capacity_points=round(days_by_role.get(slug, 0) * per_day, 1) if per_day is not None else None,
            planned_points=round(planned_by_role.get(slug, 0.0), 1),
        )
        for slug in sorted(
            set(days_by_role) | set(planned_by_role), key=lambda s: list(names).index(s) if s in names else 99
        )
    ]
    planned = round(sum(float(p or 0) for p, _r, _a in items), 1)
    return Capacity(
        working_days=working,
        members=members,
        available_days=available,
        points_per_day=per_day,
        capacity_points=round(available * per_day, 1) if per_day is not None else None,
        average_velocity=average,
        planned_points=planned,
        planned_items=len(items),
        roles=roles,
        unestimated_items=sum(1 for p, _r, _a in items if p is None),
    )
