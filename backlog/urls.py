from django.urls import path

from backlog import discussion_views, views

app_name = "backlog"

ITEM = "items/<str:item_key>/"

urlpatterns = [
    path("backlog/", views.backlog_list, name="list"),
    path("backlog/add/", views.quick_add, name="quick_add"),
    path("backlog/bulk/", views.bulk, name="bulk"),
    path("backlog/preview/", discussion_views.markdown_preview, name="markdown_preview"),
    path("epics/", views.epics, name="epics"),
    path(ITEM, views.item_detail, name="item"),
    path(ITEM + "edit/", views.item_update, name="item_update"),
    path(ITEM + "estimate/", views.item_estimate, name="item_estimate"),
    path(ITEM + "move/", views.item_move, name="item_move"),
    path(ITEM + "delete/", views.item_delete, name="item_delete"),
    path(ITEM + "criteria/", views.criteria, name="criteria"),
    path(ITEM + "watch/", views.watch, name="watch"),
    path(ITEM + "links/", discussion_views.link_add, name="link_add"),
    path(ITEM + "links/<int:pk>/remove/", discussion_views.link_remove, name="link_remove"),
    path(ITEM + "comments/", discussion_views.comment_add, name="comment_add"),
    path(ITEM + "comments/<int:pk>/edit/", discussion_views.comment_edit, name="comment_edit"),
    path(ITEM + "comments/<int:pk>/delete/", discussion_views.comment_delete, name="comment_delete"),
]
