"""``make bench``: ``casebook_pdf_seconds``, the PDF casebook of a participant with 24 months of data.

The participant is entered once into the bench database through the services, as a site would:
screening forms, Day 0, every visit to Month 24 done, vital signs and the laboratory panels at each,
CRS and ICANS daily in the first week, disease activity, medications and biomarkers
(``efficacy.demo``), a query with its answer. Later runs find it (its initials) and only print.
"""

import time
from datetime import timedelta
from decimal import Decimal

INITIALS = "PDFB"


def participant_with_24_months(bench):
    from django.db import transaction

    from trials.models import Participant

    found = Participant.objects.filter(site=bench.site, initials=INITIALS, entered_in_error=False).first()
    if found is not None:
        return found
    with transaction.atomic():  # all of it or nothing: a half-entered participant would be found next time
        return _enter(bench)


def _enter(bench):
    from django.contrib.auth import get_user_model

    from accounts.models import Role
    from accounts.services import grant_membership
    from crfs.demo import record_screening_forms
    from crfs.registry import FORMS
    from crfs.services import save_form
    from edc.localtime import site_today
    from efficacy.demo import record_efficacy_data
    from labs.reference_data import DEFAULT_FILE, load_file
    from labs.services import ResultEntry, save_panel
    from monitoring.services import answer_query, open_query
    from trials import services
    from visits.services import mark_visit, record_visit

    user = bench.coordinator
    site = bench.site
    monitor = get_user_model().objects.filter(username="bench-monitor").first()
    if monitor is None:
        from accounts.services import create_user

        monitor = create_user(username="bench-monitor", password=None, email="bench-monitor@example.invalid")
    grant_membership(by=None, user=monitor, study=bench.study, role=Role.MONITOR, site=site)
    load_file(DEFAULT_FILE)
    today = site_today(site.timezone)
    screened = today - timedelta(days=760)
    p = services.screen_participant(
        user=user, site=site, initials=INITIALS, year_of_birth=1984, sex="F", screening_date=screened
    )
    p = services.record_consent(user=user, participant=p, consent_date=screened, consent_version="1.0")
    record_screening_forms(user, p, on=screened + timedelta(days=2))
    p = services.record_eligibility(
        user=user, participant=p, met=True, assessed_on=screened + timedelta(days=2)
    )
    day0 = screened + timedelta(days=17)
    p = services.enroll_participant(
        user=user,
        participant=p,
        enrollment_date=screened + timedelta(days=3),
        dose_level=bench.study.dose_levels.first(),
        planned_infusion_date=day0,
    )
    p = services.record_lymphodepletion(user=user, participant=p, start_date=day0 - timedelta(days=5))
    p = services.record_infusion(user=user, participant=p, infusion_date=day0)
    for visit in p.visits.filter(visit_date__isnull=True, window_start__lte=today).order_by("sequence"):
        if visit.code in ("D10", "D21"):
            mark_visit(user=user, visit=visit, outcome="not_applicable", reason="Optional, not done")
        else:
            record_visit(user=user, visit=visit, visit_date=min(visit.target_date, today))
    scr = p.visits.get(code="SCR")
    save_form(
        user=user,
        spec=FORMS["medical_history"],
        visit=scr,
        data={
            "assessed_on": scr.visit_date,
            "conditions": [
                {"condition": "狼疮性肾炎 (lupus nephritis)", "start_date": screened - timedelta(days=900)}
            ],
        },
    )
    record_efficacy_data(user, p, 0)
    vitals = None
    for visit in p.visits.filter(visit_date__isnull=False, definition__isnull=False).select_related(
        "definition"
    ):
        forms = visit.definition.forms
        on = visit.visit_date
        if "vital_signs" in forms:
            vitals = save_form(
                user=user,
                spec=FORMS["vital_signs"],
                visit=visit,
                complete=True,
                data={
                    "assessed_on": on,
                    "temperature_c": Decimal("36.9"),
                    "heart_rate": 78,
                    "systolic_bp": 116,
                    "diastolic_bp": 74,
                    "respiratory_rate": 16,
                    "spo2_pct": 98,
                    "weight_kg": Decimal("58.5"),
                },
            )
        if "physical_exam" in forms:
            save_form(user=user, spec=FORMS["physical_exam"], visit=visit, data={"assessed_on": on})
        if "crs" in forms:
            save_form(
                user=user,
                spec=FORMS["crs"],
                visit=visit,
                data={
                    "assessed_on": on,
                    "temperature_c": Decimal("37.8"),
                    "hypotension": "none",
                    "oxygen_device": "none",
                },
            )
        if "icans" in forms:
            save_form(user=user, spec=FORMS["icans"], visit=visit, data={"assessed_on": on})
        if "labs" in forms:
            collected = _at(on, site.timezone)
            save_panel(
                user=user,
                visit=visit,
                panel="haematology",
                data={"collected_at": collected, "laboratory": "Site laboratory", "source": "local"},
                results=[
                    ResultEntry("wbc", Decimal("4.1"), "10^9/L"),
                    ResultEntry("platelets", Decimal("180"), "10^9/L"),
                    ResultEntry("hb", Decimal("118"), "g/L"),
                ],
            )
            save_panel(
                user=user,
                visit=visit,
                panel="chemistry",
                data={"collected_at": collected, "laboratory": "Site laboratory", "source": "local"},
                results=[
                    ResultEntry("creatinine", Decimal("72"), "umol/L"),
                    ResultEntry("alt", Decimal("25"), "U/L"),
                ],
            )
    if vitals is not None:
        query = open_query(
            user=monitor, record=vitals, field_name="weight_kg", text="Please confirm the weight."
        )
        answer_query(user=user, query=query, text="体重已与原始病历核对无误")
    return p


def _at(day, tz):
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    return datetime.combine(day, time(9, 0), tzinfo=ZoneInfo(tz))


def casebook_pdf_seconds(bench):
    """Seconds to print the casebook of a participant with 24 months of data (content and PDF)."""
    from casebooks import render
    from edc.bench import Measured

    participant = participant_with_24_months(bench)
    started, cpu = time.perf_counter(), time.process_time()
    pdf, book = render.casebook_pdf(participant)
    seconds = time.perf_counter() - started
    # This process's own CPU time: on a shared machine the wall time also counts the other processes.
    cpu = time.process_time() - cpu
    from io import BytesIO

    from pypdf import PdfReader

    pages = len(PdfReader(BytesIO(pdf)).pages)
    return Measured(
        round(seconds, 2),
        {
            "forms": len(book.forms),
            "visits": len(book.visits),
            "pages": pages,
            "bytes": len(pdf),
            "cpu_seconds": round(cpu, 2),
        },
    )
