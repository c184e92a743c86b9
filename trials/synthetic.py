"""Synthetic participants at scale, for benchmarks: made-up people with the shapes of a real study.

:func:`plan_participant` draws one participant's whole history (screening, eligibility, enrollment,
lymphodepletion, Day 0, follow-up, end) and visit schedule from a random source, as plain values.
:func:`seed_synthetic` writes thousands of them with PostgreSQL ``COPY``: 10,000 participants and
their ~140,000 visits take seconds, and the pghistory triggers still write one audit event per row.
Nothing here disables a trigger or a constraint.
"""

import random
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.utils import timezone

from edc.audit import audited
from edc.errors import DomainError
from edc.localtime import site_today
from visits.models import Visit
from visits.schedule import window

from .models import Participant, ParticipantStatus, Site, Study
from .protocol import load_file, parse

S = ParticipantStatus

# More participants than this means the study already holds real or synthetic data (the demo has 12).
HANDFUL = 20
# Screening dates spread over the last three years: long enough for Month 24 completions.
RECRUITMENT_DAYS = 3 * 365
SYNTHETIC_SITE_TIMEZONE = "Asia/Shanghai"

LETTERS = "ABCDEFGHJKLMNPQRSTWXYZ"
SCREEN_FAILURE_REASONS = [
    "SLEDAI-2K below the inclusion threshold at screening",
    "eGFR below 30 mL/min/1.73 m²",
    "Positive hepatitis B DNA",
    "Uncontrolled active infection",
    "Withdrew consent before the eligibility assessment",
]
WITHDRAWAL_REASONS = [
    "Participant withdrew consent",
    "Moved away from the study site",
    "Investigator decision",
    "Lost to follow-up",
]
MISSED_REASONS = [
    "Participant unwell, could not travel",
    "Transport unavailable",
    "Participant forgot the appointment",
    "Clinic closed (public holiday)",
]
OPTIONAL_NOT_DONE = "Optional visit not done"
AFTER_END = "Participation ended before this visit"


@dataclass(frozen=True)
class SeedResult:
    participants: int
    enrolled: int
    visits: int
    sites: list[str]
    seconds: float


@dataclass(frozen=True)
class Definition:
    """What the planner needs of a VisitDefinition, as plain values."""

    pk: int
    code: str
    name: str
    target_day: int
    before: int
    after: int
    optional: bool


def study_from_settings() -> Study:
    """The study of ``settings.EDC_PROTOCOL_FILE``, loading the file only when it is not loaded yet."""
    path = Path(settings.EDC_PROTOCOL_FILE)
    nct_id = parse(path.read_text(encoding="utf-8"), str(path))["trial"]["nct_id"]
    study = Study.objects.filter(nct_id=nct_id).first()
    if study is None or study.current_protocol is None:
        study = load_file(path).study
    return study


