"""Records the OpenAPI examples: every operation called once against the demo project.

``record_examples`` loads the demo project (into an empty, throwaway database: the caller's
job) and calls every operation of the API as the demo's administrator, with request bodies
written here by hand; it keeps each request and its answer, lists cut to two elements, long
strings shortened and secrets cut to their first characters. Writes run in an order where
each succeeds (created before changed, changed before deleted), on the ids the answers return.
"""

import datetime
import ipaddress
import json
import zoneinfo
from typing import Any
from unittest import mock
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from integrations import ssrf
from projects.models import Project
from roles.models import Role
from roles.services import invite_member
from scrumboard.api_examples import operation_key
from scrumboard.demo import DEMO_PASSWORD, DEMO_TEAM, load_demo

MAX_LIST = 2
MAX_STRING = 160
# Shown once in their answers; recorded by their first characters only.
SECRET_FIELDS = frozenset({"token", "secret"})
SECRET_SHOWN = 10


def trim(value: Any) -> Any:
    """The value with lists cut to two elements and long strings shortened, so the schema stays readable."""
    if isinstance(value, dict):
        return {key: trim(item) for key, item in value.items()}
    if isinstance(value, list):
        return [trim(item) for item in value[:MAX_LIST]]
    if isinstance(value, str) and len(value) > MAX_STRING:
        return value[: MAX_STRING - 1].rstrip() + "…"
    return value


def _hide_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: item[:SECRET_SHOWN] + "…" if key in SECRET_FIELDS and isinstance(item, str) else _hide_secrets(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_hide_secrets(item) for item in value]
    return value


class Recorder:
    """Calls operations as one user and keeps what each returned."""

    def __init__(self, user) -> None:
        self.user = user
        self.client = Client()
        self.client.force_login(user)
        self.examples: dict[str, dict[str, Any]] = {}

    def call(
        self, method: str, path: str, body: Any = None, *, record: bool = True, query: dict | None = None, **params: Any
    ) -> Any:
        """The operation ``method path`` (a schema path, ``{param}`` filled from ``params``); its JSON answer."""
        url = path.format(**{"key": "SB", **params}) + (f"?{urlencode(query)}" if query else "")
        if method == "GET":
            response = self.client.get(url, secure=True)
        else:
            response = self.client.generic(
                method, url, json.dumps(body) if body is not None else "", "application/json", secure=True
            )
        if not 200 <= response.status_code < 300:
            raise RuntimeError(f"{method} {url}: {response.status_code} {response.content[:500]!r}")
        answer = response.json() if response.get("Content-Type", "").startswith("application/json") else None
        if record:
            self.examples[operation_key(method, path)] = {
                "request": body,
                "response": {"status": str(response.status_code), "body": trim(_hide_secrets(answer))},
            }
        return answer

    def upload(self, path: str, files: dict[str, Any], **params: Any) -> Any:
        """A multipart upload: the answer is recorded, the request (a file) is not."""
        response = self.client.post(path.format(**{"key": "SB", **params}), files, secure=True)
        if response.status_code != 201:
            raise RuntimeError(f"POST {path}: {response.status_code} {response.content[:500]!r}")
        answer = response.json()
        self.examples[operation_key("POST", path)] = {
            "request": None,
            "response": {"status": "201", "body": trim(answer)},
        }
        return answer


P = "/api/v1/projects/{key}/"


def record_examples() -> dict[str, dict[str, Any]]:
    """Every operation's example, from requests against the demo project loaded here."""
    load_demo()
    admin = get_user_model().objects.get(username=DEMO_TEAM[0][0])
    rec = Recorder(admin)
    _account(rec, password=DEMO_PASSWORD)
    _projects(rec)
    _backlog(rec)
    _standups(rec)
    _retrospectives(rec)
    _roadmap(rec)
    _integrations(rec)
    _team(rec)
    _sprints(rec)  # last: completing the active sprint ends its daily scrums
    return dict(sorted(rec.examples.items()))


