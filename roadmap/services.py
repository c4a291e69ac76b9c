"""Every write to the roadmap: phases, milestones, releases, their links, the template and releasing."""

import datetime
from collections import defaultdict
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from backlog.models import BacklogItem, ItemType, StatusCategory
from projects.models import Project
from roadmap import signals
from roadmap.models import Milestone, Phase, PhaseStatus, Release, ReleaseItem, ReleaseStatus
from roles import policy
from roles.models import Permission
from scrumboard.errors import ConflictError
from sprints.models import one_month_after

MANAGE = Permission.MANAGE_ROADMAP
LATEST_DATE = datetime.date(2999, 12, 31)

PHASE_FIELDS = ("name", "goal", "start_date", "end_date", "order", "status")
MILESTONE_FIELDS = ("name", "date", "phase", "done")
RELEASE_FIELDS = ("version", "name", "phase", "target_date", "status", "notes")

# The three-month plan: (phase name, goal, milestone at its end). Month 3 ends with release 1.0.0.
TEMPLATE = (
    (
        gettext_noop("Month 1: Architecture"),
        gettext_noop("Architecture, technology stack and database design."),
        gettext_noop("Architecture approved"),
    ),
    (
        gettext_noop("Month 2: MVP"),
        gettext_noop("The minimum viable product: the core features, end to end."),
        gettext_noop("MVP demo"),
    ),
    (
        gettext_noop("Month 3: Testing and release 1.0"),
        gettext_noop("Testing, fixes and the 1.0 release."),
        gettext_noop("Release 1.0"),
    ),
)
TEMPLATE_VERSION = "1.0.0"


def _check_dates(**dates: datetime.date | None) -> None:
    late = {name: _("Give a date before the year 3000.") for name, day in dates.items() if day and day > LATEST_DATE}
    if late:
        raise ValidationError(late)


def _apply(obj, changes: dict, allowed: Iterable[str]) -> None:
    unknown = set(changes) - set(allowed)
    if unknown:
        raise ValidationError({field: _("This field cannot be changed here.") for field in sorted(unknown)})
    _check_dates(**{k: v for k, v in changes.items() if isinstance(v, datetime.date)})
    for field, value in changes.items():
        setattr(obj, field, value.strip() if isinstance(value, str) and field != "notes" else value)


def _check_phase_of(project: Project, phase: Phase | None) -> None:
    if phase is not None and phase.project_id != project.pk:
        raise ValidationError({"phase": _("Choose a phase of this project.")})


def _save(obj, *, exclude: list[str]) -> None:
    """Validate first (the caller's object is unchanged in the database until this passes)."""
    obj.full_clean(exclude=exclude, validate_constraints=False)
    obj.save()


# Phases


@transaction.atomic
def create_phase(*, project: Project, by, **fields) -> Phase:
    policy.require(by, project, MANAGE)
    if "order" not in fields:
        last = project.phases.order_by("-order").values_list("order", flat=True).first()
        fields["order"] = 0 if last is None else last + 1
    phase = Phase(project=project)
    _apply(phase, fields, PHASE_FIELDS)
    _save(phase, exclude=["project", "items"])
    return phase


@transaction.atomic
def update_phase(*, phase: Phase, by, **changes) -> Phase:
    policy.require(by, phase.project, MANAGE)
    phase = Phase.objects.select_for_update().get(pk=phase.pk)
    _apply(phase, changes, PHASE_FIELDS)
    _save(phase, exclude=["project", "items"])
    return phase


@transaction.atomic
def delete_phase(*, phase: Phase, by) -> None:
    """Its milestones and releases stay, without a phase."""
    policy.require(by, phase.project, MANAGE)
    phase.delete()


# Milestones


@transaction.atomic
def create_milestone(*, project: Project, by, **fields) -> Milestone:
    policy.require(by, project, MANAGE)
    _check_phase_of(project, fields.get("phase"))
    milestone = Milestone(project=project)
    _apply(milestone, fields, MILESTONE_FIELDS)
    _save(milestone, exclude=["project"])
    return milestone


@transaction.atomic
def update_milestone(*, milestone: Milestone, by, **changes) -> Milestone:
    policy.require(by, milestone.project, MANAGE)
    _check_phase_of(milestone.project, changes.get("phase"))
    milestone = Milestone.objects.select_for_update().get(pk=milestone.pk)
    _apply(milestone, changes, MILESTONE_FIELDS)
    _save(milestone, exclude=["project"])
    return milestone