def seed_synthetic(
    *, participants: int, sites: int = 2, append: bool = False, seed: int | None = None, now=None
) -> SeedResult:
    """Add ``participants`` synthetic participants to the settings' study, spread over ``sites`` sites.

    Refused outside demo mode, and when the study already holds more than a handful of participants
    unless ``append``. One transaction, audited as ``seed_synthetic``.
    """
    if not settings.DEMO_MODE:
        raise DomainError("Synthetic data are created in demo mode only (EDC_DEMO_MODE).")
    if participants < 1 or sites < 1:
        raise DomainError("Give at least one participant and one site.")
    study = study_from_settings()
    existing = Participant.objects.filter(site__study=study).count()
    if existing > HANDFUL and not append:
        raise DomainError(
            f"The study {study.code} already has {existing} participants; seeding again would mix "
            "batches. Use --append to add more anyway."
        )
    started = time.perf_counter()
    rng = random.Random(seed)
    now = now or timezone.now()
    with audited(user=None, action="seed_synthetic", reason="synthetic benchmark data"):
        _prepare_audit_triggers()
        chosen = _sites(study, sites)
        protocol = study.current_protocol
        definitions = [
            Definition(d.pk, d.code, d.name, d.target_day, d.window_before, d.window_after, d.optional)
            for d in protocol.visit_definitions.order_by("order")
        ]
        dose_levels = list(study.dose_levels.values_list("pk", flat=True))
        offset = study.settings.get("provisional_day0_after_enrollment", 7)
        numbers = {site.pk: _next_numbers(site) for site in chosen}
        ids = _reserve_ids(Participant, participants)
        people, visits = [], []
        for i, pk in enumerate(ids):
            site = chosen[i % len(chosen)]
            person, schedule = plan_participant(
                rng,
                today=site_today(site.timezone, now),
                definitions=definitions,
                dose_levels=dose_levels,
                provisional_offset=offset,
            )
            screening_next, study_next = numbers[site.pk]
            person.update(
                id=pk,
                site_id=site.pk,
                protocol_version_id=protocol.pk,
                screening_number=f"{site.code}-S{screening_next:03d}",
            )
            if person["enrollment_date"]:
                person["study_id"] = f"{site.code}-{study_next:03d}"
                study_next += 1
            numbers[site.pk] = (screening_next + 1, study_next)
            _stamp(person, site.timezone, now)
            people.append(person)
            for visit in schedule:
                visit["participant_id"] = pk
                _stamp(visit, site.timezone, now)
            visits.extend(schedule)
        _copy(Participant, people, with_pk=True)
        _copy(Visit, visits, with_pk=False)
    return SeedResult(
        participants=len(people),
        enrolled=sum(1 for p in people if p["study_id"]),
        visits=len(visits),
        sites=[site.code for site in chosen],
        seconds=time.perf_counter() - started,
    )


def plan_participant(
    rng: random.Random,
    *,
    today: date,
    definitions: list[Definition],
    dose_levels: list[int],
    provisional_offset: int = 7,
) -> tuple[dict, list[dict]]:
    """One made-up participant's record and visits (column values), as of ``today`` at their site.

    The path follows the status machine of ``trials.services``: screening, then a screen failure
    (a quarter) or enrollment; lymphodepletion five days before Day 0; infusion; follow-up from
    Day 28; completion after Month 24; a few withdrawals before and after the infusion.
    """
    screened = today - timedelta(days=rng.randrange(RECRUITMENT_DAYS))
    p = {
        "initials": "".join(rng.choice(LETTERS) for _ in range(2 if rng.random() < 0.75 else 3)),
        "sex": "F" if rng.random() < 0.9 else "M",  # SLE affects about nine women for one man
        "year_of_birth": screened.year - rng.randint(18, 70),
        "screening_date": screened,
        "status": S.SCREENING,
        "study_id": None,
        "consent_date": None,
        "eligibility_met": None,
        "eligibility_date": None,
        "enrollment_date": None,
        "dose_level_id": None,
        "planned_infusion_date": None,
        "lymphodepletion_start_date": None,
        "infusion_date": None,
        "end_date": None,
        "_steps": [screened],
    }
    # The screening visit exists from screening on, done that day (visits.services.create_screening_visit):
    # the screening forms of those never enrolled are entered at it.
    screening = _screening_visit(screened, definitions)
    if (today - screened).days < 2 and rng.random() < 0.3:
        return p, screening  # consent not recorded yet
    p.update(consent_date=screened, consent_version="1.0")
    p["_steps"].append(screened)
    assessed = screened + timedelta(days=rng.randint(2, 10))
    if assessed > today:
        return p, screening
    p["eligibility_date"] = assessed
    p["_steps"].append(assessed)
    if rng.random() < 0.25:
        reason = rng.choice(SCREEN_FAILURE_REASONS)
        p.update(
            eligibility_met=False,
            status=S.SCREEN_FAILED,
            screen_failure_reason=reason,
            end_date=assessed,
            end_reason=reason,
        )
        return p, screening
    p["eligibility_met"] = True
    enrolled = assessed + timedelta(days=rng.randint(0, 3))
    if enrolled > today:
        return p, screening  # eligible, enrollment pending
    planned = enrolled + timedelta(days=rng.randint(5, 12))
    infused = planned + timedelta(days=rng.choice((0, 0, 0, 0, 1, 2, 3)))
    lymphodepleted = infused - timedelta(days=5)
    p.update(
        status=S.ENROLLED,
        enrollment_date=enrolled,
        dose_level_id=rng.choice(dose_levels) if dose_levels else None,
        planned_infusion_date=planned if planned <= today or rng.random() < 0.7 else None,
    )
    p["_steps"].append(enrolled)
    end = None
    if rng.random() < 0.04:  # withdrawn between enrollment and lymphodepletion
        end = enrolled + timedelta(days=rng.randint(1, max(1, (lymphodepleted - enrolled).days - 1)))
    elif rng.random() < 0.10:  # withdrawn during follow-up
        end = infused + timedelta(days=rng.randint(29, 700))
    if lymphodepleted <= today and not (end and end < lymphodepleted):
        p.update(status=S.LYMPHODEPLETED, lymphodepletion_start_date=lymphodepleted)
        p["_steps"].append(lymphodepleted)
    if infused <= today and not (end and end < infused):
        p.update(status=S.INFUSED, infusion_date=infused, planned_infusion_date=planned)
        p["_steps"].append(infused)
        if infused + timedelta(days=28) <= today:
            p["status"] = S.IN_FOLLOW_UP
            p["_steps"].append(infused + timedelta(days=28))
    if end and end <= today:
        p.update(status=S.WITHDRAWN, end_date=end, end_reason=rng.choice(WITHDRAWAL_REASONS))
        p["_steps"].append(end)
    else:
        end = None
    visits = _plan_visits(rng, p, today=today, definitions=definitions, offset=provisional_offset, end=end)
    last = visits[-1] if visits else None
    if p["status"] == S.IN_FOLLOW_UP and last and (last["visit_date"] or last["missed"]):
        p.update(status=S.COMPLETED, end_date=last["visit_date"] or last["window_end"])
        p["_steps"].append(p["end_date"])
    return p, visits


