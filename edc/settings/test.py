"""The test suite: real PostgreSQL and Redis, fast password hashing, email in memory."""

import os

from .dev import *  # noqa: F403

DEBUG = False
# Argon2 stays the production hasher (tests check base and production); hashing thousands of test
# passwords with it would only slow the suite.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]  # noqa: F405
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CONN_MAX_AGE = 0
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# Parallel workers (pytest-xdist) share one Redis database: clearing the cache deletes this worker's
# keys only, never the whole database (edc.testing.services sets the key prefix of each worker).
CACHES["default"]["BACKEND"] = "edc.testing.cache.PrefixedRedisCache"  # noqa: F405
# Export files of parallel workers never share a folder (their databases number jobs alike).
if os.environ.get("PYTEST_XDIST_WORKER"):
    EXPORT_ROOT = EXPORT_ROOT / os.environ["PYTEST_XDIST_WORKER"]  # noqa: F405
