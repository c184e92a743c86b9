"""``lab_import_rows_per_second`` measures a real import: every observation of its bundle is new and
written, and nothing stays behind (the measure runs in a transaction rolled back)."""

from datetime import timedelta
from types import SimpleNamespace

from labs.bench import lab_import_rows_per_second
from labs.models import LabImport, LabResult
from tests.conftest import make_participant, today_at


def test_the_metric_imports_every_observation_and_rolls_back(coordinator, site_yc, study):
    today = today_at(site_yc)
    for initials in ("AA", "BB"):
        make_participant(
            coordinator,
            site_yc,
            initials=initials,
            screened=today - timedelta(days=30),
            infused=today - timedelta(days=12),
        )
    bench = SimpleNamespace(study=study, site=site_yc, coordinator=coordinator)
    measured = lab_import_rows_per_second(bench, observations=56)
    assert measured.value > 0, measured.details
    assert measured.details["values_written"] == 56, measured.details
    assert measured.details["counts"]["new"] == 56 and measured.details["visits"] == 4
    assert not LabResult.objects.exists() and not LabImport.objects.exists()