def _screening_visit(screened: date, definitions: list[Definition]) -> list[dict]:
    """The screening visit as ``create_screening_visit`` records it: centred on the screening date."""
    first = definitions[0] if definitions else None
    if first is None or first.code != "SCR" or first.target_day >= 0:
        return []
    w = window(screened, 0, first.before, first.after)
    return [
        {
            "definition_id": first.pk,
            "code": first.code,
            "name": first.name,
            "sequence": 10,
            "target_day": first.target_day,
            "target_date": w.target,
            "window_start": w.start,
            "window_end": w.end,
            "provisional": True,
            "visit_date": screened,
            "missed": False,
            "not_applicable": False,
            "status_reason": "",
            "_steps": [screened],
        }
    ]


def _plan_visits(rng, p, *, today, definitions, offset, end) -> list[dict]:
    # Anchored like visits.services: the actual Day 0, else the planned one, else enrollment + offset.
    day0 = p["infusion_date"] or p["planned_infusion_date"] or p["enrollment_date"] + timedelta(days=offset)
    provisional = p["infusion_date"] is None
    visits = []
    for seq, d in enumerate(definitions, start=1):
        w = window(day0, d.target_day, d.before, d.after)
        v = {
            "definition_id": d.pk,
            "code": d.code,
            "name": d.name,
            "sequence": seq * 10,
            "target_day": d.target_day,
            "target_date": w.target,
            "window_start": w.start,
            "window_end": w.end,
            "provisional": provisional,
            "visit_date": None,
            "missed": False,
            "not_applicable": False,
            "status_reason": "",
            "_steps": [p["enrollment_date"]],
        }
        latest = min(today, end) if end else today
        if seq == 1 and d.code == "SCR" and d.target_day < 0:
            v["visit_date"] = p["screening_date"]  # as create_schedule records the screening visit
        elif end and w.target > end:
            v.update(not_applicable=True, status_reason=AFTER_END)
        elif d.optional and d.target_day < 0:  # lymphodepletion days: done when it took place
            if p["lymphodepletion_start_date"] and w.target <= latest:
                v["visit_date"] = w.target
        elif provisional and d.target_day >= 0:
            pass  # no Day 0 yet: nothing from Day 0 on can have happened
        elif d.before == d.after == 0 and d.target_day >= 0:
            if w.target <= latest:
                v["visit_date"] = w.target  # Day 0 and the inpatient days: the participant is admitted
        elif w.end < today:
            draw = rng.random()
            if d.optional:
                if draw < 0.5:
                    v["visit_date"] = min(w.target, latest)
                else:
                    v.update(not_applicable=True, status_reason=OPTIONAL_NOT_DONE)
            elif draw < 0.93:
                v["visit_date"] = min(w.target + timedelta(days=rng.randint(-d.before, d.after)), latest)
            elif draw < 0.97:
                v.update(missed=True, status_reason=rng.choice(MISSED_REASONS))
            # else: left pending, so it shows as overdue (data entry backlog)
        elif w.start <= today and rng.random() < 0.4:
            v["visit_date"] = w.start + timedelta(days=rng.randint(0, (latest - w.start).days))
        if seq > 1 and (v["visit_date"] or v["missed"] or v["not_applicable"]):
            marked = end if v["status_reason"] == AFTER_END else max(w.end, p["enrollment_date"])
            v["_steps"].append(v["visit_date"] or marked)
        visits.append(v)
    return visits


