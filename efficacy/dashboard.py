"""What the two dashboards show, assembled from ``efficacy.endpoints`` and the participant's records.

The study summary is plain data (numbers and strings) so that it can be cached: it is stored in
Django's cache (Redis) under a key made of the user's sites, the date and ``data_version()``, a
fingerprint of every table it is derived from. Any save of a form, a visit, a medication or a
participant changes the fingerprint, so a stale summary is never read (it expires on its own).
"""

import hashlib
import statistics
from collections import defaultdict
from datetime import date, timedelta

from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from edc.clinical import compute
from edc.localtime import site_today

from . import endpoints
from .endpoints import FLAGS

ENDPOINT_LABELS = {
    "sri_4": "SRI-4",
    "doris": "DORIS 2021",
    "drug_free_doris_antimalarial_allowed": gettext_lazy("drug-free DORIS (antimalarial allowed)"),
    "drug_free_doris_strict": gettext_lazy("drug-free DORIS (strict)"),
    "lldas": "LLDAS",
}
# Tables the study summary derives from (their rows carry version and updated_at).
VERSIONED_TABLES = (
    "trials_participant",
    "visits_visit",
    "disease_activity_sledaiassessment",
    "disease_activity_physicianglobalassessment",
    "disease_activity_bilagassessment",
    "medications_medication",
)
SWIMMER_LIMIT = 100
CACHE_SECONDS = 3600


def data_version() -> str:
    """A fingerprint of the data behind the study summary, in one query: rows, the sum of their
    versions (every save bumps it) and the latest change of each table, and the protocol loaded."""
    parts = [
        f"(SELECT count(*)::text || ':' || coalesce(sum(version), 0)::text || ':' || "
        f"coalesce(max(updated_at)::text, '') FROM {table})"
        for table in VERSIONED_TABLES
    ]
    parts.append("(SELECT coalesce(max(id), 0)::text FROM trials_protocolversion)")
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + " || '|' || ".join(parts))
        return hashlib.sha256(cursor.fetchone()[0].encode()).hexdigest()[:24]


def _key(site_ids, today: date) -> str:
    sites = ",".join(str(s) for s in sorted(site_ids))
    return f"efficacy:study:{hashlib.sha256(sites.encode()).hexdigest()[:16]}:{today}:{data_version()}"


def summary_key(site_ids, now=None) -> str:
    """The cache key of the summary of ``site_ids`` as the data are now (one query)."""
    return _key(site_ids, (now or timezone.now()).date())


def study_summary(participants, *, site_ids, dose_levels, sites, now=None, key=None) -> dict:
    """The summary of ``participants`` (a user's, already site-scoped), from the cache when the data
    have not changed since it was computed."""
    now = now or timezone.now()
    key = key or summary_key(site_ids, now)
    summary = cache.get(key)
    if summary is None:
        study = sites[0].study if sites else None
        columns = visit_columns(study) if study else []
        summary = compute_summary(
            participants, dose_levels=dose_levels, sites=sites, now=now, columns=columns
        )
        cache.set(key, summary, CACHE_SECONDS)
    # The cached summary holds no translated text: labels are the reader's language.
    groups = [(g, _("Overall") if g == "all" else label) for g, label in summary["groups"]]
    return {**summary, "groups": groups}


def _interval(n, total) -> dict:
    if not total:
        return {"n": n, "N": 0, "p": None, "lower": None, "upper": None}
    result = compute("wilson_interval", {"successes": n, "total": total})
    return {"n": n, "N": total, "p": result["proportion"], "lower": result["lower"], "upper": result["upper"]}


def visit_columns(study) -> list[tuple[str, int]]:
    """(code, target day) of the scheduled follow-up visits with a SLEDAI form, in order."""
    protocol = study.current_protocol
    if protocol is None:
        return []
    return [
        (d.code, d.target_day)
        for d in protocol.visit_definitions.order_by("order")
        if d.target_day > 0 and "sledai" in (d.forms or [])
    ]


