"""What other apps (retrospectives, notifications, webhooks) may react to.

Sent inside the transaction that made the change, so what receivers write (outbox rows,
the retrospective) commits or rolls back with it; side effects outside the database
belong in ``transaction.on_commit``.
"""

from django.dispatch import Signal

sprint_started = Signal()  # sprint
sprint_completed = Signal()  # sprint