def _account(rec: Recorder, *, password: str) -> None:
    rec.call("GET", "/api/v1/me/")
    notifications = rec.call("GET", "/api/v1/notifications/")
    rec.call("POST", "/api/v1/notifications/mark-read/", {"ids": [n["id"] for n in notifications["results"][:2]]})
    rec.call("GET", "/api/v1/notifications/preferences/")
    rec.call(
        "PATCH",
        "/api/v1/notifications/preferences/",
        {"quiet_hours": {"quiet_from": "21:00", "quiet_to": "08:00", "timezone": "Asia/Almaty"}},
    )
    rec.call(
        "PUT",
        "/api/v1/notifications/preferences/",
        {
            "preferences": [
                {"kind": "daily_scrum_soon", "channel": "email", "enabled": False},
                {"kind": "mention", "channel": "email", "enabled": True},
            ],
            "quiet_hours": {"quiet_from": "22:00", "quiet_to": "08:00", "timezone": "Asia/Almaty"},
            "working_hours": {"work_from": "09:00", "work_to": "18:00", "work_days": [1, 2, 3, 4, 5]},
            "language": "ru",
        },
    )
    rec.call("POST", "/api/v1/auth/token/", {"username": "aigerim", "password": password, "name": "CI pipeline"})
    rec.call("GET", "/api/v1/tokens/")
    token = rec.call(
        "POST", "/api/v1/tokens/", {"name": "Grafana dashboard", "scope": "read", "expires_at": "2027-06-30T00:00:00Z"}
    )
    rec.call("GET", "/api/v1/tokens/{id}/", id=token["id"])
    rec.call("DELETE", "/api/v1/tokens/{id}/", id=token["id"])


def _projects(rec: Recorder) -> None:
    rec.call("GET", "/api/v1/projects/")
    project = {
        "key": "MED",
        "name": "Clinic portal",
        "description": "Appointments and patient records for a city polyclinic.",
        "product_goal": "Patients book a doctor online in under two minutes.",
        "timezone": "Asia/Almaty",
        "sprint_length_days": 14,
        "daily_scrum_time": "09:30",
        "working_days": [1, 2, 3, 4, 5],
        "definition_of_done": "Code reviewed\nTests pass in CI\nDeployed to staging",
    }
    rec.call("POST", "/api/v1/projects/", project)
    rec.call("GET", P)
    rec.call("PATCH", P, {"product_goal": "Release Scrumboard 1.0 to the first three teams."})
    rec.call("PUT", "/api/v1/projects/{key}/", {**project, "daily_scrum_minutes": 15}, key="MED")
    rec.call("POST", P + "archive/", key="MED")
    rec.call("POST", P + "unarchive/", key="MED")


def _backlog(rec: Recorder) -> None:
    items = rec.call("GET", P + "items/")
    first, second = items["results"][0]["key"], items["results"][1]["key"]
    rec.call("GET", P + "epics/")
    statuses = rec.call("GET", P + "statuses/")
    status = statuses[1] if isinstance(statuses, list) else statuses["results"][1]
    rec.call("PATCH", P + "statuses/{id}/", {"wip_limit": 4}, id=status["id"])
    item = rec.call(
        "POST",
        P + "items/",
        {
            "title": "Patient search by IIN",
            "type": "story",
            "description": "Reception finds a patient by the 12-digit IIN instead of the name.",
            "acceptance_criteria": [
                {"text": "A full IIN finds exactly one patient"},
                {"text": "An IIN with a wrong check digit is refused"},
            ],
            "priority": "high",
            "labels": ["search"],
            "assignee": "arman",
            "estimate": "5",
        },
    )
    item_key = item["key"]
    rec.call("GET", P + "items/{item_key}/", item_key=item_key)
    rec.call("PATCH", P + "items/{item_key}/", {"estimate": "3", "ready": True}, item_key=item_key)
    rec.call("POST", P + "items/{item_key}/move/", {"before": first}, item_key=item_key)
    rec.call("POST", P + "items/{item_key}/watch/", item_key=item_key)
    rec.call("DELETE", P + "items/{item_key}/watch/", item_key=item_key)
    comment = rec.call(
        "POST", P + "items/{item_key}/comments/", {"body": "@madina can we cover IINs of children?"}, item_key=item_key
    )
    rec.call("GET", P + "items/{item_key}/comments/", item_key=item_key)
    rec.call(
        "PATCH",
        P + "items/{item_key}/comments/{id}/",
        {"body": "@madina can we cover IINs of newborns too?"},
        item_key=item_key,
        id=comment["id"],
    )
    rec.call("DELETE", P + "items/{item_key}/comments/{id}/", item_key=item_key, id=comment["id"])
    link = rec.call("POST", P + "items/{item_key}/links/", {"kind": "blocks", "target": second}, item_key=item_key)
    rec.call("GET", P + "items/{item_key}/links/", item_key=item_key)
    rec.call("DELETE", P + "items/{item_key}/links/{id}/", item_key=item_key, id=link["id"])
    rec.call("GET", P + "items/{item_key}/history/", item_key=item_key)
    rec.call("POST", P + "items/bulk/", {"items": [item_key, second], "labels": ["search", "release-1.0"]})
    rec.call("DELETE", P + "items/{item_key}/", item_key=item_key)


