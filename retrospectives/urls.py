"""Pages under /projects/<key>/: the retrospectives list, the board, the summary, the health check."""

from django.urls import path

from retrospectives import views

app_name = "retrospectives"

RETRO = "retrospectives/<int:pk>/"

urlpatterns = [
    path("retrospectives/", views.retrospective_list, name="list"),
    path("retrospectives/new/", views.retrospective_create, name="create"),
    path("retrospectives/health/", views.health_trend, name="health_trend"),
    path(RETRO, views.retrospective_detail, name="detail"),
    path(RETRO + "version/", views.retrospective_version, name="version"),
    path(RETRO + "phase/", views.retrospective_phase, name="phase"),
    path(RETRO + "settings/", views.retrospective_settings, name="settings"),
    path(RETRO + "cards/new/", views.card_add, name="card_add"),
    path(RETRO + "cards/<int:card_id>/edit/", views.card_edit, name="card_edit"),
    path(RETRO + "cards/<int:card_id>/delete/", views.card_delete, name="card_delete"),
    path(RETRO + "groups/new/", views.group_create, name="group_create"),
    path(RETRO + "groups/<int:group_id>/ungroup/", views.group_ungroup, name="ungroup"),
    path(RETRO + "votes/", views.vote, name="vote"),
    path(RETRO + "notes/new/", views.note_add, name="note_add"),
    path(RETRO + "action-items/new/", views.action_add, name="action_add"),
    path(RETRO + "action-items/<int:action_id>/done/", views.action_done, name="action_done"),
    path(RETRO + "health/", views.health_rate, name="health_rate"),
    path(RETRO + "summary/", views.retrospective_summary, name="summary"),
]
