"""The medications of a visit are rows of one table, added and removed in the page (issue 16).

Each row is an entry of the log saved through the CRF service: edit checks, a reason for change on a
complete entry or a removal, locks, its own version; a removed row is kept, entered in error.
"""

from datetime import timedelta

from django.urls import reverse
from pghistory.models import Events

from medications.models import Medication
from monitoring.locks import lock
from monitoring.models import LockScope
from tests.conftest import today_at

FIELDS = ("agent", "drug_class", "start_date", "stop_date", "ongoing", "period", "dose", "dose_unit")


def url(visit):
    return reverse("form_entry", args=[visit.pk, "medications"])


def row(**values):
    return {"drug_class": "other", "period": "concomitant", "ongoing": "on", **values}


def page_data(visit, new=(), stored=(), button="draft", **extra):
    """The page as the browser posts it: the stored rows first (with id and version), then new ones."""
    rows = [
        {
            "id": str(m.pk),
            "expected_version": str(m.version),
            "agent": m.agent,
            "drug_class": m.drug_class,
            "start_date": m.start_shown,
            "stop_date": m.stop_date.isoformat() if m.stop_date else "",
            "ongoing": "on" if m.ongoing else "",
            "period": m.period,
            **changes,
        }
        for m, changes in stored
    ] + list(new)
    data = {
        "medications-TOTAL_FORMS": str(len(rows)),
        "medications-INITIAL_FORMS": str(len(stored)),
        button: "1",
        **extra,
    }
    for index, values in enumerate(rows):
        for key, value in values.items():
            if value not in ("", None):
                data[f"medications-{index}-{key}"] = value
    return data


def test_several_medications_are_saved_from_one_page(client, coordinator, baseline, site_yc):
    client.force_login(coordinator)
    today = today_at(site_yc)
    new = [
        row(agent="Hydroxychloroquine", start_date="2019-03"),
        row(agent="Paracetamol", start_date=(today - timedelta(days=2)).isoformat()),
        row(agent="Omeprazole", start_date=(today - timedelta(days=30)).isoformat()),
    ]
    response = client.post(url(baseline), page_data(baseline, new))
    assert response.status_code == 302, response.content.decode()[response.content.decode().find("<main") :][
        :6000
    ]
    saved = Medication.objects.filter(visit=baseline).order_by("pk")
    assert [m.agent for m in saved] == ["Hydroxychloroquine", "Paracetamol", "Omeprazole"]
    assert all(m.version == 1 and m.status == "in_progress" for m in saved)
    assert saved[0].start_shown == "2019-03"
    page = client.get(url(baseline)).content.decode()
    assert 'name="medications-2-agent"' in page and 'value="Omeprazole"' in page


def test_save_and_mark_complete_completes_every_row(client, coordinator, baseline, site_yc, save):
    client.force_login(coordinator)
    start = (today_at(site_yc) - timedelta(days=2)).isoformat()
    draft = save("medications", baseline, agent="Aspirin", drug_class="other", period="concomitant")
    data = page_data(
        baseline,
        [row(agent="Paracetamol", start_date=start)],
        [(draft, {"start_date": start, "ongoing": "on"})],
        "complete",
    )
    response = client.post(url(baseline), data)
    assert response.status_code == 302, response.content.decode()[response.content.decode().find("<main") :][
        :6000
    ]
    assert set(Medication.objects.values_list("status", flat=True)) == {"complete"}


def test_an_unchanged_row_gets_no_new_version(client, coordinator, baseline, save, site_yc):
    client.force_login(coordinator)
    kept = save(
        "medications", baseline, agent="Aspirin", drug_class="other", period="concomitant", ongoing=True
    )
    start = (today_at(site_yc) - timedelta(days=1)).isoformat()
    client.post(
        url(baseline), page_data(baseline, [row(agent="Paracetamol", start_date=start)], [(kept, {})])
    )
    kept.refresh_from_db()
    assert kept.version == 1 and Medication.objects.count() == 2


