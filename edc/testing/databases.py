"""Copies of the test database, for test data that take long to create (the demo study).

A *template* database is created once from pytest-django's test database and filled; each test that
needs the data gets a fresh copy of it (``CREATE DATABASE … TEMPLATE …`` copies files: well under a
second, where seeding takes tens of seconds) and the test's connection is pointed at the copy. The
copy is dropped after the test, the template at the end of the session.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

# Another session on the source of a copy (a live-server thread finishing, a Celery worker a test
# killed) makes CREATE DATABASE fail; they are ended and the copy retried this many times.
ATTEMPTS = 5


def _name(value: str):
    from psycopg import sql

    return sql.Identifier(value)


def _execute_on_server(statement, *params) -> None:
    """Run ``statement`` on the maintenance database (never inside a transaction)."""
    with connection._nodb_cursor() as cursor:
        cursor.execute(statement, params or None)


def drop_database(name: str) -> None:
    from psycopg import sql

    _execute_on_server(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(_name(name)))


def copy_database(source: str, target: str) -> None:
    """(Re)create ``target`` as a copy of ``source``, ending other sessions on ``source`` if any."""
    import psycopg
    from psycopg import sql

    drop_database(target)
    for attempt in range(ATTEMPTS):
        _execute_on_server(
            sql.SQL(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = {} AND pid <> pg_backend_pid()"
            ).format(sql.Literal(source))
        )
        try:
            _execute_on_server(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(_name(target), _name(source)))
            return
        except psycopg.errors.ObjectInUse:
            if attempt == ATTEMPTS - 1:
                raise


@contextmanager
def using_database(name: str) -> Iterator[None]:
    """Point the default connection (and every thread's, e.g. the live server's) at database ``name``.

    Django's connections of all threads share one settings dictionary; the name is changed in it and
    the connection of this thread closed, so the next query connects to ``name``.
    """
    if connection.in_atomic_block:
        raise RuntimeError(
            f"cannot switch to database {name!r} inside a transaction: request the fixture that "
            "copies the database before `db` (or any fixture that uses the database)"
        )
    settings_dict = connection.settings_dict
    original = settings_dict["NAME"]
    connection.close()
    settings_dict["NAME"] = name
    try:
        yield
    finally:
        connection.close()
        settings_dict["NAME"] = original


# --- A migrated template for the test databases ----------------------------------------------------
#
# ``migrate`` on an empty database takes about 45 s here (Django renders the model states of a hundred
# migrations), and pytest-django migrates each worker's test database and each later session's again.
# Instead the schema is migrated once per cluster into ``edc_tpl_<hash>`` (the hash of every installed
# app's migration files and of the libraries that render them) and each test database is created from
# it (``DATABASES[…]["TEST"]["TEMPLATE"]``): pytest-django's own ``migrate`` then finds nothing to apply
# and only its post_migrate hooks run (roles, grants), as after any migrate. A new migration, or a new
# Django, pgtrigger or pghistory, makes a new template; older ones are dropped.

TEMPLATE_PREFIX = "edc_tpl_"
KEEP_TEMPLATES = 3
_TEMPLATE_LOCK = 73_190_411  # pg_advisory_lock key: one session builds the template, the others wait


def schema_hash() -> str:
    import hashlib
    from importlib import import_module, metadata
    from pathlib import Path

    from django.apps import apps

    digest = hashlib.sha256()
    for package in ("django", "django-pgtrigger", "django-pghistory"):
        digest.update(f"{package}=={metadata.version(package)}\n".encode())
    for app in sorted(apps.get_app_configs(), key=lambda a: a.label):
        try:
            module = import_module(f"{app.name}.migrations")
        except ImportError:
            continue
        for path in sorted(Path(module.__file__).parent.glob("*.py")):
            digest.update(f"{app.label}/{path.name}\n".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def migrated_template(database_url: str) -> str:
    """The name of a database on ``database_url``'s server holding the migrated schema (built once)."""
    import os
    import subprocess
    import sys
    from pathlib import Path
    from urllib.parse import urlsplit, urlunsplit

    import psycopg
    from psycopg import sql

    from edc.embedded import admin_url

    name = TEMPLATE_PREFIX + schema_hash()
    parts = urlsplit(database_url)
    # The same server as the tests' (the query may name it: an embedded server's socket directory).
    with psycopg.connect(admin_url(database_url), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", [_TEMPLATE_LOCK])
        try:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                return name
            building = f"{name}_building"
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(_name(building)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(_name(building)))
            root = Path(__file__).resolve().parents[2]
            env = {
                **os.environ,
                "DATABASE_URL": urlunsplit(parts._replace(path=f"/{building}")),
                "DJANGO_SETTINGS_MODULE": "edc.settings.test",
            }
            env.pop("DATABASE_OWNER_URL", None)
            subprocess.run(
                [sys.executable, str(root / "manage.py"), "migrate", "--verbosity", "0"],
                cwd=root,
                env=env,
                check=True,
            )
            # Published under its name only once complete: a session killed mid-way leaves no template.
            conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(_name(building), _name(name)))
            # The newest few stay (another checkout on this cluster may be using one); older ones go.
            stale = conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s ORDER BY oid DESC OFFSET %s",
                [TEMPLATE_PREFIX.replace("_", r"\_") + "%", KEEP_TEMPLATES],
            ).fetchall()
            for (old,) in stale:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(_name(old)))
            return name
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", [_TEMPLATE_LOCK])
