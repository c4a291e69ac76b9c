from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class IdempotencyRecord(models.Model):
    """A write's response, kept a day: a retry with the same Idempotency-Key gets it again instead of writing twice."""

    # No index of its own: the (user, key) constraint's index serves lookups by user.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    key = models.CharField(max_length=255)
    # sha256 of method, path and canonical body: the same key with another request is refused.
    fingerprint = models.CharField(max_length=64)
    # Null while the request runs; the record only outlives its transaction once filled in.
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_record_unique_per_user_key"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} · {self.key}"
