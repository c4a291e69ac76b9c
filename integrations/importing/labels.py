"""What a report's figures are called on the page: the import sources' counts, a job's result, and a
Scrumboard export's contents (a restore's preview, result and what it leaves out)."""

from django.utils.translation import gettext as _


def count_labels() -> dict[str, str]:
    return {
        "items": _("Items"),
        "sprints": _("Sprints"),
        "comments": _("Comments"),
        "labels": _("Labels"),
        "created": _("Items created"),
        "updated": _("Items updated"),
        "unchanged": _("Items unchanged"),
        "sprints_created": _("Sprints created"),
        # A Scrumboard export's contents (a restore's preview and result).
        "history_events": _("History events"),
        "committed_items": _("Committed items"),
        "daily_scrums": _("Daily scrums"),
        "standup_entries": _("Daily scrum entries"),
        "impediments": _("Impediments"),
        "retrospectives": _("Retrospectives"),
        "cards": _("Retrospective cards"),
        "votes": _("Votes"),
        "action_items": _("Action items"),
        "phases": _("Roadmap phases"),
        "milestones": _("Milestones"),
        "releases": _("Releases"),
        "days_off": _("Days off"),
        "health_ratings": _("Health check ratings"),
    }
