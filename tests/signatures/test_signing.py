"""An investigator signs a visit after re-entering the password (21 CFR 11.50, 11.200)."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.urls import reverse

from accounts.models import AccessEvent, Role
from edc.errors import DomainError
from signatures import services
from signatures.models import Meaning, Scope, Signature, SignatureStatus
from tests.conftest import PASSWORD
from tests.signatures.conftest import ready_visit


def test_the_investigator_signs_a_complete_visit_with_the_password(signed_visit, investigator, visit):
    signature = Signature.objects.get()
    assert (signature.scope, signature.visit, signature.signer) == (Scope.VISIT, visit, investigator)
    assert signature.status == SignatureStatus.VALID and len(signature.content_hash) == 64
    assert signature.meaning == Meaning.VISIT_APPROVED


def test_the_manifestation_names_the_signer_the_utc_and_site_time_and_the_meaning(signed_visit, investigator):
    text = signed_visit.manifestation
    assert text.startswith(
        f"Signed by {investigator.username} on {signed_visit.signed_at:%Y-%m-%d %H:%M} UTC"
    )
    assert "Asia/Shanghai" in text and text.endswith("I approve the data of this visit")


def test_the_printed_name_is_the_full_name(investigator, visit, signing_request):
    investigator.first_name, investigator.last_name = "Li", "Wei"
    investigator.save()
    signature = services.sign_visit(
        user=investigator, visit=visit, password=PASSWORD, request=signing_request
    )
    assert signature.printed_name == "Li Wei"


def test_signing_through_the_page(client, investigator, visit):
    client.force_login(investigator)
    url = reverse("sign_visit", args=[visit.pk])
    page = client.get(url).content.decode()
    assert "Vital signs" in page and "I approve the data of this visit" in page
    response = client.post(url, {"meaning": "visit_approved", "password": PASSWORD})
    assert response.status_code == 302
    assert Signature.objects.get().valid
    assert "Signed by" in client.get(url).content.decode()


def test_a_wrong_password_fails_is_logged_and_counts_towards_the_lockout(client, investigator, visit):
    client.force_login(investigator)
    response = client.post(
        reverse("sign_visit", args=[visit.pk]), {"meaning": "visit_approved", "password": "wrong"}
    )
    assert response.status_code == 400 and "not correct" in response.content.decode()
    assert not Signature.objects.exists()
    assert AccessEvent.objects.filter(kind="login_failed", username=investigator.username).count() == 1
    assert AccessAttempt.objects.get(username=investigator.username).failures_since_start == 1


def test_five_wrong_passwords_lock_the_account(client, investigator, visit):
    client.force_login(investigator)
    url = reverse("sign_visit", args=[visit.pk])
    for _attempt in range(5):
        response = client.post(url, {"meaning": "visit_approved", "password": "wrong"})
    assert response.status_code == 429 and "locked" in response.content.decode()
    assert AccessEvent.objects.filter(kind="login_failed", username=investigator.username).count() == 5
    # The lockout ended the investigator's sessions, this one included (issue 15).
    response = client.post(url, {"meaning": "visit_approved", "password": PASSWORD})
    assert response.status_code == 302 and reverse("login") in response["Location"]
    assert not Signature.objects.exists()
    login = client.post(reverse("login"), {"username": investigator.username, "password": PASSWORD})
    assert login.status_code == 429 and "_auth_user_id" not in client.session


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.MONITOR])
def test_only_the_investigator_signs(client, make_user, site_yc, visit, role):
    client.force_login(make_user(role, site_yc))
    response = client.post(
        reverse("sign_visit", args=[visit.pk]), {"meaning": "visit_approved", "password": PASSWORD}
    )
    assert response.status_code == 403 and not Signature.objects.exists()


def test_another_sites_investigator_gets_404(client, make_user, site_cd, visit):
    client.force_login(make_user(Role.INVESTIGATOR, site_cd))
    for url in (
        reverse("sign_visit", args=[visit.pk]),
        reverse("sign_casebook", args=[visit.participant_id]),
    ):
        assert client.get(url).status_code == 404
        assert client.post(url, {"meaning": "visit_approved", "password": PASSWORD}).status_code == 404


def test_a_visit_with_incomplete_forms_is_refused_with_what_is_missing(
    coordinator, investigator, participant, signing_request
):
    from crfs.registry import FORMS
    from crfs.services import save_form

    visit = ready_visit(coordinator, participant)
    save_form(user=coordinator, spec=FORMS["physical_exam"], visit=visit, data={})
    with pytest.raises(DomainError) as error:
        services.sign_visit(user=investigator, visit=visit, password=PASSWORD, request=signing_request)
    assert "Physical examination in progress" in error.value.message
    assert not Signature.objects.exists()


def test_a_scheduled_visit_lists_the_expected_forms_not_started(
    coordinator, investigator, participant, signing_request
):
    screening = participant.visits.get(code="SCR")  # demographics and eligibility only are complete
    with pytest.raises(DomainError) as error:
        services.sign_visit(user=investigator, visit=screening, password=PASSWORD, request=signing_request)
    assert "Vital signs not started" in error.value.message
    assert "Demographics" not in error.value.message


def test_an_incomplete_visit_does_not_ask_for_the_password(client, investigator, participant):
    client.force_login(investigator)
    page = client.get(reverse("sign_visit", args=[participant.visits.get(code="SCR").pk])).content.decode()
    assert "Cannot be signed yet" in page and 'name="password"' not in page


def test_a_visit_is_signed_once(signed_visit, investigator, visit, signing_request):
    with pytest.raises(DomainError, match="already signed"):
        services.sign_visit(user=investigator, visit=visit, password=PASSWORD, request=signing_request)


def test_a_visit_not_done_cannot_be_signed(investigator, participant, signing_request):
    baseline = participant.visits.get(code="BL")
    with pytest.raises(DomainError, match="no visit date"):
        services.sign_visit(user=investigator, visit=baseline, password=PASSWORD, request=signing_request)


def test_a_lockout_after_a_minute_of_silence_still_answers_the_lockout_page(client, investigator, visit):
    """The locking request renews the session's expiry (IdleSessionMiddleware) in the session the lockout
    deletes: it must answer the lockout page, not a "session deleted" error."""
    import time_machine
    from django.utils import timezone

    start = timezone.now()
    client.force_login(investigator)
    url = reverse("sign_visit", args=[visit.pk])
    with time_machine.travel(start, tick=False):
        for _attempt in range(4):
            client.post(url, {"meaning": "visit_approved", "password": "wrong"})
    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        response = client.post(url, {"meaning": "visit_approved", "password": "wrong"})
    assert response.status_code == 429