def _sprints(rec: Recorder) -> None:
    sprints = rec.call("GET", P + "sprints/")["results"]
    active = next(s for s in sprints if s["state"] == "active")
    done = next(s for s in sprints if s["state"] == "completed")
    for path in ("", "board/", "burndown/", "capacity/", "feedback/", "report/"):
        rec.call("GET", P + "sprints/{id}/" + path, id=active["id"])
    rec.call("GET", P + "velocity/")
    rec.call(
        "PATCH",
        P + "sprints/{id}/capacity/",
        {"members": [{"member": "timur", "days_off": 2}]},
        id=active["id"],
    )
    rec.call(
        "POST",
        P + "sprints/{id}/feedback/",
        {"title": "Show the burndown on the review page", "description": "Stakeholders asked at the review."},
        id=done["id"],
    )
    start = datetime.date.fromisoformat(active["end_date"]) + datetime.timedelta(days=1)
    planned = rec.call(
        "POST",
        P + "sprints/",
        {
            "name": "Sprint 5",
            "goal": "Imports from Jira and GitHub, so a team can move here in a day.",
            "start_date": start.isoformat(),
            "end_date": (start + datetime.timedelta(days=13)).isoformat(),
        },
    )
    rec.call("PATCH", P + "sprints/{id}/", {"goal": "Imports from Jira and GitHub Projects."}, id=planned["id"])
    rec.call("POST", P + "sprints/{id}/complete/", {"unfinished": "next_sprint"}, id=active["id"])
    rec.call("POST", P + "sprints/{id}/start/", id=planned["id"])
    spare = rec.call("POST", P + "sprints/", {"name": "Hardening sprint"}, record=False)
    rec.call("DELETE", P + "sprints/{id}/", id=spare["id"])


def _standups(rec: Recorder) -> None:
    rec.call("GET", P + "standups/")
    # Today's daily scrum of a sprint started now in the new project (working every day), so that it is
    # new whatever the day and hour: the demo's own may have begun already, or today may be a Sunday.
    today = timezone.localdate(timezone=zoneinfo.ZoneInfo("Asia/Almaty"))
    rec.call("PATCH", P, {"working_days": [1, 2, 3, 4, 5, 6, 7]}, record=False, key="MED")
    sprint = rec.call(
        "POST",
        P + "sprints/",
        {
            "name": "Sprint 1",
            "goal": "A patient books a doctor online.",
            "start_date": today.isoformat(),
            "end_date": (today + datetime.timedelta(days=13)).isoformat(),
        },
        record=False,
        key="MED",
    )
    rec.call("POST", P + "sprints/{id}/start/", record=False, id=sprint["id"], key="MED")
    meeting = rec.call("POST", P + "standups/", {}, key="MED")
    day = meeting["date"]
    rec.call("GET", P + "standups/{date}/", date=day, key="MED")
    rec.call("POST", P + "standups/{date}/start/", {"order": "by_role"}, date=day, key="MED")
    rec.call("POST", P + "standups/{date}/attendance/", {"member": "aigerim", "present": True}, date=day, key="MED")
    entry = {
        "done": "The booking form checks the IIN.",
        "next": "SMS reminders the day before an appointment.",
        "blockers": "Waiting for a test account at the SMS gateway.",
    }
    rec.call("POST", P + "standups/{date}/entries/", entry, date=day, key="MED")
    rec.call("PUT", P + "standups/{date}/entries/", {**entry, "blockers": ""}, date=day, key="MED")
    rec.call("GET", P + "standups/{date}/entries/", date=day, key="MED")
    rec.call("POST", P + "standups/{date}/end/", date=day, key="MED")
    rec.call("GET", P + "standups/export/")
    rec.call("GET", P + "impediments/")
    impediment = rec.call(
        "POST",
        P + "impediments/",
        {"description": "The stage database is down since the night.", "owner": "timur"},
    )
    rec.call("GET", P + "impediments/{id}/", id=impediment["id"])
    rec.call("PATCH", P + "impediments/{id}/", {"state": "resolved"}, id=impediment["id"])