def test_a_removed_row_is_kept_entered_in_error_with_the_reason_in_the_audit_trail(
    client, coordinator, baseline, save
):
    client.force_login(coordinator)
    kept = save(
        "medications", baseline, agent="Aspirin", drug_class="other", period="concomitant", ongoing=True
    )
    gone = save(
        "medications", baseline, agent="Asprin", drug_class="other", period="concomitant", ongoing=True
    )
    data = page_data(
        baseline, stored=[(kept, {}), (gone, {"DELETE": "on"})], reason="Duplicate entry, misspelt"
    )
    response = client.post(url(baseline), data)
    assert response.status_code == 302, response.content.decode()[response.content.decode().find("<main") :][
        :6000
    ]
    gone.refresh_from_db()
    assert Medication.objects.filter(pk=gone.pk).exists()  # never deleted
    assert gone.entered_in_error and gone.entered_in_error_reason == "Duplicate entry, misspelt"
    last = Events.objects.tracks(gone).order_by("-pgh_created_at", "-pgh_id").first()
    assert last.pgh_diff["entered_in_error"] == [False, True]
    assert last.pgh_context["reason"] == "Duplicate entry, misspelt"
    assert last.pgh_context["username"] == coordinator.username
    page = client.get(url(baseline)).content.decode()
    assert 'value="Asprin"' not in page and 'value="Aspirin"' in page


def test_removing_a_row_needs_a_reason(client, coordinator, baseline, save):
    client.force_login(coordinator)
    gone = save(
        "medications", baseline, agent="Asprin", drug_class="other", period="concomitant", ongoing=True
    )
    response = client.post(url(baseline), page_data(baseline, stored=[(gone, {"DELETE": "on"})]))
    assert response.status_code == 400
    assert "give a reason for change" in response.content.decode()
    gone.refresh_from_db()
    assert not gone.entered_in_error


def test_a_change_to_a_complete_row_needs_a_reason_and_is_audited_with_it(
    client, coordinator, baseline, save, site_yc
):
    client.force_login(coordinator)
    start = today_at(site_yc) - timedelta(days=3)
    done = save(
        "medications",
        baseline,
        agent="Aspirin",
        drug_class="other",
        period="concomitant",
        ongoing=True,
        start_date=start,
        complete=True,
    )
    changed = [(done, {"agent": "Aspirin 100 mg"})]
    refused = client.post(url(baseline), page_data(baseline, stored=changed))
    assert refused.status_code == 400 and "give a reason for the change" in refused.content.decode()
    response = client.post(
        url(baseline), page_data(baseline, stored=changed, reason="Strength from the label")
    )
    assert response.status_code == 302, response.content.decode()[response.content.decode().find("<main") :][
        :6000
    ]
    done.refresh_from_db()
    assert (done.agent, done.version) == ("Aspirin 100 mg", 2)
    last = Events.objects.tracks(done).order_by("-pgh_created_at", "-pgh_id").first()
    assert last.pgh_context["reason"] == "Strength from the label"


def test_every_row_problem_is_shown_at_once_in_the_summary(client, coordinator, baseline, site_yc):
    client.force_login(coordinator)
    today = today_at(site_yc)
    new = [
        row(
            agent="Aspirin",
            start_date=today.isoformat(),
            stop_date=(today - timedelta(days=3)).isoformat(),
            ongoing="",
        ),
        row(agent="Prednisone", dose="1e", dose_unit="mg"),  # unreadable
        row(agent="Paracetamol", start_date=(today + timedelta(days=5)).isoformat()),  # in the future
        row(agent="Omeprazole", start_date=(today - timedelta(days=5)).isoformat()),  # fine
    ]
    response = client.post(url(baseline), page_data(baseline, new))
    assert response.status_code == 400
    body = response.content.decode()
    summary = body[body.index('id="error-summary"') : body.index("</div>", body.index('id="error-summary"'))]
    assert "The stop date cannot be before the start date." in summary
    assert "Enter a number." in summary
    assert "The start date cannot be in the future." in summary
    assert (
        'href="#id_medications-0-stop_date"' in summary and 'href="#id_medications-2-start_date"' in summary
    )
    assert not Medication.objects.exists()


