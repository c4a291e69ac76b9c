"""Daily scrum pages: today's meeting, facilitation with the timer, summary, history, impediments."""

import datetime

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backlog.models import BacklogItem, StatusCategory
from roles import policy
from roles.models import Permission
from scrumboard.pages import add_form_errors, flash_error, project_page, render_project
from sprints.charts import Line, line_chart
from sprints.selectors import sprint_burndown
from standups import selectors, services
from standups.exports import export_csv
from standups.forms import EntryForm, ImpedimentForm
from standups.models import DailyScrum, ImpedimentState

User = get_user_model()
TAB = "standups"
HISTORY_DAYS = 60


def _day(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise Http404 from None


def _meeting_or_404(project, value: str) -> DailyScrum:
    meeting = DailyScrum.objects.filter(project=project, date=_day(value)).select_related("sprint").first()
    if meeting is None:
        raise Http404
    meeting.project = project
    return meeting


def _day_url(meeting: DailyScrum) -> str:
    return reverse("standups:day", args=[meeting.project.key, meeting.date.isoformat()])


def _burndown_chart(sprint):
    burndown = sprint_burndown(sprint)
    labels = [
        # Day numbers only: the chart is narrow, beside the meeting.
        _("Start") if day == "start" else date_format(datetime.date.fromisoformat(day), "j")
        for day in burndown["days"]
    ]
    return line_chart(
        title=_("Burndown: what is left to do"),
        x_labels=labels,
        lines=[
            Line(_("Ideal"), burndown["ideal"], "ideal", dashed=True),
            Line(_("Remaining"), burndown["remaining"], "remaining"),
        ],
        y_label=_("Points"),
        marker_index=burndown.get("today") if sprint.is_active else None,
        marker_label=_("Today"),
        width=400,
        height=240,
    )


def _my_items(meeting: DailyScrum, user):
    """The items a member may link: the sprint's cards, theirs first."""
    return (
        BacklogItem.objects.filter(project=meeting.project, sprint_id=meeting.sprint_id)
        .exclude(status__category=StatusCategory.DONE)
        .select_related("project")
        .order_by("rank")
    )


def _day_page(request, project, meeting: DailyScrum, *, form=None, status=None):
    rows = selectors.day_board(meeting)
    mine = next((row for row in rows if row.user.pk == request.user.pk), None)
    may_write = policy.can(request.user, project, services.WRITE) and meeting.is_open
    prompt = selectors.suggested_done(meeting, request.user) if may_write else ""
    if may_write and form is None:
        entry = mine.entry if mine else None
        initial = (
            {"done": entry.done, "next": entry.next, "blockers": entry.blockers, "items": list(entry.items.all())}
            if entry
            else {"done": prompt}
        )
        form = EntryForm(initial=initial, items=_my_items(meeting, request.user))
    context = {
        "meeting": meeting,
        "rows": rows,
        "mine": mine,
        "form": form if may_write else None,
        "prompt": prompt,
        "impediments": selectors.open_impediments(project),
        "burndown_chart": _burndown_chart(meeting.sprint),
        "is_today": meeting.date == services.local_today(project),
        "streak": selectors.streak(project, request.user, today=services.local_today(project)),
    }
    return render_project(request, "standups/day.html", project, context, tab=TAB, status=status)


@project_page()
def today(request, project):
    try:
        meeting = services.meeting_for(project=project, by=request.user)
    except ValidationError as exc:
        context = {"reasons": exc.messages, "recent": selectors.meeting_history(project)[:5]}
        return render_project(request, "standups/no_meeting.html", project, context, tab=TAB)
    return _day_page(request, project, meeting)


@project_page()
def day(request, project, date: str):
    return _day_page(request, project, _meeting_or_404(project, date))


@require_POST
@project_page(services.WRITE)
def save_entry(request, project, date: str):
    meeting = _meeting_or_404(project, date)
    form = EntryForm(request.POST, items=_my_items(meeting, request.user))
    if form.is_valid():
        try:
            services.save_entry(meeting=meeting, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            if meeting.is_closed or not hasattr(exc, "error_dict"):
                flash_error(request, exc)
                return redirect(_day_url(meeting))
            add_form_errors(form, exc)
        else:
            messages.success(request, _("Your entry is saved."))
            return redirect(_day_url(meeting))
    return _day_page(request, project, meeting, form=form)


@project_page(Permission.RUN_DAILY_SCRUM)
def facilitate(request, project, date: str):
    meeting = _meeting_or_404(project, date)
    if meeting.is_closed:
        return redirect("standups:summary", project.key, meeting.date.isoformat())
    rows = selectors.day_board(meeting)
    speakers = len(meeting.speaking_order) or len(rows) or 1
    context = {
        "meeting": meeting,
        "rows": rows,
        "timebox_seconds": project.daily_scrum_minutes * 60,
        "per_speaker_seconds": project.daily_scrum_minutes * 60 // speakers,
        "server_now": timezone.now(),
        "impediments": selectors.open_impediments(project),
        "burndown_chart": _burndown_chart(meeting.sprint),
    }
    return render_project(request, "standups/facilitate.html", project, context, tab=TAB)


def _facilitation(request, project, date: str, action) -> HttpResponse:
    meeting = _meeting_or_404(project, date)
    try:
        action(meeting)
    except (ValidationError, PermissionDenied) as exc:
        flash_error(request, exc)
    return redirect("standups:facilitate", project.key, meeting.date.isoformat())


@require_POST
@project_page(Permission.RUN_DAILY_SCRUM)
def start(request, project, date: str):
    order = request.POST.get("order", services.SpeakingOrder.SHUFFLED)
    return _facilitation(
        request, project, date, lambda m: services.start_meeting(meeting=m, by=request.user, order=order)
    )


@require_POST
@project_page(Permission.RUN_DAILY_SCRUM)
def attendance(request, project, date: str):
    user = User.objects.filter(pk=request.POST.get("member") or 0, memberships__project=project).first()
    present = request.POST.get("present") == "1"

    def mark(meeting):
        if user is None:
            raise ValidationError(_("Not a member of this project."))
        services.mark_attendance(meeting=meeting, by=request.user, user=user, present=present)

    return _facilitation(request, project, date, mark)


@require_POST
@project_page(Permission.RUN_DAILY_SCRUM)
def end(request, project, date: str):
    meeting = _meeting_or_404(project, date)
    try:
        services.end_meeting(meeting=meeting, by=request.user)
    except ValidationError as exc:
        flash_error(request, exc)
        return redirect("standups:facilitate", project.key, meeting.date.isoformat())
    messages.success(request, _("The daily scrum is closed."))
    return redirect("standups:summary", project.key, meeting.date.isoformat())


@project_page()
def summary(request, project, date: str):
    meeting = _meeting_or_404(project, date)
    names = {
        user.username: user.get_full_name() or user.username
        for user in User.objects.filter(memberships__project=project)
    }
    summary = meeting.summary or {}
    people = {
        key: [names.get(name, name) for name in summary.get(key, [])] for key in ("reported", "missing", "absent")
    }
    seconds = summary.get("duration_seconds")
    duration = f"{seconds // 60}:{seconds % 60:02d}" if seconds is not None else None
    context = {"meeting": meeting, "summary": meeting.summary, "people": people, "duration": duration}
    return render_project(request, "standups/summary.html", project, context, tab=TAB)


@project_page()
def history(request, project):
    today_date = services.local_today(project)
    context = {
        "meetings": selectors.meeting_history(project)[:HISTORY_DAYS],
        "streak": selectors.streak(project, request.user, today=today_date),
        "today": today_date,
        "export_from": today_date - datetime.timedelta(days=13),
    }
    return render_project(request, "standups/history.html", project, context, tab=TAB)


@project_page()
def export(request, project):
    today_date = services.local_today(project)
    try:
        start_date = datetime.date.fromisoformat(request.GET.get("from") or today_date.isoformat())
        end_date = datetime.date.fromisoformat(request.GET.get("to") or start_date.isoformat())
        valid = start_date <= end_date and (end_date - start_date).days <= 366
    except ValueError:
        valid = False
    if not valid:
        messages.error(request, _("Give a range of dates from the earlier to the later, a year at most (YYYY-MM-DD)."))
        return redirect("standups:history", key=project.key)
    return export_csv(project, selectors.export_rows(project, start=start_date, end=end_date), start_date, end_date)


def _impediment_form(project, data=None):
    owners = User.objects.filter(memberships__project=project).order_by("username")
    items = BacklogItem.objects.filter(project=project).exclude(status__category=StatusCategory.DONE)
    return ImpedimentForm(data, owners=owners, items=items.select_related("project").order_by("rank"))


@project_page()
def impediments(request, project):
    form = None
    if policy.can(request.user, project, services.WRITE):
        form = _impediment_form(project)
    if request.method == "POST":
        policy.require(request.user, project, services.WRITE)
        form = _impediment_form(project, request.POST)
        if form.is_valid():
            try:
                services.raise_impediment(project=project, by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_form_errors(form, exc)
            else:
                messages.success(request, _("The impediment is raised."))
                return redirect("standups:impediments", project.key)
    state = request.GET.get("state", ImpedimentState.OPEN)
    state = state if state in ImpedimentState.values else ImpedimentState.OPEN
    context = {
        "impediments": selectors.impediments(project, state=state),
        "state": state,
        "form": form,
        "owners": list(User.objects.filter(memberships__project=project).order_by("first_name", "username")),
    }
    return render_project(request, "standups/impediments.html", project, context, tab=TAB)


@require_POST
@project_page(services.WRITE)
def hand_over(request, project, pk: int):
    """Gives an open impediment to another member to chase."""
    impediment = selectors.impediments(project).filter(pk=pk).first()
    if impediment is None:
        raise Http404
    impediment.project = project
    owner = User.objects.filter(username=request.POST.get("owner", ""), memberships__project=project).first()
    try:
        if owner is None:
            raise ValidationError({"owner": _("The owner must be a member of the project.")})
        services.update_impediment(impediment=impediment, by=request.user, owner=owner)
    except ValidationError as exc:
        flash_error(request, exc)
    else:
        name = owner.get_full_name() or owner.get_username()
        messages.success(request, _("%(name)s now owns the impediment.") % {"name": name})
    return redirect("standups:impediments", project.key)


@require_POST
@project_page(services.WRITE)
def resolve(request, project, pk: int):
    impediment = selectors.impediments(project).filter(pk=pk).first()
    if impediment is None:
        raise Http404
    impediment.project = project
    try:
        services.resolve_impediment(impediment=impediment, by=request.user)
    except ValidationError as exc:
        flash_error(request, exc)
    else:
        messages.success(request, _("The impediment is resolved."))
    target = request.POST.get("next", "")
    if target.startswith(f"/projects/{project.key}/"):
        return redirect(target)
    return redirect("standups:impediments", project.key)
