"""What pages show reads as a clinician writes it: numbers without column padding, converted ranges to
the unit's precision, proper names of record kinds, linked records by name, BILAG grades by domain, ISO
dates in both languages, and read-only forms for those who may not enter data."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone, translation

from crfs.registry import FORMS
from crfs.services import save_form
from labs.services import ResultEntry, save_panel


def panel(user, visit, name, *entries):
    return save_panel(
        user=user,
        visit=visit,
        panel=name,
        data={"collected_at": timezone.now() - timedelta(hours=1)},
        results=[ResultEntry(code, Decimal(str(value)), unit) for code, value, unit in entries],
    )


def test_a_sledai_proposal_shows_the_value_as_entered_with_its_unit_label(client, coordinator, baseline):
    panel(coordinator, baseline, "haematology", ("platelets", 95, "10^9/L"))
    client.force_login(coordinator)
    page = client.get(reverse("form_entry", args=[baseline.pk, "sledai"])).content.decode()
    assert "95 ×10⁹/L" in page
    assert "95.000000" not in page and "10^9/L" not in page


def test_a_converted_reference_range_is_rounded_to_the_units_precision(client, coordinator, baseline):
    saved = panel(coordinator, baseline, "chemistry", ("creatinine", "0.7", "mg/dL"))
    client.force_login(coordinator)
    page = client.get(reverse("lab_panel", args=[baseline.pk, saved.pk])).content.decode()
    assert "0.46–0.83 mg/dL" in page  # the site's range is 41–73 µmol/L
    assert "0.4638" not in page and "0.8258" not in page


def test_an_unconverted_range_keeps_its_own_digits(client, coordinator, baseline):
    saved = panel(coordinator, baseline, "haematology", ("hb", "9.5", "g/dL"))
    client.force_login(coordinator)
    page = client.get(reverse("lab_panel", args=[baseline.pk, saved.pk])).content.decode()
    assert "11.5–15 g/dL" in page


def test_record_kinds_keep_their_acronyms(db):
    from edc.audit_trail import kinds

    labels = {str(label) for _key, label in kinds()}
    assert "CRS assessment" in labels and "ICANS assessment" in labels
    assert "Crs assessment" not in labels


def test_the_audit_detail_names_a_linked_record_not_its_id(client, data_manager, participant):
    client.force_login(data_manager)
    rows = client.get(reverse("audit_trail"), {"kind": "trials.Participant"}).context["page"].rows
    changes = [change for row in rows for change in row.changes if change[0] == "dose level"]
    assert changes and changes[0][2] == str(participant.dose_level)
    assert all(new != participant.dose_level_id for _label, _old, new in changes)


def test_bilag_grades_show_each_domain_with_its_letter():
    from edc.clinical.response import BILAG_SYSTEMS
    from efficacy.endpoints import Derived

    grades = dict.fromkeys(BILAG_SYSTEMS, "D") | {"renal": "A"}
    derived = Derived("DDDDDDDAD", True, "", {"grades": grades}, "")
    with translation.override("en"):
        html = Template('{% include "efficacy/_derived.html" with d=d %}').render(Context({"d": derived}))
    assert "DDDDDDDAD" not in html
    assert "Renal <strong>A</strong>" in html and "Constitutional <strong>D</strong>" in html


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_dates_are_iso_8601_in_both_languages(language):
    moment = datetime(2026, 11, 6, 17, 33, tzinfo=ZoneInfo("UTC"))
    with translation.override(language), timezone.override("UTC"):
        shown = Template("{{ d }}|{{ d|date }}|{{ t }}|{{ t|date }}").render(
            Context({"d": date(2026, 11, 6), "t": moment})
        )
    assert shown == "2026-11-06|2026-11-06|2026-11-06 17:33|2026-11-06"


@pytest.mark.parametrize("role", ["monitor", "auditor"])
def test_readers_who_may_not_enter_data_see_the_form_read_only(client, request, coordinator, baseline, role):
    save_form(user=coordinator, spec=FORMS["vital_signs"], visit=baseline, data={"heart_rate": 70})
    client.force_login(request.getfixturevalue(role))
    page = client.get(reverse("form_entry", args=[baseline.pk, "vital_signs"])).content.decode()
    assert 'name="heart_rate"' in page and "disabled" in page.split('name="heart_rate"')[1].split(">")[0]
    assert "<textarea" not in page and "Reason for change" not in page
    assert "Save draft" not in page


def test_readers_see_a_lab_panel_read_only(client, coordinator, monitor, baseline):
    saved = panel(coordinator, baseline, "haematology", ("hb", 120, "g/L"))
    client.force_login(monitor)
    page = client.get(reverse("lab_panel", args=[baseline.pk, saved.pk])).content.decode()
    assert "disabled" in page.split('name="r-hb-value"')[1].split(">")[0]
    assert "<textarea" not in page
