"""Template helpers of the backlog pages."""

from django import template
from django.utils.safestring import SafeString, mark_safe

from backlog.markdown import render_markdown
from backlog.models import StatusCategory

register = template.Library()

_CATEGORY_CLASSES: dict[str, str] = {
    StatusCategory.TODO.value: "status-todo",
    StatusCategory.IN_PROGRESS.value: "status-progress",
    StatusCategory.DONE.value: "status-done",
}


@register.filter
def markdown(text: str) -> SafeString:
    """Markdown rendered and sanitized (backlog.markdown): the only way user text becomes HTML."""
    return mark_safe(render_markdown(text))  # noqa: S308 - nh3 has sanitized it


@register.filter
def status_class(status) -> str:
    return _CATEGORY_CLASSES.get(getattr(status, "category", ""), "status-todo")


@register.filter
def person(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


@register.filter
def initial(user) -> str:
    name = person(user)
    return name[:1].upper() if name else "?"


@register.filter
def points(value) -> str:
    """Decimal points without a trailing ``.0``: 5, 2.5."""
    if value is None:
        return ""
    text = format(value.normalize(), "f") if hasattr(value, "normalize") else str(value)
    return text


@register.filter
def percent(part, whole) -> int:
    try:
        return round(100 * float(part) / float(whole)) if whole else 0
    except (TypeError, ValueError):
        return 0


@register.filter
def fmt(template: str, key) -> str:
    """``{% translate "Move %(key)s" as label %}`` once, then ``{{ label|fmt:item.key }}`` per row."""
    return str(template) % {"key": key}
