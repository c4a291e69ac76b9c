"""Scrumboard settings: one module, driven by environment variables.

Safe development defaults (SQLite and a filesystem broker in ``var/``); production
differs only in environment variables and the secrets read by ``scrumboard.secrets``.
"""

import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

from scrumboard.observability import init_sentry
from scrumboard.secrets import (
    PRODUCTION_ENVIRONMENTS,
    REQUIRED_IN_PRODUCTION,
    env_bool,
    env_float,
    env_list,
    get_secret,
    local_secret_key,
    require_secrets,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SCRUMBOARD_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

ENVIRONMENT = os.environ.get("ENVIRONMENT", "dev")  # dev | stage | prod | test
DEBUG = env_bool("DEBUG", default=False)

# Secrets come from Vault when VAULT_ADDR is set (scrumboard/secrets.py), else from the environment.
if ENVIRONMENT in PRODUCTION_ENVIRONMENTS:
    require_secrets(REQUIRED_IN_PRODUCTION, environment=ENVIRONMENT)
SECRET_KEY = get_secret("SECRET_KEY") or local_secret_key(VAR_DIR, environment=ENVIRONMENT)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", default="localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", default="")
# Absolute base URL for links in e-mails (password reset, invitations): never the Host header.
SITE_URL = os.environ.get("SITE_URL", "http://localhost:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "scrumboard",
    "projects",
    "roles",
    "backlog",
    "sprints",
    "standups",
    "retrospectives",
    "integrations",
    "notifications",
    "roadmap",
]

MIDDLEWARE = [
    # Probes are answered first: before host validation, HTTPS redirects and sessions.
    "scrumboard.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Counts and times the requests that reach the app (not probes, HTTPS redirects or static files).
    "scrumboard.request_metrics.RequestMetricsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "scrumboard.urls"
WSGI_APPLICATION = "scrumboard.wsgi.application"
ASGI_APPLICATION = "scrumboard.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Listed first so these registration templates win over django.contrib.admin's.
        "DIRS": [BASE_DIR / "scrumboard" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------
DATABASE_URL = get_secret("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'scrumboard.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web process read while the worker writes; IMMEDIATE takes the
        # write lock at BEGIN so concurrent writers wait instead of failing mid-transaction.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
        "transaction_mode": "IMMEDIATE",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (throttling, per-process data shared across gunicorn workers) ------------
REDIS_URL = get_secret("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- Celery ---------------------------------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # max_retries 0: a publish while Redis is down fails at once instead of after kombu's retries
    # (0, 2, 6 s); the outbox row waits for the sweeper. The worker's own reconnecting is separate.
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"visibility_timeout": 3600, "max_retries": 0}
else:
    for sub in ("out", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "out"),
        "data_folder_out": str(BROKER_DIR / "out"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),  # kombu's default is the working directory
        "store_processed": False,
        "polling_interval": 0.1,  # kombu's 1 s takes one message a second from the folder
    }
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    # Reminders: the tick writes what is due; the sweep re-queues rows left pending.
    # crontab(): at the start of every minute, so "in 10 minutes" means 10 minutes.
    "notifications-tick": {"task": "notifications.tasks.tick", "schedule": crontab()},
    "notifications-sweep": {"task": "notifications.tasks.sweep", "schedule": 60.0},
    # Webhook deliveries left pending (broker down, worker killed, back-off over).
    "webhooks-sweep": {"task": "integrations.tasks.sweep_webhooks", "schedule": 60.0},
    "imports-sweep": {"task": "integrations.tasks.sweep_imports", "schedule": 60.0},
}
# The daily scrum reminder goes this many minutes before the meeting.
DAILY_SCRUM_REMINDER_MINUTES = int(os.environ.get("DAILY_SCRUM_REMINDER_MINUTES", "10"))
# Members with no entry yet are nudged this long before the daily scrum (or at the start of
# their own working hours when they set them).
DAILY_SCRUM_NUDGE_MINUTES = int(os.environ.get("DAILY_SCRUM_NUDGE_MINUTES", "60"))
# An impediment open this long goes to the Scrum Master; twice as long, to the Product Owner.
BLOCKER_ESCALATION_HOURS = int(os.environ.get("BLOCKER_ESCALATION_HOURS", "24"))
# Bearer token for /metrics; without it /metrics answers 404.
METRICS_TOKEN = get_secret("METRICS_TOKEN")

# --- Auth -----------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "projects:list"
LOGOUT_REDIRECT_URL = "login"
INVITATION_TTL_DAYS = int(os.environ.get("INVITATION_TTL_DAYS", "7"))

# --- E-mail ---------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = get_secret("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Scrumboard <scrumboard@localhost>")

# Key for the HMAC-SHA256 signature of outgoing webhooks.
WEBHOOK_SIGNING_KEY = get_secret("WEBHOOK_SIGNING_KEY") or ""
# Webhook targets on loopback, private or link-local addresses are refused (SSRF guard) unless
# this is on: for on-premise installs whose receivers live on the internal network, and tests.
WEBHOOK_ALLOW_PRIVATE_TARGETS = env_bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", default=False)
# A subscription turns itself off after this many consecutive failed deliveries.
WEBHOOK_DISABLE_AFTER = int(os.environ.get("WEBHOOK_DISABLE_AFTER", "10"))

# Imports (integrations/importing): the largest upload accepted (413 past it) and the most rows
# one file may hold (the parsers refuse more with a 400 naming the count).
IMPORT_MAX_BYTES = int(os.environ.get("IMPORT_MAX_BYTES", str(10 * 1024 * 1024)))
IMPORT_MAX_ROWS = int(os.environ.get("IMPORT_MAX_ROWS", "10000"))

# --- Internationalisation -----------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ru", _("Russian")), ("kk", _("Kazakh"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
FORMAT_MODULE_PATH = ["scrumboard.formats"]
TIME_ZONE = "UTC"

# --- Static files ---------------------------------------------------------------------
STATIC_URL = "/static/"
# Collected files (collectstatic) live with the other runtime data; WhiteNoise serves them.
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "scrumboard.storage.StaticStorage"},
}
WHITENOISE_USE_FINDERS = True

