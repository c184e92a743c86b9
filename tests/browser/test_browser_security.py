"""Debian's chromium, driven by Playwright: the Content-Security-Policy at work.

The browser refuses code injected into a page (and the ``page`` fixture's watch reports it, as it would
for any journey's page); the pages whose behaviour once sat in inline handlers and style attributes
(print buttons, the query filter, the export progress bar, django-celery-beat's crontab help) and the
htmx live previews still work under the policy, with no violation.
"""

import pytest
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from exports.models import ExportJob
from exports.options import ExportOptions
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser

INJECT = """() => {
    const script = document.createElement("script");
    script.textContent = "window.injectedScript = true";
    document.body.appendChild(script);
    const box = document.createElement("div");
    box.innerHTML = '<button id="injected-button" onclick="window.injectedHandler = true">x</button>'
        + '<p id="injected-style" style="color: rgb(255, 0, 0)">x</p>';
    document.body.appendChild(box);
}"""
# Counts the calls of window.print instead of opening the print dialogue.
STUB_PRINT = "window.print = () => { window.printed = (window.printed || 0) + 1; };"


def wait_until(page, condition, timeout_ms=10000):
    """Polls ``condition()`` while Playwright delivers the browser's events (the violation reports).
    Not ``page.wait_for_function``: it evaluates its predicate from a string, which the policy refuses."""
    for _ in range(timeout_ms // 100):
        if condition():
            return True
        page.wait_for_timeout(100)
    return condition()


def test_code_injected_into_a_page_does_not_run_and_is_reported(
    page, live_server, coordinator, csp_violations
):
    log_in(page, live_server, "coordinator")
    page.evaluate(INJECT)
    page.click("#injected-button")
    wait_until(page, lambda: len({v.get("directive") for v in csp_violations} - {None}) >= 3)

    assert page.evaluate("window.injectedScript") is None
    assert page.evaluate("window.injectedHandler") is None
    color = page.evaluate("getComputedStyle(document.getElementById('injected-style')).color")
    assert color != "rgb(255, 0, 0)"
    directives = {v.get("directive") for v in csp_violations}
    assert {"script-src-elem", "script-src-attr", "style-src-attr"} <= directives, csp_violations
    csp_violations.clear()  # provoked on purpose: the fixture would fail the test


def test_print_buttons_and_the_query_filter_work_without_inline_handlers(page, live_server, data_manager):
    page.context.add_init_script(STUB_PRINT)
    log_in(page, live_server, "datamanager")
    for path in ("/safety/summary/", "/efficacy/"):
        page.goto(live_server.url + path)
        page.click("button[data-print]")
        assert page.evaluate("window.printed") == 1, path

    page.goto(live_server.url + "/queries/")
    page.select_option("select[name=status]", "closed")
    page.wait_for_url("**/queries/?status=closed*")
    assert page.input_value("select[name=status]") == "closed"


def test_the_export_progress_bar_follows_the_job_through_htmx(page, live_server, data_manager, study):
    job = ExportJob.objects.create(
        study=study,
        requested_by=data_manager,
        options=ExportOptions(study_id=study.pk, deidentify=True).to_json(),
        status="running",
        progress=40,
    )
    log_in(page, live_server, "datamanager")
    page.goto(live_server.url + "/exports/")
    bar = page.locator(f"#export-{job.pk} .progress-bar")
    assert wait_until(page, lambda: bar.evaluate("el => el.style.width") == "40%")
    assert bar.bounding_box()["width"] > 0
    ExportJob.objects.filter(pk=job.pk).update(progress=70)  # the row polls every 2 s
    assert wait_until(page, lambda: "70 %" in bar.inner_text())
    assert bar.evaluate("el => el.style.width") == "70%"


def test_htmx_live_previews_work_under_the_policy(page, live_server, coordinator, participant):
    log_in(page, live_server, "coordinator")
    page.goto(live_server.url + "/safety/terms/")
    rows = page.locator("#term-list tbody tr")
    before = rows.count()
    page.get_by_role("searchbox", name="Search the CTCAE terms").press_sequentially(
        "neutrophil"
    )  # htmx listens to keyup
    assert wait_until(page, lambda: 0 < rows.count() < before)
    assert "neutrophil" in page.inner_text("#term-list").lower()

    baseline = participant.visits.get(code="BL")
    page.goto(f"{live_server.url}/visits/{baseline.pk}/forms/sledai/")
    page.check("input[name=seizure_present]")
    page.select_option("select[name=seizure_attributable]", "true")
    page.wait_for_selector("#sledai-totals [data-total=sledai_2k]:has-text('8')")


def test_the_periodic_task_form_spells_out_the_chosen_schedule(page, live_server, sponsor_admin):
    # The beat pages are a superuser's (accounts.admin_site): the platform operator, not a sponsor admin.
    type(sponsor_admin).objects.filter(pk=sponsor_admin.pk).update(is_staff=True, is_superuser=True)
    crontab = CrontabSchedule.objects.create(minute="30", hour="2")
    task = PeriodicTask.objects.create(
        name="nightly", task="auditchain.tasks.verify_audit_trail", crontab=crontab
    )
    log_in(page, live_server, "sponsoradmin")
    page.goto(f"{live_server.url}/admin/django_celery_beat/periodictask/{task.pk}/change/")
    assert not page.locator(".field-crontab_translation").is_visible()
    page.select_option("#id_crontab", "")
    page.select_option("#id_crontab", str(crontab.pk))
    help_text = page.inner_text(".field-crontab .help")
    assert "Translation:" in help_text and "02:30" in help_text
