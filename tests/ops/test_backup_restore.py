"""``manage.py backup`` and ``manage.py restore``: the demo study backed up, restored into a fresh
database as a deployment would (the owner role restores, the app role works), with the same rows in
every table, the export files back, and an audit trail that ``verify_audit`` finds intact."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from edc import backup as backup_module
from edc import dbroles
from tests.conftest import ROOT
from tests.notifications.factories import database_url

# With the tests of the demo study (tests/conftest.py): one worker seeds the template they all read.
pytestmark = pytest.mark.xdist_group("demo-study")

EXPORT_FILE = "export-7/export-7.zip"
RUNNING_ATTEMPT = "export-8/attempt-1/vital_signs_wide.csv"


def url_of(database: str) -> str:
    from django.db import connection

    return urlsplit(database_url(connection))._replace(path=f"/{database}").geturl()


def manage(*args, database: str, export_root: Path, owner: str | None = None):
    # A worker's own settings would move EXPORT_ROOT into a per-worker folder (edc.settings.test).
    inherited = {
        k: v for k, v in os.environ.items() if k not in {"PYTEST_XDIST_WORKER", "DATABASE_OWNER_URL"}
    }
    env = {**inherited, "DATABASE_URL": database, "EXPORT_ROOT": str(export_root)}
    if owner:
        env["DATABASE_OWNER_URL"] = owner
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def row_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
        ).fetchall()
        return {
            t: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t))).fetchone()[0]
            for (t,) in tables
        }


@pytest.fixture(scope="module")
def backup(demo_template, django_db_blocker, tmp_path_factory):
    """A backup of the demo study, with one finished export and one attempt still running."""
    export_root = tmp_path_factory.mktemp("exports")
    (export_root / EXPORT_FILE).parent.mkdir(parents=True)
    (export_root / EXPORT_FILE).write_bytes(b"PK\x03\x04 a finished export")
    (export_root / RUNNING_ATTEMPT).parent.mkdir(parents=True)
    (export_root / RUNNING_ATTEMPT).write_text("half written")
    folder = tmp_path_factory.mktemp("backup") / "2026-12-05"
    with django_db_blocker.unblock():
        source = url_of(demo_template)
    result = manage("backup", "--out", str(folder), database=source, export_root=export_root)
    assert result.returncode == 0, result.stderr[-3000:]
    return folder, source


@pytest.fixture
def fresh_database(django_db_blocker):
    """An empty database with its owner and app roles, as docker-compose's init script creates them;
    (owner URL, app URL)."""
    from django.db import connection

    from edc.testing.databases import _execute_on_server, drop_database

    # One name per test database: its roles (never dropped, edc.dbroles) are reused by the next run.
    name = f"{connection.settings_dict['NAME']}_restore"
    with django_db_blocker.unblock():
        _execute_on_server(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield dbroles.ensure_roles(url_of("postgres"), name, url_of(name))
        finally:
            drop_database(name)


def test_a_backup_restores_into_a_fresh_database_with_every_row_and_an_intact_audit_trail(
    backup, fresh_database, tmp_path
):
    folder, source = backup
    owner, app = fresh_database
    restored_exports = tmp_path / "exports"
    result = manage("restore", str(folder), database=app, owner=owner, export_root=restored_exports)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert json.loads(result.stdout.splitlines()[-1])["ok"] is True

    expected = row_counts(source)
    assert sum(expected.values()) > 1000  # the demo study, not an empty schema
    assert row_counts(owner) == expected

    verified = manage("verify_audit", database=app, export_root=restored_exports)
    assert verified.returncode == 0, verified.stdout + verified.stderr[-2000:]
    summary = json.loads(verified.stdout.splitlines()[-1])
    manifest = json.loads((folder / "manifest.json").read_text())
    assert summary["ok"] is True and summary["events"] > 0
    assert summary["chain_head"] == manifest["audit_chain_head"]["digest"]
    assert (restored_exports / EXPORT_FILE).read_bytes() == b"PK\x03\x04 a finished export"


def test_the_manifest_holds_the_sha256_of_every_file_the_rows_and_the_audit_chain_head(backup):
    folder, source = backup
    manifest = json.loads((folder / "manifest.json").read_text())
    files = {f["path"]: f["sha256"] for f in manifest["files"]}
    assert set(files) == {"database.dump", f"exports/{EXPORT_FILE}"}  # the running attempt is left out
    for path, digest in files.items():
        assert hashlib.sha256((folder / path).read_bytes()).hexdigest() == digest
    assert manifest["tables"] == row_counts(source)
    assert manifest["app_version"] and manifest["created_at"]
    with psycopg.connect(source) as conn:
        chains = conn.execute("SELECT count(DISTINCT (event_table, record)) FROM auditchain_link").fetchone()[
            0
        ]
    assert manifest["audit_chain_head"]["chains"] == chains > 0
    assert len(manifest["audit_chain_head"]["digest"]) == 64


def test_restore_refuses_a_database_that_is_not_empty(backup, tmp_path):
    folder, source = backup
    before = row_counts(source)
    result = manage("restore", str(folder), database=source, export_root=tmp_path / "exports")
    assert result.returncode != 0
    assert "is not empty" in result.stderr and "nothing was changed" in result.stderr
    assert row_counts(source) == before


def test_restore_checks_every_file_against_the_manifest_before_touching_the_database(
    backup, fresh_database, tmp_path
):
    folder, _ = backup
    damaged = tmp_path / "damaged"
    shutil.copytree(folder, damaged)
    with (damaged / "exports" / EXPORT_FILE).open("ab") as f:
        f.write(b"!")
    owner, app = fresh_database
    result = manage("restore", str(damaged), database=app, owner=owner, export_root=tmp_path / "exports")
    assert result.returncode != 0
    assert f"exports/{EXPORT_FILE} does not match its SHA-256" in result.stderr
    assert row_counts(owner) == {}


def test_backup_refuses_a_folder_that_already_holds_files(backup, tmp_path):
    folder, source = backup
    result = manage("backup", "--out", str(folder), database=source, export_root=tmp_path)
    assert result.returncode != 0
    assert "is not empty" in result.stderr


@pytest.mark.parametrize(("server", "chosen"), [(15, 15), (16, 16), (17, 18)])
def test_the_client_programs_of_the_servers_major_version_are_chosen_else_the_oldest_newer(
    monkeypatch, server, chosen
):
    found = [backup_module.Program(Path(f"/pg/{major}/pg_restore"), major) for major in (18, 15, 16)]
    monkeypatch.setattr(backup_module, "installed", lambda name: found)
    assert backup_module.program_for("pg_restore", server) == Path(f"/pg/{chosen}/pg_restore")


def test_no_client_program_as_new_as_the_server_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(backup_module, "installed", lambda name: [backup_module.Program(Path("/pg/15"), 15)])
    with pytest.raises(backup_module.BackupError, match="No pg_dump for PostgreSQL 16.*postgresql-client-16"):
        backup_module.program_for("pg_dump", 16)


def test_this_machines_programs_include_one_for_the_test_server(db):
    from django.db import connection

    with connection.cursor():
        major = connection.pg_version // 10000
    path = backup_module.program_for("pg_dump", major)
    version = subprocess.run([str(path), "--version"], capture_output=True, text=True).stdout
    assert f"(PostgreSQL) {major}" in version


def restoring(conn, database: str, statement: str = "") -> bool:
    """Whether a ``pg_restore`` session is connected to ``database`` (running a statement that matches
    the regular expression ``statement``)."""
    return conn.execute(
        "SELECT count(*) > 0 FROM pg_stat_activity"
        " WHERE datname = %s AND application_name = 'pg_restore' AND query ~ %s",
        [database, statement],
    ).fetchone()[0]


def test_a_restore_killed_half_way_leaves_an_empty_database_and_can_be_run_again(
    backup, fresh_database, tmp_path
):
    """The dump is restored in one transaction: a restore killed while ``pg_restore`` writes (a power
    cut, an operator's Ctrl-C) leaves no half-restored tables behind, and the same command then works."""
    import signal
    import time

    folder, source = backup
    owner, app = fresh_database
    database = urlsplit(owner).path.lstrip("/")
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"PYTEST_XDIST_WORKER", "DATABASE_OWNER_URL"}},
        "DATABASE_URL": app,
        "DATABASE_OWNER_URL": owner,
        "EXPORT_ROOT": str(tmp_path / "exports"),
    }
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "restore", str(folder)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    seen_writing = False
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            with psycopg.connect(url_of("postgres"), autocommit=True) as conn:
                # Past the CREATE TABLEs: loading rows, or building indexes and constraints after them.
                seen_writing = restoring(conn, database, "^(COPY|CREATE (UNIQUE )?INDEX|ALTER TABLE)")
            if seen_writing:
                break
            time.sleep(0.005)
        os.killpg(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert seen_writing, "the restore finished before pg_restore could be caught writing"

    with psycopg.connect(url_of("postgres"), autocommit=True) as conn:  # the killed session's rollback
        for _ in range(100):
            if not restoring(conn, database):
                break
            time.sleep(0.1)
    assert row_counts(owner) == {}

    again = manage("restore", str(folder), database=app, owner=owner, export_root=tmp_path / "exports")
    assert again.returncode == 0, again.stdout + again.stderr[-3000:]
    assert row_counts(owner) == row_counts(source)
