"""Factories and fixtures shared by the suite: a loaded protocol, users per role, participants."""

from datetime import date, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from accounts.models import Role
from accounts.services import create_user, grant_membership
from crfs.demo import record_screening_forms
from trials import services
from trials.models import Participant, Site
from trials.protocol import load_file

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL = ROOT / "protocols" / "nct07274059.yaml"
PASSWORD = "correct-horse-battery-9"


@pytest.fixture
def study(db):
    return load_file(PROTOCOL).study


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
