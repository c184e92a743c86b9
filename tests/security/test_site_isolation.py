"""Walk every URL pattern of the project as every site-scoped role against another site's records."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import Role
from trials.views import ACTIONS


def all_patterns(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from all_patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def concrete_urls(participant, visit, form_pk):
    """Every project URL (admin excluded: it has its own staff gate) filled with the other site's ids."""
    from crfs.registry import FORMS

    urls = []
    for route, _pattern in all_patterns():
        if route.startswith("admin/"):
            continue
        params = re.findall(r"<(?:\w+:)?(\w+)>", route)
        if not params:
            urls.append("/" + route)
            continue
        values = {
            "pk": visit.pk if route.startswith("visits/") else participant.pk,
            "visit_pk": visit.pk,
            "form_pk": form_pk,
        }
        choices = list(ACTIONS) if "action" in params else list(FORMS) if "code" in params else [None]
        for choice in choices:
            path = route
            for name in params:
                value = choice if name in ("action", "code") else values[name]
                path = re.sub(r"<(?:\w+:)?" + name + ">", str(value), path)
            urls.append("/" + path)
    return urls


SITE_SCOPED = [Role.COORDINATOR, Role.INVESTIGATOR, Role.MONITOR]


@pytest.mark.parametrize("role", SITE_SCOPED)
def test_no_url_leaks_another_sites_participant(
    client, make_user, site_yc, other_site_participant, coordinator_cd, role
):
    from crfs.registry import FORMS
    from crfs.services import save_form

    user = make_user(role, site_yc)
    visit = other_site_participant.visits.get(code="BL")
    form = save_form(user=coordinator_cd, spec=FORMS["vital_signs"], visit=visit, data={"heart_rate": 70})
    secrets = [other_site_participant.study_id, other_site_participant.screening_number]
    client.force_login(user)
    checked = 0
    for url in concrete_urls(other_site_participant, visit, form.pk):
        if url.endswith("/logout/"):
            continue
        for method in (client.get, client.post):
            response = method(url)
            body = response.content.decode(errors="replace")
            assert response.status_code != 500, url
            assert not any(s in body for s in secrets), f"{role} sees {secrets} at {url}"
            if str(other_site_participant.pk) in url and response.status_code == 200:
                pytest.fail(f"{role} got 200 for {url}")
            checked += 1
    assert checked > 20


@pytest.mark.parametrize("role", [Role.DATA_MANAGER, Role.SPONSOR_ADMIN, Role.AUDITOR])
def test_study_wide_roles_see_every_site(client, make_user, other_site_participant, role):
    client.force_login(make_user(role))
    page = client.get(reverse("participant_detail", args=[other_site_participant.pk]))
    assert page.status_code == 200


def test_another_sites_participant_answers_404(client, coordinator, other_site_participant):
    client.force_login(coordinator)
    assert client.get(reverse("participant_detail", args=[other_site_participant.pk])).status_code == 404


def test_participant_list_shows_only_own_site(client, coordinator, participant, other_site_participant):
    client.force_login(coordinator)
    body = client.get(reverse("participant_list")).content.decode()
    assert participant.study_id in body and other_site_participant.study_id not in body


@pytest.mark.parametrize("role", [Role.MONITOR, Role.AUDITOR, Role.DATA_MANAGER, Role.SPONSOR_ADMIN])
def test_roles_that_never_enter_data_get_a_clear_403(client, make_user, site_yc, participant, role):
    user = make_user(role, site_yc if role == Role.MONITOR else None)
    client.force_login(user)
    response = client.post(
        reverse("participant_action", args=[participant.pk, "plan-infusion"]), {"planned_date": "2030-01-01"}
    )
    assert response.status_code == 403
    assert "not allow" in response.content.decode()
    participant.refresh_from_db()
    assert participant.planned_infusion_date is None
