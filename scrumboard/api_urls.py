"""``/api/v1/``: every route named, so the permission matrix can list them all."""

from django.urls import path

from backlog.api import (
    BacklogItemViewSet,
    BulkView,
    CommentViewSet,
    EpicViewSet,
    ExportView,
    HistoryViewSet,
    ItemLinkViewSet,
    MoveView,
    StatusViewSet,
    WatchView,
)
from integrations.api import ApiTokenViewSet, MeView, PasswordTokenView
from integrations.calendar_views import CalendarFeedView
from integrations.export_api import ProjectExportView
from integrations.import_api import ImportJobViewSet
from integrations.webhook_api import DeliveryViewSet, WebhookViewSet
from notifications.api_urls import urlpatterns as notification_routes
from projects.api import ProjectViewSet
from retrospectives.api_urls import urlpatterns as retrospective_routes
from roadmap.api_urls import urlpatterns as roadmap_routes
from roles.api import AcceptInvitationView, InvitationViewSet, MemberViewSet, RoleViewSet
from sprints.api import (
    BoardView,
    BurndownView,
    CapacityView,
    FeedbackView,
    ReportView,
    SprintViewSet,
    VelocityView,
)
from standups.api_urls import urlpatterns as standup_routes

app_name = "api"

LIST = {"get": "list", "post": "create"}
DETAIL = {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}
PROJECT = "projects/<str:key>/"
ITEM = PROJECT + "items/<str:item_key>/"
SPRINT = PROJECT + "sprints/<int:pk>/"

urlpatterns = [
    path("me/", MeView.as_view(), name="me"),
    path("auth/token/", PasswordTokenView.as_view(), name="auth-token"),
    path("tokens/", ApiTokenViewSet.as_view({"get": "list", "post": "create"}), name="token-list"),
    path("tokens/<int:pk>/", ApiTokenViewSet.as_view({"get": "retrieve", "delete": "destroy"}), name="token-detail"),
    path("invitations/accept/", AcceptInvitationView.as_view(), name="invitation-accept"),
    path("projects/", ProjectViewSet.as_view(LIST), name="project-list"),
    path(
        PROJECT,
        ProjectViewSet.as_view({"get": "retrieve", "put": "update", "patch": "partial_update"}),
        name="project-detail",
    ),
    path(PROJECT + "archive/", ProjectViewSet.as_view({"post": "archive"}), name="project-archive"),
    path(PROJECT + "unarchive/", ProjectViewSet.as_view({"post": "unarchive"}), name="project-unarchive"),
    path(PROJECT + "members/", MemberViewSet.as_view(LIST), name="member-list"),
    path(PROJECT + "members/<int:pk>/", MemberViewSet.as_view(DETAIL), name="member-detail"),
    path(PROJECT + "invitations/", InvitationViewSet.as_view({"get": "list"}), name="invitation-list"),
    path(PROJECT + "invitations/<int:pk>/", InvitationViewSet.as_view({"delete": "destroy"}), name="invitation-detail"),
    path(PROJECT + "roles/", RoleViewSet.as_view(LIST), name="role-list"),
    path(PROJECT + "roles/<int:pk>/", RoleViewSet.as_view(DETAIL), name="role-detail"),
    path(PROJECT + "items/", BacklogItemViewSet.as_view(LIST), name="item-list"),
    path(PROJECT + "items/bulk/", BulkView.as_view({"post": "bulk"}), name="item-bulk"),
    path(PROJECT + "items/export/", ExportView.as_view({"get": "export"}), name="item-export"),
    path(ITEM, BacklogItemViewSet.as_view(DETAIL), name="item-detail"),
    path(ITEM + "move/", MoveView.as_view({"post": "move"}), name="item-move"),
    path(ITEM + "comments/", CommentViewSet.as_view(LIST), name="item-comment-list"),
    path(
        ITEM + "comments/<int:pk>/",
        CommentViewSet.as_view({"patch": "partial_update", "delete": "destroy"}),
        name="item-comment-detail",
    ),
    path(ITEM + "history/", HistoryViewSet.as_view({"get": "list"}), name="item-history"),
    path(ITEM + "links/", ItemLinkViewSet.as_view(LIST), name="item-link-list"),
    path(ITEM + "links/<int:pk>/", ItemLinkViewSet.as_view({"delete": "destroy"}), name="item-link-detail"),
    path(ITEM + "watch/", WatchView.as_view({"post": "watch", "delete": "watch"}), name="item-watch"),
    path(PROJECT + "statuses/", StatusViewSet.as_view({"get": "list"}), name="status-list"),
    path(PROJECT + "statuses/<int:pk>/", StatusViewSet.as_view({"patch": "partial_update"}), name="status-detail"),
    path(PROJECT + "epics/", EpicViewSet.as_view({"get": "list"}), name="epic-list"),
    path(PROJECT + "sprints/", SprintViewSet.as_view(LIST), name="sprint-list"),
    path(SPRINT, SprintViewSet.as_view(DETAIL), name="sprint-detail"),
    path(SPRINT + "start/", SprintViewSet.as_view({"post": "start"}), name="sprint-start"),
    path(SPRINT + "complete/", SprintViewSet.as_view({"post": "complete"}), name="sprint-complete"),
    path(SPRINT + "board/", BoardView.as_view({"get": "board"}), name="sprint-board"),
    path(SPRINT + "burndown/", BurndownView.as_view({"get": "burndown"}), name="sprint-burndown"),
    path(SPRINT + "report/", ReportView.as_view({"get": "report"}), name="sprint-report"),
    path(
        SPRINT + "capacity/",
        CapacityView.as_view({"get": "retrieve", "patch": "partial_update"}),
        name="sprint-capacity",
    ),
    path(SPRINT + "feedback/", FeedbackView.as_view(LIST), name="sprint-feedback"),
    path(PROJECT + "velocity/", VelocityView.as_view({"get": "velocity"}), name="velocity"),
]
# The meetings' routes live with their apps (same "api" namespace, same PROJECT prefix).
urlpatterns += standup_routes + retrospective_routes
urlpatterns += notification_routes
urlpatterns += roadmap_routes
# The calendar feed: its own secret in the URL, no session or API token (integrations/calendar_views.py).
urlpatterns += [path(PROJECT + "calendar.ics", CalendarFeedView.as_view(), name="calendar-feed")]

