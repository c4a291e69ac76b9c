from django.apps import AppConfig


class StandupsConfig(AppConfig):
    name = "standups"
    default_auto_field = "django.db.models.BigAutoField"
