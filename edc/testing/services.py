"""pytest plugin (loaded with ``-p`` in ``addopts``): real PostgreSQL and Redis for the suite.

pytest-django reads the settings before any ``conftest.py`` runs, so the embedded servers must be
started from ``pytest_load_initial_conftests``. With ``DATABASE_URL``/``REDIS_URL`` set (CI's system
services) nothing is started.
"""

import pytest

from edc import embedded

_stack = []


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    context = embedded.services(
        embedded.VAR_DIR, pgdata_name="pgdata-test", redis_name="redis-test.db", roles=False
    )
    context.__enter__()
    _stack.append(context)


def pytest_unconfigure(config):
    while _stack:
        _stack.pop().__exit__(None, None, None)
