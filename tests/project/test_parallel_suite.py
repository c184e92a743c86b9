"""The suite in parallel (pytest-xdist): servers started once by the controller, Redis keys per worker,
the demo study seeded once into a template database and copied per test, and CI's stage timings."""

import os
import subprocess
import sys
import uuid

import psycopg
import pytest
import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection

from edc.testing import services as plugin
from edc.testing.cache import delete_keys
from edc.testing.databases import using_database
from tests.conftest import DEMO_PASSWORD, ROOT
from tests.notifications.factories import database_url
from trials.models import Participant


@pytest.fixture
def embedded_calls(monkeypatch):
    """Records each start of the embedded servers instead of starting them."""
    calls = []
    monkeypatch.setattr(plugin, "_stack", [])  # never the contexts of this very run

    class Context:
        def __enter__(self):
            calls.append("started")

        def __exit__(self, *exc):
            calls.append("stopped")

    monkeypatch.setattr(plugin.embedded, "services", lambda *args, **kwargs: Context())
    return calls


def test_an_xdist_worker_reuses_the_controllers_servers_and_prefixes_its_redis_keys(
    monkeypatch, embedded_calls
):
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw7")
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres:@/edc?host=/tmp/controller")
    monkeypatch.setenv("REDIS_URL", "unix:///tmp/controller/redis.socket?db=0")
    monkeypatch.delenv("EDC_REDIS_KEY_PREFIX", raising=False)
    plugin.pytest_load_initial_conftests(None, None, [])
    plugin.pytest_unconfigure(None)
    assert embedded_calls == []
    assert os.environ["EDC_REDIS_KEY_PREFIX"] == "test-gw7:"
    assert os.environ["DATABASE_URL"] == "postgresql://postgres:@/edc?host=/tmp/controller"


def test_an_xdist_worker_without_the_controllers_urls_refuses_to_start_servers_of_its_own(
    monkeypatch, embedded_calls
):
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    monkeypatch.delenv("DATABASE_URL")
    with pytest.raises(pytest.UsageError, match="worker gw1 without DATABASE_URL"):
        plugin.pytest_load_initial_conftests(None, None, [])
    assert embedded_calls == []


def test_the_controller_or_a_serial_run_starts_the_embedded_servers_once(monkeypatch, embedded_calls):
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    plugin.pytest_load_initial_conftests(None, None, [])
    plugin.pytest_unconfigure(None)
    assert embedded_calls == ["started", "stopped"]


def test_the_redis_key_prefix_reaches_the_cache_and_the_celery_broker():
    code = (
        "import django; django.setup(); from django.conf import settings; from edc.celery import app; "
        "print(settings.CACHES['default']['KEY_PREFIX'], app.conf.broker_transport_options)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "edc.settings.dev", "EDC_REDIS_KEY_PREFIX": "test-gw5:"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    prefix, options = result.stdout.split(None, 1)
    assert prefix == "test-gw5:edc"
    assert "'global_keyprefix': 'test-gw5:'" in options and "'socket_timeout': 2.0" in options


def test_clearing_the_cache_leaves_the_keys_of_other_workers():
    client = redis.Redis.from_url(settings.REDIS_URL)
    other = f"test-other-{uuid.uuid4().hex}:edc:1:entry"
    client.set(other, b"kept", ex=60)
    try:
        cache.set("entry", "mine")
        cache.clear()
        assert cache.get("entry") is None
        assert client.get(other) == b"kept"
    finally:
        client.delete(other)


def test_delete_keys_deletes_only_keys_with_the_prefix_taken_literally():
    client = redis.Redis.from_url(settings.REDIS_URL)
    run = uuid.uuid4().hex
    # Read as a glob pattern, the prefix would match the look-alike too.
    mine, wildcard_lookalike = f"test-[{run}]*:a", f"test-{run[0]}zz:a"
    client.set(mine, 1, ex=60)
    client.set(wildcard_lookalike, 1, ex=60)
    try:
        assert delete_keys(client, f"test-[{run}]*:") == 1
        assert client.exists(mine) == 0 and client.exists(wildcard_lookalike) == 1
    finally:
        client.delete(mine, wildcard_lookalike)


def test_the_demo_study_of_a_test_is_a_seeded_copy_of_the_template(request, seeded_demo, demo_template):
    assert connection.settings_dict["NAME"] == f"{demo_template}_copy"
    assert Participant.objects.count() == 12
    assert get_user_model().objects.get(username="datamanager").check_password(DEMO_PASSWORD)
    # Every test of the demo study runs on one xdist worker, which seeds the template once.
    assert request.node.get_closest_marker("xdist_group").args == ("demo-study",)


def test_changes_committed_in_a_copy_never_reach_the_template(transactional_db, seeded_demo, demo_template):
    get_user_model().objects.filter(username="auditor").update(first_name="Changed in the copy")
    template_url = database_url(connection).replace(
        f"/{connection.settings_dict['NAME']}", f"/{demo_template}"
    )
    with psycopg.connect(template_url) as template:
        names = template.execute("SELECT first_name FROM auth_user WHERE username = 'auditor'").fetchall()
    assert names == [("Demo",)]
    assert get_user_model().objects.get(username="auditor").first_name == "Changed in the copy"


def test_the_database_is_never_switched_inside_a_tests_transaction(db):
    with pytest.raises(RuntimeError, match="inside a transaction"), using_database("elsewhere"):
        pass
    assert connection.settings_dict["NAME"] != "elsewhere"


def test_tests_that_start_celery_workers_run_on_one_xdist_worker(request):
    request.applymarker(pytest.mark.worker)
    from tests.conftest import pytest_collection_modifyitems

    pytest_collection_modifyitems(request.config, [request.node])
    assert request.node.get_closest_marker("xdist_group").args == ("celery-workers",)


def test_ci_prints_the_wall_time_of_each_stage_and_keeps_a_failure():
    script = (
        "set -euo pipefail; source .ci/stages.sh; "
        "stage 'quick one' true; stage 'broken one' false; stage never true"
    )
    result = subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    table = result.stdout.split("=== wall time per stage ===", 1)[1].splitlines()
    assert [line.split()[:2] for line in table if line] == [
        ["quick", "one"],
        ["broken", "one"],
        ["total", "0m00s"],
    ]
    assert "0m00s  FAILED (exit 1)" in table[2]
    assert "never" not in result.stdout
