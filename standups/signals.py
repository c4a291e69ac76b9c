"""What other apps may react to; sent inside the transaction that made the change."""

from django.dispatch import Signal

daily_scrum_ended = Signal()  # meeting (its summary frozen)
