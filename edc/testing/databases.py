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
