from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("notifications/", views.inbox, name="inbox"),
    path("notifications/read/", views.mark_read, name="mark_read"),
    path("notifications/unread/", views.unread_badge, name="unread"),
    path("notifications/settings/", views.settings_page, name="settings"),
]
