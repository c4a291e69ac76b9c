"""Every write to sprints: planning, the start (the commitment), completion (carry-over, frozen report)."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backlog import ranking
from backlog import services as backlog_services
from backlog.models import BacklogItem, EventKind, ItemEvent, ItemType, StatusCategory
from projects.models import Project
from roles import policy
from roles.models import Membership, Permission
from scrumboard.errors import ConflictError
from sprints import selectors, signals
from sprints.models import CommittedItem, DaysOff, GoalOutcome, Sprint, SprintState, one_month_after

EDITABLE_FIELDS = ("name", "goal", "start_date", "end_date")
FEEDBACK_LABEL = "feedback"


class Unfinished:
    """Where completing a sprint sends the items that are not done."""

    BACKLOG = "backlog"
    NEXT_SPRINT = "next_sprint"
    CHOICES = (BACKLOG, NEXT_SPRINT)


def _lock_project(project: Project) -> None:
    """Serialises numbering, starts and completions of one project's sprints."""
    Project.objects.select_for_update().filter(pk=project.pk).first()


def default_dates(project: Project, *, after: Sprint | None = None) -> tuple[datetime.date, datetime.date]:
    """The next sprint's dates: the day after the last sprint ends (or today), for the project's length."""
    today = timezone.localdate(timezone=project.tzinfo)
    latest = after or project.sprints.order_by("-end_date").first()
    # The cadence holds: after a sprint closed early, the next still begins the day after its planned end.
    start = max(today, latest.end_date + datetime.timedelta(days=1)) if latest else today
    return start, _end_for(project, start)


def _end_for(project: Project, start: datetime.date) -> datetime.date:
    end = start + datetime.timedelta(days=project.sprint_length_days - 1)
    return min(end, one_month_after(start) - datetime.timedelta(days=1))


# Far from the calendar's end (9999-12-31): defaults and the one-month rule add days to a sprint's dates.
LATEST_DATE = datetime.date(2999, 12, 31)


def _check_range(**dates: datetime.date | None) -> None:
    late = {name: _("Give a date before the year 3000.") for name, day in dates.items() if day and day > LATEST_DATE}
    if late:
        raise ValidationError(late)


def _check(sprint: Sprint) -> None:
    if not sprint.name.strip():
        raise ValidationError({"name": _("Give the sprint a name.")})
    sprint.full_clean(exclude=["project", "report", "started_by", "completed_by"], validate_constraints=False)


@transaction.atomic
def create_sprint(
    *,
    project: Project,
    by,
    name: str = "",
    goal: str = "",
    start_date: datetime.date | None = None,
    end_date: datetime.date | None = None,
    after: Sprint | None = None,
) -> Sprint:
    policy.require(by, project, Permission.MANAGE_SPRINTS)
    _check_range(start_date=start_date, end_date=end_date)
    _lock_project(project)
    last = project.sprints.order_by("-number").values_list("number", flat=True).first() or 0
    if start_date is None:
        start_date, default_end = default_dates(project, after=after)
        end_date = end_date or default_end
    sprint = Sprint(
        project=project,
        number=last + 1,
        name=(name or "").strip() or _("Sprint %(number)s") % {"number": last + 1},
        goal=(goal or "").strip(),
        start_date=start_date,
        end_date=end_date or _end_for(project, start_date),
    )
    _check(sprint)
    sprint.save()
    return sprint


@transaction.atomic
def update_sprint(*, sprint: Sprint, by, **changes) -> Sprint:
    policy.require(by, sprint.project, Permission.MANAGE_SPRINTS)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({field: _("This field cannot be changed here.") for field in sorted(unknown)})
    _check_range(start_date=changes.get("start_date"), end_date=changes.get("end_date"))
    if sprint.is_completed and {"start_date", "end_date"} & set(changes):
        raise ValidationError(_("A completed sprint's dates belong to its report and stay as they were."))
    if sprint.is_active and "start_date" in changes and changes["start_date"] != sprint.start_date:
        raise ValidationError({"start_date": _("The sprint has started; its start date is fixed.")})
    for field, value in changes.items():
        setattr(sprint, field, value.strip() if isinstance(value, str) else value)
    _check(sprint)
    sprint.save()
    return sprint


