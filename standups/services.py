"""Every write to the daily scrum: the day's meeting, entries, impediments, running and closing the meeting."""

import datetime
import random

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from backlog.models import BacklogItem
from projects.models import Project
from roles import policy
from roles.models import Membership, Permission
from scrumboard.errors import ConflictError
from sprints.selectors import active_sprint
from standups import signals
from standups.models import DailyScrum, Entry, Impediment, ImpedimentState, MeetingState

# Writing one's own entry, raising and resolving impediments: every team role, not stakeholders.
WRITE = Permission.COMMENT
FACILITATE = Permission.RUN_DAILY_SCRUM


class SpeakingOrder:
    SHUFFLED = "shuffled"
    BY_ROLE = "by_role"
    CHOICES = (SHUFFLED, BY_ROLE)


def local_today(project: Project) -> datetime.date:
    return timezone.localdate(timezone=project.tzinfo)


def team_memberships(project: Project) -> list[Membership]:
    """Members who take part in the daily scrum (those who may write an entry), in role order."""
    memberships = Membership.objects.filter(project=project).select_related("role", "user")
    return [m for m in memberships if WRITE in m.effective_permissions]


def _check_open(meeting: DailyScrum) -> None:
    if meeting.is_closed:
        raise ConflictError(_("This daily scrum is closed: it can no longer be changed."))


def _lock(meeting: DailyScrum) -> DailyScrum:
    """The meeting's row afresh, locked until the transaction ends."""
    fresh = DailyScrum.objects.select_for_update().get(pk=meeting.pk)
    fresh.project = meeting.project
    return fresh


def _items_of(project: Project, items) -> list[BacklogItem]:
    items = list(items or [])
    if any(item.project_id != project.pk for item in items):
        raise ValidationError({"items": _("Link items of this project only.")})
    return items


def sync_impeded(item_ids) -> None:
    """``BacklogItem.impeded`` is true exactly while an open impediment links the item: one UPDATE."""
    ids = list(set(item_ids))
    if not ids:
        return
    open_links = Impediment.items.through.objects.filter(
        backlogitem_id=OuterRef("pk"), impediment__state=ImpedimentState.OPEN
    )
    BacklogItem.objects.filter(pk__in=ids).update(impeded=Exists(open_links))


def meeting_for(*, project: Project, by, day: datetime.date | None = None) -> DailyScrum:
    """The day's daily scrum (today in the project's time zone by default), created on first use.

    There is one only on a working day of the active sprint.
    """
    policy.require(by, project, Permission.VIEW)
    day = day or local_today(project)
    existing = DailyScrum.objects.filter(project=project, date=day).first()
    if existing is not None:
        existing.project = project
        return existing
    sprint = active_sprint(project)
    if sprint is None:
        raise ValidationError({"date": _("There is no active sprint: the daily scrum happens during a sprint.")})
    if not sprint.start_date <= day <= sprint.end_date:
        raise ValidationError({"date": _("That day is outside the active sprint.")})
    if day.isoweekday() not in project.working_days:
        raise ValidationError({"date": _("That day is not a working day: there is no daily scrum.")})
    try:
        with transaction.atomic():
            meeting = DailyScrum.objects.create(project=project, sprint=sprint, date=day)
    except IntegrityError:
        # Someone else opened the same day a moment earlier: theirs is the meeting.
        meeting = DailyScrum.objects.get(project=project, date=day)
    meeting.project = project
    return meeting


@transaction.atomic
def save_entry(*, meeting: DailyScrum, by, done: str = "", next: str = "", blockers: str = "", items=None) -> Entry:
    """The caller's own entry, written ahead of time or live; editable until the meeting closes.

    Blockers become (and keep in step) an open impediment raised by the member.
    """
    project = meeting.project
    policy.require(by, project, WRITE)
    meeting = _lock(meeting)
    _check_open(meeting)
    linked = _items_of(project, items) if items is not None else None
    entry = Entry.objects.filter(meeting=meeting, user=by).select_related("impediment").first()
    entry = entry or Entry(meeting=meeting, user=by)
    entry.done, entry.next, entry.blockers = done.strip(), next.strip(), blockers.strip()
    entry.save()
    if linked is not None:
        entry.items.set(linked)
    item_ids = [item.pk for item in entry.items.all()]
    impediment = entry.impediment
    if entry.blockers and (impediment is None or not impediment.is_open):
        impediment = Impediment.objects.create(
            project=project,
            description=entry.blockers,
            raised_by=by,
            owner=by,
            raised_on=meeting.date,
            raised_in=meeting,
        )
        impediment.items.set(item_ids)
        entry.impediment = impediment
        entry.save(update_fields=["impediment", "updated_at"])
        sync_impeded(item_ids)
    elif impediment is not None and impediment.is_open:
        if entry.blockers:
            before = set(impediment.items.values_list("pk", flat=True))
            impediment.description = entry.blockers
            impediment.save(update_fields=["description", "updated_at"])
            impediment.items.set(item_ids)
            sync_impeded(before | set(item_ids))
        else:
            # The blocker was taken back before the meeting closed: it never was one.
            taken_back = list(impediment.items.values_list("pk", flat=True))
            entry.impediment = None
            entry.save(update_fields=["impediment", "updated_at"])
            impediment.delete()
            sync_impeded(taken_back)
    return entry