@transaction.atomic
def delete_milestone(*, milestone: Milestone, by) -> None:
    policy.require(by, milestone.project, MANAGE)
    milestone.delete()


# Releases


def _check_version_free(release: Release) -> None:
    taken = Release.objects.filter(project_id=release.project_id, version=release.version).exclude(pk=release.pk)
    if taken.exists():
        raise ValidationError({"version": _("This project already has a release with this version.")})


def _save_release(release: Release) -> None:
    if release.status == ReleaseStatus.RELEASED and not release.released_on:
        raise ValidationError({"status": _("Release the version with the Release action; it records the date.")})
    release.full_clean(exclude=["project", "items", "released_by", "released_on"], validate_constraints=False)
    _check_version_free(release)
    try:
        with transaction.atomic():
            release.save()
    except IntegrityError as exc:  # the same version created a moment ago
        raise ValidationError({"version": _("This project already has a release with this version.")}) from exc


@transaction.atomic
def create_release(*, project: Project, by, **fields) -> Release:
    policy.require(by, project, MANAGE)
    _check_phase_of(project, fields.get("phase"))
    release = Release(project=project)
    _apply(release, fields, RELEASE_FIELDS)
    if fields.get("notes"):
        release.notes_edited = True
    _save_release(release)
    return release


@transaction.atomic
def update_release(*, release: Release, by, **changes) -> Release:
    """Version, name, phase, target date, status (planned / in progress) and notes, until released."""
    policy.require(by, release.project, MANAGE)
    _check_phase_of(release.project, changes.get("phase"))
    release = Release.objects.select_for_update().get(pk=release.pk)
    if release.is_released:
        raise ConflictError(_("Version %(version)s is released; it no longer changes.") % {"version": release.version})
    _apply(release, changes, RELEASE_FIELDS)
    if "notes" in changes:
        release.notes_edited = bool((changes["notes"] or "").strip())
    _save_release(release)
    return release


@transaction.atomic
def delete_release(*, release: Release, by) -> None:
    policy.require(by, release.project, MANAGE)
    if release.is_released:
        raise ConflictError(_("Version %(version)s is released; it stays on record.") % {"version": release.version})
    release.delete()


def _items_of(project: Project, items: Iterable[BacklogItem]) -> list[BacklogItem]:
    items = list(items)
    if any(item.project_id != project.pk for item in items):
        raise ValidationError({"items": _("Choose items of this project.")})
    return items


@transaction.atomic
def link_items(*, target: Phase | Release, by, add: Iterable[BacklogItem] = (), remove: Iterable[BacklogItem] = ()):
    """Adds and removes epics or items of a phase or an unreleased release; adding twice changes nothing."""
    project = target.project
    policy.require(by, project, MANAGE)
    add, remove = _items_of(project, add), _items_of(project, remove)
    if isinstance(target, Release):
        release = Release.objects.select_for_update().get(pk=target.pk)
        if release.is_released:
            raise ConflictError(
                _("Version %(version)s is released; it no longer changes.") % {"version": release.version}
            )
        ReleaseItem.objects.bulk_create(
            [ReleaseItem(release=release, item=item) for item in add], ignore_conflicts=True
        )
        ReleaseItem.objects.filter(release=release, item__in=remove).delete()
    else:
        target.items.add(*add)
        target.items.remove(*remove)
    return target


# The template


@transaction.atomic
def apply_template(*, project: Project, by, start: datetime.date | None = None) -> list[Phase]:
    """Three monthly phases from ``start`` (default: today), a milestone closing each, release 1.0.0 at the end."""
    policy.require(by, project, MANAGE)
    Project.objects.select_for_update().filter(pk=project.pk).first()
    if project.phases.exists():
        raise ConflictError(_("This roadmap already has phases; the template only starts an empty one."))
    if Release.objects.filter(project=project, version=TEMPLATE_VERSION).exists():
        raise ConflictError(_("This project already has a release with this version."))
    today = timezone.localdate(timezone=project.tzinfo)
    start = start or today
    _check_dates(start=start)
    phases = []
    for order, (name, goal, milestone) in enumerate(TEMPLATE):
        end = one_month_after(start) - datetime.timedelta(days=1)
        phase = Phase.objects.create(
            project=project,
            name=_(name),
            goal=_(goal),
            start_date=start,
            end_date=end,
            order=order,
            status=PhaseStatus.ACTIVE if start <= today <= end else PhaseStatus.PLANNED,
        )
        Milestone.objects.create(project=project, phase=phase, name=_(milestone), date=end)
        phases.append(phase)
        start = end + datetime.timedelta(days=1)
    Release.objects.create(
        project=project,
        version=TEMPLATE_VERSION,
        name=_("Release 1.0"),
        phase=phases[-1],
        target_date=phases[-1].end_date,
    )
    return phases


