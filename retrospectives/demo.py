"""The demo project's retrospectives history: agenda entries that scrumboard/demo.py plays in time order."""


def demo_agenda(history) -> list:
    """(moment, order, action) entries; history is scrumboard.demo._History (users, items, sprints, clock)."""
    return []
