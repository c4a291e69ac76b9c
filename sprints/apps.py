from django.apps import AppConfig


class SprintsConfig(AppConfig):
    name = "sprints"
    default_auto_field = "django.db.models.BigAutoField"
