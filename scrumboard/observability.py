"""Errors to Sentry, and secrets kept out of everything that reports: Sentry events, logs, error pages.

Two nets: by name (settings, headers, variables called like a token, password, DSN...) and by
value (every value ``scrumboard.secrets`` handed out is cut out of any text, wherever it ends up).
"""

import functools
import html
import logging
import logging.config
import re
from collections.abc import Callable
from typing import Any, cast

import sentry_sdk
from celery.signals import after_setup_logger, after_setup_task_logger
from django.utils.safestring import SafeString, mark_safe
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.transport import Transport
from sentry_sdk.types import Event, Hint

from scrumboard.secrets import secret_values

FILTERED = "[Filtered]"
REDACTED = "[redacted]"
# Names whose values are hidden whatever they hold: request headers and cookies, event data,
# frame variables. Narrower than Django's list for settings (no bare KEY or AUTH, which would
# hide every ``key`` and ``author`` variable while debugging).
SENSITIVE_NAMES = re.compile(
    r"TOKEN|SECRET|PASSW|PWD|SIGNATURE|SIGNING|COOKIE|SESSIONID|CSRF|AUTHORIZATION|CREDENTIAL|JWT|DSN"
    r"|API[_-]?KEY|PRIVATE[_-]?KEY|_KEY\b|DATABASE_URL|REDIS_URL|BROKER_URL|ROLE_ID",
    flags=re.IGNORECASE,
)
# Settings on the debug page: Django's own list, plus URLs that carry credentials.
SENSITIVE_SETTINGS = re.compile(
    r"API|AUTH|TOKEN|KEY|SECRET|PASS|PWD|SIGNATURE|SIGNING|COOKIE|CSRF|CREDENTIAL|JWT|DSN"
    r"|DATABASE_URL|REDIS_URL|BROKER_URL",
    flags=re.IGNORECASE,
)


def redact(text: str) -> str:
    """``text`` with every known secret value (also as repr or HTML-escaped) cut out."""
    for form in _forms(secret_values()):
        if form in text:
            text = text.replace(form, REDACTED)
    return text


@functools.lru_cache(maxsize=1)
def _forms(values: frozenset[str]) -> tuple[str, ...]:
    """The spellings a value takes in reports; longest first, so a secret inside another goes with it."""
    forms = set()
    for value in values:
        quoted = repr(value)[1:-1]
        forms.update({value, quoted, html.escape(value), html.escape(quoted)})
    return tuple(sorted(forms, key=len, reverse=True))


def scrub(data: Any, *, by_name: bool = True) -> Any:
    """A copy of ``data`` (JSON-like) with secret values redacted and, ``by_name``, sensitive names filtered."""
    if isinstance(data, str):
        return redact(data)
    if isinstance(data, dict):
        return {
            key: FILTERED
            if by_name and value and isinstance(key, str) and SENSITIVE_NAMES.search(key)
            else scrub(value, by_name=by_name)
            for key, value in data.items()
        }
    if isinstance(data, list | tuple):
        return [scrub(item, by_name=by_name) for item in data]
    return data


# Parts of an event describing the SDK, the runtime and the trace: their names are structure
# (a "session" context, package names), so only values are redacted there.
_EVENT_STRUCTURE = {"sdk", "contexts", "modules", "_meta"}


def scrub_event(event: Event, hint: Hint | None = None) -> Event:
    """Sentry's ``before_send``: request headers, cookies, extra, breadcrumbs, frame variables."""
    return cast(Event, {key: scrub(value, by_name=key not in _EVENT_STRUCTURE) for key, value in event.items()})


def scrub_breadcrumb(crumb: dict[str, Any], hint: Hint | None = None) -> dict[str, Any]:
    return cast(dict[str, Any], scrub(crumb))


def init_sentry(
    *,
    dsn: str | None,
    environment: str,
    release: str | None,
    traces_sample_rate: float = 0.0,
    transport: type[Transport] | Transport | Callable[..., Any] | None = None,
) -> bool:
    """Starts Sentry for web and worker; without a DSN it stays off. True when started."""
    if not dsn:
        return False
    sentry_sdk.init(
        dsn=dsn,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        environment=environment,
        release=release or None,
        send_default_pii=False,
        traces_sample_rate=traces_sample_rate,
        before_send=scrub_event,
        before_send_transaction=scrub_event,
        before_breadcrumb=scrub_breadcrumb,
        transport=transport,
    )
    return True


class SecretsFilter(SafeExceptionReporterFilter):
    """Django's debug page and error mails: settings, request data and frame variables."""

    hidden_settings = SENSITIVE_SETTINGS

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        cleansed = super().cleanse_setting(key, value)
        return redact(cleansed) if isinstance(cleansed, str) else cleansed

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> Any:
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return [(name, self._cleanse_variable(name, value)) for name, value in variables]

    def _cleanse_variable(self, name: str, value: Any) -> Any:
        if isinstance(name, str) and SENSITIVE_NAMES.search(name):
            return self.cleansed_substitute
        if isinstance(value, str):
            return redact(value)
        return value


class SecretsExceptionReporter(ExceptionReporter):
    """The last net: whatever the page shows (exception messages too) loses the secret values."""

    # The replacement is plain text without markup, so the page stays as safe as Django made it.
    def get_traceback_html(self) -> SafeString:
        return mark_safe(redact(super().get_traceback_html()))  # noqa: S308

    def get_traceback_text(self) -> SafeString:
        return mark_safe(redact(super().get_traceback_text()))  # noqa: S308


def configure_logging(config: dict[str, Any]) -> None:
    """Django's ``LOGGING_CONFIG``: ``LOGGING``, then every handler configured so far redacts secrets.

    Django's own handlers too (its console handler under DEBUG, runserver's request log).
    """
    logging.config.dictConfig(config)
    redact_log_handlers()


def redact_log_handlers(**signal_kwargs: Any) -> None:
    """Puts the redaction filter on the handlers of every logger (also run after Celery sets up its logging)."""
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            if not any(isinstance(existing, RedactSecretsFilter) for existing in handler.filters):
                handler.addFilter(RedactSecretsFilter())


# A Celery worker replaces the root logger's handlers with its own (worker_hijack_root_logger).
after_setup_logger.connect(redact_log_handlers, weak=False)
after_setup_task_logger.connect(redact_log_handlers, weak=False)


class RedactSecretsFilter(logging.Filter):
    """On a log handler: the message and the traceback are written without secret values."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
