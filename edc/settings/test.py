"""The test suite: real PostgreSQL and Redis, fast password hashing, email in memory."""

from .dev import *  # noqa: F403

DEBUG = False
# Argon2 stays the production hasher (tests check base and production); hashing thousands of test
# passwords with it would only slow the suite.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]  # noqa: F405
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CONN_MAX_AGE = 0
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
