"""A coordinator enters a whole Day 28 visit in a real browser: the measure of fast data entry.

:func:`enter_day28_visit` drives Debian's chromium through Playwright as a coordinator would: from the
participant's casebook, the first form of the visit, then "Complete, then the next form of this visit"
(and "the next panel" between the laboratory panels) up to the last form, typing the visit date once.
It counts the pages the browser loaded. ``make bench`` reports it (``d28_visit_page_loads``,
``d28_visit_seconds``); ``tests/browser/test_day28_entry.py`` runs the same journey as a test.
"""

import os
import time
from dataclasses import dataclass

CHROMIUM = os.environ.get("EDC_CHROMIUM", "/usr/bin/chromium")

# The forms a coordinator enters at Day 28 (GvHD aside), in the protocol's order; the lab panels count
# one form each.
DAY28_FORMS = (
    "vital_signs",
    "physical_exam",
    "sledai",
    "pga",
    "bilag",
    "labs:haematology",
    "labs:chemistry",
    "medications",
    "crs",
    "icans",
)

LAB_VALUES = {
    "wbc": "5.2",
    "anc": "3.1",
    "alc": "1.2",
    "hb": "128",
    "platelets": "210",
    "creatinine": "68",
    "alt": "22",
    "ast": "25",
    "bilirubin": "9",
    "albumin": "41",
    "ldh": "180",
    "uric_acid": "300",
    "sodium": "140",
    "potassium": "4.1",
}


@dataclass(frozen=True)
class Entry:
    page_loads: int
    seconds: float
    forms: int


def demo_participant_at_day28(user, site):
    """An infused participant entered as ``seed_demo`` enters its demo participants, whose Day 28 window
    is open and whose Day 28 visit has nothing entered yet (Day 0 was 27 days ago)."""
    from efficacy.management.commands.seed_demo import _make
    from trials.models import DoseLevel

    levels = list(DoseLevel.objects.filter(study=site.study))
    # Screened 40 days ago; seed_demo infuses 13 days after screening (Day 0 = 27 days ago).
    return _make(user, site, "infused", 40, 4, levels)


def _select(page, name, value):
    page.select_option(f"#entry-form select[name='{name}']", value)


def _fill(page, values: dict):
    for name, value in values.items():
        page.fill(f"#entry-form [name='{name}']", value)


def _next(page, value="visit"):
    """Press a "Complete, then…" button and wait for the next page."""
    with page.expect_navigation():
        page.click(f"#entry-form button[name=complete][value={value}]")


