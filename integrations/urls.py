from django.urls import path

from integrations import calendar_views, export_views, import_views, views, webhook_views

app_name = "integrations"

urlpatterns = [
    path("account/tokens/", views.tokens, name="tokens"),
    path("account/tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
]

# The project calendar feed's management page (the feed itself is under /api/v1/).
urlpatterns += [
    path("projects/<str:key>/integrations/calendar/", calendar_views.calendar_page, name="calendar"),
    path("projects/<str:key>/integrations/calendar/revoke/", calendar_views.calendar_revoke, name="calendar_revoke"),
]

# The project's outbound webhooks: list, form, signing secret, delivery log, redelivery.
WEBHOOKS = "projects/<str:key>/integrations/webhooks/"
WEBHOOK = WEBHOOKS + "<int:pk>/"
urlpatterns += [
    path(WEBHOOKS, webhook_views.webhook_list, name="webhooks"),
    path(WEBHOOKS + "new/", webhook_views.webhook_create, name="webhook_create"),
    path(WEBHOOK, webhook_views.webhook_edit, name="webhook_edit"),
    path(WEBHOOK + "delete/", webhook_views.webhook_delete, name="webhook_delete"),
    path(WEBHOOK + "rotate-secret/", webhook_views.webhook_rotate_secret, name="webhook_rotate_secret"),
    path(WEBHOOK + "deliveries/", webhook_views.webhook_deliveries, name="webhook_deliveries"),
    path(
        WEBHOOK + "deliveries/<int:delivery_id>/redeliver/",
        webhook_views.webhook_redeliver,
        name="webhook_redeliver",
    ),
]

# Imports: upload a file, check its preview, run it, follow its progress.
IMPORTS = "projects/<str:key>/integrations/imports/"
urlpatterns += [
    path(IMPORTS, import_views.import_list, name="imports"),
    path(IMPORTS + "<int:pk>/", import_views.import_detail, name="import_detail"),
    path(IMPORTS + "<int:pk>/run/", import_views.import_run, name="import_run"),
]

# The whole project as one JSON file (the same document as the API's export).
urlpatterns += [path("projects/<str:key>/integrations/export/", export_views.export_download, name="export")]