# --- REST API -------------------------------------------------------------------------
# How many reverse proxies (ingress, load balancer) sit in front of the app. Only that
# many X-Forwarded-For entries are trusted, so a client cannot choose its own address.
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "integrations.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "integrations.authentication.TokenScopePermission",
    ],
    "DEFAULT_PAGINATION_CLASS": "scrumboard.api.CursorPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "scrumboard.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_METADATA_CLASS": "scrumboard.metadata.Metadata",
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "DEFAULT_THROTTLE_RATES": {
        "token_ip": os.environ.get("TOKEN_THROTTLE_IP", "20/min"),
        "token_account": os.environ.get("TOKEN_THROTTLE_ACCOUNT", "5/min"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Scrumboard API",
    "DESCRIPTION": "Scrum project management: projects, roles, backlog, sprints, meetings, roadmap.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The error responses every operation shares (400, 401, 403, 404, 409, 412, 415), in the one error shape.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "scrumboard.schema.document_error_responses",
        # Request and response examples recorded from the demo project (scrumboard/api_examples.json).
        "scrumboard.schema.document_examples",
    ],
    # "kind" names several choice sets (item links, notifications): each its own schema name.
    "ENUM_NAME_OVERRIDES": {
        "NotificationKindEnum": "notifications.models.Kind",
        "WebhookEventEnum": "integrations.models.WebhookEvent",
    },
}

# --- Security -------------------------------------------------------------------------
_secure_default = not DEBUG
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=_secure_default)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=_secure_default)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000" if _secure_default else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
# Joining the browsers' preload list binds every subdomain to HTTPS for months and is
# hard to undo: an opt-in above, so its absence is a decision, not a deploy warning.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
if TRUSTED_PROXY_COUNT:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# --- Errors and logs: secrets are cut out (scrumboard/observability.py) ------------------
DEFAULT_EXCEPTION_REPORTER = "scrumboard.observability.SecretsExceptionReporter"
DEFAULT_EXCEPTION_REPORTER_FILTER = "scrumboard.observability.SecretsFilter"
init_sentry(
    dsn=get_secret("SENTRY_DSN"),
    environment=ENVIRONMENT,
    release=os.environ.get("SENTRY_RELEASE") or os.environ.get("GIT_SHA"),
    traces_sample_rate=env_float("SENTRY_TRACES_SAMPLE_RATE", default=0.0, minimum=0.0, maximum=1.0),
)

# LOGGING as dictConfig reads it; every handler then gets a filter that redacts secret values.
LOGGING_CONFIG = "scrumboard.observability.configure_logging"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

ADMIN_URL = os.environ.get("ADMIN_URL", "admin/")
