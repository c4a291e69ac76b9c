from django.apps import AppConfig


class RetrospectivesConfig(AppConfig):
    name = "retrospectives"
    default_auto_field = "django.db.models.BigAutoField"
