from django.urls import path

from sprints import views

app_name = "sprints"

SPRINT = "sprints/<int:pk>/"

urlpatterns = [
    path("sprints/", views.sprint_list, name="list"),
    path("sprints/new/", views.sprint_create, name="create"),
    path("sprints/velocity/", views.velocity, name="velocity"),
    path("board/", views.active_board, name="active_board"),
    path("board/limits/", views.column_limits, name="column_limits"),
    path(SPRINT + "edit/", views.sprint_edit, name="edit"),
    path(SPRINT + "delete/", views.sprint_delete, name="delete"),
    path(SPRINT + "plan/", views.sprint_plan, name="plan"),
    path(SPRINT + "plan/move/", views.plan_move, name="plan_move"),
    path(SPRINT + "plan/goal/", views.sprint_goal, name="goal"),
    path(SPRINT + "plan/days-off/", views.days_off, name="days_off"),
    path(SPRINT + "start/", views.sprint_start, name="start"),
    path(SPRINT + "board/", views.sprint_board, name="board"),
    path(SPRINT + "board/version/", views.board_version, name="board_version"),
    path(SPRINT + "complete/", views.sprint_complete, name="complete"),
    path(SPRINT + "review/", views.sprint_review, name="review"),
    path(SPRINT + "review/goal/", views.goal_outcome, name="goal_outcome"),
    path(SPRINT + "review/feedback/", views.review_feedback, name="feedback"),
]
