"""The application's database role for the tests of least privilege: its name comes from the test
database (``edc.dbroles``), it is created by the post-migrate step and never dropped."""

from decimal import Decimal

import psycopg
import pytest
from django.db import connection

from crfs.registry import FORMS
from crfs.services import save_form
from edc import dbroles


@pytest.fixture
def app_role(transactional_db):
    return dbroles.app_role_of(connection)


@pytest.fixture
def app_conninfo(app_role):
    settings = connection.settings_dict
    # The embedded server is reached over a unix socket, whose folder django-environ puts in OPTIONS.
    return {
        "host": settings["HOST"] or settings.get("OPTIONS", {}).get("host") or None,
        "port": settings["PORT"] or None,
        "dbname": settings["NAME"],
        "user": app_role,
        "password": None,
    }


@pytest.fixture
def app_connect(app_conninfo):
    """Open psycopg connections as the app role (autocommit off: each test statement in a transaction)."""
    opened = []

    def connect():
        conn = psycopg.connect(**{k: v for k, v in app_conninfo.items() if v is not None})
        opened.append(conn)
        return conn

    yield connect
    for conn in opened:
        conn.close()


@pytest.fixture
def as_app_role(app_role):
    """Django's own connection as the app role for the rest of the test (then back)."""
    connection.close()
    saved = connection.settings_dict["USER"], connection.settings_dict["PASSWORD"]
    connection.settings_dict["USER"], connection.settings_dict["PASSWORD"] = app_role, ""
    yield app_role
    connection.close()
    connection.settings_dict["USER"], connection.settings_dict["PASSWORD"] = saved


@pytest.fixture
def vitals(coordinator, participant):
    return save_form(
        user=coordinator,
        spec=FORMS["vital_signs"],
        visit=participant.visits.get(code="BL"),
        data={"heart_rate": 72, "temperature_c": Decimal("36.8")},
    )
