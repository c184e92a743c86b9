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