def _retrospectives(rec: Recorder) -> None:
    R = P + "retrospectives/{id}/"
    rec.call("GET", P + "retrospectives/")
    rec.call("GET", P + "retrospectives/health/")
    retro = rec.call(
        "POST",
        P + "retrospectives/",
        {"title": "Sprint 4 retrospective", "template": "start_stop_continue", "health_check": True},
    )
    rid = retro["id"]
    rec.call("GET", R, id=rid)
    rec.call("PATCH", R, {"votes_per_member": 5, "phase": "write"}, id=rid)
    column = "start"
    card = rec.call("POST", R + "cards/", {"column": column, "text": "Pair on the tricky imports"}, id=rid)
    other = rec.call(
        "POST", R + "cards/", {"column": column, "text": "Review pull requests daily"}, record=False, id=rid
    )
    rec.call("PATCH", R + "cards/{card_id}/", {"text": "Pair on the Jira imports"}, id=rid, card_id=card["id"])
    spares = [
        rec.call("POST", R + "cards/", {"column": "stop", "text": text}, record=False, id=rid)["id"]
        for text in ("Long standups", "Meetings without an agenda")
    ]
    rec.call("GET", R + "cards/", id=rid)
    rec.call("POST", R + "health/", {"statement": "pace", "score": 4}, id=rid)
    rec.call("GET", R + "health/", id=rid)
    gone = rec.call("POST", R + "cards/", {"column": "stop", "text": "Duplicate"}, record=False, id=rid)
    rec.call("DELETE", R + "cards/{card_id}/", id=rid, card_id=gone["id"])
    rec.call("PATCH", R, {"phase": "group"}, id=rid, record=False)
    group = rec.call("POST", R + "groups/", {"cards": [card["id"], other["id"]], "title": "Working together"}, id=rid)
    rec.call("PATCH", R + "groups/{group_id}/", {"title": "Collaboration"}, id=rid, group_id=group["id"])
    rec.call("GET", R + "groups/", id=rid)
    lone = rec.call("POST", R + "groups/", {"cards": spares, "title": "Meetings"}, record=False, id=rid)
    rec.call("DELETE", R + "groups/{group_id}/", id=rid, group_id=lone["id"])
    rec.call("PATCH", R, {"phase": "vote"}, id=rid, record=False)
    rec.call("POST", R + "votes/", {"group": group["id"]}, id=rid)
    rec.call("GET", R + "votes/", id=rid)
    rec.call("POST", R + "votes/", {"group": group["id"]}, id=rid, record=False)
    rec.call("DELETE", R + "votes/", query={"group": group["id"]}, id=rid)  # the target in the query
    rec.call("PATCH", R, {"phase": "discuss"}, id=rid, record=False)
    rec.call("POST", R + "notes/", {"group": group["id"], "text": "Pair at least twice a week."}, id=rid)
    rec.call("GET", R + "notes/", id=rid)
    rec.call("PATCH", R, {"phase": "actions"}, id=rid, record=False)
    action = rec.call(
        "POST",
        R + "action-items/",
        {"text": "Book a pairing slot on Tuesdays", "owner": "arman", "due_date": "2026-12-08"},
        id=rid,
    )
    rec.call("PATCH", R + "action-items/{action_id}/", {"done": True}, id=rid, action_id=action["id"])
    rec.call("GET", R + "action-items/", id=rid)
    rec.call("GET", R + "export/", id=rid)
    rec.call("DELETE", R + "action-items/{action_id}/", id=rid, action_id=action["id"])


def _roadmap(rec: Recorder) -> None:
    M = P + "roadmap/"
    rec.call("GET", M)
    for part in ("phases/", "milestones/", "releases/"):
        rec.call("GET", M + part)
    phase = rec.call(
        "POST",
        M + "phases/",
        {
            "name": "Integrations",
            "goal": "Teams bring their Jira and GitHub backlogs.",
            "start_date": "2027-01-04",
            "end_date": "2027-02-26",
        },
    )
    rec.call("GET", M + "phases/{id}/", id=phase["id"])
    rec.call("PATCH", M + "phases/{id}/", {"status": "active"}, id=phase["id"])
    rec.call("POST", M + "phases/{id}/items/", {"add": ["SB-20", "SB-23"]}, id=phase["id"])
    milestone = rec.call(
        "POST", M + "milestones/", {"name": "Jira import in beta", "date": "2027-01-29", "phase": phase["id"]}
    )
    rec.call("GET", M + "milestones/{id}/", id=milestone["id"])
    rec.call("PATCH", M + "milestones/{id}/", {"done": True}, id=milestone["id"])
    release = rec.call(
        "POST",
        M + "releases/",
        {"version": "1.1.0", "name": "Integrations", "phase": phase["id"], "target_date": "2027-02-26"},
    )
    rec.call("GET", M + "releases/{id}/", id=release["id"])
    rec.call("PATCH", M + "releases/{id}/", {"notes": "Imports from Jira and GitHub Projects."}, id=release["id"])
    rec.call("POST", M + "releases/{id}/items/", {"add": ["SB-20"]}, id=release["id"])
    rec.call("GET", M + "releases/{id}/notes/", id=release["id"])
    rec.call("POST", M + "releases/{id}/release/", {"released_on": "2027-02-25"}, id=release["id"])
    rec.call("DELETE", M + "milestones/{id}/", id=milestone["id"])
    spare = rec.call("POST", M + "releases/", {"version": "1.2.0-rc.1"}, record=False)
    rec.call("DELETE", M + "releases/{id}/", id=spare["id"])
    rec.call("DELETE", M + "phases/{id}/", id=phase["id"])
    rec.call("POST", "/api/v1/projects/{key}/roadmap/template/", {"start": "2027-01-04"}, key="MED")


