"""``study_dashboard_p95_ms``: the study dashboard of a coordinator (one site of the 10,000 synthetic
participants of ``make bench``), with disease-activity data behind it.

``seed_synthetic`` creates participants and visits only, so the first run adds, by ``COPY``, what the
dashboard derives from at every visit that took place: SLEDAI, PGA and BILAG forms at screening,
baseline and the follow-up visits, and a medication log (prednisone taper, hydroxychloroquine,
mycophenolate stopped before lymphodepletion) per infused participant, following the demo profiles
of ``efficacy.demo``. Later runs reuse them.

The page is timed as ``edc.bench`` times every page (p95 over the repeated requests). The summary is
cached under a fingerprint of the data (``efficacy.dashboard``), so the timed requests are those of a
study whose data did not change in between; the first request after a change (the cache cold) is
measured apart and reported in the details (``cold_ms``).
"""

import time
from datetime import timedelta
from decimal import Decimal

# Django and the models are imported inside the functions: edc.bench imports this module before it
# configures Django.

SLEDAI_VISITS = ("SCR", "BL", "D28", "M3", "M6", "M9", "M12", "M18", "M24")


def _profile_row(profiles, profile, code):
    rows = profiles[profile]
    if code in rows:
        return rows[code]
    return rows[list(rows)[-1]]  # later visits repeat the profile's last state


def ensure_efficacy_data(study) -> dict:
    """Add the disease-activity forms and medication logs of the study's infused participants once."""
    from django.db import connection
    from django.utils import timezone

    from disease_activity.models import BilagAssessment, PhysicianGlobalAssessment, SledaiAssessment
    from edc.audit import audited
    from edc.clinical.response import BILAG_SYSTEMS
    from medications.models import Medication
    from trials.synthetic import _copy, _prepare_audit_triggers
    from visits.models import Visit

    from .demo import BASELINE_ACTIVE, BASELINE_BILAG, COMMON_MEDICATIONS, PROFILES, TAPERS

    counts = {
        "sledai": SledaiAssessment.objects.filter(participant__site__study=study).count(),
        "medications": Medication.objects.filter(participant__site__study=study).count(),
    }
    if counts["sledai"]:
        return counts
    started = time.perf_counter()
    now = timezone.now()
    profiles = list(PROFILES)
    visits = Visit.objects.filter(
        participant__site__study=study,
        participant__infusion_date__isnull=False,
        visit_date__isnull=False,
        code__in=SLEDAI_VISITS,
        entered_in_error=False,
    ).values_list("pk", "participant_id", "code", "visit_date", "participant__infusion_date")
    sledai, pga, bilag, meds, anchors = [], [], [], [], {}
    stamp = {"version": 1, "created_at": now, "updated_at": now, "status": "complete", "completed_at": now}
    for visit_id, participant_id, code, on, day0 in visits.iterator(chunk_size=5000):
        profile = profiles[participant_id % len(profiles)]
        if code in ("SCR", "BL"):
            present, score, grades = BASELINE_ACTIVE, "1.9", BASELINE_BILAG
            anchors.setdefault(participant_id, (visit_id, day0, on))
            if code == "BL":
                anchors[participant_id] = (visit_id, day0, on)
        else:
            present, score, grades = _profile_row(PROFILES, profile, code)
        base = {"participant_id": participant_id, "visit_id": visit_id, "assessed_on": on, **stamp}
        row = {**base, "look_back_days": 10, "sledai_2k": None, "clinical_sledai": None}
        for key in present:
            row |= {f"{key}_present": True, f"{key}_attributable": True, f"{key}_course": "persistent"}
        sledai.append(row)
        if score is None:
            pga.append({**base, "status": "in_progress", "completed_at": None})
        else:
            pga.append({**base, "pga": Decimal(score)})
        bilag.append({**base, **(dict.fromkeys(BILAG_SYSTEMS, "D") | grades)})
    for participant_id, (visit_id, day0, _on) in anchors.items():
        profile = profiles[participant_id % len(profiles)]
        entries = [(a, c, d, f, s, e, "") for a, c, d, f, s, e in COMMON_MEDICATIONS]
        entries.append(("hydroxychloroquine", "antimalarial", "200", "bid", -1500, None, ""))
        entries += [(a, "glucocorticoid", d, "qd", s, e, a) for a, d, s, e in TAPERS[profile]]
        for agent, drug_class, dose, frequency, start, stop, glucocorticoid in entries:
            meds.append(
                {
                    "participant_id": participant_id,
                    "visit_id": visit_id,
                    **stamp,
                    "agent": agent,
                    "drug_class": drug_class,
                    "glucocorticoid": glucocorticoid,
                    "dose": Decimal(dose),
                    "dose_unit": "mg",
                    "frequency": frequency,
                    "route": "oral",
                    "start_date": day0 + timedelta(days=start),
                    "stop_date": None if stop is None else day0 + timedelta(days=stop),
                    "ongoing": stop is None,
                    "period": "concomitant",
                    # prednisone: the equivalent is the dose itself (prednisone_equivalent/1)
                    "prednisone_equivalent_mg_day": Decimal(dose) if glucocorticoid else None,
                    "prednisone_rule_version": "prednisone_equivalent/1" if glucocorticoid else "",
                }
            )
    with audited(user=None, action="seed_synthetic", reason="synthetic benchmark data (efficacy)"):
        _prepare_audit_triggers()
        _copy(SledaiAssessment, sledai, with_pk=False)
        _copy(PhysicianGlobalAssessment, pga, with_pk=False)
        _copy(BilagAssessment, bilag, with_pk=False)
        _copy(Medication, meds, with_pk=False)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "sledai": len(sledai),
        "medications": len(meds),
        "seconds": round(time.perf_counter() - started, 1),
    }


def study_dashboard_p95_ms(bench):
    """p95 of the study dashboard (cache warm: the data unchanged), with the cold request in details."""
    from django.core.cache import cache
    from django.urls import reverse

    from edc.bench import Measured

    seeded = ensure_efficacy_data(bench.study)
    url = reverse("efficacy_study")
    cache.clear()
    started = time.perf_counter()
    response = bench.client.get(url)
    cold_ms = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}")
    timing = bench.page("study_dashboard", lambda: [url])
    return Measured(
        timing.p95_ms, {**timing.details(), "cold_ms": round(cold_ms, 1), "efficacy_data": seeded}
    )
