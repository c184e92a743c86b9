"""Demographics with the prior-treatment log, medical history and physical examination."""

from datetime import timedelta

import pytest
from django.urls import reverse

from crfs.demo import demographics_data
from crfs.models import Demographics, FormStatus, MedicalHistory, PhysicalExam, PriorTreatment
from crfs.registry import FORMS
from crfs.services import save_form
from edc.errors import DomainError
from tests.crfs.checking import assert_check

DEMOGRAPHICS, MEDICAL_HISTORY, PHYSICAL_EXAM = (
    FORMS["demographics"],
    FORMS["medical_history"],
    FORMS["physical_exam"],
)


@pytest.fixture
def demographics_base(consented):
    return demographics_data(consented, consented.consent_date)


def save_demographics(user, visit, data, **kwargs):
    return save_form(user=user, spec=DEMOGRAPHICS, visit=visit, data=data, **kwargs)


# --- Demographics and the prior-treatment log -------------------------------------------------------


def test_demographics_with_prior_treatments_completes(coordinator, screening_visit, demographics_base):
    obj = save_demographics(coordinator, screening_visit, demographics_base, complete=True)
    assert obj.status == FormStatus.COMPLETE
    assert [t.agent for t in obj.rows("prior_treatments")] == [
        "mycophenolate",
        "tacrolimus",
        "hydroxychloroquine",
    ]


def test_a_prior_treatment_without_its_reason_stopped_keeps_the_form_from_completing(
    coordinator, screening_visit, demographics_base
):
    demographics_base["prior_treatments"][0]["reason_stopped"] = ""
    with pytest.raises(DomainError, match="prior"):
        save_demographics(coordinator, screening_visit, demographics_base, complete=True)
    assert not Demographics.objects.exists() and not PriorTreatment.objects.exists()


def test_changing_a_prior_treatment_after_complete_needs_a_reason(
    coordinator, screening_visit, demographics_base
):
    obj = save_demographics(coordinator, screening_visit, demographics_base, complete=True)
    rows = obj.rows("prior_treatments")
    changed = [
        {
            "id": rows[0].pk,
            "remove": False,
            **{k: getattr(rows[0], k) for k in ("agent", "start_date", "stop_date")},
            "dose": "1.5 g twice daily",
            "reason_stopped": "inefficacy",
        },
    ]
    with pytest.raises(DomainError) as error:
        save_demographics(
            coordinator, screening_visit, {**demographics_base, "prior_treatments": changed}, instance=obj
        )
    assert error.value.field == "reason"
    save_demographics(
        coordinator,
        screening_visit,
        {**demographics_base, "prior_treatments": changed},
        instance=obj,
        reason="dose from the pharmacy record",
    )
    assert PriorTreatment.objects.get(pk=rows[0].pk).dose == "1.5 g twice daily"


def test_a_removed_prior_treatment_is_kept_as_entered_in_error_with_the_reason(
    coordinator, screening_visit, demographics_base
):
    obj = save_demographics(coordinator, screening_visit, demographics_base, complete=True)
    first = obj.rows("prior_treatments")[0]
    save_demographics(
        coordinator,
        screening_visit,
        {**demographics_base, "prior_treatments": [{"id": first.pk, "remove": True}]},
        instance=obj,
        reason="duplicate row",
    )
    first.refresh_from_db()
    assert first.entered_in_error and first.entered_in_error_reason == "duplicate row"
    assert len(Demographics.objects.get().rows("prior_treatments")) == 2


def test_the_prior_treatment_table_is_entered_on_the_page(client, coordinator, screening_visit, consented):
    on = consented.consent_date
    data = {
        "assessed_on": on.isoformat(),
        "sex": "F",
        "year_of_birth": "1985",
        "prior_treatments-TOTAL_FORMS": "2",
        "prior_treatments-INITIAL_FORMS": "0",
        "prior_treatments-0-agent": "azathioprine",
        "prior_treatments-0-start_date": (on - timedelta(days=400)).isoformat(),
        "prior_treatments-0-stop_date": (on - timedelta(days=200)).isoformat(),
        "prior_treatments-0-reason_stopped": "inefficacy",
        "draft": "1",
    }
    client.force_login(coordinator)
    url = reverse("form_entry", args=[screening_visit.pk, "demographics"])
    assert client.post(url, data).status_code == 302
    assert PriorTreatment.objects.get().agent == "azathioprine"
    page = client.get(url).content.decode()
    assert "Prior SLE treatments" in page and 'value="azathioprine" selected' in page


def test_a_row_without_its_agent_is_refused_on_the_page(client, coordinator, screening_visit):
    data = {
        "prior_treatments-TOTAL_FORMS": "1",
        "prior_treatments-INITIAL_FORMS": "0",
        "prior_treatments-0-dose": "10 mg",
        "draft": "1",
    }
    client.force_login(coordinator)
    response = client.post(reverse("form_entry", args=[screening_visit.pk, "demographics"]), data)
    assert response.status_code == 400 and "Prior SLE treatments" in response.content.decode()
    assert not Demographics.objects.exists()


