from django.urls import path

from projects import views

app_name = "projects"

urlpatterns = [
    path("", views.project_list, name="list"),
    path("new/", views.project_create, name="create"),
    path("<str:key>/", views.project_detail, name="detail"),
    path("<str:key>/settings/", views.project_edit, name="edit"),
    path("<str:key>/archive/", views.project_archive, name="archive"),
    path("<str:key>/unarchive/", views.project_unarchive, name="unarchive"),
]
