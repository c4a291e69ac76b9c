import datetime
import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from integrations.models import ApiToken, TokenScope
from roles.models import hash_token

TOKEN_PREFIX = "sb_"  # noqa: S105 (a public marker that makes leaked tokens easy to scan for, not a secret)
# last_used_at is written at most this often, so reads do not turn into writes.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


def create_token(*, user, name: str, scope: str = TokenScope.READ, expires_at=None) -> tuple[ApiToken, str]:
    """A new token and its raw value, which is never stored and never shown again."""
    name = (name or "").strip()
    errors = {}
    if not name:
        errors["name"] = [_("Give the token a name, e.g. the tool that will use it.")]
    if scope not in TokenScope.values:
        errors["scope"] = [_("Scope must be “read” or “write”.")]
    if expires_at is not None and expires_at <= timezone.now():
        errors["expires_at"] = [_("The expiry must be in the future.")]
    if errors:
        raise ValidationError(errors)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name[:100], scope=scope, expires_at=expires_at, prefix=raw[:10], token_hash=hash_token(raw)
    )
    return token, raw


def revoke_token(*, token: ApiToken, by) -> ApiToken:
    if token.user_id != by.pk:
        raise PermissionDenied
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def authenticate_token(raw: str) -> ApiToken | None:
    """The usable token with this raw value, marking it used."""
    token = ApiToken.objects.usable().select_related("user").filter(token_hash=hash_token(raw)).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
