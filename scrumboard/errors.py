from django.core.exceptions import ValidationError


class ConflictError(ValidationError):
    """The request is valid but clashes with the current state (API: 409)."""
