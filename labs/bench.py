"""``lab_import_rows_per_second``: a 10,000-observation FHIR bundle uploaded, previewed and imported.

The bundle holds the haematology and chemistry results (14 analytes) of the benchmark site's past
laboratory visits without a panel entered yet, one observation per analyte and visit, dated on each
visit's target day, until 10,000 observations; the coordinator of the benchmark uploads it (read,
preview) and imports it (every row new: 10,000 values written through ``create_panels`` with ranges,
grades, automatic queries and audit records, as ``save_panel`` writes them). All inside one
transaction rolled back once timed, so every run measures the same database. (A value differing from
one entered is saved alone, with the reason naming its row: slower, and rare in a file of new results.)
"""

import json
import random
import time

# Django and the models are imported inside the functions: edc.bench imports this module before it
# configures Django.

OBSERVATIONS = 10_000
SEED = 18
# (LOINC, unit, low, high): values around the normal ranges, some beyond them (flags, grades, queries).
RESULTS = [
    ("6690-2", "10*9/L", 2.0, 12.0),
    ("751-8", "10*9/L", 0.4, 8.0),
    ("731-0", "10*9/L", 0.2, 3.5),
    ("718-7", "g/dL", 8.0, 16.0),
    ("777-3", "10*9/L", 40, 400),
    ("2160-0", "mg/dL", 0.5, 1.6),
    ("1742-6", "U/L", 10, 150),
    ("1920-8", "U/L", 10, 150),
    ("1975-2", "mg/dL", 0.3, 2.0),
    ("1751-7", "g/L", 30, 50),
    ("2532-0", "U/L", 120, 400),
    ("14933-6", "umol/L", 200, 500),
    ("2951-2", "mmol/L", 132, 146),
    ("2823-3", "mmol/L", 3.2, 5.4),
]


def bundle_for(site, observations: int = OBSERVATIONS, seed: int = SEED) -> tuple[bytes, int]:
    """A FHIR bundle of ``observations`` results at ``site``'s past laboratory visits; (bytes, visits)."""
    from datetime import datetime
    from datetime import time as clock
    from zoneinfo import ZoneInfo

    from edc.localtime import site_today
    from labs.models import LabPanel
    from visits.models import Visit

    rng = random.Random(seed)
    tz = ZoneInfo(site.timezone)
    today = site_today(site.timezone)
    visits = (
        Visit.objects.filter(
            participant__site=site,
            participant__entered_in_error=False,
            participant__consent_date__isnull=False,
            entered_in_error=False,
            missed=False,
            not_applicable=False,
            unscheduled=False,
            target_date__lt=today,
            definition__forms__contains=["labs"],
        )
        # Samples not typed in yet (what a laboratory file brings): the synthetic case report forms
        # hold panels at most past visits, whose values would each become a change of its own.
        .exclude(pk__in=LabPanel.objects.filter(entered_in_error=False).values("visit_id"))
        .select_related("participant")
        .order_by("participant_id", "sequence")
    )
    entries, used, days = [], 0, set()
    for visit in visits.iterator(chunk_size=2000):
        participant = visit.participant
        # One sample per participant and day: two visits on one day (Baseline, LD-5) share the sample.
        if visit.target_date < participant.consent_date or (participant.pk, visit.target_date) in days:
            continue
        days.add((participant.pk, visit.target_date))
        when = datetime.combine(visit.target_date, clock(8, 0), tzinfo=tz).isoformat()
        used += 1
        for loinc, unit, low, high in RESULTS:
            value = round(rng.uniform(low, high), 2)
            oid = f"bench-{visit.pk}-{loinc}"
            entries.append(
                {
                    "resource": {
                        "resourceType": "Observation",
                        "id": oid,
                        "status": "final",
                        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
                        "subject": {
                            "identifier": {"value": participant.study_id or participant.screening_number}
                        },
                        "effectiveDateTime": when,
                        "valueQuantity": {
                            "value": value,
                            "unit": unit,
                            "system": "http://unitsofmeasure.org",
                            "code": unit,
                        },
                    }
                }
            )
            if len(entries) == observations:
                return json.dumps(
                    {"resourceType": "Bundle", "type": "collection", "entry": entries}
                ).encode(), used
    raise RuntimeError(f"the benchmark site has laboratory visits for {len(entries)} observations only")


def lab_import_rows_per_second(bench, observations: int = OBSERVATIONS):
    from django.db import transaction

    from edc.bench import Measured
    from labs.importing import commit_import, upload_file
    from labs.models import LabResult
    from labs.reference_data import DEFAULT_FILE, load_file

    with transaction.atomic():
        load_file(DEFAULT_FILE)  # idempotent: the ranges the results are interpreted against
        content, visits = bundle_for(bench.site, observations)
        before = LabResult.objects.count()
        started = time.perf_counter()
        lab_import = upload_file(
            user=bench.coordinator,
            site=bench.site,
            file_name="bench.json",
            content=content,
            file_format="fhir",
        )
        previewed = time.perf_counter()
        lab_import = commit_import(user=bench.coordinator, lab_import=lab_import)
        finished = time.perf_counter()
        written = LabResult.objects.count() - before
        transaction.set_rollback(True)
    seconds = finished - started
    return Measured(
        observations / seconds,
        {
            "observations": observations,
            "visits": visits,
            "preview_seconds": round(previewed - started, 2),
            "import_seconds": round(finished - previewed, 2),
            "values_written": written,
            "counts": lab_import.counts,
        },
    )
