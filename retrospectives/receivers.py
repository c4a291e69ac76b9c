"""Reactions to other apps' signals."""

from retrospectives import services


def create_sprint_retrospective(sender, sprint, **kwargs) -> None:
    """A completed sprint gets its retrospective (default template) unless it has one."""
    services.create_for_completed_sprint(sprint)
