from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from crfs.registry import FORMS
from notifications.kinds import FORMS_MISSING
from tests.conftest import make_participant, today_at
from visits.services import record_visit


def noon_at(site, day):
    return datetime.combine(day, time(12), tzinfo=ZoneInfo(site.timezone))


def test_a_visit_with_forms_missing_5_days_later_is_due_once_with_the_missing_forms(coordinator, site_yc):
    today = today_at(site_yc)
    p = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=20), planned=today + timedelta(days=3)
    )
    baseline = p.visits.get(code="BL")
    record_visit(user=coordinator, visit=baseline, visit_date=today - timedelta(days=10))
    visit_day = today - timedelta(days=10)
    study = site_yc.study
    assert not FORMS_MISSING.find_due(study, noon_at(site_yc, visit_day + timedelta(days=4))).exists()
    due = list(FORMS_MISSING.find_due(study, noon_at(site_yc, visit_day + timedelta(days=5))))
    assert [v.pk for v in due] == [baseline.pk]
    described = FORMS_MISSING.describe(due[0])
    assert described.object_key == f"forms_missing:{baseline.pk}"
    assert "Vital signs" in described.context["missing_forms"]


def test_a_visit_whose_forms_are_all_complete_is_not_due(coordinator, site_yc):
    today = today_at(site_yc)
    p = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=20), planned=today + timedelta(days=3)
    )
    ld = p.visits.get(code="LD-4")  # expects only the (single) lymphodepletion form
    visit_day = today - timedelta(days=6)
    record_visit(user=coordinator, visit=ld, visit_date=visit_day)
    now = noon_at(site_yc, visit_day + timedelta(days=5))
    assert ld.pk in {v.pk for v in FORMS_MISSING.find_due(site_yc.study, now)}
    codes = [c for c in ld.definition.forms if c in FORMS and not FORMS[c].repeating]
    assert codes == ["lymphodepletion"]
    from crfs.models import FormStatus

    spec = FORMS["lymphodepletion"]
    spec.model.objects.bulk_create([spec.model(participant=p, visit=ld, status=FormStatus.COMPLETE)])
    assert ld.pk not in {v.pk for v in FORMS_MISSING.find_due(site_yc.study, now)}