# Outbound webhooks: subscriptions, their delivery log, redelivery, the signing secret.
WEBHOOK = PROJECT + "webhooks/<int:pk>/"
urlpatterns += [
    path(PROJECT + "webhooks/", WebhookViewSet.as_view(LIST), name="webhook-list"),
    path(WEBHOOK, WebhookViewSet.as_view(DETAIL), name="webhook-detail"),
    path(WEBHOOK + "rotate-secret/", WebhookViewSet.as_view({"post": "rotate_secret"}), name="webhook-rotate-secret"),
    path(WEBHOOK + "deliveries/", DeliveryViewSet.as_view({"get": "list"}), name="webhook-deliveries"),
    path(
        WEBHOOK + "deliveries/<int:delivery_id>/redeliver/",
        DeliveryViewSet.as_view({"post": "redeliver"}),
        name="webhook-redeliver",
    ),
]

# Imports: upload (parsed and previewed), run in the background, follow the progress.
IMPORT = PROJECT + "imports/<int:pk>/"
urlpatterns += [
    path(PROJECT + "imports/", ImportJobViewSet.as_view(LIST), name="import-list"),
    path(IMPORT, ImportJobViewSet.as_view({"get": "retrieve"}), name="import-detail"),
    path(IMPORT + "run/", ImportJobViewSet.as_view({"post": "run"}), name="import-run"),
]

# The whole project as one JSON document (restored by an import of source "scrumboard").
urlpatterns += [path(PROJECT + "export/", ProjectExportView.as_view({"get": "export"}), name="project-export")]
