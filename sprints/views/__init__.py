"""The sprint pages: the list, planning, the board, the review, velocity and forecast."""

from sprints.views.board import active_board, board_version, column_limits, sprint_board, sprint_complete
from sprints.views.planning import days_off, plan_move, sprint_goal, sprint_plan, sprint_start
from sprints.views.review import goal_outcome, review_feedback, sprint_review
from sprints.views.sprints import sprint_create, sprint_delete, sprint_edit, sprint_list, velocity

__all__ = [
    "active_board",
    "board_version",
    "column_limits",
    "days_off",
    "goal_outcome",
    "plan_move",
    "review_feedback",
    "sprint_board",
    "sprint_complete",
    "sprint_create",
    "sprint_delete",
    "sprint_edit",
    "sprint_goal",
    "sprint_list",
    "sprint_plan",
    "sprint_review",
    "sprint_start",
    "velocity",
]
