"""What other apps (webhooks) may react to; sent inside the transaction that made the change."""

from django.dispatch import Signal

retrospective_closed = Signal()  # retro (closed, its action items turned into backlog items)
