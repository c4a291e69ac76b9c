"""API routes under /api/v1/projects/<key>/, added to the "api" namespace by scrumboard/api_urls.py."""

from django.urls import path

from standups.api import DailyScrumViewSet, EntryViewSet, ExportView, ImpedimentViewSet

PROJECT = "projects/<str:key>/"
DAY = PROJECT + "standups/<str:date>/"

urlpatterns: list = [
    path(PROJECT + "standups/", DailyScrumViewSet.as_view({"get": "list", "post": "create"}), name="standup-list"),
    path(PROJECT + "standups/export/", ExportView.as_view({"get": "export"}), name="standup-export"),
    path(DAY, DailyScrumViewSet.as_view({"get": "retrieve"}), name="standup-detail"),
    path(DAY + "start/", DailyScrumViewSet.as_view({"post": "start"}), name="standup-start"),
    path(DAY + "attendance/", DailyScrumViewSet.as_view({"post": "attendance"}), name="standup-attendance"),
    path(DAY + "end/", DailyScrumViewSet.as_view({"post": "end"}), name="standup-end"),
    path(
        DAY + "entries/",
        EntryViewSet.as_view({"get": "list", "post": "create", "put": "update"}),
        name="standup-entries",
    ),
    path(
        PROJECT + "impediments/", ImpedimentViewSet.as_view({"get": "list", "post": "create"}), name="impediment-list"
    ),
    path(
        PROJECT + "impediments/<int:pk>/",
        ImpedimentViewSet.as_view({"get": "retrieve", "patch": "partial_update"}),
        name="impediment-detail",
    ),
]
