from django.urls import path

from integrations import views

app_name = "integrations"

urlpatterns = [
    path("account/tokens/", views.tokens, name="tokens"),
    path("account/tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
]
