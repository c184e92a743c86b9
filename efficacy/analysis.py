"""The efficacy analysis dataset (ADaM-style, one row per participant and visit, wide flags).

``rows(participants)`` yields the baseline visit and every due follow-up visit with a SLEDAI form in
the protocol (``efficacy.endpoints``), with the values exactly as the dashboards show them and the
rule version of each. Flags are ``Y``/``N``; an empty flag is "not evaluable" and ``NEREASON`` says
why. Variable names have at most 8 characters and labels at most 40 (SAS transport limits).
"""

from collections.abc import Iterator

from . import endpoints

# (name, label, type): "Char" or "Num".
COLUMNS = [
    ("STUDYID", "Study Identifier", "Char"),
    ("USUBJID", "Unique Subject Identifier", "Char"),
    ("SITEID", "Study Site Identifier", "Char"),
    ("DOSELVL", "Dose Level", "Char"),
    ("AVISIT", "Analysis Visit", "Char"),
    ("AVISITN", "Analysis Visit (N): Target Study Day", "Num"),
    ("ADT", "Analysis Date", "Char"),
    ("ADY", "Analysis Relative Day (Day 0 = infusion)", "Num"),
    ("ABLFL", "Baseline Record Flag", "Char"),
    ("EVALFL", "All Endpoints Evaluable Flag", "Char"),
    ("NEREASON", "Reason Not Evaluable", "Char"),
    ("SLEDAI", "SLEDAI-2K", "Num"),
    ("CSLEDAI", "Clinical SLEDAI (no serology)", "Num"),
    ("SELENA", "SELENA-SLEDAI", "Num"),
    ("BSLEDAI", "Baseline SLEDAI-2K", "Num"),
    ("CHG", "Change in SLEDAI-2K from Baseline", "Num"),
    ("PGA", "Physician Global Assessment (0-3)", "Num"),
    ("BILAG", "BILAG-2004 Grades (9 systems, in order)", "Char"),
    ("PREDEQ", "Prednisone Equivalent (mg/day)", "Num"),
    ("SRI4FL", "SRI-4 Responder Flag", "Char"),
    ("DORISFL", "DORIS 2021 Remission Flag", "Char"),
    ("DFDAMFL", "Drug-free DORIS (Antimalarial OK) Flag", "Char"),
    ("DFDSTFL", "Drug-free DORIS (Strict) Flag", "Char"),
    ("LLDASFL", "LLDAS Flag", "Char"),
    ("LLDFADY", "LLDAS First Attainment Day (to Visit)", "Num"),
    ("LLDLRDY", "LLDAS Longest Run Days (to Visit)", "Num"),
    ("LLDCRDY", "LLDAS Current Run Days at Visit", "Num"),
    ("DORFADY", "DORIS First Attainment Day (to Visit)", "Num"),
    ("DORLRDY", "DORIS Longest Run Days (to Visit)", "Num"),
    ("DORCRDY", "DORIS Current Run Days at Visit", "Num"),
    ("DFDFADY", "Drug-free DORIS First Day (to Visit)", "Num"),
    ("DFDLRDY", "Drug-free DORIS Longest Run (to Visit)", "Num"),
    ("DFDCRDY", "Drug-free DORIS Current Run at Visit", "Num"),
    ("SLEDRV", "SLEDAI-2K Rule Version", "Char"),
    ("SRI4RV", "SRI-4 Rule Version", "Char"),
    ("DORISRV", "DORIS Rule Version", "Char"),
    ("LLDASRV", "LLDAS Rule Version", "Char"),
    ("MAINTRV", "Maintenance Rule Version", "Char"),
    ("ASMRV", "Endpoint Assembly Rule Version", "Char"),
]
NAMES = [name for name, _label, _type in COLUMNS]
FLAG_COLUMNS = {
    "SRI4FL": "sri_4",
    "DORISFL": "doris",
    "DFDAMFL": "drug_free_doris_antimalarial_allowed",
    "DFDSTFL": "drug_free_doris_strict",
    "LLDASFL": "lldas",
}
MAINTENANCE_COLUMNS = {
    "LLD": "lldas",
    "DOR": "doris",
    "DFD": "drug_free_doris_antimalarial_allowed",
}
BATCH = 500


def _yn(value):
    return "" if value is None else ("Y" if value else "N")


def _value(derived):
    if derived is None or not derived.evaluable or derived.value is None:
        return None
    value = derived.value
    return float(value) if not isinstance(value, (int, str, bool)) else value


def rows(participants) -> Iterator[dict]:
    """One dict per participant and visit (keys ``NAMES``), participants read in batches of 500."""
    for _participant, row in rows_with_participant(participants):
        yield row


def rows_with_participant(participants) -> Iterator[tuple]:
    """(participant, row) pairs of ``rows``: the export de-identifies each row with its participant."""
    queryset = participants.select_related("site__study", "dose_level").order_by("site__code", "pk")
    batch = []
    for participant in queryset.iterator(chunk_size=BATCH):
        batch.append(participant)
        if len(batch) == BATCH:
            yield from _rows(batch)
            batch = []
    if batch:
        yield from _rows(batch)


def _rows(participants) -> Iterator[tuple]:
    for result in endpoints.for_participants(participants):
        p = result.participant
        base = result.baseline.get("sledai_2k")
        for row in result.rows:
            values = row.values
            reasons = sorted({d.why for d in values.values() if not d.evaluable and d.why})
            sledai = _value(values.get("sledai_2k"))
            record = {
                "STUDYID": p.site.study.code,
                "USUBJID": f"{p.site.study.code}-{p.screening_number}",
                "SITEID": p.site.code,
                "DOSELVL": p.dose_level.code if p.dose_level_id else "",
                "AVISIT": row.code,
                "AVISITN": row.target_day,
                "ADT": row.on.isoformat() if row.on else "",
                "ADY": p.study_day(row.on) if row.on else None,
                "ABLFL": "Y" if row.baseline else "",
                "EVALFL": "N" if reasons else "Y",
                "NEREASON": "; ".join(reasons)[:200],
                "SLEDAI": sledai,
                "CSLEDAI": _value(values.get("clinical_sledai")),
                "SELENA": _value(values.get("selena_sledai")),
                "BSLEDAI": _value(base),
                "CHG": None if sledai is None or _value(base) is None else sledai - base.value,
                "PGA": _value(values.get("pga")),
                "BILAG": _value(values.get("bilag")) or "",
                "PREDEQ": _value(values.get("prednisone")),
                "SLEDRV": values["sledai_2k"].rule_version if "sledai_2k" in values else "",
                "SRI4RV": "",
                "DORISRV": "",
                "LLDASRV": "",
                "MAINTRV": "",
                "ASMRV": endpoints.RULES_VERSION,
            }
            for column, flag in FLAG_COLUMNS.items():
                record[column] = "" if row.baseline else _yn(row.flag(flag))
            if not row.baseline:
                record["SRI4RV"] = values["sri_4"].rule_version
                record["DORISRV"] = values["doris"].rule_version
                record["LLDASRV"] = values["lldas"].rule_version
            for prefix, state in MAINTENANCE_COLUMNS.items():
                run = row.maintenance.get(state) or {}
                record[f"{prefix}FADY"] = run.get("first_attainment_day")
                record[f"{prefix}LRDY"] = run.get("longest_run_days")
                start = run.get("final_run_start_day")
                record[f"{prefix}CRDY"] = None if start is None else (row.study_day or 0) - start
                if run:
                    record["MAINTRV"] = run.get("rule_version", "")
            yield p, {name: record.get(name) for name in NAMES}
