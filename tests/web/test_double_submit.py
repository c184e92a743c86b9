"""A repeated or concurrent POST of the same form page creates one record (edc.idempotency).

Each create page is opened once (its one-time submission key comes with it), then its form is sent
twice: one after the other (a double click, a retried request) and at the same time from two threads
with their own database transactions. Exactly one record results, and both answers land on the page
the first one led to.
"""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from adverse_events.models import AdverseEvent, AdverseEventGrade
from crfs.models import MedicalCondition, VitalSigns
from crfs.registry import FORMS
from crfs.services import save_form
from exports.models import ExportJob
from labs.models import LabPanel
from medications.models import Medication
from monitoring.models import Lock, Query
from tests.api.routes import api_routes
from tests.conftest import make_participant, today_at
from tests.pageforms import form_data
from trials.models import Participant
from visits.models import Visit


class World:
    """The people and records the create pages need, built once per test."""

    def __init__(self, request):
        fixture = request.getfixturevalue
        self.site = fixture("site_yc")
        self.coordinator, self.monitor = fixture("coordinator"), fixture("monitor")
        self.investigator = fixture("investigator")
        self.data_manager, self.sponsor_admin = fixture("data_manager"), fixture("sponsor_admin")
        self.today = today_at(self.site)
        self.participant = make_participant(self.coordinator, self.site)
        self.screening = self.participant.visits.get(code="SCR")
        self.baseline = self.participant.visits.get(code="BL")

    def vitals(self):
        return save_form(
            user=self.coordinator,
            spec=FORMS["vital_signs"],
            visit=self.screening,
            data={"assessed_on": self.today - timedelta(days=19), "heart_rate": 80},
        )

    def adverse_event(self):
        from tests.adverse_events.factories import record_ae

        return record_ae(self.coordinator, self.participant, onset=self.today)


def _screen(w):
    overrides = {
        "site": w.site.pk,
        "initials": "QD",
        "year_of_birth": 1990,
        "sex": "F",
        "screening_date": w.today,
    }
    return w.coordinator, reverse("participant_screen"), overrides, Participant.objects.count


def _unscheduled(w):
    url = reverse("visit_unscheduled", args=[w.participant.pk])
    return (
        w.coordinator,
        url,
        {"visit_date": w.today, "reason": "Flare"},
        Visit.objects.filter(unscheduled=True).count,
    )


def _adverse_event(w):
    url = reverse("adverse_event_create", args=[w.participant.pk])
    from tests.adverse_events.factories import ae_data

    data = ae_data(w.participant, onset=w.today)
    overrides = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in data.items()}
    overrides["grade"] = "1"
    return w.coordinator, url, overrides, AdverseEvent.objects.count


def _grade(w):
    event = w.adverse_event()
    url = reverse("adverse_event_grade", args=[event.pk])
    return (
        w.coordinator,
        url,
        {"grade_on": w.today, "grade": "2", "note": "worse"},
        AdverseEventGrade.objects.filter(adverse_event=event).count,
    )


def _medication(w):
    url = reverse("form_entry", args=[w.baseline.pk, "medications"])
    overrides = {
        "medications-TOTAL_FORMS": "1",
        "medications-INITIAL_FORMS": "0",
        "medications-0-agent": "Paracetamol",
        "medications-0-start_date": w.today - timedelta(days=3),
        "draft": "1",
    }
    return w.coordinator, url, overrides, Medication.objects.count


def _vital_signs(w):
    url = reverse("form_entry", args=[w.baseline.pk, "vital_signs"])
    return (
        w.coordinator,
        url,
        {"heart_rate": 72, "draft": "1"},
        VitalSigns.objects.filter(visit=w.baseline).count,
    )


def _medical_history_rows(w):
    url = reverse("form_entry", args=[w.screening.pk, "medical_history"])
    overrides = {
        "any_condition": "yes",
        "conditions-0-condition": "Hypertension",
        "conditions-0-ongoing": "on",
        "draft": "1",
    }
    return w.coordinator, url, overrides, MedicalCondition.objects.count