def _leave_sprint(items: list[BacklogItem], sprint: Sprint, *, by, to: Sprint | None, top_ranks: bool, at) -> None:
    """Moves items out of ``sprint`` with their history: to another sprint, or to the backlog (top)."""
    if not items:
        return
    old = {"id": sprint.pk, "name": sprint.name}
    new = None if to is None else {"id": to.pk, "name": to.name}
    events = []
    if top_ranks:
        # Below every rank in the project, in their order: no new key can meet an old one.
        first = BacklogItem.objects.filter(project=sprint.project).order_by("rank").values_list("rank", flat=True)[0]
        for item, rank in zip(items, ranking.keys_between(None, first, len(items)), strict=True):
            events.append(
                backlog_services.history_event(
                    item, by=by, kind=EventKind.CHANGED, field="rank", old=item.rank, new=rank, at=at
                )
            )
            item.rank = rank
        BacklogItem.objects.bulk_update(items, ["rank"], batch_size=500)
    for item in items:
        item.sprint = to
        item.updated_at = at
        events.append(
            backlog_services.history_event(item, by=by, kind=EventKind.CHANGED, field="sprint", old=old, new=new, at=at)
        )
    # The same sprint and time for every row: one plain UPDATE, not a CASE per row.
    BacklogItem.objects.filter(pk__in=[item.pk for item in items]).update(sprint=to, updated_at=at)
    ItemEvent.objects.bulk_create(events, batch_size=500)


@transaction.atomic
def delete_sprint(*, sprint: Sprint, by) -> None:
    """Deletes a planned sprint; its items go back to the backlog, where they were in the order."""
    policy.require(by, sprint.project, Permission.MANAGE_SPRINTS)
    if not sprint.is_planned:
        raise ConflictError(_("Only a planned sprint can be deleted."))
    items = list(sprint.items.order_by("rank"))
    _leave_sprint(items, sprint, by=by, to=None, top_ranks=False, at=timezone.now())
    sprint.delete()


@transaction.atomic
def start_sprint(*, sprint: Sprint, by) -> Sprint:
    """Makes the sprint active and records the commitment: each item and its points now."""
    project = sprint.project
    policy.require(by, project, Permission.MANAGE_SPRINTS)
    _lock_project(project)
    sprint.refresh_from_db()
    if not sprint.is_planned:
        raise ConflictError(
            _("This sprint has already started.") if sprint.is_active else _("This sprint is completed.")
        )
    active = project.sprints.filter(state=SprintState.ACTIVE).first()
    if active is not None:
        raise ConflictError(_("%(name)s is still active; complete it first.") % {"name": active.name})
    if sprint.end_date < timezone.localdate(timezone=project.tzinfo):
        raise ValidationError({"end_date": _("The sprint's end date has passed; change it before starting.")})
    sprint.state = SprintState.ACTIVE
    sprint.started_at = timezone.now()
    sprint.started_by = by
    try:
        with transaction.atomic():
            sprint.save()
    except IntegrityError as exc:  # another start won the race: the database allows one active sprint
        raise ConflictError(_("Another sprint was started a moment ago.")) from exc
    items = sprint.items.select_related("assignee")
    CommittedItem.objects.bulk_create(
        [
            CommittedItem(
                sprint=sprint,
                item=item,
                item_number=item.number,
                title=item.title,
                points=item.points,
                role_points=item.role_points,
                assignee=item.assignee.get_username() if item.assignee else "",
            )
            for item in items
            if item.type != ItemType.EPIC
        ],
        batch_size=500,
    )
    # Inside the transaction: what receivers write (outbox rows, the retrospective) commits with it.
    signals.sprint_started.send(sender=Sprint, sprint=sprint)
    return sprint


@dataclass
class Completion:
    sprint: Sprint
    carried_over: list[BacklogItem]
    next_sprint: Sprint | None


