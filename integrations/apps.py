from collections.abc import Callable

from django.apps import AppConfig
from django.dispatch import Signal


class IntegrationsConfig(AppConfig):
    name = "integrations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from backlog import signals as backlog_signals
        from integrations import (
            receivers,
            schema,  # noqa: F401  registers the OpenAPI auth extension
        )
        from retrospectives.signals import retrospective_closed
        from roadmap.signals import release_released
        from sprints.signals import sprint_completed, sprint_started
        from standups.signals import daily_scrum_ended

        # Webhooks: each domain event to the outbox, inside the transaction that caused it.
        connections: list[tuple[Signal, Callable[..., None]]] = [
            (backlog_signals.item_created, receivers.item_created),
            (backlog_signals.item_updated, receivers.item_updated),
            (backlog_signals.item_moved, receivers.item_moved),
            (backlog_signals.item_deleted, receivers.item_deleted),
            (sprint_started, receivers.sprint_started),
            (sprint_completed, receivers.sprint_completed),
            (daily_scrum_ended, receivers.daily_scrum_ended),
            (retrospective_closed, receivers.retrospective_closed),
            (release_released, receivers.release_released),
        ]
        for signal, receiver in connections:
            signal.connect(receiver, dispatch_uid=f"integrations.webhooks.{receiver.__name__}")