def _lab_panel(w):
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    collected = (timezone.now() - timedelta(hours=1)).astimezone(ZoneInfo(w.site.timezone))
    url = reverse("lab_panel_new", args=[w.baseline.pk]) + "?panel=haematology"
    overrides = {
        "collected_at": collected.strftime("%Y-%m-%dT%H:%M"),
        "laboratory": "YC central lab",
        "r-hb-value": "120",
        "r-hb-unit": "g/L",
        "draft": "1",
    }
    return w.coordinator, url, overrides, LabPanel.objects.count


def _query(w):
    vitals = w.vitals()
    url = reverse("query_raise", args=["vital_signs", vitals.pk])
    return (
        w.monitor,
        url,
        {"field_name": "heart_rate", "text": "Please check the source."},
        Query.objects.count,
    )


def _lock(w):
    vitals = w.vitals()
    url = reverse("lock_new", args=["vital_signs", vitals.pk])
    return w.data_manager, url, {"reason": "Reviewed"}, Lock.objects.count


def _sae_follow_up(w):
    from django.test import RequestFactory

    from adverse_events import services as safety
    from adverse_events.models import SaeFollowUp
    from tests.adverse_events.factories import infused, record_ae
    from tests.conftest import PASSWORD

    patient = infused(w.coordinator, w.site, days_ago=3, initials="SF")
    from django.utils import timezone

    event = record_ae(
        w.coordinator, patient, term="cytokine_release_syndrome", grade=3, serious_hospitalisation=True,
        awareness_at=timezone.now() - timedelta(hours=2),
    )  # fmt: skip
    report = event.sae_report
    safety.update_sae_narrative(user=w.investigator, report=report, narrative="Grade 3 CRS on day 1.")
    request = RequestFactory().post("/")
    request.user = w.investigator
    safety.sign_sae_report(user=w.investigator, report=report, password=PASSWORD, request=request)
    url = reverse("sae_follow_up", args=[event.pk])
    return (
        w.coordinator,
        url,
        {"information": "Discharged on day 6."},
        SaeFollowUp.objects.filter(report=report).count,
    )


def _export(w):
    return w.sponsor_admin, reverse("export_list"), {"formats": "csv"}, ExportJob.objects.count


CASES = {
    "participant_screen": _screen,
    "visit_unscheduled": _unscheduled,
    "adverse_event_create": _adverse_event,
    "adverse_event_grade": _grade,
    "form_entry:medications": _medication,
    "form_entry:vital_signs": _vital_signs,
    "form_entry:medical_history": _medical_history_rows,
    "lab_panel_new": _lab_panel,
    "query_raise": _query,
    "lock_new": _lock,
    "export_new": _export,
    "sae_follow_up": _sae_follow_up,
}


@pytest.fixture(autouse=True)
def no_export_worker(monkeypatch):
    from exports import tasks

    monkeypatch.setattr(tasks.run_export_task, "delay", lambda *a, **kw: None)


def _open(case, request):
    user, url, overrides, count = CASES[case](World(request))
    client = Client()
    client.force_login(user)
    data = form_data(client, url, **overrides)
    assert data.get("submission_key"), f"{url} renders no submission key"
    post_url = reverse("export_new") if case == "export_new" else url
    return user, post_url, data, count


@pytest.mark.django_db
@pytest.mark.parametrize("case", sorted(CASES))
def test_the_same_page_sent_twice_creates_one_record(case, request):
    user, url, data, count = _open(case, request)
    before = count()
    client = Client()
    client.force_login(user)
    first = client.post(url, data)
    errors = [line for line in first.content.decode().splitlines() if "invalid" in line or "alert" in line]
    assert first.status_code == 302, errors[:6]
    second = client.post(url, data)
    assert second.status_code == 302 and second.url == first.url
    assert count() == before + 1 or (case == "form_entry:vital_signs" and count() == 1)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("case", sorted(CASES))
def test_the_same_page_sent_twice_at_once_creates_one_record(case, request):
    user, url, data, count = _open(case, request)
    before = count()
    barrier, answers = threading.Barrier(2), []

    def send():
        client = Client()
        client.force_login(user)
        try:
            barrier.wait(timeout=10)
            answers.append(client.post(url, data))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(a.status_code for a in answers) == [302, 302]
    assert answers[0].url == answers[1].url
    assert count() == before + 1


