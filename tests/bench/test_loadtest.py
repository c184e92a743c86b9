"""``make loadtest`` (``edc/loadtest.py``, ``edc/locustfile.py``) and the gunicorn settings it serves with.

The figures themselves depend on the machine and are not asserted; what is: the whole machinery runs
(database, static files, gunicorn with the production settings, Locust users of every role signing in
and saving a form), its keys land in ``var/bench.json`` beside the others, and a failing request counts.
"""

import json
import os
import runpy
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings

from edc import loadtest
from tests.conftest import ROOT

GUNICORN_CONF = ROOT / "edc" / "gunicorn.conf.py"


def _conf(monkeypatch, **env):
    for name in ("GUNICORN_WORKERS", "GUNICORN_THREADS", "GUNICORN_BIND", "EDC_HOST", "EDC_PORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(GUNICORN_CONF))


def test_gunicorn_runs_threaded_workers_sized_by_the_cpus(monkeypatch):
    conf = _conf(monkeypatch)
    assert conf["worker_class"] == "gthread" and conf["threads"] == 4
    assert conf["workers"] == conf["default_workers"](os.cpu_count())
    assert [conf["default_workers"](n) for n in (1, 2, 4, 16)] == [2, 3, 5, 8]


def test_gunicorn_sizes_and_address_come_from_the_environment(monkeypatch):
    conf = _conf(monkeypatch, GUNICORN_WORKERS="5", GUNICORN_THREADS="2", EDC_PORT="8123")
    assert (conf["workers"], conf["threads"], conf["bind"]) == (5, 2, "0.0.0.0:8123")
    assert conf["control_socket_disable"] is True  # no shared socket under the home folder


def test_the_master_compiles_every_template_before_the_workers_fork(monkeypatch):
    import logging
    from types import SimpleNamespace

    from django.template import engines

    loader = engines["django"].engine.template_loaders[0]  # the cached loader, shared by forked workers
    loader.reset()
    _conf(monkeypatch)["when_ready"](SimpleNamespace(log=logging.getLogger("gunicorn.error")))
    compiled = set(loader.get_template_cache)
    assert {"trials/participant_list.html", "crfs/form_entry.html", "base.html"} <= compiled
    assert len(compiled) == len(list((ROOT / "templates").rglob("*.html")))


def test_thread_connections_are_persistent_and_health_checked():
    database = settings.DATABASES["default"]
    assert database["CONN_HEALTH_CHECKS"] is True


def _sample(action, ms, end, error=""):
    return {"action": action, "ms": ms, "end": end, "error": error}


def test_timings_leave_out_sign_in_but_errors_count_every_request():
    samples = [
        _sample("login", 900, 1.0),
        _sample("list", 100, 2.0),
        _sample("list", 200, 3.0),
        _sample("form save", 50, 4.0, "form save: 409 instead of 302"),
        _sample("login", 10, 5.0, "login: 403 instead of 302"),
    ]
    summary = loadtest.summarise(samples, 0.0, 10.0)
    assert summary["p95_ms"] == 200 and summary["requests"] == 3 and summary["rps"] == 0.3
    assert summary["errors"] == 2 and summary["actions"]["form save"]["errors"] == 1
    assert summary["actions"]["login"] == {"p95_ms": 0.0, "requests": 0, "errors": 1}  # untimed, counted


def test_busy_users_are_timed_from_the_last_sign_in_to_the_end():
    # 4 users arriving 2 a second, 10 s of work: the run ends at 12 s; the last sign-in ends at 5 s.
    samples = [_sample("list", 3000, 4.0), _sample("login", 2000, 5.0), _sample("list", 3000, 4.5)]
    samples += [_sample("list", 100, 5.5 + i) for i in range(7)]
    busy = loadtest.busy_users(samples, 0.0, 4, 10.0)
    assert busy["timed_seconds"] == 7 and busy["requests"] == 7 and busy["p95_ms"] == 100


def test_saturation_throughput_is_the_best_step_whose_p95_stays_below_one_second():
    # Steps of 10 s, timed once their new users have signed in: 2 users at 5 requests/s (p95 200 ms),
    # then 4 users at 8/s (p95 1,200 ms).
    samples = [_sample("login", 900, 3.0), _sample("login", 900, 13.0)]
    samples += [_sample("list", 200, 3.5 + i * 0.2) for i in range(33)]
    samples += [_sample("list", 1200, 13.5 + i * 0.125) for i in range(52)]
    best, rows = loadtest.saturation(samples, 0.0, [2, 4], 10.0)
    assert [row["users"] for row in rows] == [2, 4] and rows[1]["p95_ms"] == 1200
    assert best == rows[0]["rps"] and 4.5 < best < 5.5 and rows[0]["timed_seconds"] == 6.5


def test_the_load_figures_are_merged_into_bench_json_without_losing_other_metrics(tmp_path):
    path = tmp_path / "bench.json"
    path.write_text(json.dumps({"metrics": {"participant_list_p95_ms": {"value": 12}}, "mutation_score": 99}))
    busy = {"p95_ms": 120.0, "rps": 8.5, "errors": 0, "actions": {}}
    loadtest.merge_bench(path, {"busy": busy, "max_rps": 30.0, "saturation": []})
    report = json.loads(path.read_text())
    assert report["metrics"] == {"participant_list_p95_ms": {"value": 12}} and report["mutation_score"] == 99
    assert (report["load_p95_ms"], report["load_rps"], report["load_errors"], report["load_max_rps"]) == (
        120.0,
        8.5,
        0,
        30.0,
    )


@pytest.fixture
def load_database_url(demo_template, django_db_blocker):
    """A copy of the demo study (demo users, twelve participants) that gunicorn can reach."""
    from django.db import connection

    from edc.testing.databases import copy_database, drop_database
    from tests.notifications.factories import database_url

    name = f"{demo_template}_load"
    with django_db_blocker.unblock():
        copy_database(demo_template, name)
        url = urlsplit(database_url(connection))
        try:
            yield urlunsplit(url._replace(path=f"/{name}"))
        finally:
            drop_database(name)


# Gunicorn and Locust for half a minute: once per CI run, in the production stage (.ci/run).
@pytest.mark.loadtest
@pytest.mark.production
def test_make_loadtest_writes_its_figures_and_counts_a_failing_request(load_database_url, tmp_path):
    output = tmp_path / "bench.json"
    output.write_text(json.dumps({"metrics": {"participant_list_p95_ms": {"value": 12}}}))
    env = {**os.environ, "DATABASE_URL": load_database_url, "REDIS_URL": settings.REDIS_URL}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    command = [sys.executable, "-m", "edc.loadtest", "--participants", "16", "--users", "3", "--seconds", "8"]
    command += ["--steps", "3", "--step-seconds", "6", "--output", str(output)]
    command += ["--extra-page", "/participants/999999999/"]  # no such participant: 404, an error
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]

    report = json.loads(output.read_text())
    assert report["metrics"] == {"participant_list_p95_ms": {"value": 12}}
    assert {"load_p95_ms", "load_rps", "load_errors", "load_max_rps"} <= set(report)
    actions = report["load"]["busy"]["actions"]
    # Every user signed in and worked: only the page that does not exist failed, each time.
    assert report["load_errors"] == actions["extra"]["errors"] >= max(1, actions["extra"]["requests"])
    assert report["load"]["busy"]["error_examples"][0].startswith("extra: 404 instead of 200")
    assert sum(a["requests"] for name, a in actions.items() if name != "extra") > 0 < report["load_rps"]
    assert report["load"]["saturation"][0]["users"] == 3 and report["load"]["saturation"][0]["rps"] > 0
    assert report["load"]["machine"]["load_average_before"]
