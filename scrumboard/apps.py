from django.apps import AppConfig
from django.db.backends.signals import connection_created


class ScrumboardConfig(AppConfig):
    name = "scrumboard"

    def ready(self) -> None:
        from scrumboard.database import register_sqlite_functions

        connection_created.connect(register_sqlite_functions, dispatch_uid="scrumboard.sqlite_functions")