@transaction.atomic
def complete_sprint(*, sprint: Sprint, by, unfinished: str = Unfinished.BACKLOG) -> Completion:
    """Freezes the sprint's report, then sends unfinished items to the backlog top or the next sprint."""
    project = sprint.project
    policy.require(by, project, Permission.MANAGE_SPRINTS)
    if unfinished not in Unfinished.CHOICES:
        raise ValidationError({"unfinished": _("Choose “backlog” or “next_sprint”.")})
    _lock_project(project)
    sprint.refresh_from_db()
    if not sprint.is_active:
        raise ConflictError(
            _("This sprint is completed.") if sprint.is_completed else _("This sprint has not started.")
        )
    now = timezone.now()
    report = selectors.sprint_report(sprint, until=now)
    leftovers = list(
        sprint.items.exclude(status__category=StatusCategory.DONE).exclude(type=ItemType.EPIC).order_by("rank")
    )
    target = None
    if unfinished == Unfinished.NEXT_SPRINT:
        target = project.sprints.filter(state=SprintState.PLANNED).order_by("start_date", "number").first()
        if target is None:
            target = create_sprint(project=project, by=by, after=sprint)
    _leave_sprint(leftovers, sprint, by=by, to=target, top_ranks=target is None, at=now)
    sprint.state = SprintState.COMPLETED
    sprint.completed_at = now
    sprint.completed_by = by
    sprint.report = report
    sprint.committed_points = Decimal(str(report["committed"]["points"]))
    sprint.completed_points = Decimal(str(report["completed"]["points"]))
    sprint.available_days = report["capacity"]["available_days"]
    sprint.save()
    signals.sprint_completed.send(sender=Sprint, sprint=sprint)
    return Completion(sprint=sprint, carried_over=leftovers, next_sprint=target)


def record_goal_outcome(*, sprint: Sprint, by, outcome: str, note: str = "") -> Sprint:
    """The Scrum Master's verdict on the sprint goal, given at the review."""
    policy.require(by, sprint.project, Permission.MANAGE_SPRINTS)
    if sprint.is_planned:
        raise ValidationError({"goal_outcome": _("The sprint has not started yet.")})
    if outcome and outcome not in GoalOutcome.values:
        raise ValidationError({"goal_outcome": _("Choose met, partly or not met.")})
    sprint.goal_outcome = outcome
    sprint.goal_note = (note or "").strip()
    sprint.save(update_fields=["goal_outcome", "goal_note", "updated_at"])
    return sprint


def set_days_off(*, sprint: Sprint, by, user, days: int) -> DaysOff | None:
    """A member's days away in the sprint (0 removes the entry)."""
    policy.require(by, sprint.project, Permission.MANAGE_SPRINTS)
    if sprint.is_completed:
        raise ValidationError({"days": _("A completed sprint's capacity is part of its report.")})
    if not Membership.objects.filter(project=sprint.project, user=user).exists():
        raise ValidationError({"user": _("Choose a member of this project.")})
    working = len(sprint.working_days())
    if days < 0 or days > working:
        raise ValidationError(
            {"days": _("Give between 0 and %(count)s days (the sprint's working days).") % {"count": working}}
        )
    if days == 0:
        DaysOff.objects.filter(sprint=sprint, user=user).delete()
        return None
    entry, _created = DaysOff.objects.update_or_create(sprint=sprint, user=user, defaults={"days": days})
    return entry


@transaction.atomic
def add_review_feedback(*, sprint: Sprint, by, title: str, description: str = "") -> BacklogItem:
    """Stakeholder feedback from the review, as a new backlog item labelled "feedback"."""
    policy.require(by, sprint.project, Permission.EDIT_BACKLOG)
    if sprint.is_planned:
        raise ValidationError(_("Feedback belongs to a sprint that has started."))
    item = backlog_services.create_item(
        project=sprint.project, by=by, title=title, description=description, labels=[FEEDBACK_LABEL]
    )
    sprint.feedback_items.add(item)
    return item