# POST endpoints that write and are covered above, or why they need no key of their own.
NOT_CREATING = {
    "sledai_totals": "computes totals on screen, writes nothing",
    "lab_preview": "computes a preview, writes nothing",
    "form_check": "runs the edit checks of the values typed, writes nothing",
    "set_language": "a preference cookie",
    "logout": "no record",
    "login": "no record",
    "preferences": "updates the user's profile (one row), no new record",
    "notification_preferences": "updates preferences (one row)",
    "notification_mark_all_read": "marks read; a repeat changes nothing",
    "export_cancel": "cancels a job; a repeat finds it cancelled and changes nothing",
    "export_retry": "at most one retry per job: the job row is locked and a second retry is refused",
    "two_factor_verify": "checks a code; django-otp refuses a code used once",
    "two_factor_enrol": "confirms the one pending authenticator; a repeat finds it confirmed",
    "sdv_verify_visit": "bulk SDV: each form row is locked and a repeat finds its fields verified",
    "sdv_verify_across": "bulk SDV: each form row is locked and a repeat finds its fields verified",
    "api_tokens": "shows the new token in its answer (no redirect): its one-time key makes a repeat create "
    "nothing and land on the list (tests/api/test_tokens.py)",
    "api_token_revoke": "revokes; a repeat is refused (already revoked)",
    "casebook_pdf": "queues a casebook; a repeat while it is queued or running finds that job "
    "(casebooks.services.request_casebook, tests/casebooks/test_casebook_access.py)",
    "casebook_pdf_site": "queues a site's casebooks; a repeat while they are queued or running finds "
    "that job",
    "lab_import": "imports a previewed file: the import row is locked and a repeat is refused (already "
    "imported, tests/labs/test_lab_import.py); choosing a visit or previewing again changes the preview only",
}
# Writing pages handled by edc.views.submit, which gives every form the key: the update pages.
UPDATING = {
    "adverse_event_detail",
    "sae_narrative",
    "sae_sign",
    "dlt_adjudicate",
    "iec_hs",
    "lab_prompt_decline",
    "participant_action",
    "visit_record",
    "visit_outcome",
    "form_entry_instance",
    "lab_panel",
    "reference_ranges",
    "lab_imports",
    "lab_import_mapping",
    "query_release",
    "query_answer",
    "query_close",
    "query_reopen",
    "sdv_verify_form",
    "sdv_verify_critical",
    "sdv_verify_field",
    "lock_unlock",
    "sign_visit",
    "sign_casebook",
    "form_entry",
}


def _names(resolver, prefix=""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin" or (entry.namespace or "") == "admin":
                continue
            yield from _names(entry)
        elif isinstance(entry, URLPattern) and entry.name:
            yield entry.name


def test_every_page_that_can_write_is_known_to_the_double_submit_tests():
    """A new POST page fails here until it is covered above (or said to create nothing)."""
    reading = {
        "root",
        "health",
        "home",
        "visit_worklist",
        "calculators",
        "audit_trail",
        "participant_list",
        "participant_detail",
        "participant_history",
        "casebook",
        "form_history",
        "visit_history",
        "notification_list",
        "notification_detail",
        "query_list",
        "participant_queries",
        "query_detail",
        "sdv_progress",
        "lock_list",
        "export_list",
        "export_progress",
        "export_download",
        "safety_home",
        "safety_summary",
        "dose_level_review",
        "ctcae_terms",
        "ctcae_term_definitions",
        "uncoded_terms",
        "participant_safety",
        "adverse_event_history",
        "lab_panels",
        "lab_panel_history",
        "efficacy_study",
        "efficacy_participant",
        "javascript-catalog",
        "password_change",
        "password_change_done",
        "casebook_jobs",
        "casebook_progress",
        "casebook_download",
        "crf_blank",
        "crf_annotated",
    }
    # The REST API has no form pages: its one write needs the record's ETag (If-Match), so a repeat gets
    # 412 (tests/api/test_query_answers.py); every route is walked by tests/api/test_walk.py.
    reading |= set(api_routes()) | {"api_schema", "api_docs"}
    created = {case.split(":")[0] for case in CASES}
    unknown = set(_names(get_resolver())) - reading - created - UPDATING - set(NOT_CREATING)
    assert not unknown, f"pages not classified for double-submit protection: {sorted(unknown)}"
