from django.apps import AppConfig


class RetrospectivesConfig(AppConfig):
    name = "retrospectives"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from retrospectives import receivers
        from sprints.signals import sprint_completed

        sprint_completed.connect(receivers.create_sprint_retrospective, dispatch_uid="retrospectives.sprint_completed")
