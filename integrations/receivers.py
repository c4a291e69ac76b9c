"""Signal receivers: domain events become webhook deliveries, without the domain apps importing us.

Every signal here is sent inside the transaction that caused it, so the delivery rows commit
(or roll back) with the change. Each receiver first asks whether any active webhook of the
project wants the event (one query) and builds its payload only then. Payloads are small and
JSON-ready: dates as ISO strings, points as numbers.
"""

from decimal import Decimal

from django.db.models import Sum

from integrations import webhooks
from integrations.models import WebhookEvent


def _number(value: Decimal | int | float | None) -> float | None:
    return None if value is None else float(value)


def _item(item) -> dict:
    return {
        "key": item.key,
        "title": item.title,
        "type": item.type,
        "status": item.status.name if item.status_id else None,
        "points": _number(item.points),
        "sprint": item.sprint_id,
        "assignee": item.assignee.get_username() if item.assignee_id else None,
    }


# Long texts are not copied into deliveries: "changed" says the field changed, the API has the text.
_LONG_FIELDS = frozenset({"description", "acceptance_criteria", "done_checklist"})


def _changes(changes: dict) -> dict:
    return {
        field: ({"changed": True} if field in _LONG_FIELDS else {"old": change["old"], "new": change["new"]})
        for field, change in changes.items()
    }


def _item_event(event: str, item, changes: dict | None = None) -> None:
    project = item.project
    hooks = webhooks.subscribed(project, event)
    if not hooks:
        return
    data = _item(item)
    if changes is not None:
        data["changes"] = _changes(changes)
    webhooks.enqueue(project=project, event=event, payload=data, webhooks=hooks)


def item_created(sender, item, **kwargs) -> None:
    _item_event(WebhookEvent.ITEM_CREATED, item)


def item_updated(sender, item, changes, **kwargs) -> None:
    _item_event(WebhookEvent.ITEM_UPDATED, item, changes)


def item_moved(sender, item, changes, **kwargs) -> None:
    _item_event(WebhookEvent.ITEM_MOVED, item, changes)


def item_deleted(sender, item, **kwargs) -> None:
    _item_event(WebhookEvent.ITEM_DELETED, item)


def _sprint(sprint) -> dict:
    committed = sprint.committed_points
    if committed is None and not sprint.is_planned:  # just started: the commitment is written, not summed yet
        committed = sprint.commitment.aggregate(total=Sum("points"))["total"] or Decimal(0)
    return {
        "id": sprint.pk,
        "name": sprint.name,
        "goal": sprint.goal,
        "start_date": sprint.start_date.isoformat(),
        "end_date": sprint.end_date.isoformat(),
        "state": sprint.state,
        "committed_points": _number(committed),
        "completed_points": _number(sprint.completed_points),
    }


def _sprint_event(event: str, sprint) -> None:
    hooks = webhooks.subscribed(sprint.project, event)
    if hooks:
        webhooks.enqueue(project=sprint.project, event=event, payload=_sprint(sprint), webhooks=hooks)


def sprint_started(sender, sprint, **kwargs) -> None:
    _sprint_event(WebhookEvent.SPRINT_STARTED, sprint)


def sprint_completed(sender, sprint, **kwargs) -> None:
    _sprint_event(WebhookEvent.SPRINT_COMPLETED, sprint)


def daily_scrum_ended(sender, meeting, **kwargs) -> None:
    event = WebhookEvent.DAILY_SCRUM_SUMMARY
    hooks = webhooks.subscribed(meeting.project, event)
    if hooks:
        data = {"date": meeting.date.isoformat(), "sprint": meeting.sprint_id, "summary": meeting.summary or {}}
        webhooks.enqueue(project=meeting.project, event=event, payload=data, webhooks=hooks)


def retrospective_closed(sender, retro, **kwargs) -> None:
    event = WebhookEvent.RETROSPECTIVE_CLOSED
    hooks = webhooks.subscribed(retro.project, event)
    if not hooks:
        return
    actions = retro.action_items.select_related("owner", "backlog_item__project").order_by("created_at", "id")
    data = {
        "id": retro.pk,
        "title": retro.title,
        "sprint": retro.sprint_id,
        "closed_at": retro.closed_at.isoformat() if retro.closed_at else None,
        "action_items": [
            {
                "text": action.text,
                "owner": action.owner.get_username() if action.owner else None,
                "due_date": action.due_date.isoformat() if action.due_date else None,
                "item": action.backlog_item.key if action.backlog_item else None,
            }
            for action in actions
        ],
    }
    webhooks.enqueue(project=retro.project, event=event, payload=data, webhooks=hooks)


def release_released(sender, release, **kwargs) -> None:
    event = WebhookEvent.RELEASE_RELEASED
    hooks = webhooks.subscribed(release.project, event)
    if hooks:
        data = {
            "version": release.version,
            "name": release.name,
            "released_on": release.released_on.isoformat() if release.released_on else None,
            "notes": release.notes,
        }
        webhooks.enqueue(project=release.project, event=event, payload=data, webhooks=hooks)