def test_the_form_history_shows_prior_treatment_changes(
    client, coordinator, screening_visit, demographics_base
):
    obj = save_demographics(coordinator, screening_visit, demographics_base, complete=True)
    row = obj.rows("prior_treatments")[0]
    save_demographics(
        coordinator,
        screening_visit,
        {
            **demographics_base,
            "prior_treatments": [{"id": row.pk, "remove": False, "agent": "cyclophosphamide"}],
        },
        instance=obj,
        reason="agent misread",
    )
    client.force_login(coordinator)
    body = client.get(reverse("form_history", args=["demographics", obj.pk])).content.decode()
    assert "agent misread" in body and "cyclophosphamide" in body and "mycophenolate" in body


def years(n, on):
    return on - timedelta(days=365 * n)


@pytest.mark.parametrize(
    ("check_id", "firing", "quiet"),
    [
        ("DM-SEX", {"sex": "M"}, {"sex": "F"}),
        ("DM-YEAR-OF-BIRTH", {"year_of_birth": 1986}, {"year_of_birth": 1985}),
        ("DM-DIAGNOSIS-FUTURE", {"diagnosis_date": "future"}, {}),
        ("DM-DIAGNOSIS-BEFORE-BIRTH", {"diagnosis_date": "1984-12-31"}, {"diagnosis_date": "1985-01-01"}),
        (
            "DM-TREATMENT-STOP-BEFORE-START",
            {"prior_treatments": [{"agent": "azathioprine", "start_date": -100, "stop_date": -101}]},
            {
                "prior_treatments": [
                    {
                        "agent": "azathioprine",
                        "start_date": -100,
                        "stop_date": -100,
                        "reason_stopped": "other",
                    }
                ]
            },
        ),
        (
            "DM-TREATMENT-FUTURE",
            {"prior_treatments": [{"agent": "azathioprine", "start_date": "future"}]},
            {"prior_treatments": [{"agent": "azathioprine", "start_date": -1, "reason_stopped": "ongoing"}]},
        ),
        (
            "DM-TREATMENT-ONGOING-STOPPED",
            {
                "prior_treatments": [
                    {
                        "agent": "azathioprine",
                        "start_date": -300,
                        "stop_date": -3,
                        "reason_stopped": "ongoing",
                    }
                ]
            },
            {
                "prior_treatments": [
                    {"agent": "azathioprine", "start_date": -300, "reason_stopped": "ongoing"}
                ]
            },
        ),
        (
            "DM-TREATMENT-STOPPED-NO-DATE",
            {
                "prior_treatments": [
                    {"agent": "azathioprine", "start_date": -300, "reason_stopped": "intolerance"}
                ]
            },
            {
                "prior_treatments": [
                    {
                        "agent": "azathioprine",
                        "start_date": -300,
                        "stop_date": -3,
                        "reason_stopped": "intolerance",
                    }
                ]
            },
        ),
        (
            "DM-TREATMENT-OTHER-UNNAMED",
            {"prior_treatments": [{"agent": "other", "start_date": -300, "reason_stopped": "ongoing"}]},
            {
                "prior_treatments": [
                    {
                        "agent": "other",
                        "agent_other": "Obinutuzumab",
                        "start_date": -300,
                        "reason_stopped": "ongoing",
                    }
                ]
            },
        ),
        ("DM-ANA-ENTRY", {"eular_acr_ana": False}, {"eular_acr_ana": True}),
        ("DM-NEPHRITIS-NOT-RENAL", {"organ_renal": False}, {"organ_renal": False, "nephritis_class": "none"}),
    ],
)
def test_demographics_edit_check_fires_and_not(
    coordinator, screening_visit, demographics_base, today, check_id, firing, quiet
):
    on = screening_visit.participant.consent_date

    def resolve(value):
        if value == "future":
            return today + timedelta(days=1)
        if isinstance(value, int) and not isinstance(value, bool) and value <= 0:
            return on + timedelta(days=value)
        if isinstance(value, str) and value[:2] in ("19", "20") and len(value) == 10:
            from datetime import date

            return date.fromisoformat(value)
        return value

    def resolved(values):
        out = {}
        for key, value in values.items():
            if key == "prior_treatments":
                value = [
                    {
                        "agent_other": "",
                        "stop_date": None,
                        "reason_stopped": "",
                        "dose": "",
                        **{k: resolve(v) for k, v in row.items()},
                    }
                    for row in value
                ]
            elif key != "year_of_birth":
                value = resolve(value)
            out[key] = value
        return out

    if "prior_treatments" in firing:
        demographics_base["prior_treatments"] = []
    assert_check(
        coordinator,
        "demographics",
        screening_visit,
        demographics_base,
        check_id,
        resolved(firing),
        resolved(quiet),
    )


# --- Medical history ---------------------------------------------------------------------------------