def compute_summary(participants, *, dose_levels, sites, now=None, columns=None) -> dict:
    participants = list(participants)
    enrolled = [(p.site_id, p.enrollment_date) for p in participants if p.enrollment_date]
    participants = [p for p in participants if p.infusion_date is not None]
    results = endpoints.for_participants(participants, now=now, maintenance=False)
    if columns is None:
        study = participants[0].site.study if participants else None
        columns = visit_columns(study) if study else []
    codes = [code for code, _day in columns]
    groups = [("all", "all")] + [(str(level.pk), level.code) for level in dose_levels]

    counts = {flag: {g: {c: [0, 0, 0] for c in codes} for g, _l in groups} for flag in FLAGS}
    changes = {g: {c: [] for c in codes} for g, _l in groups}
    treated = dict.fromkeys((g for g, _l in groups), 0)
    swimmer = []
    for result in results:
        p = result.participant
        keys = ["all"] + ([str(p.dose_level_id)] if p.dose_level_id else [])
        for g in keys:
            if g in treated:
                treated[g] += 1
        base = result.baseline["sledai_2k"]
        lanes = []
        for row in result.follow_up:
            if row.code not in codes:
                continue
            for flag in FLAGS:
                value = row.flag(flag)
                for g in keys:
                    if g not in counts[flag]:
                        continue
                    cell = counts[flag][g][row.code]
                    if value is None:
                        cell[2] += 1
                    else:
                        cell[1] += 1
                        cell[0] += int(value)
            sledai = row.values.get("sledai_2k")
            if sledai is not None and sledai.evaluable and base.evaluable:
                for g in keys:
                    if g in changes:
                        changes[g][row.code].append(sledai.value - base.value)
            lanes.append(
                (row.study_day if row.study_day is not None else row.target_day, row.code, state_of(row))
            )
        swimmer.append(
            {
                "label": str(p),
                "dose_level": p.dose_level.code if p.dose_level_id else "",
                "last_day": max([0, *(day for day, _c, _s in lanes)]),
                "marks": lanes,
            }
        )

    proportions = {
        flag: {
            g: {
                c: {**_interval(cell[0], cell[1]), "not_evaluable": cell[2]}
                for c, cell in counts[flag][g].items()
            }
            for g, _l in groups
        }
        for flag in FLAGS
    }
    change = {
        g: {
            c: {
                "n": len(values),
                "mean": round(statistics.fmean(values), 2) if values else None,
                "sd": round(statistics.stdev(values), 2) if len(values) > 1 else None,
            }
            for c, values in changes[g].items()
        }
        for g, _l in groups
    }
    swimmer.sort(key=lambda row: (-row["last_day"], row["label"]))
    return {
        "columns": columns,
        "groups": groups,
        "treated": treated,
        "proportions": proportions,
        "sledai_change": change,
        "swimmer": swimmer[:SWIMMER_LIMIT],
        "swimmer_total": len(swimmer),
        "enrollment": enrollment_by_site(enrolled, sites),
        "n_enrolled": len(enrolled),
        "n_infused": len(participants),
    }


STATE_ORDER = ("drug_free_doris_strict", "drug_free_doris_antimalarial_allowed", "doris", "lldas")


def state_of(row) -> str:
    """The best state met at a visit: drug-free DORIS, DORIS, LLDAS, none, or not evaluable."""
    for state in STATE_ORDER:
        if row.flag(state):
            return state
    if any(row.flag(state) is None for state in STATE_ORDER):
        return "not_evaluable"
    return "none"


def enrollment_by_site(rows, sites) -> dict:
    """Cumulative enrollment per site at the end of each month: ``rows`` are (site id, enrollment date)."""
    dates = [d for _s, d in rows if d is not None]
    if not dates:
        return {"months": [], "sites": [], "rows": []}
    first, last = min(dates).replace(day=1), max(dates).replace(day=1)
    months = []
    month = first
    while month <= last:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    by_site = defaultdict(list)
    for site_id, d in rows:
        if d is not None:
            by_site[site_id].append(d)
    series = []
    for site in sites:
        enrolled = sorted(by_site.get(site.pk, []))
        cumulative = [sum(1 for d in enrolled if (d.year, d.month) <= (m.year, m.month)) for m in months]
        series.append({"code": site.code, "counts": cumulative})
    labels = [m.strftime("%Y-%m") for m in months]
    rows = [(label, [site["counts"][i] for site in series]) for i, label in enumerate(labels)]
    return {"months": labels, "sites": series, "rows": rows}


