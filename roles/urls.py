from django.urls import path

from roles import views

app_name = "roles"

PROJECT = "projects/<str:key>/"

urlpatterns = [
    path(PROJECT + "team/", views.team, name="team"),
    path(PROJECT + "team/invite/", views.invite, name="invite"),
    path(PROJECT + "team/<int:pk>/", views.member_change, name="member_change"),
    path(PROJECT + "team/<int:pk>/remove/", views.member_remove, name="member_remove"),
    path(PROJECT + "team/invitations/<int:pk>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path(PROJECT + "roles/", views.roles, name="roles"),
    path(PROJECT + "roles/<int:pk>/", views.role_edit, name="role_edit"),
    path("invitations/<str:token>/", views.accept_invitation, name="accept_invitation"),
]
