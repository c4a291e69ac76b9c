"""What the sprint pages share: the sprint from the URL, its header, permissions, the velocity chart."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from roles import policy
from roles.models import Permission
from sprints import selectors
from sprints.charts import BarSeries, bar_chart, format_number
from sprints.models import Sprint

SERVICE_ERRORS = (ValidationError, PermissionDenied)  # ConflictError is a ValidationError
# Long text a card or row does not show: not read.
ROW_DEFERRED = ("description", "acceptance_criteria", "done_checklist")
# Charts fill a card the width of the page: a wider viewBox than the default keeps their text near 15px.
CHART_WIDTH, CHART_HEIGHT = 860, 300


def _sprint_or_404(project, pk: int) -> Sprint:
    sprint = Sprint.objects.filter(project=project, pk=pk).first()
    if sprint is None:
        raise Http404
    sprint.project = project  # working_days() and the services read it: no second query
    return sprint


def _url(name: str, sprint: Sprint) -> str:
    return reverse(f"sprints:{name}", kwargs={"key": sprint.project.key, "pk": sprint.pk})


def _can(request, project, permission: str) -> bool:
    return policy.can(request.user, project, permission)


def _timing(sprint: Sprint) -> dict:
    """Where the sprint stands today, in the project's time zone (the page has activated it)."""
    today = timezone.localdate()
    working = sprint.working_days()
    left = sum(1 for day in working if day >= today)
    return {
        "today": today,
        "working_days": len(working),
        "days_left": left if sprint.start_date <= today else len(working),
        "starts_in": (sprint.start_date - today).days if today < sprint.start_date else 0,
        "overdue": sprint.is_active and today > sprint.end_date,
    }


def _sprint_context(request, project, sprint: Sprint, page: str) -> dict:
    """What the sprint header and its Plan / Board / Review navigation need."""
    return {
        "sprint": sprint,
        "sprint_page": page,
        "timing": _timing(sprint),
        "can_manage": _can(request, project, Permission.MANAGE_SPRINTS),
    }


def _item_url_template(project) -> str:
    return reverse("backlog:item", kwargs={"key": project.key, "item_key": "ITEM-KEY"})


def velocity_chart(rows: list, *, title: str) -> SafeString:
    average = selectors.average_velocity(rows)
    return bar_chart(
        title=title,
        x_labels=[row.name for row in rows],
        series=[BarSeries(_("Committed"), "committed"), BarSeries(_("Completed"), "completed")],
        values=[[row.committed, row.completed] for row in rows],
        y_label=_("Points"),
        average=average,
        average_label=_("Average of the last 3: %(points)s") % {"points": format_number(average)}
        if average is not None
        else "",
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
    )
