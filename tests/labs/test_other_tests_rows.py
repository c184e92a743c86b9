"""A panel's "other tests" (tests its table does not list) are rows added and removed in the page (issue 16).

They are child rows of the panel saved by the panel's service: edit checks, a reason for change on a
complete panel, the panel's lock and version; a removed row is kept, entered in error.
"""

from django.urls import reverse
from pghistory.models import Events

from labs.models import LabPanel, OtherLabTest
from monitoring.locks import lock
from monitoring.models import LockScope
from tests.labs.test_lab_pages import haematology_form, new_panel_url


def with_rows(data, rows, stored=()):
    """``data`` with the "other tests" table: the stored rows first (with their id), then new ones."""
    data = {
        **data,
        "other_tests-TOTAL_FORMS": str(len(stored) + len(rows)),
        "other_tests-INITIAL_FORMS": str(len(stored)),
    }
    every = [
        {"id": str(t.pk), "test": t.test, "value": t.value, "unit": t.unit, **changes}
        for t, changes in stored
    ]
    for index, values in enumerate([*every, *rows]):
        for key, value in values.items():
            if value not in ("", None):
                data[f"other_tests-{index}-{key}"] = str(value)
    return data


GGT = {"test": "GGT", "value": "35", "unit": "U/L", "lln": "7", "uln": "45"}
RETIC = {"test": "Reticulocytes", "value": "1.2", "unit": "%", "lln": "0.5", "uln": "2.5"}
COOMBS = {"test": "Direct Coombs", "result": "negative"}


def panel_url(panel):
    return reverse("lab_panel", args=[panel.visit_id, panel.pk])


