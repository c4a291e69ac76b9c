"""The whole project as one JSON document: ``export_project(project)``; restored by ``importing.scrumboard_source``.

People appear by username (members with e-mail, name and role; anyone else named, in ``people``),
never by id. Objects point at each other by natural keys: items by key (``SB-12``), sprints by
number, statuses and labels by name, roles by slug, daily scrums by date; what has none gets a
``ref``, its 1-based place in the document (impediments, retrospectives and their cards and
groups, roadmap phases). Ids stored inside JSON fields (history values, frozen reports and
summaries) are replaced by the same references, so the document names nothing of this database.

Not exported: webhooks, API tokens, calendar feeds (secrets), invitations (hashed tokens),
notifications (per person, transient), import jobs and their source links (bookkeeping).
One query per table whatever the project's size.
"""

from integrations.exporting.document import FORMAT, PROJECT_FIELDS, VERSION, export_filename, export_project
from integrations.exporting.refs import map_event_values, map_retro_summary, map_scrum_summary, map_sprint_report

__all__ = [
    "FORMAT",
    "PROJECT_FIELDS",
    "VERSION",
    "export_filename",
    "export_project",
    "map_event_values",
    "map_retro_summary",
    "map_scrum_summary",
    "map_sprint_report",
]