def enter_day28_visit(
    page, base_url: str, participant, visit, *, visit_date, username: str, password: str
) -> Entry:
    """Sign in as the participant's coordinator (``page`` is a fresh Playwright page) and enter the Day 28
    visit; return the pages loaded from the casebook to the page after the last form, and the time."""
    loads = []
    page.goto(base_url + "/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.on("load", lambda: loads.append(page.url))
    started = time.perf_counter()
    page.goto(f"{base_url}/participants/{participant.pk}/casebook/")
    with page.expect_navigation():
        page.click(f"a[href='/visits/{visit.pk}/forms/vital_signs/']")

    # Vital signs: the visit date is typed here, once; every later form defaults to it.
    page.fill("#entry-form [name=assessed_on]", visit_date.isoformat())
    _fill(
        page,
        {
            "temperature_c": "36.7",
            "heart_rate": "74",
            "systolic_bp": "118",
            "diastolic_bp": "74",
            "respiratory_rate": "16",
            "spo2_pct": "98",
            "weight_kg": "58.5",
        },
    )
    _next(page)
    from crfs.models import PhysicalExam
    from disease_activity.models import BILAG_SYSTEMS

    for system in PhysicalExam.SYSTEMS:
        _select(page, system, "normal")
    _next(page)
    _fill(page, {"look_back_days": "10"})
    page.check("#entry-form [name=arthritis_present]")
    _select(page, "arthritis_attributable", "true")
    _select(page, "arthritis_course", "persistent")
    _fill(page, {"arthritis_joints": "2"})
    _next(page)
    _fill(page, {"pga": "0.8"})
    _next(page)
    for system in BILAG_SYSTEMS:
        _select(page, system, "C" if system == "musculoskeletal" else "D")
    _next(page)
    for panel in ("haematology", "chemistry"):
        collected = page.input_value("#entry-form [name=collected_at]")
        if not collected:  # the first panel: when the samples were drawn; the next one defaults to it
            page.fill("#entry-form [name=collected_at]", f"{visit_date.isoformat()}T08:30")
        page.fill("#entry-form [name=laboratory]", "Site laboratory")
        for box in page.query_selector_all("#entry-form input[name^='r-'][name$='-value']"):
            code = box.get_attribute("name")[2:-6]
            if code in LAB_VALUES:
                box.fill(LAB_VALUES[code])
            else:
                page.check(f"#entry-form [name='r-{code}-not_done']")
        _next(page, "panel" if panel == "haematology" else "visit")
    # Medications: the visit's table, its first (empty) row.
    _fill(page, {"medications-0-agent": "prednisone", "medications-0-dose": "7.5"})
    _select(page, "medications-0-drug_class", "glucocorticoid")
    _select(page, "medications-0-glucocorticoid", "prednisone")
    _select(page, "medications-0-dose_unit", "mg")
    _select(page, "medications-0-frequency", "qd")
    _select(page, "medications-0-route", "oral")
    _select(page, "medications-0-period", "concomitant")
    page.fill("#entry-form [name='medications-0-start_date']", visit_date.replace(day=1).isoformat())
    page.check("#entry-form [name='medications-0-ongoing']")
    _next(page)
    _fill(page, {"temperature_c": "36.7"})
    _select(page, "hypotension", "none")
    _select(page, "oxygen_device", "none")
    _select(page, "investigator_grade", "0")
    _next(page)
    _select(page, "orientation_correct", "4")
    _select(page, "naming_correct", "3")
    for box in ("follows_commands", "writes_sentence", "counts_back_by_10"):
        page.check(f"#entry-form [name={box}]")
    for name, value in (("consciousness", "alert"), ("seizure", "none"), ("motor", "none")):
        _select(page, name, value)
    _select(page, "icp_cerebral_edema", "none")
    _select(page, "investigator_grade", "0")
    _next(page)
    page.wait_for_load_state("load")
    return Entry(page_loads=len(loads), seconds=time.perf_counter() - started, forms=len(DAY28_FORMS))


BENCH_USERNAME = "bench-d28-coordinator"


def run_day28_entry(site) -> Entry:
    """``make bench``: a new Day 28 participant at ``site``, a coordinator of that site, this process's
    Django served on a free port, and chromium entering the visit (the day before today, site time)."""
    import secrets
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.test.testcases import LiveServerThread, _StaticFilesHandler
    from playwright.sync_api import sync_playwright

    from accounts.models import Role
    from accounts.services import create_user, grant_membership
    from edc.localtime import site_today

    password = secrets.token_urlsafe(16)
    user = get_user_model().objects.filter(username=BENCH_USERNAME).first()
    if user is None:
        user = create_user(username=BENCH_USERNAME, password=password, email="bench-d28@example.invalid")
    else:
        user.set_password(password)
        user.save(update_fields=["password"])
    grant_membership(by=None, user=user, study=site.study, role=Role.COORDINATOR, site=site)
    participant = demo_participant_at_day28(user, site)
    visit = participant.visits.get(code="D28")
    server = LiveServerThread("127.0.0.1", _StaticFilesHandler, port=0)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(30000)
            try:
                return enter_day28_visit(
                    page,
                    f"http://127.0.0.1:{server.port}",
                    participant,
                    visit,
                    visit_date=site_today(site.timezone) - timedelta(days=1),
                    username=BENCH_USERNAME,
                    password=password,
                )
            finally:
                browser.close()
    finally:
        server.terminate()