# Notes and releasing


def shipped_items(release: Release) -> list[BacklogItem]:
    """The done work of a release: linked items, and the children of linked epics, that are done."""
    linked = list(release.items.select_related("status", "project"))
    epic_ids = [item.pk for item in linked if item.type == ItemType.EPIC]
    leaves = {item.pk: item for item in linked if item.type != ItemType.EPIC}
    if epic_ids:
        children = BacklogItem.objects.filter(parent_id__in=epic_ids).exclude(type=ItemType.EPIC)
        for child in children.select_related("status", "project"):
            leaves.setdefault(child.pk, child)
    done = [item for item in leaves.values() if item.status.category == StatusCategory.DONE]
    return sorted(done, key=lambda item: item.number)


def generate_notes(release: Release) -> str:
    """Markdown: the done items grouped by type (features, fixes, tasks…), each with its key."""
    groups: dict[str, list[BacklogItem]] = defaultdict(list)
    for item in shipped_items(release):
        groups[item.type].append(item)
    headings = {
        ItemType.STORY: _("Features"),
        ItemType.BUG: _("Fixes"),
        ItemType.TASK: _("Tasks"),
        ItemType.SPIKE: _("Research"),
    }
    title = release.version + (f" — {release.name}" if release.name else "")
    lines = [f"# {title}", ""]
    if not groups:
        lines.append(_("Nothing is done in this release yet."))
    for kind in (ItemType.STORY, ItemType.BUG, ItemType.TASK, ItemType.SPIKE):
        if groups.get(kind):
            lines += [f"## {headings[kind]}", ""]
            lines += [f"- {item.key}: {item.title}" for item in groups[kind]]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


@transaction.atomic
def release_version(
    *, release: Release, by, released_on: datetime.date | None = None, move_unfinished_to: Release | None = None
) -> Release:
    """Ships the version: done items marked released, notes frozen (generated unless edited), date recorded.

    Unfinished items stay linked (not released) or move to ``move_unfinished_to``, another unreleased
    release of the project.
    """
    project = release.project
    policy.require(by, project, MANAGE)
    release = Release.objects.select_for_update().get(pk=release.pk)
    if release.is_released:
        raise ConflictError(_("Version %(version)s is released already.") % {"version": release.version})
    if move_unfinished_to is not None:  # read again under a lock: it may have been released meanwhile
        move_unfinished_to = Release.objects.select_for_update().filter(pk=move_unfinished_to.pk).first()
    if move_unfinished_to is not None and (
        move_unfinished_to.project_id != project.pk
        or move_unfinished_to.pk == release.pk
        or move_unfinished_to.is_released
    ):
        raise ValidationError({"move_unfinished_to": _("Choose another unreleased version of this project.")})
    released_on = released_on or timezone.localdate(timezone=project.tzinfo)
    _check_dates(released_on=released_on)
    done = shipped_items(release)
    if not release.notes_edited or not release.notes.strip():
        release.notes = generate_notes(release)
    # What shipped, frozen: the done children of linked epics get links of their own.
    ReleaseItem.objects.bulk_create([ReleaseItem(release=release, item=item) for item in done], ignore_conflicts=True)
    ReleaseItem.objects.filter(release=release, item__in=done).update(released=True)
    if move_unfinished_to is not None:
        unfinished = (
            ReleaseItem.objects.filter(release=release, released=False)
            .exclude(item__type=ItemType.EPIC)
            .values_list("item_id", flat=True)
        )
        ids = list(unfinished)
        ReleaseItem.objects.bulk_create(
            [ReleaseItem(release=move_unfinished_to, item_id=pk) for pk in ids], ignore_conflicts=True
        )
        ReleaseItem.objects.filter(release=release, item_id__in=ids).delete()
    release.status = ReleaseStatus.RELEASED
    release.released_on = released_on
    release.released_by = by
    release.save()
    signals.release_released.send(sender=Release, release=release)
    return release