def test_the_problems_of_several_readable_rows_come_back_together(client, coordinator, baseline, site_yc):
    """All rows readable: the service refuses them together, each problem on its row, and saves none."""
    client.force_login(coordinator)
    today = today_at(site_yc)
    new = [
        row(agent="Omeprazole", start_date=(today - timedelta(days=5)).isoformat()),
        row(agent="Aspirin", start_date=today.isoformat(), ongoing="on", stop_date=today.isoformat()),
        row(
            agent="Prednisone",
            drug_class="glucocorticoid",
            glucocorticoid="prednisone",
            dose="-5",
            dose_unit="mg",
        ),
    ]
    response = client.post(url(baseline), page_data(baseline, new, button="complete"))
    assert response.status_code == 400
    body = response.content.decode()
    assert "A medication with a stop date is not ongoing." in body
    assert "The dose cannot be negative." in body
    assert 'href="#id_medications-1-ongoing"' in body and 'href="#id_medications-2-dose"' in body
    assert not Medication.objects.exists()  # the fine first row is not saved alone


def test_a_locked_entry_refuses_the_page_and_nothing_is_saved(
    client, coordinator, data_manager, baseline, save, site_yc
):
    client.force_login(coordinator)
    held = save(
        "medications", baseline, agent="Aspirin", drug_class="other", period="concomitant", ongoing=True
    )
    lock(user=data_manager, scope=LockScope.FORM, target=held, reason="Interim analysis cut")
    start = (today_at(site_yc) - timedelta(days=1)).isoformat()
    data = page_data(
        baseline,
        [row(agent="Paracetamol", start_date=start)],
        [(held, {"agent": "Aspirin 81 mg"})],
        reason="label",
    )
    response = client.post(url(baseline), data)
    assert response.status_code == 400
    assert "Interim analysis cut" in response.content.decode()
    held.refresh_from_db()
    assert held.agent == "Aspirin" and Medication.objects.count() == 1


def test_a_row_changed_by_someone_else_since_the_page_opened_is_refused(client, coordinator, baseline, save):
    client.force_login(coordinator)
    entry = save(
        "medications", baseline, agent="Aspirin", drug_class="other", period="concomitant", ongoing=True
    )
    stale = page_data(baseline, stored=[(entry, {"agent": "Aspirin 81 mg"})])
    save("medications", baseline, entry, agent="Aspirin 100 mg")  # a colleague, meanwhile
    response = client.post(url(baseline), stale)
    assert response.status_code == 400
    assert "Someone else changed this entry" in response.content.decode()
    entry.refresh_from_db()
    assert entry.agent == "Aspirin 100 mg"


def test_hostile_text_in_a_row_is_stored_as_typed_and_shown_escaped(client, coordinator, baseline, site_yc):
    client.force_login(coordinator)
    hostile = '<script>alert("x")</script>"><img src=x onerror=alert(1)>'
    start = (today_at(site_yc) - timedelta(days=1)).isoformat()
    response = client.post(url(baseline), page_data(baseline, [row(agent=hostile[:100], start_date=start)]))
    assert response.status_code == 302, response.content.decode()[response.content.decode().find("<main") :][
        :6000
    ]
    assert Medication.objects.get().agent == hostile[:100]
    page = client.get(url(baseline)).content.decode()
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_another_sites_visit_answers_404_and_a_monitor_cannot_save(client, monitor, coordinator_cd, baseline):
    client.force_login(coordinator_cd)
    assert client.get(url(baseline)).status_code == 404
    client.force_login(monitor)
    page = client.get(url(baseline))
    assert page.status_code == 200 and b"Save draft" not in page.content
    assert client.post(url(baseline), page_data(baseline, [row(agent="Aspirin")])).status_code == 403
    assert not Medication.objects.exists()


def test_the_page_is_translated(client, coordinator, baseline):
    client.force_login(coordinator)
    assert client.post(reverse("preferences"), {"language": "zh-hans"}).status_code == 302
    body = client.get(url(baseline)).content.decode()
    assert "在此访视记录的用药" in body and "添加一行" in body