@lru_cache(maxsize=8192)
def _at(day: date, tz: str) -> datetime:
    """An office-hours instant on ``day`` at the site."""
    return datetime(day.year, day.month, day.day, 10, tzinfo=ZoneInfo(tz))


def _stamp(row: dict, tz: str, now: datetime):
    """Created at the first step, updated at the last; the version counts the saves in between."""
    steps = row.pop("_steps")
    row.update(
        created_at=min(_at(steps[0], tz), now), updated_at=min(_at(max(steps), tz), now), version=len(steps)
    )


def _prepare_audit_triggers():
    """Make the audit triggers cheap per row, skipping none of them.

    Each trigger first reads the ``pgtrigger.ignore`` setting; reading it undefined raises an error
    that the trigger catches in a subtransaction, and every such rollback walks all the deferred
    foreign-key checks queued so far in the transaction: a bulk insert becomes quadratic (10,000
    participants took three minutes). Defining the setting as an empty list (nothing is ignored)
    removes the error. Sent through Django's cursor, the statement also carries pghistory's context
    into this transaction, where the triggers of the COPY rows that follow read it.
    """
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL pgtrigger.ignore = '{}'")


def _sites(study: Study, count: int) -> list[Site]:
    """The protocol's sites in file order, then synthetic ones S03, S04, … as needed."""
    protocol_codes = [s["code"] for s in study.current_protocol.content["sites"]]
    codes = (protocol_codes + [f"S{k:02d}" for k in range(len(protocol_codes) + 1, count + 1)])[:count]
    existing = {s.code: s for s in Site.objects.select_for_update().filter(study=study)}
    sites = []
    for k, code in enumerate(codes, start=1):
        site = existing.get(code) or Site.objects.create(
            study=study,
            code=code,
            name=f"Synthetic site {k}",
            city="Synthetic city",
            country="China",
            timezone=SYNTHETIC_SITE_TIMEZONE,
        )
        sites.append(site)
    return sites


def _next_numbers(site: Site) -> tuple[int, int]:
    """Next screening number and next study number at ``site`` (``<site>-S<nnn>``, ``<site>-<nnn>``)."""
    rows = Participant.objects.filter(site=site).values_list("screening_number", "study_id")
    screening = [_number(s, f"{site.code}-S") for s, _ in rows]
    enrolled = [_number(s, f"{site.code}-") for _, s in rows]
    return max([len(rows), *screening]) + 1, max([0, *enrolled]) + 1


def _number(value: str | None, prefix: str) -> int:
    tail = value[len(prefix) :] if value and value.startswith(prefix) else ""
    return int(tail) if tail.isdigit() else 0


def _reserve_ids(model, count: int) -> list[int]:
    """Primary keys from the table's own sequence, so visits can point at participants before COPY."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [model._meta.db_table, model._meta.pk.column, count],
        )
        return [row[0] for row in cursor.fetchall()]


def _copy(model, rows: list[dict], *, with_pk: bool) -> int:
    """``COPY`` ``rows`` into the model's table; a column a row lacks gets the field's default."""
    fields = [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]
    columns = [f.column for f in fields]
    defaults = [f.get_default() for f in fields]
    quote = connection.ops.quote_name
    sql = f"COPY {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row([row.get(c, default) for c, default in zip(columns, defaults, strict=True)])
    return len(rows)
