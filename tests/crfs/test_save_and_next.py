"""Save and next: a coordinator goes from one form to the next without returning to the casebook."""

import contextlib
from datetime import timedelta
from decimal import Decimal

from django.urls import reverse

from crfs.registry import FORMS
from crfs.services import save_form
from edc.errors import DomainError
from tests.pageforms import form_data

VITALS = {
    "temperature_c": "36.8",
    "heart_rate": "72",
    "systolic_bp": "118",
    "diastolic_bp": "76",
    "weight_kg": "61.0",
}


def d7_of(participant):
    return participant.visits.get(code="D7")


def test_complete_then_next_form_of_the_visit_opens_the_visits_next_form(client, coordinator, infused):
    visit = d7_of(infused)
    client.force_login(coordinator)
    url = reverse("form_entry", args=[visit.pk, "crs"])
    data = form_data(client, url, assessed_on=visit.target_date.isoformat(), temperature_c="37.0")
    data.update({"hypotension": "none", "oxygen_device": "none", "complete": "visit"})
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert response.url == reverse("form_entry", args=[visit.pk, "icans"])


def test_the_next_form_of_the_visit_for_labs_is_the_first_panel_missing(client, coordinator, infused):
    visit = d7_of(infused)
    client.force_login(coordinator)
    url = reverse("form_entry", args=[visit.pk, "vital_signs"])
    data = form_data(client, url, assessed_on=visit.target_date.isoformat(), **VITALS)
    response = client.post(url, {**data, "complete": "visit"})
    assert response.status_code == 302
    assert response.url == reverse("lab_panel_new", args=[visit.pk]) + "?panel=haematology"


def test_next_incomplete_form_of_the_participant_follows_the_schedule(client, coordinator, infused):
    from crfs.selectors import next_form_of_participant

    first = next_form_of_participant(infused)
    following = next_form_of_participant(infused, skip=(first.visit.pk, first.code))
    assert (first.visit.sequence, first.code) != (following.visit.sequence, following.code)
    assert first.visit.sequence <= following.visit.sequence
    client.force_login(coordinator)
    page = client.get(reverse("participant_detail", args=[infused.pk])).content.decode()
    assert f'data-next-form href="{first.url}"' in page


def test_a_visit_with_every_form_complete_sends_the_coordinator_back_to_the_casebook(
    client, coordinator, infused
):
    from crfs.selectors import url_after_save

    visit = d7_of(infused)
    for code in ("vital_signs", "crs", "icans", "hospitalisation"):
        spec = FORMS[code]
        visit.definition.forms = [code]  # in memory: the visit expects only this form
        instance = save_form(user=coordinator, spec=spec, visit=visit, data={})
        spec.model.objects.filter(pk=instance.pk).update(status="complete")
        url = url_after_save("visit", visit=visit, code=code, default="/")
        assert url == reverse("casebook", args=[infused.pk])


def test_a_new_form_defaults_to_the_visit_date(client, coordinator, infused):
    visit = d7_of(infused)
    save_form(
        user=coordinator,
        spec=FORMS["vital_signs"],
        visit=visit,
        data={"assessed_on": visit.target_date, "weight_kg": Decimal("70")},
    )
    client.force_login(coordinator)
    page = client.get(reverse("form_entry", args=[visit.pk, "crs"])).content.decode()
    assert f'name="assessed_on" value="{visit.target_date.isoformat()}"' in page


def test_the_first_dated_form_records_the_visit_date_and_the_visit_is_done(coordinator, infused):
    from visits.models import Visit

    visit = d7_of(infused)
    assert visit.visit_date is None
    save_form(user=coordinator, spec=FORMS["crs"], visit=visit, data={"assessed_on": visit.target_date})
    visit = Visit.objects.with_status().get(pk=visit.pk)
    assert visit.visit_date == visit.target_date
    assert visit.status == "done"


def test_a_form_dated_in_the_future_does_not_date_the_visit(coordinator, infused, today):
    visit = infused.visits.get(code="D14")
    with contextlib.suppress(DomainError):  # the form's own check may refuse a future date
        save_form(
            user=coordinator, spec=FORMS["gvhd"], visit=visit, data={"assessed_on": today + timedelta(days=3)}
        )
    visit.refresh_from_db()
    assert visit.visit_date is None


def test_the_infusion_date_is_entered_once_for_day_0_and_its_visit(coordinator, site_yc, today):
    from tests.conftest import make_participant
    from trials import services

    p = make_participant(coordinator, site_yc, screened=today - timedelta(days=30), planned=today)
    services.record_lymphodepletion(user=coordinator, participant=p, start_date=today - timedelta(days=6))
    p.refresh_from_db()
    services.record_infusion(user=coordinator, participant=p, infusion_date=today - timedelta(days=1))
    assert p.visits.get(code="D0").visit_date == today - timedelta(days=1)


def test_the_next_panel_defaults_to_the_first_panels_collection_but_a_panel_does_not_date_the_visit(
    client, coordinator, infused
):
    from django.utils import timezone

    from labs.reference_data import DEFAULT_FILE, load_file
    from labs.services import ResultEntry, save_panel

    load_file(DEFAULT_FILE)
    visit = d7_of(infused)
    collected = timezone.now() - timedelta(hours=2)
    save_panel(
        user=coordinator,
        visit=visit,
        panel="haematology",
        data={"collected_at": collected, "laboratory": "Lab", "source": "local"},
        results=[ResultEntry("hb", Decimal("130"), "g/L")],
    )
    visit.refresh_from_db()
    assert visit.visit_date is None  # samples may be drawn days before the visit (SLEDAI look-back)
    client.force_login(coordinator)
    page = client.get(reverse("lab_panel_new", args=[visit.pk]) + "?panel=chemistry").content.decode()
    with timezone.override(infused.site.timezone):
        shown = timezone.localtime(collected).strftime("%Y-%m-%dT%H:%M")
    assert f'value="{shown}"' in page


def test_a_repeating_form_goes_on_to_another_entry_of_the_same_visit(coordinator, infused):
    from crfs.selectors import url_after_save

    visit = infused.visits.get(code="D14")
    assert url_after_save("another", visit=visit, code="medications", default="/") == reverse(
        "form_entry", args=[visit.pk, "medications"]
    )
    assert url_after_save("another", visit=visit, code="crs", default="/") == "/"  # one per visit


def test_the_lymphodepletion_forms_default_to_the_days_counted_from_the_recorded_start(
    client, coordinator, site_yc, today
):
    from tests.conftest import make_participant
    from trials import services

    p = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=30), planned=today + timedelta(days=2)
    )
    start = today - timedelta(days=3)
    services.record_lymphodepletion(user=coordinator, participant=p, start_date=start)
    client.force_login(coordinator)
    for code, day in (("LD-5", start), ("LD-4", start + timedelta(days=1))):
        visit = p.visits.get(code=code)
        page = client.get(reverse("form_entry", args=[visit.pk, "lymphodepletion"])).content.decode()
        assert f'name="assessed_on" value="{day.isoformat()}"' in page, code
