"""Pages under /projects/<key>/: the daily scrum."""

from django.urls import path

from standups import views

app_name = "standups"

DAY = "standups/<str:date>/"

urlpatterns = [
    path("standups/", views.today, name="today"),
    path("standups/history/", views.history, name="history"),
    path("standups/export.csv", views.export, name="export"),
    path(DAY, views.day, name="day"),
    path(DAY + "entry/", views.save_entry, name="entry"),
    path(DAY + "facilitate/", views.facilitate, name="facilitate"),
    path(DAY + "start/", views.start, name="start"),
    path(DAY + "attendance/", views.attendance, name="attendance"),
    path(DAY + "end/", views.end, name="end"),
    path(DAY + "summary/", views.summary, name="summary"),
    path("impediments/", views.impediments, name="impediments"),
    path("impediments/<int:pk>/resolve/", views.resolve, name="resolve"),
    path("impediments/<int:pk>/owner/", views.hand_over, name="hand_over"),
]
