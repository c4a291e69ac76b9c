"""Roadmap pages, under projects/<key>/."""

from django.urls import path

from roadmap import views

app_name = "roadmap"

ROADMAP = "roadmap/"
PHASE = ROADMAP + "phases/<int:pk>/"
MILESTONE = ROADMAP + "milestones/<int:pk>/"
RELEASE = ROADMAP + "releases/<int:pk>/"

urlpatterns = [
    path(ROADMAP, views.roadmap_timeline, name="timeline"),
    path(ROADMAP + "template/", views.apply_template, name="template"),
    path(ROADMAP + "phases/new/", views.phase_create, name="phase_create"),
    path(PHASE, views.phase_detail, name="phase"),
    path(PHASE + "delete/", views.phase_delete, name="phase_delete"),
    path(ROADMAP + "milestones/new/", views.milestone_create, name="milestone_create"),
    path(MILESTONE, views.milestone_detail, name="milestone"),
    path(MILESTONE + "delete/", views.milestone_delete, name="milestone_delete"),
    path(ROADMAP + "releases/new/", views.release_create, name="release_create"),
    path(RELEASE, views.release_detail, name="release"),
    path(RELEASE + "edit/", views.release_edit, name="release_edit"),
    path(RELEASE + "notes/", views.release_notes, name="release_notes"),
    path(RELEASE + "release/", views.release_ship, name="release_ship"),
    path(RELEASE + "delete/", views.release_delete, name="release_delete"),
]
