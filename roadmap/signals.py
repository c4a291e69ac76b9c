"""What other apps (webhooks) may react to; sent inside the transaction that made the change."""

from django.dispatch import Signal

release_released = Signal()  # release (status, released_on and notes already saved)
