from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from scrumboard import metrics
from scrumboard.views import SiteURLPasswordResetView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="projects:list", permanent=False), name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password-reset/", SiteURLPasswordResetView.as_view(), name="password_reset"),
    path("accounts/password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("accounts/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("projects/", include("projects.urls")),
    path("projects/<str:key>/", include("backlog.urls")),
    path("projects/<str:key>/", include("sprints.urls")),
    path("projects/<str:key>/", include("standups.urls")),
    path("projects/<str:key>/", include("retrospectives.urls")),
    path("projects/<str:key>/", include("roadmap.urls")),
    path("", include("roles.urls")),
    path("", include("integrations.urls")),
    path("", include("notifications.urls")),
    path("api/v1/", include("scrumboard.api_urls")),
    path("metrics", metrics.metrics, name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path(settings.ADMIN_URL, admin.site.urls),
]

# Unknown URLs under /api/ answer in the API's error shape, like every other API error.
handler404 = "scrumboard.api.not_found"
