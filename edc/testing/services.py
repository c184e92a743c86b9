"""pytest plugin (loaded with ``-p`` in ``addopts``): real PostgreSQL and Redis for the suite.

pytest-django reads the settings before any ``conftest.py`` runs, so the embedded servers must be
started from ``pytest_load_initial_conftests``. With ``DATABASE_URL``/``REDIS_URL`` set (CI's system
services) nothing is started.

With pytest-xdist (``make test`` runs ``-n``), the controller process starts the embedded servers once
and its workers inherit ``DATABASE_URL``/``REDIS_URL`` through the environment: a worker never starts
servers of its own. pytest-django gives each worker its own test database (``test_…_gw0``); in Redis,
which the workers share, each worker prefixes its keys (``EDC_REDIS_KEY_PREFIX``: cache entries, Celery
queues and bookkeeping), and the Celery workers a test starts inherit the prefix.
"""

import os

import pytest

from edc import embedded

_stack = []


def xdist_worker() -> str | None:
    """The id of this pytest-xdist worker (``gw0``, ``gw1``…), None outside one."""
    return os.environ.get("PYTEST_XDIST_WORKER") or None


def redis_key_prefix(worker: str) -> str:
    return f"test-{worker}:"


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    worker = xdist_worker()
    if worker is not None:
        missing = [name for name in ("DATABASE_URL", "REDIS_URL") if not os.environ.get(name)]
        if missing:
            raise pytest.UsageError(
                f"pytest-xdist worker {worker} without {', '.join(missing)}: the controller starts the "
                "embedded servers and its workers reuse them (edc.testing.services)"
            )
        os.environ["EDC_REDIS_KEY_PREFIX"] = redis_key_prefix(worker)
        return
    context = embedded.services(
        embedded.VAR_DIR, pgdata_name="pgdata-test", redis_name="redis-test.db", roles=False
    )
    context.__enter__()
    _stack.append(context)


def pytest_unconfigure(config):
    while _stack:
        _stack.pop().__exit__(None, None, None)