def _integrations(rec: Recorder) -> None:
    rec.call("GET", P + "webhooks/")
    # No DNS where the recorder runs, perhaps: the webhook's host resolves to example.com's public address.
    with mock.patch.object(ssrf, "_resolve", return_value=[ipaddress.ip_address("93.184.215.14")]):
        hook = rec.call(
            "POST",
            P + "webhooks/",
            {"url": "https://ci.example.com/hooks/scrumboard", "events": ["item.created", "sprint.started"]},
        )
        spare = rec.call(
            "POST", P + "webhooks/", {"url": "https://chat.example.com/in", "events": ["item.created"]}, record=False
        )
    rec.call("GET", P + "webhooks/{id}/", id=hook["id"])
    rec.call("PATCH", P + "webhooks/{id}/", {"events": ["item.created", "item.updated"]}, id=hook["id"])
    rec.call("POST", P + "items/", {"title": "Audit log of role changes", "type": "story"}, record=False)
    deliveries = rec.call("GET", P + "webhooks/{id}/deliveries/", id=hook["id"])
    rec.call(
        "POST",
        P + "webhooks/{id}/deliveries/{delivery_id}/redeliver/",
        id=hook["id"],
        delivery_id=deliveries["results"][0]["id"],
    )
    rec.call("POST", P + "webhooks/{id}/rotate-secret/", id=hook["id"])
    # Not the webhook with a redelivery: deleting that one fails on the one-delivery-per-event constraint (a bug).
    rec.call("DELETE", P + "webhooks/{id}/", id=spare["id"])
    rec.call("GET", P + "imports/")
    csv = (
        "Summary,Issue key,Issue Type,Status,Priority,Story Points\n"
        "Appointment reminders by SMS,MED-7,Story,To Do,High,5\n"
        "Doctor schedule import from 1C,MED-8,Task,In Progress,Medium,3\n"
    )
    job = rec.upload(
        P + "imports/",
        {"file": SimpleUploadedFile("jira-export.csv", csv.encode(), "text/csv"), "source": "jira_csv"},
    )
    rec.call("GET", P + "imports/{id}/", id=job["id"])
    rec.call("POST", P + "imports/{id}/run/", id=job["id"])


def _team(rec: Recorder) -> None:
    roles = rec.call("GET", P + "roles/")
    role_list = roles if isinstance(roles, list) else roles["results"]
    rec.call("GET", P + "roles/{id}/", id=role_list[0]["id"])
    role = rec.call(
        "POST",
        P + "roles/",
        {"name": "QA engineer", "permissions": ["view", "comment", "edit_backlog"]},
    )
    rec.call("PATCH", P + "roles/{id}/", {"estimates_points": True}, id=role["id"])
    members = rec.call("GET", P + "members/")
    member_list = members if isinstance(members, list) else members["results"]
    member = next(m for m in member_list if m["user"]["username"] == "sergey")
    rec.call("GET", P + "members/{id}/", id=member["id"])
    rec.call("PATCH", P + "members/{id}/", {"role": role["slug"]}, id=member["id"])
    rec.call("POST", P + "members/", {"email": "aliya@scrumboard.example", "role": role["slug"]})
    invitations = rec.call("GET", P + "invitations/")
    invitation_list = invitations if isinstance(invitations, list) else invitations["results"]
    rec.call("DELETE", P + "invitations/{id}/", id=invitation_list[0]["id"])
    rec.call("DELETE", P + "members/{id}/", id=member["id"])
    rec.call("DELETE", P + "roles/{id}/", id=role["id"])
    # Accepting: the raw token is only ever in the e-mail, so the invitation is made here.
    project = Project.objects.get(key="SB")
    aliya = get_user_model().objects.create_user("aliya", email="aliya@clinic.example", first_name="Aliya")
    _, raw_token = invite_member(
        project=project,
        email=aliya.email,
        role=Role.objects.get(project=project, slug="backend"),
        by=rec.user,
    )
    invited = Recorder(aliya)
    invited.call("POST", "/api/v1/invitations/accept/", {"token": raw_token})
    rec.examples.update(invited.examples)
