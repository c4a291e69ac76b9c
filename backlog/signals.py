"""What other apps (webhooks) may react to: items created, changed, moved and deleted.

Sent inside the transaction that made the change, so what receivers write (outbox rows)
commits or rolls back with it.
"""

from django.dispatch import Signal

item_created = Signal()  # item
item_updated = Signal()  # item, changes: {field: {"old": ..., "new": ...}} as in the history
item_moved = Signal()  # item (rank and sprint already new), changes: {"rank"/"sprint": {"old", "new"}}
item_deleted = Signal()  # item, sent just before the row is deleted
