"""Local development and the demo of ``make run``: console email, demo users allowed, static files
served from the source folders (WhiteNoise's finders, no collectstatic). Debug stays off unless
``EDC_DEBUG=1`` (base): a demo on a network shows the friendly 404 and 500 pages, never the settings."""

import os

os.environ.setdefault("SECRET_KEY", "dev-only-insecure-key-never-used-in-production-0123456789")

from .base import *  # noqa: E402,F403

# The address `make run` serves (EDC_HOST) is a valid host name too, unless it is a wildcard.
_serving = [h for h in [os.environ.get("EDC_HOST", "")] if h not in {"", "0.0.0.0", "::"}]
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", *_serving])  # noqa: F405
DEMO_MODE = env.bool("EDC_DEMO_MODE", default=True)  # noqa: F405
# The printed demo logins are password-only, so that a first look needs no phone.
EDC_REQUIRE_2FA = env.bool("EDC_REQUIRE_2FA", default=False)  # noqa: F405
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
