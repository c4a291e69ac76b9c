"""What a notification says, rendered from its kind and payload in the reader's language.

Rows keep a title and body rendered at write time (for e-mail and for clients that
never ask again); the inbox and the API render again under the request's language,
so a Kazakh reader sees Kazakh whatever language the tick ran in.
"""

import datetime

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


def _day(value: str) -> str:
    try:
        return formats.date_format(datetime.date.fromisoformat(value), "MONTH_DAY_FORMAT")
    except (TypeError, ValueError):
        return str(value)


def render(kind: str, payload: dict, *, body: str = "") -> tuple[str, str]:
    """``(title, body)`` for a notification; ``body`` is the stored body, kept where it is user text."""
    p = dict(payload)
    project = p.get("project", "")
    match kind:
        case "daily_scrum_soon":
            title = _("Daily scrum of %(key)s starts in %(minutes)d min") % {
                "key": project,
                "minutes": int(p.get("minutes", 0)),
            }
            return title, f"{p.get('time', '')} ({p.get('timezone', '')})"
        case "standup_nudge":
            title = _("No daily scrum entry from you yet in %(key)s") % {"key": project}
            return title, _("Write what you did, what comes next and any blockers for %(day)s.") % {
                "day": _day(p.get("date", ""))
            }
        case "standup_summary":
            title = _("Daily scrum of %(key)s, %(day)s: summary") % {"key": project, "day": _day(p.get("date", ""))}
            lines = [
                _("%(reported)d of %(team)d reported.") % {"reported": p.get("reported", 0), "team": p.get("team", 0)}
            ]
            if p.get("missing"):
                lines.append(_("No entry: %(names)s.") % {"names": ", ".join(p["missing"])})
            raised = int(p.get("raised", 0))
            if raised:
                lines.append(
                    ngettext("%(count)d impediment raised.", "%(count)d impediments raised.", raised)
                    % {"count": raised}
                )
            return title, " ".join(lines)
        case "blocker_escalated":
            hours = int(p.get("hours", 0))
            title = ngettext(
                "A blocker in %(key)s has been open for %(hours)d hour",
                "A blocker in %(key)s has been open for %(hours)d hours",
                hours,
            ) % {"key": project, "hours": hours}
            return title, p.get("description", body)
        case "sprint_ends_tomorrow":
            count = int(p.get("unstarted", 0))
            title = _("%(sprint)s of %(key)s ends tomorrow") % {"sprint": p.get("sprint", ""), "key": project}
            return title, ngettext(
                "%(count)d item has not been started.", "%(count)d items have not been started.", count
            ) % {"count": count}
        case "retrospective_due":
            if p.get("overdue"):
                title = _("%(sprint)s of %(key)s is past its end date") % {
                    "sprint": p.get("sprint", ""),
                    "key": project,
                }
                return title, _("Complete the sprint, then hold the sprint review and the retrospective.")
            title = _("%(sprint)s of %(key)s is over") % {"sprint": p.get("sprint", ""), "key": project}
            return title, _("The sprint review and the retrospective are due.")
        case "planning_due":
            title = _("Plan the next sprint of %(key)s") % {"key": project}
            return title, _("%(sprint)s ends on %(day)s and no sprint is planned after it.") % {
                "sprint": p.get("sprint", ""),
                "day": _day(p.get("end", "")),
            }
        case "item_overdue":
            title = _("%(item)s is past its due date, %(day)s") % {
                "item": p.get("item", ""),
                "day": _day(p.get("due", "")),
            }
            return title, p.get("title", body)
        case "action_item_due":
            title = _("Retrospective action due %(day)s") % {"day": _day(p.get("due", ""))}
            return title, p.get("text", body)
        case "mention":
            title = _("%(author)s mentioned you on %(key)s") % {
                "author": p.get("author", "?"),
                "key": p.get("item", ""),
            }
            return title, body
    return kind, body


def rendered(notification) -> tuple[str, str]:
    """A stored notification's title and body in the active language; rows without a payload keep their text."""
    from notifications.models import Kind

    if not notification.payload or notification.kind not in Kind.values:
        return notification.title, notification.body
    return render(notification.kind, notification.payload, body=notification.body)
