"""In Simplified Chinese, what the system itself writes is Chinese too: the protocol's visit names,
automatic query texts, the computed details of the eligibility checklist and why a signature broke.
Each is stored once (English ids and values) and shown in the reader's language."""

import copy
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from crfs.registry import FORMS
from crfs.services import save_form
from monitoring.models import Query
from tests.conftest import PROTOCOL, _protocol_content, make_participant, today_at
from trials.protocol import checksum, load, parse


def chinese(client, user):
    client.force_login(user)
    assert client.post(reverse("preferences"), {"language": "zh-hans"}).status_code == 302
    return client


def test_the_protocol_file_names_every_visit_in_both_languages():
    content = parse(PROTOCOL.read_text(encoding="utf-8"), str(PROTOCOL))
    visits = content["schedule"]["visits"]
    assert all(v["name"] and v.get("name_zh_hans") for v in visits)
    assert next(v for v in visits if v["code"] == "BL")["name_zh_hans"] == "基线"


def test_translations_of_names_are_no_amendment(study):
    content = copy.deepcopy(_protocol_content())
    untranslated = copy.deepcopy(content)
    for visit in untranslated["schedule"]["visits"]:
        visit.pop("name_zh_hans", None)
    assert checksum(untranslated) == checksum(content)
    result = load(untranslated, source_name="again.yaml")
    assert not result.created and result.version.visit_definitions.get(code="BL").name_zh_hans == ""
    result = load(content, source_name="again.yaml")
    assert not result.created and result.version.visit_definitions.get(code="BL").name_zh_hans == "基线"


def test_visit_names_show_in_chinese(client, coordinator, participant):
    page = chinese(client, coordinator).get(reverse("casebook", args=[participant.pk])).content.decode()
    assert "基线" in page and "第28天" in page
    assert ">Baseline<" not in page


def test_automatic_query_texts_show_in_the_readers_language(client, coordinator, site_yc):
    today = today_at(site_yc)
    p = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=10), planned=today + timedelta(days=5)
    )
    visit = p.visits.get(code="BL")
    chinese(client, coordinator)  # the coordinator saves in Chinese: the query is stored in English
    client.post(
        reverse("form_entry", args=[visit.pk, "vital_signs"]), {"temperature_c": "39.8", "draft": "1"}
    )
    query = Query.objects.get(check_id="VS-TEMP-RANGE")
    assert query.text == "Temperature outside 35.0–39.5 °C: please confirm."
    page = client.get(reverse("query_detail", args=[query.pk])).content.decode()
    assert "体温超出35.0–39.5 °C：请确认。" in page


def test_computed_eligibility_details_show_in_chinese(client, coordinator, site_yc):
    p = make_participant(coordinator, site_yc, stage="eligible")
    checklist = FORMS["eligibility"].model.objects.get(participant=p)
    assert checklist.automatic_results["inc_consent"]["detail"].startswith("signed ")  # stored in English
    url = reverse("form_entry_instance", args=[checklist.visit_id, "eligibility", checklist.pk])
    page = chinese(client, coordinator).get(url).content.decode()
    assert "签署于" in page and "出生于" in page
    assert "signed " not in page and "born " not in page


@pytest.fixture
def broken_signature(investigator, coordinator, participant, rf):
    from signatures import services
    from tests.conftest import PASSWORD
    from tests.signatures.conftest import VITALS, ready_visit

    visit = ready_visit(coordinator, participant)
    signature = services.sign_visit(
        user=investigator, visit=visit, password=PASSWORD, request=rf.post("/", REMOTE_ADDR="127.0.0.1")
    )
    vitals = FORMS["vital_signs"].model.objects.get(visit=visit)
    save_form(
        user=coordinator,
        spec=FORMS["vital_signs"],
        visit=visit,
        instance=vitals,
        data={"assessed_on": vitals.assessed_on, **VITALS, "weight_kg": Decimal("71.5")},
        complete=True,
        reason="transcription error",
        expected_version=vitals.version,
    )
    signature.refresh_from_db()
    return signature


def test_the_broken_signature_message_shows_in_chinese(client, coordinator, broken_signature):
    assert broken_signature.broken_reason.startswith("Weight (kg) changed at")  # the stored record
    visit = broken_signature.visit
    page = chinese(client, coordinator).get(reverse("casebook", args=[visit.participant_id])).content.decode()
    vitals = FORMS["vital_signs"].model.objects.get(visit=visit)
    page += client.get(
        reverse("form_entry_instance", args=[visit.pk, "vital_signs", vitals.pk])
    ).content.decode()
    assert "签名因" in page and "体重（kg）" in page and "修改了" in page
    assert "Weight (kg) changed" not in page
