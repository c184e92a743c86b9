"""Helpers of the export tests: a small study with forms, child rows and free text, and zip readers."""

import csv
import io
import json
import zipfile
from datetime import timedelta
from decimal import Decimal

from crfs.registry import FORMS
from crfs.services import save_form
from exports import services
from exports.options import ExportOptions
from tests.conftest import make_participant, today_at
from visits.services import record_visit


def infused_participant(coordinator, site, *, initials="QX", days_ago=40):
    today = today_at(site)
    p = make_participant(
        coordinator,
        site,
        screened=today - timedelta(days=days_ago),
        infused=today - timedelta(days=days_ago - 30),
        initials=initials,
    )
    visit = record_visit(
        user=coordinator, visit=p.visits.get(code="D1"), visit_date=p.infusion_date + timedelta(days=1)
    )
    save_form(
        user=coordinator,
        spec=FORMS["vital_signs"],
        visit=visit,
        data={
            "assessed_on": p.infusion_date + timedelta(days=1),
            "weight_kg": Decimal("61.5"),
            "height_cm": Decimal("160.0"),
            "heart_rate": 80,
        },
    )
    return p


def run(user, study, **options) -> "services.ExportJob":
    options.setdefault("formats", ("csv",))
    job = services.request_export(
        user=user, options=ExportOptions(study_id=study.pk, **options), enqueue=False
    )
    return services.run_export(job_id=job.pk)


def read_zip(job) -> dict[str, bytes]:
    with zipfile.ZipFile(job.zip_path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rows(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def manifest(job) -> dict:
    return json.loads(read_zip(job)["manifest.json"])


def history_in_english(jobs):
    """``services.job_history`` as an English page shows it (the labels are in the active language)."""
    from django.utils import translation

    with translation.override("en"):
        return services.job_history(jobs)
