"""API routes under /api/v1/projects/<key>/, added to the "api" namespace by scrumboard/api_urls.py."""

from typing import Any

from django.urls import path

from retrospectives.api import (
    ActionItemViewSet,
    CardViewSet,
    ExportView,
    GroupViewSet,
    HealthTrendView,
    HealthView,
    NoteView,
    RetrospectiveViewSet,
    VoteView,
)

LIST: dict[str, Any] = {"get": "list", "post": "create"}
ONE: dict[str, Any] = {"patch": "partial_update", "delete": "destroy"}
PROJECT = "projects/<str:key>/"
RETRO = PROJECT + "retrospectives/<int:pk>/"

urlpatterns = [
    path(PROJECT + "retrospectives/", RetrospectiveViewSet.as_view(LIST), name="retrospective-list"),
    path(
        PROJECT + "retrospectives/health/",
        HealthTrendView.as_view({"get": "trend"}),
        name="retrospective-health-trend",
    ),
    path(
        RETRO,
        RetrospectiveViewSet.as_view({"get": "retrieve", "patch": "partial_update"}),
        name="retrospective-detail",
    ),
    path(RETRO + "cards/", CardViewSet.as_view(LIST), name="retrospective-card-list"),
    path(RETRO + "cards/<int:card_id>/", CardViewSet.as_view(ONE), name="retrospective-card-detail"),
    path(
        RETRO + "votes/",
        VoteView.as_view({"get": "list", "post": "create", "delete": "destroy"}),
        name="retrospective-votes",
    ),
    path(RETRO + "groups/", GroupViewSet.as_view(LIST), name="retrospective-group-list"),
    path(RETRO + "groups/<int:group_id>/", GroupViewSet.as_view(ONE), name="retrospective-group-detail"),
    path(RETRO + "notes/", NoteView.as_view(LIST), name="retrospective-notes"),
    path(RETRO + "action-items/", ActionItemViewSet.as_view(LIST), name="retrospective-action-list"),
    path(
        RETRO + "action-items/<int:action_id>/",
        ActionItemViewSet.as_view(ONE),
        name="retrospective-action-detail",
    ),
    path(RETRO + "health/", HealthView.as_view(LIST), name="retrospective-health"),
    path(RETRO + "export/", ExportView.as_view({"get": "export"}), name="retrospective-export"),
]
