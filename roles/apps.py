from django.apps import AppConfig


class RolesConfig(AppConfig):
    name = "roles"
    default_auto_field = "django.db.models.BigAutoField"
