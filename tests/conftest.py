"""Factories and fixtures shared by the suite: a loaded protocol, users per role, participants, the
demo study."""

import copy
import functools
import io
import os
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from accounts.models import Role
from accounts.services import create_user, grant_membership
from crfs.demo import record_screening_forms
from trials import services
from trials.models import Participant, Site
from trials.protocol import load, parse

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL = ROOT / "protocols" / "nct07274059.yaml"
PASSWORD = "correct-horse-battery-9"
DEMO_PASSWORD = "demo-password-for-tests"


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (``--dist loadgroup``): the tests that start real processes (Celery workers,
    embedded servers, a whole ``make run``, gunicorn with Locust) run one after the other on one worker,
    so that their time bounds never race each other for the two CPUs; so do the tests of the demo study
    (seeded once)."""
    for item in items:
        # pytest-django creates the test database only when a collected test asks for it: a test that
        # reads the demo study through a module fixture (a backup, the load test, the synthetic study)
        # asks for it here, else alone in a run it would copy the empty development database.
        fixtures = getattr(item, "fixturenames", ())
        if (
            "demo_template" in fixtures
            and not item.get_closest_marker("django_db")
            and not {"db", "transactional_db"} & set(fixtures)
        ):
            item.add_marker(pytest.mark.django_db)
        if any(item.get_closest_marker(name) for name in ("worker", "embedded", "loadtest")):
            item.add_marker(pytest.mark.xdist_group("celery-workers"))
        elif "seeded_demo" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("demo-study"))


def _default_language() -> None:
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)


def pytest_runtest_setup(item):
    """Each test starts in the default language: a request with ``Accept-Language: zh-hans`` leaves
    Chinese active in the thread (LocaleMiddleware activates it and nothing resets it), and a later
    test on the same xdist worker would then read translated messages. A hook, not a fixture, so
    that module-scoped fixtures built for this test run in English too."""
    _default_language()


def pytest_runtest_teardown(item, nextitem):
    _default_language()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """Each test database is created from a template holding the migrated schema
    (``edc.testing.databases.migrated_template``) instead of being migrated from scratch."""
    from django.conf import settings

    from edc.testing.databases import migrated_template

    url = os.environ.get("DATABASE_OWNER_URL") or os.environ.get("DATABASE_URL")
    if url:
        settings.DATABASES["default"].setdefault("TEST", {})["TEMPLATE"] = migrated_template(url)


@functools.cache
def _protocol_content() -> dict:
    """The protocol file, read and validated once per session (``trials.protocol.parse``)."""
    return parse(PROTOCOL.read_text(encoding="utf-8"), str(PROTOCOL))


@pytest.fixture
def study(db):
    """The protocol loaded as ``load_file(PROTOCOL)`` does, without parsing the YAML file each time."""
    return load(copy.deepcopy(_protocol_content()), source_name=PROTOCOL.name).study


@pytest.fixture
def site_yc(study):
    return Site.objects.get(study=study, code="YC")


@pytest.fixture
def site_cd(study):
    return Site.objects.get(study=study, code="CD")


@pytest.fixture
def make_user(study):
    counter = {"n": 0}

    def make(role: Role, site: Site | None = None, *, username=None):
        counter["n"] += 1
        user = create_user(
            username=username or f"{role}-{counter['n']}",
            password=PASSWORD,
            email=f"{role}{counter['n']}@example.invalid",
        )
        grant_membership(by=None, user=user, study=study, role=role, site=site)
        return user

    return make


@pytest.fixture
def coordinator(make_user, site_yc):
    return make_user(Role.COORDINATOR, site_yc, username="coordinator")


@pytest.fixture
def coordinator_cd(make_user, site_cd):
    return make_user(Role.COORDINATOR, site_cd, username="coordinator2")


@pytest.fixture
def investigator(make_user, site_yc):
    return make_user(Role.INVESTIGATOR, site_yc, username="investigator")


@pytest.fixture
def monitor(make_user, site_yc):
    return make_user(Role.MONITOR, site_yc, username="monitor")


@pytest.fixture
def data_manager(make_user):
    return make_user(Role.DATA_MANAGER, username="datamanager")


@pytest.fixture
def sponsor_admin(make_user):
    return make_user(Role.SPONSOR_ADMIN, username="sponsoradmin")


@pytest.fixture
def auditor(make_user):
    return make_user(Role.AUDITOR, username="auditor")


def today_at(site):
    from edc.localtime import site_today

    return site_today(site.timezone)


def make_participant(
    user,
    site,
    *,
    stage="enrolled",
    screened: date | None = None,
    infused: date | None = None,
    initials="AB",
    planned: date | None = None,
) -> Participant:
    """A participant at ``stage`` (screening, consented, eligible, enrolled, infused).

    From "eligible" on, the screening visit holds complete demographics and eligibility checklist
    forms on which every criterion is met (``crfs.demo``).
    """
    screened = screened or today_at(site) - timedelta(days=20)
    p = services.screen_participant(
        user=user, site=site, initials=initials, year_of_birth=1985, sex="F", screening_date=screened
    )
    if stage == "screening":
        return p
    p = services.record_consent(user=user, participant=p, consent_date=screened, consent_version="1.0")
    if stage == "consented":
        return p
    # The protocol has an eligibility checklist: eligibility is met only with every criterion met on it.
    record_screening_forms(user, p, on=screened)
    p = services.record_eligibility(user=user, participant=p, met=True, assessed_on=screened)
    if stage == "eligible":
        return p
    p = services.enroll_participant(
        user=user,
        participant=p,
        enrollment_date=screened,
        dose_level=site.study.dose_levels.first(),
        planned_infusion_date=planned,
    )
    if stage == "enrolled" and infused is None:
        return p
    return services.record_infusion(
        user=user, participant=p, infusion_date=infused or screened + timedelta(days=7)
    )


@pytest.fixture
def participant(coordinator, site_yc):
    return make_participant(coordinator, site_yc)


@pytest.fixture
def other_site_participant(coordinator_cd, site_cd):
    return make_participant(coordinator_cd, site_cd, initials="ZZ")


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture(scope="session")
def demo_template(django_db_setup, django_db_blocker):
    """The name of a database holding the demo study: a copy of the test database in which
    ``load_protocol`` and ``seed_demo`` (with ``DEMO_PASSWORD``) ran once for the session.

    Seeded in one transaction whose on-commit callbacks are dropped, as in a test's transaction.
    """
    from django.core.management import call_command
    from django.db import connection, transaction

    from edc.testing.databases import copy_database, drop_database, using_database

    test_database = connection.settings_dict["NAME"]
    template = f"{test_database}_demo"
    with django_db_blocker.unblock():
        copy_database(test_database, template)
        previous = os.environ.get("DEMO_PASSWORD")
        os.environ["DEMO_PASSWORD"] = DEMO_PASSWORD
        try:
            with using_database(template), transaction.atomic():
                call_command("load_protocol", str(PROTOCOL), stdout=io.StringIO())
                call_command("seed_demo", stdout=io.StringIO())
                connection.run_on_commit.clear()
        finally:
            if previous is None:
                os.environ.pop("DEMO_PASSWORD")
            else:
                os.environ["DEMO_PASSWORD"] = previous
    yield template
    with django_db_blocker.unblock():
        drop_database(template)


@pytest.fixture
def _demo_database(demo_template, django_db_blocker):
    from django.db import connection

    from edc.testing.databases import copy_database, drop_database, using_database

    if connection.in_atomic_block:
        raise RuntimeError("request `seeded_demo` before `db` and any fixture that uses the database")
    with django_db_blocker.unblock():
        copy = f"{demo_template}_copy"
        copy_database(demo_template, copy)
        try:
            with using_database(copy):
                yield
        finally:
            drop_database(copy)


@pytest.fixture
def seeded_demo(_demo_database, db):
    """The demo study, as ``load_protocol`` then ``seed_demo`` with ``DEMO_PASSWORD`` leave it: this
    test's own copy of ``demo_template``. Request it before any other fixture that uses the database."""
