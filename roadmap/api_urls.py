"""Roadmap API routes (the "api" namespace, under projects/<key>/)."""

from typing import Any

from django.urls import path

from roadmap.api import MilestoneViewSet, PhaseViewSet, ReleaseViewSet, RoadmapView

LIST: dict[str, Any] = {"get": "list", "post": "create"}
DETAIL: dict[str, Any] = {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}
ROADMAP = "projects/<str:key>/roadmap/"
PHASE = ROADMAP + "phases/<int:pk>/"
RELEASE = ROADMAP + "releases/<int:pk>/"

urlpatterns = [
    path(ROADMAP, RoadmapView.as_view({"get": "roadmap"}), name="roadmap"),
    path(ROADMAP + "template/", RoadmapView.as_view({"post": "template"}), name="roadmap-template"),
    path(ROADMAP + "phases/", PhaseViewSet.as_view(LIST), name="roadmap-phase-list"),
    path(PHASE, PhaseViewSet.as_view(DETAIL), name="roadmap-phase-detail"),
    path(PHASE + "items/", PhaseViewSet.as_view({"post": "items"}), name="roadmap-phase-items"),
    path(ROADMAP + "milestones/", MilestoneViewSet.as_view(LIST), name="roadmap-milestone-list"),
    path(ROADMAP + "milestones/<int:pk>/", MilestoneViewSet.as_view(DETAIL), name="roadmap-milestone-detail"),
    path(ROADMAP + "releases/", ReleaseViewSet.as_view(LIST), name="roadmap-release-list"),
    path(RELEASE, ReleaseViewSet.as_view(DETAIL), name="roadmap-release-detail"),
    path(RELEASE + "items/", ReleaseViewSet.as_view({"post": "items"}), name="roadmap-release-items"),
    path(RELEASE + "release/", ReleaseViewSet.as_view({"post": "release"}), name="roadmap-release-release"),
    path(RELEASE + "notes/", ReleaseViewSet.as_view({"get": "notes"}), name="roadmap-release-notes"),
]
