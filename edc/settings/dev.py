"""Local development and the demo of ``make run``: debug on, console email, demo users allowed."""

import os

os.environ.setdefault("SECRET_KEY", "dev-only-insecure-key-never-used-in-production-0123456789")

from .base import *  # noqa: E402,F403

DEBUG = env.bool("DEBUG", default=True)  # noqa: F405
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])  # noqa: F405
DEMO_MODE = env.bool("EDC_DEMO_MODE", default=True)  # noqa: F405
# The printed demo logins are password-only, so that a first look needs no phone.
EDC_REQUIRE_2FA = env.bool("EDC_REQUIRE_2FA", default=False)  # noqa: F405
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
