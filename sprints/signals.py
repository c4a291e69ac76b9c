"""What other apps (retrospectives, notifications, webhooks) may react to, after the commit."""

from django.dispatch import Signal

sprint_started = Signal()  # sprint
sprint_completed = Signal()  # sprint
