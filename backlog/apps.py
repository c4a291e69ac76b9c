from django.apps import AppConfig


class BacklogConfig(AppConfig):
    name = "backlog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from backlog import services
        from projects.signals import project_created

        project_created.connect(
            lambda sender, project, **kwargs: services.seed_workflow(project),
            weak=False,
            dispatch_uid="backlog.seed_workflow",
        )