def today_for(participant) -> date:
    return site_today(participant.site.timezone)


# --- one participant ---------------------------------------------------------------------------------

LAB_SERIES = {
    # analyte -> plot
    "c3": "complement",
    "c4": "complement",
    "anti_dsdna": "anti_dsdna",
    "cd19": "cd19",
    "car_transgene": "car_t",
    "car_cells": "car_t",
    "igg": "igg",
}
AE_TIMELINE_FIRST = ("cytokine_release_syndrome", "icans")


def participant_dashboard(participant, *, now=None) -> dict:
    """Everything the participant dashboard plots, in a fixed number of queries."""
    from django.db.models import Max, Q

    from adverse_events.models import AdverseEvent
    from labs.models import LabResult

    now = now or timezone.now()
    today = site_today(participant.site.timezone, now)
    inputs = endpoints.load([participant], now=now)
    result = endpoints.derive(participant, inputs)
    anchor = participant.infusion_date or participant.day0 or participant.screening_date

    def day(on: date) -> int:
        return (on - anchor).days

    labs = defaultdict(list)
    results = (
        LabResult.objects.filter(
            panel__participant=participant,
            panel__entered_in_error=False,
            analyte__in=list(LAB_SERIES),
            not_done=False,
            standard_value__isnull=False,
        )
        .select_related("panel")
        .order_by("collected_at", "pk")
    )
    tz = participant.site.timezone
    for r in results:
        collected = r.collected_at or r.panel.collected_at
        if collected is None:
            continue
        on = site_today(tz, collected)
        labs[r.analyte].append(
            {"day": day(on), "date": on, "value": float(r.standard_value), "unit": r.standard_unit}
        )

    events = (
        AdverseEvent.objects.filter(participant=participant, entered_in_error=False)
        .annotate(max_grade=Max("grades__grade", filter=Q(grades__entered_in_error=False)))
        .order_by("onset_date", "number")
    )
    adverse_events = [
        {
            "number": e.number,
            "term": e.term,
            "label": e.term_label,
            "onset": e.onset_date,
            "resolution": e.resolution_date,
            "start_day": day(e.onset_date),
            "end_day": day(e.resolution_date or today),
            "ongoing": e.resolution_date is None,
            "grade": e.max_grade,
            "crs_icans": e.term in AE_TIMELINE_FIRST,
        }
        for e in events
    ]
    adverse_events.sort(key=lambda e: (not e["crs_icans"], e["onset"], e["number"]))

    return {
        "endpoints": result,
        "anchor": anchor,
        "today_day": day(today),
        "visits": [
            {
                "code": v.code,
                "name": endpoints.shown_visit_name(v),
                "status": v.status,
                "date": v.visit_date,
                "day": day(v.visit_date) if v.visit_date else v.target_day,
                "target_day": v.target_day,
            }
            for v in inputs.visits.get(participant.pk, [])
        ],
        "labs": dict(labs),
        "adverse_events": adverse_events,
        "prednisone": prednisone_series(
            inputs.medications.get(participant.pk, []), anchor, today, since=participant.screening_date
        ),
    }


def prednisone_series(meds, anchor: date, today: date, *, since: date) -> list[dict]:
    """The SLE maintenance prednisone-equivalent dose at every date it changes (as DORIS and LLDAS
    read it), from screening (``since``) to today."""
    starts = [m.start_date for m in meds if m.start_date]
    if not starts:
        return []
    first = max(min(starts), since)
    changes = {first, today}
    for m in meds:
        if m.start_date:
            changes.add(m.start_date)
        if m.stop_date:
            changes.add(m.stop_date + timedelta(days=1))
    points = []
    for on in sorted(d for d in changes if first <= d <= today):
        state = endpoints.medication_state(meds, on)
        value = None if state.prednisone_mg_day is None else float(state.prednisone_mg_day)
        points.append({"day": (on - anchor).days, "date": on, "value": value, "why": state.why})
    return points
