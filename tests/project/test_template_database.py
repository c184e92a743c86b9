"""The test databases are created from a migrated template on the tests' own server
(``edc.testing.databases.migrated_template``)."""

import pytest
from django.conf import settings
from django.db import connection

from edc.testing import databases


class Connected(Exception):
    pass


def test_the_template_is_looked_up_on_the_server_the_url_names_socket_included(monkeypatch):
    """An embedded server is reached through a socket directory in the URL's query: dropping it would
    reach the machine's own server on port 5432 (another cluster, another template)."""
    import psycopg

    seen = []

    def connect(conninfo, **kwargs):
        seen.append(conninfo)
        raise Connected

    monkeypatch.setattr(psycopg, "connect", connect)
    with pytest.raises(Connected) as reached:
        databases.migrated_template("postgresql://edc@/edc?host=/work/var/run")
    assert reached.type is Connected  # it stopped at the connection, before any database was touched
    assert seen == ["postgresql://edc@/postgres?host=/work/var/run"]


@pytest.mark.django_db
def test_this_test_database_was_created_from_the_migrated_template_of_this_schema():
    name = databases.TEMPLATE_PREFIX + databases.schema_hash()
    assert settings.DATABASES["default"]["TEST"]["TEMPLATE"] == name
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        assert cursor.fetchone() == (1,)
        cursor.execute("SELECT count(*) FROM django_migrations")
        assert cursor.fetchone()[0] > 100  # every app's migrations, applied in the template
