"""Database plumbing shared by the apps."""

from django.db.models import Func, TextField

CASEFOLD = "sb_casefold"


def register_sqlite_functions(sender, connection, **kwargs) -> None:
    """SQLite's lower() and LIKE fold ASCII only: give it Python's Unicode case folding."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            CASEFOLD, 1, lambda value: value.casefold() if isinstance(value, str) else value, deterministic=True
        )


class Casefold(Func):
    """Unicode case folding on SQLite (registered above); plain lower() elsewhere."""

    function = CASEFOLD
    output_field = TextField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, function="LOWER", **extra_context)
