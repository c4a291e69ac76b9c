from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from integrations.models import TokenScope
from integrations.services import create_token


class Command(BaseCommand):
    help = "Creates a personal API token for USERNAME and prints it (shown only once)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="command line")
        parser.add_argument("--scope", choices=TokenScope.values, default=TokenScope.READ)

    def handle(self, *args, username: str, name: str, scope: str, **options) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user called {username!r}.")
        try:
            _token, raw = create_token(user=user, name=name, scope=scope)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(raw)