def test_several_other_tests_are_saved_with_the_panel(client, coordinator, baseline):
    client.force_login(coordinator)
    data = with_rows(haematology_form(baseline, hb=("128", "g/L")), [GGT, RETIC, COOMBS])
    response = client.post(new_panel_url(baseline), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    panel = LabPanel.objects.get(visit=baseline)
    saved = list(panel.other_tests.order_by("pk"))
    assert [(t.test, t.unit, t.result) for t in saved] == [
        ("GGT", "U/L", ""),
        ("Reticulocytes", "%", ""),
        ("Direct Coombs", "", "negative"),
    ]
    listing = client.get(reverse("lab_panels", args=[baseline.pk])).content.decode()
    assert "Reticulocytes" in listing and "Direct Coombs" in listing
    page = client.get(panel_url(panel)).content.decode()
    assert 'name="other_tests-2-test"' in page and 'data-formset="other_tests"' in page


def test_a_removed_other_test_is_kept_entered_in_error_with_the_reason(client, coordinator, baseline):
    client.force_login(coordinator)
    client.post(
        new_panel_url(baseline),
        with_rows(haematology_form(baseline, "complete", hb=("128", "g/L")) | not_done_rest(), [GGT, RETIC]),
    )
    panel = LabPanel.objects.get(visit=baseline)
    assert panel.status == "complete"
    ggt, retic = panel.other_tests.order_by("pk")
    data = with_rows(
        {
            **haematology_form(baseline, hb=("128", "g/L")),
            **not_done_rest(),
            "expected_version": panel.version,
        },
        [],
        [(ggt, {}), (retic, {"DELETE": "on"})],
    )
    refused = client.post(panel_url(panel), data)
    assert refused.status_code == 400 and "give a reason for the change" in refused.content.decode()
    response = client.post(panel_url(panel), {**data, "reason": "Reported with the wrong sample"})
    assert response.status_code == 302, response.content.decode()[:3000]
    retic.refresh_from_db()
    assert OtherLabTest.objects.filter(pk=retic.pk).exists()  # never deleted
    assert retic.entered_in_error and retic.entered_in_error_reason == "Reported with the wrong sample"
    last = Events.objects.tracks(retic).order_by("-pgh_created_at", "-pgh_id").first()
    assert last.pgh_diff["entered_in_error"] == [False, True]
    assert last.pgh_context["reason"] == "Reported with the wrong sample"
    history = client.get(reverse("lab_panel_history", args=[panel.pk])).content.decode()
    assert "Reticulocytes" in history and "Reported with the wrong sample" in history
    listing = client.get(reverse("lab_panels", args=[baseline.pk])).content.decode()
    assert "GGT" in listing and "Reticulocytes" not in listing


def not_done_rest():
    return {f"r-{code}-not_done": "on" for code in ("wbc", "anc", "alc", "platelets")}


def test_a_row_error_shows_together_with_the_other_problems(client, coordinator, baseline):
    client.force_login(coordinator)
    rows = [
        {"test": "GGT", "value": "3x5", "unit": "U/L"},  # unreadable
        {"test": "Glucose", "value": "5.1"},  # no unit
        {"value": "4"},  # no test named
    ]
    data = with_rows(haematology_form(baseline, hb=("-5", "g/L")), rows)
    response = client.post(new_panel_url(baseline), data)
    assert response.status_code == 400
    body = response.content.decode()
    summary = body[body.index('id="error-summary"') : body.index("</div>", body.index('id="error-summary"'))]
    assert "Enter a number." in summary and 'href="#id_other_tests-0-value"' in summary
    assert "This field is required." in summary and 'href="#id_other_tests-2-test"' in summary
    assert "A laboratory value cannot be negative." in summary  # the panel table's row, at the same time
    assert "Other tests: a value needs its unit" in summary  # the edit check of the readable rows
    assert not LabPanel.objects.exists()


def test_the_edit_checks_of_the_rows_refuse_together(client, coordinator, baseline):
    client.force_login(coordinator)
    rows = [
        {"test": "Haemoglobin", "value": "120", "unit": "g/L"},  # a test of the table
        {"test": "GGT", "value": "35", "unit": "U/L", "lln": "50", "uln": "10"},
        {"test": "ggt ", "not_done": "on", "result": "pending"},
    ]
    response = client.post(new_panel_url(baseline), with_rows(haematology_form(baseline), rows))
    assert response.status_code == 400
    body = response.content.decode()
    for message in (
        "a test of the panel&#x27;s table is listed again",
        "a lower limit is above its upper limit",
        "the same test is listed twice",
        "a test marked not done has a value or a result",
    ):
        assert message in body, message
    assert not LabPanel.objects.exists()


def test_completing_the_panel_needs_every_other_test_answered(client, coordinator, baseline):
    client.force_login(coordinator)
    form = haematology_form(baseline, "complete", hb=("128", "g/L")) | not_done_rest()
    response = client.post(new_panel_url(baseline), with_rows(form, [{"test": "GGT", "unit": "U/L"}]))
    assert response.status_code == 400 and "fill in: other tests" in response.content.decode()


def test_a_locked_panel_refuses_a_new_other_test(client, coordinator, data_manager, baseline):
    client.force_login(coordinator)
    client.post(new_panel_url(baseline), haematology_form(baseline, hb=("128", "g/L")))
    panel = LabPanel.objects.get(visit=baseline)
    lock(user=data_manager, scope=LockScope.FORM, target=panel, reason="Interim analysis cut")
    data = with_rows(
        {**haematology_form(baseline, hb=("128", "g/L")), "expected_version": panel.version}, [GGT]
    )
    response = client.post(panel_url(panel), data)
    assert response.status_code == 400 and "Interim analysis cut" in response.content.decode()
    assert not OtherLabTest.objects.exists()


def test_hostile_text_in_an_other_test_is_shown_escaped(client, coordinator, baseline):
    client.force_login(coordinator)
    hostile = "<script>alert(1)</script>"
    data = with_rows(
        haematology_form(baseline), [{"test": hostile, "result": '"><img src=x onerror=alert(2)>'}]
    )
    assert client.post(new_panel_url(baseline), data).status_code == 302
    for url in (reverse("lab_panels", args=[baseline.pk]), panel_url(LabPanel.objects.get())):
        page = client.get(url).content.decode()
        assert "<script>alert(1)" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
