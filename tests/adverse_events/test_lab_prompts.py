"""Lab-driven AE prompts: a result graded at or above the study's threshold asks "record as adverse event?"
on the visit's lab page and the participant's safety page; the answer (an event, or "no" with a reason)
is kept, with its audit trail."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.utils import InternalError, ProgrammingError
from django.urls import reverse
from pghistory.models import Events

from adverse_events import ctcae_terms
from adverse_events.models import AdverseEvent, LabAdverseEventPrompt, LabPromptAnswer
from edc.localtime import site_time
from labs.analytes import ANALYTES
from labs.reference_data import DEFAULT_FILE, load_file
from tests.conftest import make_participant, today_at
from tests.labs.conftest import entry, save

ANC_GRADE_3 = entry("anc", "0.3", "10^9/L")  # <0.5 is grade 4; <1.0–0.5 grade 3
ANC_GRADE_2 = entry("anc", "1.2", "10^9/L")


@pytest.fixture
def visit(coordinator, site_yc, study):
    load_file(DEFAULT_FILE)
    today = today_at(site_yc)
    p = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=10), planned=today + timedelta(days=5)
    )
    return p.visits.get(code="BL")


def _result(panel, code="anc"):
    return panel.results.get(analyte=code)


ANC_0_7 = entry("anc", "0.7", "10^9/L")  # grade 3


def _prompt(coordinator, visit, results=(ANC_0_7,)):
    panel = save(coordinator, visit, list(results))
    return LabAdverseEventPrompt.objects.get(lab_result=_result(panel))


AE_POST = {
    "relationship_car_t": "possible",
    "relationship_lymphodepletion": "probable",
    "action_taken": "none",
    "outcome": "recovering",
}


def test_every_graded_analyte_maps_to_a_shipped_term():
    for spec in ANALYTES:
        if spec.ctcae:
            assert ctcae_terms.term_of_lab_parameter(spec.ctcae), spec.code


def test_a_grade_3_result_creates_a_pending_prompt_and_a_grade_2_result_does_not(coordinator, visit):
    panel = save(coordinator, visit, [ANC_0_7, entry("platelets", "60", "10^9/L")])
    anc, platelets = _result(panel), _result(panel, "platelets")
    assert (anc.ctcae_grade, platelets.ctcae_grade) == (3, 2)
    prompt = LabAdverseEventPrompt.objects.get()
    assert (prompt.lab_result, prompt.participant, prompt.grade) == (anc, visit.participant, 3)
    assert prompt.answer == LabPromptAnswer.PENDING and prompt.adverse_event is None
    # a worse value re-grades the pending prompt; one prompt per result
    save(coordinator, visit, [ANC_GRADE_3], instance=panel)
    assert list(LabAdverseEventPrompt.objects.values_list("grade", flat=True)) == [4]


def test_a_grade_2_result_does_not_prompt_and_the_threshold_is_a_study_setting(coordinator, visit):
    panel = save(coordinator, visit, [ANC_GRADE_2])
    assert _result(panel).ctcae_grade == 2 and not LabAdverseEventPrompt.objects.exists()
    study = visit.participant.site.study
    study.settings["lab_ae_prompt_min_grade"] = 2
    study.save()
    save(coordinator, visit, [entry("anc", "1.1", "10^9/L")], instance=panel)
    assert LabAdverseEventPrompt.objects.get().grade == 2


def test_declining_keeps_the_answer_and_the_reason_with_its_audit(client, coordinator, visit):
    prompt = _prompt(coordinator, visit)
    client.force_login(coordinator)
    url = reverse("lab_prompt_decline", args=[prompt.pk])
    assert client.post(url, {"reason": " "}).status_code == 400
    response = client.post(url, {"reason": "Expected after lymphodepletion; recorded as AE 1"})
    assert response.status_code == 302
    prompt.refresh_from_db()
    assert prompt.answer == LabPromptAnswer.DECLINED
    assert prompt.reason == "Expected after lymphodepletion; recorded as AE 1"
    assert (prompt.answered_by, prompt.adverse_event) == (coordinator, None)
    assert prompt.answered_at is not None
    contexts = [e.pgh_context for e in Events.objects.tracks(prompt).order_by("pgh_id")]
    last = contexts[-1]
    assert (last["action"], last["username"], last["reason"]) == (
        "decline_lab_ae_prompt",
        coordinator.username,
        prompt.reason,
    )
    # the answer is kept: shown on both pages, and cannot be given again
    safety = client.get(reverse("participant_safety", args=[visit.participant.pk])).content.decode()
    labs = client.get(reverse("lab_panels", args=[visit.pk])).content.decode()
    for page in (safety, labs):
        assert "Expected after lymphodepletion" in page and f'id="lab-prompt-{prompt.pk}"' in page
        assert f"?lab_prompt={prompt.pk}" not in page
    assert client.post(url, {"reason": "again"}).status_code == 400
    with (
        pytest.raises((InternalError, ProgrammingError), match="Cannot delete"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM adverse_events_labadverseeventprompt")


def test_yes_opens_the_pre_filled_form_and_recording_links_the_event(client, coordinator, visit):
    prompt = _prompt(coordinator, visit, [ANC_GRADE_3])
    client.force_login(coordinator)
    for page in ("participant_safety", "lab_panels"):
        arg = visit.participant.pk if page == "participant_safety" else visit.pk
        content = client.get(reverse(page, args=[arg])).content.decode()
        assert "Record as adverse event?" in content and f"?lab_prompt={prompt.pk}" in content
    url = reverse("adverse_event_create", args=[visit.participant.pk]) + f"?lab_prompt={prompt.pk}"
    form = client.get(url).context["form"]
    onset = site_time(prompt.lab_result.collected_at, visit.participant.site.timezone).date()
    assert {k: form.initial[k] for k in ("term", "grade", "onset_date", "verbatim")} == {
        "term": "neutrophil_count_decreased",
        "grade": 4,
        "onset_date": onset,
        "verbatim": "Neutrophils (ANC) 0.3 ×10⁹/L",
    }
    data = {**AE_POST, **{k: form.initial[k] for k in ("term", "grade", "verbatim")}, "onset_date": onset}
    assert client.post(url, data).status_code == 302
    event = AdverseEvent.objects.get()
    prompt.refresh_from_db()
    assert (prompt.answer, prompt.adverse_event, prompt.answered_by) == ("recorded", event, coordinator)
    assert list(event.grades.values_list("grade", flat=True)) == [4]
    contexts = [e.pgh_context for e in Events.objects.tracks(prompt).order_by("pgh_id")]
    # one transaction, one audit context: the event and the prompt's answer are recorded together
    last = contexts[-1]
    assert (last["action"], last["username"]) == ("record_adverse_event", coordinator.username)
    first_event = Events.objects.tracks(event).order_by("pgh_id").first()
    answered = Events.objects.tracks(prompt).order_by("pgh_id").last()
    assert first_event.pgh_context_id == answered.pgh_context_id
    # answered: a second event from the same prompt is refused
    assert client.post(url, data).status_code == 400
    assert AdverseEvent.objects.count() == 1


def test_another_sites_prompt_is_404(client, coordinator, coordinator_cd, site_cd, visit):
    prompt = _prompt(coordinator, visit)
    own = make_participant(coordinator_cd, site_cd)
    client.force_login(coordinator_cd)
    url = reverse("lab_prompt_decline", args=[prompt.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"reason": "x"}).status_code == 404
    create = reverse("adverse_event_create", args=[own.pk]) + f"?lab_prompt={prompt.pk}"
    assert client.get(create).status_code == 404
    prompt.refresh_from_db()
    assert prompt.answer == LabPromptAnswer.PENDING


def test_a_monitor_sees_the_prompt_but_cannot_answer_it(client, coordinator, monitor, visit):
    prompt = _prompt(coordinator, visit)
    client.force_login(monitor)
    page = client.get(reverse("participant_safety", args=[visit.participant.pk])).content.decode()
    assert "Record as adverse event?" in page and f"?lab_prompt={prompt.pk}" not in page
    url = reverse("lab_prompt_decline", args=[prompt.pk])
    assert client.post(url, {"reason": "not clinically significant"}).status_code == 403
    create = reverse("adverse_event_create", args=[visit.participant.pk]) + f"?lab_prompt={prompt.pk}"
    data = {**AE_POST, "term": "neutrophil_count_decreased", "grade": 3}
    assert client.post(create, data).status_code == 403
    prompt.refresh_from_db()
    assert prompt.answer == LabPromptAnswer.PENDING


def test_the_protocol_file_may_set_the_threshold_without_changing_existing_checksums():
    from tests.conftest import PROTOCOL
    from trials.protocol import ProtocolError, checksum, parse

    plain = parse(PROTOCOL.read_text(), "test")
    assert "lab_ae_prompt_min_grade" not in plain["settings"]  # unchanged checksum of existing files
    text = PROTOCOL.read_text().replace("settings:\n", "settings:\n  lab_ae_prompt_min_grade: 4\n", 1)
    given = parse(text, "test")
    assert given["settings"]["lab_ae_prompt_min_grade"] == 4 and checksum(given) != checksum(plain)
    with pytest.raises(ProtocolError, match="lab_ae_prompt_min_grade"):
        parse(text.replace("lab_ae_prompt_min_grade: 4", "lab_ae_prompt_min_grade: 7"), "test")
