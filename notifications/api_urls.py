"""API routes under /api/v1/notifications/, added to the "api" namespace by scrumboard/api_urls.py."""

from django.urls import path

from notifications.api import NotificationViewSet, PreferencesViewSet

urlpatterns: list = [
    path("notifications/", NotificationViewSet.as_view({"get": "list"}), name="notification-list"),
    path("notifications/mark-read/", NotificationViewSet.as_view({"post": "mark_read"}), name="notification-mark-read"),
    path(
        "notifications/preferences/",
        PreferencesViewSet.as_view({"get": "retrieve", "put": "update", "patch": "partial_update"}),
        name="notification-preferences",
    ),
]