def condition(**values):
    return {"condition": "Hypertension", "start_date": None, "ongoing": False, "end_date": None, **values}


def test_medical_history_needs_its_conditions_when_answered_yes(coordinator, screening_visit, consented):
    on = consented.consent_date
    with pytest.raises(DomainError, match="conditions"):
        save_form(
            user=coordinator,
            spec=MEDICAL_HISTORY,
            visit=screening_visit,
            data={"assessed_on": on, "any_condition": "yes"},
            complete=True,
        )
    obj = save_form(
        user=coordinator,
        spec=MEDICAL_HISTORY,
        visit=screening_visit,
        data={
            "assessed_on": on,
            "any_condition": "yes",
            "conditions": [condition(start_date=on - timedelta(days=900), ongoing=True)],
        },
        complete=True,
    )
    assert obj.status == FormStatus.COMPLETE and obj.rows("conditions")[0].condition == "Hypertension"
    assert MedicalHistory.objects.count() == 1


@pytest.mark.parametrize(
    ("check_id", "firing", "quiet"),
    [
        (
            "MH-END-BEFORE-START",
            [condition(start_date=-10, end_date=-11)],
            [condition(start_date=-10, end_date=-10)],
        ),
        (
            "MH-FUTURE",
            [condition(start_date="future", ongoing=True)],
            [condition(start_date=0, ongoing=True)],
        ),
        (
            "MH-BEFORE-BIRTH",
            [condition(start_date="1984-06-01", ongoing=True)],
            [condition(start_date="1985-06-01", ongoing=True)],
        ),
        (
            "MH-ONGOING-ENDED",
            [condition(start_date=-30, ongoing=True, end_date=-1)],
            [condition(start_date=-30, ongoing=True)],
        ),
        ("MH-NOT-ONGOING-NO-END", [condition(start_date=-30)], [condition(start_date=-30, end_date=-2)]),
    ],
)
def test_medical_history_edit_check_fires_and_not(
    coordinator, screening_visit, today, check_id, firing, quiet
):
    from datetime import date

    on = screening_visit.participant.consent_date

    def rows(conditions):
        out = []
        for row in conditions:
            row = dict(row)
            for key in ("start_date", "end_date"):
                value = row[key]
                if value == "future":
                    row[key] = today + timedelta(days=1)
                elif isinstance(value, int):
                    row[key] = on + timedelta(days=value)
                elif isinstance(value, str):
                    row[key] = date.fromisoformat(value)
            out.append(row)
        return out

    base = {"assessed_on": on, "any_condition": "yes"}
    assert_check(
        coordinator,
        "medical_history",
        screening_visit,
        base,
        check_id,
        {"conditions": rows(firing)},
        {"conditions": rows(quiet)},
    )


def test_no_medical_history_with_conditions_listed_is_refused(coordinator, screening_visit, consented):
    on = consented.consent_date
    base = {"assessed_on": on, "conditions": [condition(start_date=on, ongoing=True)]}
    assert_check(
        coordinator,
        "medical_history",
        screening_visit,
        base,
        "MH-NO-CONDITIONS-BUT-ROWS",
        {"any_condition": "no"},
        {"any_condition": "yes"},
    )


# --- Physical examination ---------------------------------------------------------------------------


@pytest.fixture
def exam_base(consented):
    data = {"assessed_on": consented.consent_date}
    for system in PhysicalExam.SYSTEMS:
        data[system], data[f"{system}_findings"] = "normal", ""
    return data


def test_an_abnormal_system_needs_its_findings_to_complete(coordinator, screening_visit, exam_base):
    exam_base["skin"] = "abnormal"
    with pytest.raises(DomainError, match="skin and mucosa: findings"):
        save_form(user=coordinator, spec=PHYSICAL_EXAM, visit=screening_visit, data=exam_base, complete=True)
    exam_base["skin_findings"] = "Malar rash"
    obj = save_form(
        user=coordinator, spec=PHYSICAL_EXAM, visit=screening_visit, data=exam_base, complete=True
    )
    assert obj.status == FormStatus.COMPLETE


@pytest.mark.parametrize("system", PhysicalExam.SYSTEMS)
def test_findings_on_a_system_not_marked_abnormal_are_refused(
    coordinator, screening_visit, exam_base, system
):
    check_id = f"PE-{system.upper().replace('_', '-')}-FINDINGS"
    assert_check(
        coordinator,
        "physical_exam",
        screening_visit,
        exam_base,
        check_id,
        {f"{system}_findings": "Oral ulcer"},
        {system: "abnormal", f"{system}_findings": "Oral ulcer"},
    )


@pytest.mark.parametrize("system", PhysicalExam.SYSTEMS)
def test_a_system_not_examined_opens_a_query(coordinator, screening_visit, exam_base, system):
    check_id = f"PE-{system.upper().replace('_', '-')}-NOT-DONE"
    assert_check(
        coordinator,
        "physical_exam",
        screening_visit,
        exam_base,
        check_id,
        {system: "not_done"},
        {system: "normal"},
    )
