"""Reads that compute: burndown and burnup, the review report, velocity, forecast, capacity, the board.

Reports replay the activity log (``ItemEvent``): an item's sprint, estimate and status at
any moment come from its events, so items re-opened, re-estimated, added or removed
mid-sprint count exactly as they happened. A completed sprint's report is frozen.
"""

from sprints.selectors.board import (
    SWIMLANES,
    Board,
    Column,
    Lane,
    active_sprint,
    board_version,
    project_sprints,
    sprint_board,
    sprint_items,
)
from sprints.selectors.capacity import (
    Capacity,
    MemberCapacity,
    RoleLoad,
    capacity_summary,
    recent_velocity,
    sprint_capacity,
)
from sprints.selectors.forecasting import (
    FORECAST_HISTORY,
    FORECAST_HORIZON,
    FORECAST_RUNS,
    VELOCITY_WINDOW,
    Forecast,
    VelocityRow,
    average_velocity,
    forecast,
    monte_carlo,
    remaining_backlog_points,
    velocity,
)
from sprints.selectors.history import Totals
from sprints.selectors.reports import REPORT_VERSION, product_goal_progress, sprint_burndown, sprint_report

__all__ = [
    "FORECAST_HISTORY",
    "FORECAST_HORIZON",
    "FORECAST_RUNS",
    "REPORT_VERSION",
    "SWIMLANES",
    "VELOCITY_WINDOW",
    "Board",
    "Capacity",
    "Column",
    "Forecast",
    "Lane",
    "MemberCapacity",
    "RoleLoad",
    "Totals",
    "VelocityRow",
    "active_sprint",
    "average_velocity",
    "board_version",
    "capacity_summary",
    "forecast",
    "monte_carlo",
    "product_goal_progress",
    "project_sprints",
    "recent_velocity",
    "remaining_backlog_points",
    "sprint_board",
    "sprint_burndown",
    "sprint_capacity",
    "sprint_items",
    "sprint_report",
    "velocity",
]