@transaction.atomic
def raise_impediment(
    *, project: Project, by, description: str, owner=None, items=(), meeting: DailyScrum | None = None
) -> Impediment:
    policy.require(by, project, WRITE)
    description = (description or "").strip()
    if not description:
        raise ValidationError({"description": _("Describe what blocks the work.")})
    if owner is not None and policy.membership_of(owner, project) is None:
        raise ValidationError({"owner": _("The owner must be a member of the project.")})
    linked = _items_of(project, items)
    impediment = Impediment.objects.create(
        project=project,
        description=description,
        raised_by=by,
        owner=owner or by,
        raised_on=meeting.date if meeting else local_today(project),
        raised_in=meeting,
    )
    impediment.items.set(linked)
    sync_impeded(item.pk for item in linked)
    return impediment


@transaction.atomic
def update_impediment(
    *, impediment: Impediment, by, description: str | None = None, owner=None, items=None
) -> Impediment:
    """Rewords an open impediment, hands it to another owner or changes the items it blocks."""
    project = impediment.project
    policy.require(by, project, WRITE)
    fresh = Impediment.objects.select_for_update().get(pk=impediment.pk)
    fresh.project = project
    if not fresh.is_open:
        raise ConflictError(_("This impediment is already resolved."))
    if description is not None:
        fresh.description = description.strip()
        if not fresh.description:
            raise ValidationError({"description": _("Describe what blocks the work.")})
    if owner is not None:
        if policy.membership_of(owner, project) is None:
            raise ValidationError({"owner": _("The owner must be a member of the project.")})
        fresh.owner = owner
    fresh.save()
    if items is not None:
        before = set(fresh.items.values_list("pk", flat=True))
        linked = _items_of(project, items)
        fresh.items.set(linked)
        sync_impeded(before | {item.pk for item in linked})
    return fresh


@transaction.atomic
def resolve_impediment(*, impediment: Impediment, by) -> Impediment:
    policy.require(by, impediment.project, WRITE)
    fresh = Impediment.objects.select_for_update().get(pk=impediment.pk)
    if not fresh.is_open:
        raise ConflictError(_("This impediment is already resolved."))
    fresh.project = impediment.project
    fresh.state = ImpedimentState.RESOLVED
    fresh.resolved_at = timezone.now()
    fresh.resolved_on = local_today(fresh.project)
    fresh.resolved_by = by
    fresh.save()
    sync_impeded(fresh.items.values_list("pk", flat=True))
    return fresh


@transaction.atomic
def start_meeting(*, meeting: DailyScrum, by, order: str = SpeakingOrder.SHUFFLED) -> DailyScrum:
    """Starts the time-box; the speaking order is shuffled or follows the roles."""
    policy.require(by, meeting.project, FACILITATE)
    if order not in SpeakingOrder.CHOICES:
        raise ValidationError({"order": _("Choose a shuffled order or one by role.")})
    meeting = _lock(meeting)
    _check_open(meeting)
    if meeting.started_at is not None:
        raise ConflictError(_("This daily scrum is already running."))
    speakers = [m.user_id for m in team_memberships(meeting.project)]
    if order == SpeakingOrder.SHUFFLED:
        random.shuffle(speakers)
    meeting.speaking_order = speakers
    meeting.attendance = {str(user_id): True for user_id in speakers}
    meeting.started_at = timezone.now()
    meeting.facilitator = by
    meeting.save()
    return meeting


@transaction.atomic
def mark_attendance(*, meeting: DailyScrum, by, user, present: bool) -> DailyScrum:
    policy.require(by, meeting.project, FACILITATE)
    if policy.membership_of(user, meeting.project) is None:
        raise ValidationError({"member": _("Not a member of this project.")})
    meeting = _lock(meeting)
    _check_open(meeting)
    meeting.attendance = {**meeting.attendance, str(user.pk): bool(present)}
    meeting.save(update_fields=["attendance", "updated_at"])
    return meeting


@transaction.atomic
def end_meeting(*, meeting: DailyScrum, by) -> DailyScrum:
    """Closes the meeting for good and freezes its summary."""
    policy.require(by, meeting.project, FACILITATE)
    meeting = _lock(meeting)
    _check_open(meeting)
    now = timezone.now()
    meeting.state = MeetingState.CLOSED
    meeting.ended_at = now
    meeting.facilitator = meeting.facilitator or by
    meeting.summary = _summary(meeting, now)
    meeting.save()
    signals.daily_scrum_ended.send(sender=DailyScrum, meeting=meeting)
    return meeting


def _summary(meeting: DailyScrum, now: datetime.datetime) -> dict:
    team = team_memberships(meeting.project)
    reporters = set(Entry.objects.filter(meeting=meeting).values_list("user_id", flat=True))
    attendance = meeting.attendance
    raised = Impediment.objects.filter(project=meeting.project, raised_on=meeting.date).order_by("pk")
    resolved = Impediment.objects.filter(project=meeting.project, resolved_on=meeting.date).order_by("pk")
    return {
        "reported": [m.user.username for m in team if m.user_id in reporters],
        "missing": [m.user.username for m in team if m.user_id not in reporters],
        "present": [m.user.username for m in team if attendance.get(str(m.user_id)) is True],
        "absent": [m.user.username for m in team if attendance.get(str(m.user_id)) is False],
        "raised": [{"id": i.pk, "description": i.description} for i in raised],
        "resolved": [{"id": i.pk, "description": i.description} for i in resolved],
        "duration_seconds": int((now - meeting.started_at).total_seconds()) if meeting.started_at else None,
        "timebox_minutes": meeting.project.daily_scrum_minutes,
    }
