"""Nobody grants a role or a site to themselves; the staff and superuser flags are not edited in the web;
investigator and data-manager rights are granted with a reason the audit trail shows (issue 15)."""

import pytest
from django.urls import reverse

from accounts.models import Membership, Role
from accounts.services import change_membership, create_user, grant_membership
from edc.errors import DomainError
from tests.adverse_events.factories import infused, record_ae
from tests.conftest import PASSWORD


def add_membership(client, user, study, role, site=None, reason=""):
    return client.post(
        reverse("admin:accounts_membership_add"),
        {"user": user.pk, "study": study.pk, "site": site.pk if site else "", "role": role, "reason": reason},
    )


def test_a_sponsor_admin_cannot_make_themselves_investigator_and_adjudicate_a_dlt(
    client, sponsor_admin, coordinator, study, site_yc
):
    patient = infused(coordinator, site_yc, days_ago=30)
    event = record_ae(coordinator, patient, term="neutrophil_count_decreased", grade=4)
    client.force_login(sponsor_admin)
    response = add_membership(client, sponsor_admin, study, Role.INVESTIGATOR, site_yc, reason="cover")
    assert response.status_code == 200
    assert "Nobody can grant a role or a site to themselves." in response.content.decode()
    assert not Membership.objects.filter(user=sponsor_admin, role=Role.INVESTIGATOR).exists()
    response = client.post(reverse("dlt_adjudicate", args=[event.pk]), {"is_dlt": "yes", "comment": "self"})
    assert response.status_code == 403


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.DATA_MANAGER, Role.AUDITOR])
def test_nobody_grants_themselves_a_role_through_the_services(sponsor_admin, study, site_yc, role):
    site = None if role in (Role.DATA_MANAGER, Role.AUDITOR) else site_yc
    with pytest.raises(DomainError, match="themselves"):
        grant_membership(by=sponsor_admin, user=sponsor_admin, study=study, role=role, site=site, reason="x")


def test_nobody_reactivates_their_own_membership(sponsor_admin, study, site_yc, make_user):
    other_admin = make_user(Role.SPONSOR_ADMIN, username="otheradmin")
    membership = grant_membership(
        by=other_admin, user=sponsor_admin, study=study, role=Role.COORDINATOR, site=site_yc
    )
    change_membership(by=other_admin, membership=membership, active=False)
    with pytest.raises(DomainError, match="themselves"):
        change_membership(by=sponsor_admin, membership=membership, active=True)


def test_reactivating_a_membership_in_the_admin_for_oneself_is_refused(
    client, sponsor_admin, make_user, study, site_yc
):
    other_admin = make_user(Role.SPONSOR_ADMIN, username="otheradmin")
    membership = grant_membership(
        by=other_admin, user=sponsor_admin, study=study, role=Role.MONITOR, site=site_yc
    )
    change_membership(by=other_admin, membership=membership, active=False)
    client.force_login(sponsor_admin)
    response = client.post(
        reverse("admin:accounts_membership_change", args=[membership.pk]), {"active": "on", "reason": "x"}
    )
    assert response.status_code == 200
    membership.refresh_from_db()
    assert not membership.active


def test_another_admin_may_grant_a_coordinator_role_without_a_reason(client, sponsor_admin, study, site_yc):
    newcomer = create_user(username="newcomer", password=PASSWORD)
    client.force_login(sponsor_admin)
    assert add_membership(client, newcomer, study, Role.COORDINATOR, site_yc).status_code == 302
    assert Membership.objects.filter(user=newcomer, role=Role.COORDINATOR, site=site_yc, active=True).exists()


@pytest.mark.parametrize("role", [Role.INVESTIGATOR, Role.DATA_MANAGER])
def test_investigator_and_data_manager_rights_need_a_reason(client, sponsor_admin, study, site_yc, role):
    newcomer = create_user(username="newcomer", password=PASSWORD)
    site = site_yc if role == Role.INVESTIGATOR else None
    client.force_login(sponsor_admin)
    response = add_membership(client, newcomer, study, role, site)
    assert response.status_code == 200
    assert "Give the reason for granting this role." in response.content.decode()
    assert not Membership.objects.filter(user=newcomer).exists()


def test_the_reason_for_an_investigator_grant_shows_in_the_audit_trail(
    client, sponsor_admin, data_manager, study, site_yc
):
    newcomer = create_user(username="newcomer", password=PASSWORD)
    client.force_login(sponsor_admin)
    reason = "Sub-investigator delegated on the delegation log, 2026-12-01"
    assert (
        add_membership(client, newcomer, study, Role.INVESTIGATOR, site_yc, reason=reason).status_code == 302
    )
    client.force_login(data_manager)
    response = client.get(reverse("audit_trail"), {"kind": "accounts.Membership", "user": "sponsoradmin"})
    rows = response.context["page"].rows
    assert [(row.action, row.reason) for row in rows] == [("grant_membership", reason)]
    assert reason in response.content.decode()


def test_a_role_without_its_scope_is_a_form_error_not_a_500(client, sponsor_admin, study, site_yc):
    newcomer = create_user(username="newcomer", password=PASSWORD)
    client.force_login(sponsor_admin)
    assert add_membership(client, newcomer, study, Role.COORDINATOR).status_code == 200
    assert add_membership(client, newcomer, study, Role.AUDITOR, site_yc).status_code == 200
    assert not Membership.objects.filter(user=newcomer).exists()


@pytest.mark.parametrize("flag", ["is_superuser", "is_staff"])
def test_the_superuser_and_staff_flags_are_not_editable_in_the_admin(client, sponsor_admin, flag):
    coordinator = create_user(username="someone", password=PASSWORD)
    client.force_login(sponsor_admin)
    url = reverse("admin:auth_user_change", args=[coordinator.pk])
    form = client.get(url).context["adminform"].form
    assert flag not in form.fields
    client.post(
        url,
        {
            "username": "someone",
            "is_active": "on",
            flag: "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "0:0",
        },
    )
    coordinator.refresh_from_db()
    assert getattr(coordinator, flag) is False


def test_the_superuser_cannot_tick_the_flags_in_the_web_either(client, study):
    root = create_user(username="root", password=PASSWORD)
    root.is_superuser = root.is_staff = True
    root.save()
    someone = create_user(username="someone", password=PASSWORD)
    client.force_login(root)
    form = client.get(reverse("admin:auth_user_change", args=[someone.pk])).context["adminform"].form
    assert not {"is_superuser", "is_staff", "user_permissions", "groups"} & set(form.fields)


def test_a_sponsor_admin_cannot_change_a_superusers_account(client, sponsor_admin, study):
    root = create_user(username="root", password=PASSWORD)
    root.is_superuser = root.is_staff = True
    root.save()
    client.force_login(sponsor_admin)
    response = client.post(
        reverse("admin:auth_user_password_change", args=[root.pk]),
        {"password1": "a-new-password-of-mine-7", "password2": "a-new-password-of-mine-7"},
    )
    assert response.status_code == 403
    root.refresh_from_db()
    assert root.check_password(PASSWORD)


def test_the_staff_flag_follows_the_sponsor_admin_role(sponsor_admin, make_user, study):
    other_admin = make_user(Role.SPONSOR_ADMIN, username="otheradmin")
    assert other_admin.is_staff and other_admin.has_perm("accounts.add_membership")
    membership = Membership.objects.get(user=other_admin)
    change_membership(by=sponsor_admin, membership=membership, active=False)
    other_admin.refresh_from_db()
    assert not other_admin.is_staff
