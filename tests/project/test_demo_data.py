from django.contrib.auth import get_user_model
from django.core.management import call_command

from accounts.models import Membership, Role
from tests.conftest import PROTOCOL
from trials.models import Participant


def test_seed_demo_creates_one_user_per_role_and_synthetic_participants_once(db, monkeypatch, capsys):
    monkeypatch.setenv("DEMO_PASSWORD", "demo-password-for-tests")
    call_command("load_protocol", str(PROTOCOL))
    call_command("seed_demo")
    call_command("seed_demo")
    out = capsys.readouterr().out
    users = get_user_model().objects
    for name in [
        "coordinator",
        "investigator",
        "coordinator2",
        "monitor",
        "datamanager",
        "sponsoradmin",
        "auditor",
    ]:
        assert users.get(username=name).check_password("demo-password-for-tests")
        assert name in out
    assert Membership.objects.get(user__username="coordinator").site.code == "YC"
    assert Membership.objects.get(user__username="coordinator2").site.code == "CD"
    assert Membership.objects.get(user__username="datamanager").role == Role.DATA_MANAGER
    assert Participant.objects.count() == 12
    statuses = set(Participant.objects.values_list("status", flat=True))
    assert {
        "screening",
        "screen_failed",
        "enrolled",
        "lymphodepleted",
        "infused",
        "in_follow_up",
        "withdrawn",
    } <= statuses
    assert set(Participant.objects.values_list("site__code", flat=True)) == {"YC", "CD"}


def test_safety_summary_of_the_demo_data_equals_a_hand_count(seeded_demo):
    """Demo events (efficacy/management/commands/seed_demo.py, DEMO_EVENTS), counted by hand:
    CAR-T-related (possible, probable, definite) with onset on days 0-90 after infusion."""
    from adverse_events.selectors import safety_summary

    summary = safety_summary(get_user_model().objects.get(username="datamanager"))
    treated = {level.code: summary.treated.get(level.pk, 0) for level in summary.levels}
    assert treated == {"DL1": 2, "DL2": 2, "DL3": 2}
    # 4 CRS + 2 neutrophil count decreased + 1 fever; the headache (not related) and the
    # infection on day 120 (unlikely, after month 3) are not in the primary-endpoint listing.
    assert len(summary.listing) == 7
    by_term = {label: total for _soc, label, _cells, total in summary.by_term}
    crs = by_term["Cytokine release syndrome"]
    assert crs.n() == 4 and crs.n(1) == 3 and crs.n(2) == 1
    neutropenia = by_term["Neutrophil count decreased"]
    assert neutropenia.n() == 2 and neutropenia.n_grade_3_plus == 2
    assert by_term["Fever"].n() == 1
    assert "Headache" not in by_term and "Upper respiratory infection" not in by_term


def test_seed_demo_works_at_any_hour_of_the_site_day(db, monkeypatch):
    """Just after midnight at the sites, the visits dated today have had no morning yet: nothing the demo
    records may lie in the future (a lab collected "at 08:30" today was refused before 08:30)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    import time_machine

    monkeypatch.setenv("DEMO_PASSWORD", "demo-password-for-tests")
    with time_machine.travel(datetime(2026, 12, 5, 0, 5, tzinfo=ZoneInfo("Asia/Shanghai")), tick=True):
        call_command("load_protocol", str(PROTOCOL))
        call_command("seed_demo")
    assert Participant.objects.count() == 12
