"""Safety reads that depend on who is asking: every queryset is limited to the user's sites
(``accounts.permissions.site_ids``), and every page runs a fixed number of queries whatever the number
of events.
"""

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Max, Q
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.permissions import site_ids
from edc.clinical import CalculatorInputError, compute
from edc.localtime import site_time, site_today
from trials.models import DoseLevel, Participant, Study

from . import ctcae_terms
from .grading import Episode, episodes
from .models import (
    RELATED,
    AdverseEvent,
    CrsAssessment,
    DltAdjudication,
    GvhdAssessment,
    IcansAssessment,
    LabAdverseEventPrompt,
    LabPromptAnswer,
    SaeReport,
)
from .services import dlt_window, lab_prompt_min_grade

# The primary endpoint: CAR-T-related AEs within 3 months of infusion (Day 0 to the M3 visit, day 90).
PRIMARY_ENDPOINT_LAST_DAY = 90
LIVE_GRADES = Q(grades__entered_in_error=False)


def adverse_events_for(user):
    return (
        AdverseEvent.objects.filter(
            participant__site_id__in=site_ids(user), participant__entered_in_error=False
        )
        .select_related("participant__site", "participant__dose_level")
        .annotate(max_grade=Max("grades__grade", filter=LIVE_GRADES))
    )


def adverse_event_for(user, pk) -> AdverseEvent:
    return get_object_or_404(adverse_events_for(user).select_related("participant__site__study"), pk=pk)


def history_records(event: AdverseEvent) -> list:
    """What an adverse event's audit trail covers: the event, its grades, its SAE report and follow-ups,
    its DLT adjudication and IEC-HS record."""
    records = [event, *event.grades.all()]
    report = getattr(event, "sae_report", None)
    if report is not None:
        records += [report, *report.follow_ups.all()]
    for related in ("dlt_adjudication", "iec_hs"):
        if getattr(event, related, None) is not None:
            records.append(getattr(event, related))
    return records


# Laboratory adverse-event prompts ----------------------------------------------------------------------


def lab_prompt_for(user, pk) -> LabAdverseEventPrompt:
    """The prompt, or 404 when its participant is not at one of the user's sites."""
    return get_object_or_404(
        LabAdverseEventPrompt.objects.filter(participant__site_id__in=site_ids(user)).select_related(
            "participant__site__study", "lab_result__panel", "adverse_event", "answered_by"
        ),
        pk=pk,
    )


def _shown_prompts(study):
    """Answered prompts, and pending ones whose result (still live) is graded at the threshold or above."""
    return (
        LabAdverseEventPrompt.objects.filter(lab_result__panel__entered_in_error=False)
        .filter(
            ~Q(answer=LabPromptAnswer.PENDING) | Q(lab_result__ctcae_grade__gte=lab_prompt_min_grade(study))
        )
        .select_related("lab_result__panel", "adverse_event", "answered_by")
    )


def lab_prompts_of(participant: Participant) -> list[LabAdverseEventPrompt]:
    """The participant's prompts (one query), oldest collection first."""
    return list(
        _shown_prompts(participant.site.study)
        .filter(participant=participant)
        .order_by("lab_result__collected_at", "pk")
    )


def lab_prompts_by_result(results, study) -> dict[int, LabAdverseEventPrompt]:
    """``{lab result id: prompt}`` for the given results (one query)."""
    ids = [r.pk for r in results]
    if not ids:
        return {}
    return {p.lab_result_id: p for p in _shown_prompts(study).filter(lab_result_id__in=ids)}


# SAE reports -------------------------------------------------------------------------------------------


class SaeStatus:
    DUE = "due"
    OVERDUE = "overdue"
    SUBMITTED = "submitted"
    SUBMITTED_LATE = "submitted_late"

    LABELS = {
        DUE: _("Initial report due"),
        OVERDUE: _("Overdue"),
        SUBMITTED: _("Submitted"),
        SUBMITTED_LATE: _("Submitted late"),
    }


def sae_status(report: SaeReport, now=None) -> str:
    """The one definition of an SAE report's status, for pages, exports and reminders alike."""
    now = now or timezone.now()
    if report.signed_at is not None:
        return SaeStatus.SUBMITTED_LATE if report.signed_at > report.due_at else SaeStatus.SUBMITTED
    return SaeStatus.OVERDUE if now > report.due_at else SaeStatus.DUE


def sae_reports_for(user, *, now=None) -> list[SaeReport]:
    """Live SAE reports at the user's sites, each with ``status``: overdue first, then by deadline."""
    now = now or timezone.now()
    reports = list(
        SaeReport.objects.filter(
            participant__site_id__in=site_ids(user),
            participant__entered_in_error=False,
            entered_in_error=False,
            adverse_event__entered_in_error=False,
        ).select_related("adverse_event", "participant__site", "signed_by")
    )
    order = {SaeStatus.OVERDUE: 0, SaeStatus.DUE: 1, SaeStatus.SUBMITTED_LATE: 2, SaeStatus.SUBMITTED: 2}
    for report in reports:
        report.status = sae_status(report, now)
        report.status_label = SaeStatus.LABELS[report.status]
    reports.sort(key=lambda r: (order[r.status], r.due_at if r.signed_at is None else -r.due_at.timestamp()))
    return reports


# One participant's safety page ------------------------------------------------------------------------------


@dataclass
class ParticipantSafety:
    events: list
    crs_episodes: list[Episode]
    icans_episodes: list[Episode]
    crs_assessments: list
    icans_assessments: list
    gvhd_assessments: list
    dlt_window: tuple[date, date] | None
    dlt_window_open: bool
    uncovered_crs: list[Episode] = field(default_factory=list)
    uncovered_icans: list[Episode] = field(default_factory=list)
    icaht: dict | None = None


def _covered(episode: Episode, events, term) -> bool:
    """An AE with the term whose dates overlap the episode."""
    return any(
        e.term == term
        and e.onset_date <= episode.last_day
        and (e.resolution_date is None or e.resolution_date >= episode.onset)
        for e in events
    )


def participant_safety(participant: Participant, *, now=None) -> ParticipantSafety:
    events = list(
        AdverseEvent.objects.filter(participant=participant, entered_in_error=False)
        .annotate(max_grade=Max("grades__grade", filter=LIVE_GRADES))
        .select_related("sae_report", "dlt_adjudication")
        .order_by("number")
    )
    crs = list(
        CrsAssessment.objects.filter(participant=participant, entered_in_error=False).order_by("assessed_on")
    )
    icans = list(
        IcansAssessment.objects.filter(participant=participant, entered_in_error=False).order_by(
            "assessed_on"
        )
    )
    gvhd = list(
        GvhdAssessment.objects.filter(participant=participant, entered_in_error=False).order_by("assessed_on")
    )
    now = now or timezone.now()
    for event in events:
        report = getattr(event, "sae_report", None)
        if report is not None and not report.entered_in_error:
            event.sae_status = sae_status(report, now)
            event.sae_status_label = SaeStatus.LABELS[event.sae_status]
        else:
            event.sae_status = None
    day0 = participant.infusion_date
    crs_episodes = episodes(((a.assessed_on, a.crs_grade) for a in crs), day0)
    icans_episodes = episodes(((a.assessed_on, a.icans_grade) for a in icans), day0)
    window = dlt_window(participant)
    today = site_today(participant.site.timezone, now)
    return ParticipantSafety(
        events=events,
        crs_episodes=crs_episodes,
        icans_episodes=icans_episodes,
        crs_assessments=crs,
        icans_assessments=icans,
        gvhd_assessments=gvhd,
        dlt_window=window,
        dlt_window_open=bool(window and window[0] <= today <= window[1]),
        uncovered_crs=[e for e in crs_episodes if not _covered(e, events, "cytokine_release_syndrome")],
        uncovered_icans=[e for e in icans_episodes if not _covered(e, events, "icans")],
        icaht=icaht_for(participant),
    )


def anc_series(participant) -> list[dict]:
    """The participant's ANC results from Day 0 on, as ``{"study_day", "anc"}`` in 10^9/L (one query)."""
    from labs.models import LabResult

    rows = LabResult.objects.filter(
        panel__participant=participant,
        panel__entered_in_error=False,
        analyte="anc",
        not_done=False,
        standard_value__isnull=False,
    ).values_list("collected_at", "panel__collected_at", "standard_value", "standard_unit")
    series = []
    for own_at, panel_at, value, unit in rows:
        at = own_at or panel_at
        if at is None or unit != "10^9/L":
            continue
        day = (site_time(at, participant.site.timezone).date() - participant.infusion_date).days
        if day >= 0:
            series.append({"study_day": day, "anc": value})
    return sorted(series, key=lambda item: item["study_day"])


def icaht_for(participant) -> dict | None:
    """Early and late ICAHT (Rejeski 2023) from the ANC results, computed when read; None without results."""
    if participant.infusion_date is None:
        return None
    series = anc_series(participant)
    if not series:
        return None
    result = compute("icaht_from_anc_series", {"anc_series": series})
    # A prompt to record an adverse event comes only from a grade the results determine, never from the
    # upper end of a range that missing ANC results leave open.
    determined = [g for g in (result["early_icaht_grade"], result["late_icaht_grade"]) if g is not None]
    result["proposed_grade"] = max(determined, default=0)
    return result


# Dose-level review ---------------------------------------------------------------------------------------


class DltStatus:
    IN_WINDOW = "in_window"
    EVALUABLE = "evaluable"
    NOT_EVALUABLE = "not_evaluable"

    LABELS = {
        IN_WINDOW: _("in the DLT window"),
        EVALUABLE: _("DLT-evaluable"),
        NOT_EVALUABLE: _("not evaluable (left before the window ended)"),
    }


DECISION_LABELS = {
    "escalate": _("Escalate to the next dose level"),
    "expand_to_6": _("Expand the cohort to 6"),
    "exceeds_mtd": _("Dose exceeds the MTD"),
    "continue_enrolling": _("Continue: not enough DLT-evaluable participants yet"),
    "stay": _("Stay at this dose level"),
    "de_escalate": _("De-escalate"),
}


@dataclass
class TreatedParticipant:
    participant: Participant
    window: tuple[date, date]
    status: str
    dlts: list = field(default_factory=list)
    pending: list = field(default_factory=list)  # candidate events not adjudicated yet

    @property
    def status_label(self):
        return DltStatus.LABELS[self.status]


@dataclass
class DoseLevelReview:
    level: DoseLevel
    treated: list[TreatedParticipant]
    design: str
    decision: dict | None = None
    decision_note: object = ""
    boin: dict | None = None

    @property
    def n_treated(self):
        return len(self.treated)

    @property
    def n_evaluable(self):
        return sum(t.status == DltStatus.EVALUABLE for t in self.treated)

    @property
    def n_dlt(self):
        return sum(bool(t.dlts) for t in self.treated)

    @property
    def n_in_window(self):
        return sum(t.status == DltStatus.IN_WINDOW for t in self.treated)

    @property
    def n_pending(self):
        return sum(len(t.pending) for t in self.treated)

    @property
    def decision_label(self):
        return DECISION_LABELS.get((self.decision or {}).get("decision"), "")

    @property
    def boin_label(self):
        return DECISION_LABELS.get((self.boin or {}).get("decision"), "")


def _is_candidate(event, window) -> bool:
    """An event the investigator must adjudicate: grade ≥ 3 (GvHD ≥ II) with onset in the window."""
    threshold = 2 if event.term == "acute_gvhd" else 3
    return (event.max_grade or 0) >= threshold and window[0] <= event.onset_date <= window[1]


def dlt_status(participant, window, has_dlt, today) -> str:
    if has_dlt or today > window[1]:
        if not has_dlt and participant.end_date is not None and participant.end_date < window[1]:
            return DltStatus.NOT_EVALUABLE
        return DltStatus.EVALUABLE
    if participant.end_date is not None:
        return DltStatus.NOT_EVALUABLE
    return DltStatus.IN_WINDOW


def dose_level_review(user, *, now=None) -> list[tuple[Study, list[DoseLevelReview]]]:
    """Per study and dose level: treated, DLT-evaluable, DLTs, still in the window, and the decision the
    protocol's design would give, with the participants behind each number (four queries)."""
    now = now or timezone.now()
    visible = site_ids(user)
    participants = list(
        Participant.objects.filter(site_id__in=visible, entered_in_error=False, infusion_date__isnull=False)
        .select_related("site__study", "dose_level")
        .order_by("infusion_date", "pk")
    )
    ids = [p.pk for p in participants]
    dlts = defaultdict(list)
    for adjudication in DltAdjudication.objects.filter(
        participant_id__in=ids, is_dlt=True, entered_in_error=False, adverse_event__entered_in_error=False
    ).select_related("adverse_event"):
        dlts[adjudication.participant_id].append(adjudication)
    events = defaultdict(list)
    for event in (
        AdverseEvent.objects.filter(
            participant_id__in=ids, entered_in_error=False, dlt_adjudication__isnull=True
        )
        .annotate(max_grade=Max("grades__grade", filter=LIVE_GRADES))
        .order_by("onset_date")
    ):
        events[event.participant_id].append(event)
    studies = {p.site.study_id: p.site.study for p in participants}
    for study in Study.objects.filter(sites__id__in=visible).distinct():
        studies.setdefault(study.pk, study)
    levels = list(DoseLevel.objects.filter(study_id__in=studies).order_by("study_id", "order", "code"))
    by_level = defaultdict(list)
    for p in participants:
        window = dlt_window(p)
        today = site_today(p.site.timezone, now)
        item = TreatedParticipant(
            participant=p,
            window=window,
            status=dlt_status(p, window, bool(dlts[p.pk]), today),
            dlts=dlts[p.pk],
            pending=[e for e in events[p.pk] if _is_candidate(e, window)],
        )
        by_level[p.dose_level_id].append(item)
    result = []
    for study_id, study in studies.items():
        design = (study.settings.get("dlt") or {}).get("escalation_design", "3+3")
        rows = [
            _decide(DoseLevelReview(level=level, treated=by_level[level.pk], design=design), study)
            for level in levels
            if level.study_id == study_id
        ]
        result.append((study, rows))
    return result


def _decide(row: DoseLevelReview, study) -> DoseLevelReview:
    n, dlt = row.n_evaluable, row.n_dlt
    try:
        row.decision = compute("dose_escalation_3plus3", {"n_treated": n, "n_dlt": dlt})
    except CalculatorInputError:
        row.decision = None
        row.decision_note = _("More than 6 DLT-evaluable participants: beyond a 3+3 cohort.")
    else:
        if row.n_in_window and row.decision["decision"] != "exceeds_mtd":
            row.decision_note = _("Participants are still in their DLT window: the decision may change.")
    if row.design == "boin":
        target = (study.settings.get("dlt") or {}).get("target_dlt_rate") or 0.3
        inputs = {"target_dlt_rate": target}
        if n:
            inputs |= {"n_treated": n, "n_dlt": dlt}
        row.boin = compute("boin_boundaries", inputs)
        row.boin["target_dlt_rate"] = target
    return row


# Safety listings and summaries ------------------------------------------------------------------------------


@dataclass
class ListingRow:
    event: AdverseEvent
    participant: Participant
    study_day: int
    max_grade: int


@dataclass
class SafetyFilters:
    dose_level: str = ""
    site: str = ""
    term: str = ""
    min_grade: int | None = None


@dataclass
class CountByGrade:
    participants: set = field(default_factory=set)
    by_grade: dict = field(default_factory=lambda: defaultdict(set))

    def add(self, participant_id, grade):
        self.participants.add(participant_id)
        self.by_grade[grade].add(participant_id)

    def n(self, grade=None):
        return len(self.participants if grade is None else self.by_grade.get(grade, ()))

    @property
    def n_grade_3_plus(self):
        return len(set().union(*(s for g, s in self.by_grade.items() if g >= 3)))


@dataclass
class ToxicityByLevel:
    """CRS or ICANS at one dose level: incidence, worst grade, onset and duration (from the episodes)."""

    treated: int = 0
    participants: int = 0
    max_grades: dict = field(default_factory=lambda: defaultdict(int))  # worst grade -> participants
    onset_days: list = field(default_factory=list)
    durations: list = field(default_factory=list)

    @property
    def incidence_pct(self):
        return round(100 * self.participants / self.treated, 1) if self.treated else None

    @staticmethod
    def _median_range(values):
        if not values:
            return ""
        return f"{statistics.median(values):g} ({min(values)}–{max(values)})"

    @property
    def onset(self):
        return self._median_range(self.onset_days)

    @property
    def duration(self):
        return self._median_range(self.durations)


@dataclass
class SafetySummary:
    levels: list[DoseLevel]
    treated: dict  # dose level id -> number of infused participants
    listing: list[ListingRow]
    by_term: list  # (soc, term label, {level id: CountByGrade}, CountByGrade total)
    crs: dict  # level id -> ToxicityByLevel
    icans: dict
    cytopenias_infections: list  # (category, term label, {level id: CountByGrade})


def _treated(user, filters: SafetyFilters):
    qs = Participant.objects.filter(
        site_id__in=site_ids(user), entered_in_error=False, infusion_date__isnull=False
    ).select_related("dose_level", "site")
    if filters.dose_level:
        qs = qs.filter(dose_level__code=filters.dose_level)
    if filters.site:
        qs = qs.filter(site__code=filters.site)
    return list(qs)


def safety_summary(user, filters: SafetyFilters | None = None) -> SafetySummary:
    """The primary-endpoint tables, from five queries whatever the number of events."""
    filters = filters or SafetyFilters()
    treated = _treated(user, filters)
    by_pk = {p.pk: p for p in treated}
    levels = list(
        DoseLevel.objects.filter(study__sites__id__in=site_ids(user)).distinct().order_by("study_id", "order")
    )
    if filters.dose_level:
        levels = [level for level in levels if level.code == filters.dose_level]
    treated_count = defaultdict(int)
    for p in treated:
        treated_count[p.dose_level_id] += 1

    events = AdverseEvent.objects.filter(participant_id__in=by_pk, entered_in_error=False).annotate(
        max_grade=Max("grades__grade", filter=LIVE_GRADES)
    )
    if filters.term:
        events = events.filter(term=filters.term)
    listing, window_events = [], []
    for event in events.order_by("participant_id", "onset_date", "number"):
        p = by_pk[event.participant_id]
        event.participant = p
        day = (event.onset_date - p.infusion_date).days
        if not 0 <= day <= PRIMARY_ENDPOINT_LAST_DAY or event.max_grade is None:
            continue
        if filters.min_grade and event.max_grade < filters.min_grade:
            continue
        window_events.append((event, day))
        if event.relationship_car_t in RELATED:
            listing.append(ListingRow(event, p, day, event.max_grade))
    listing.sort(key=_listing_order)

    terms = {}
    for row in listing:
        key = (row.event.soc, row.event.term_label)
        cells = terms.setdefault(key, ({}, CountByGrade()))
        cells[0].setdefault(row.participant.dose_level_id, CountByGrade()).add(
            row.participant.pk, row.max_grade
        )
        cells[1].add(row.participant.pk, row.max_grade)
    by_term = [(soc, label, cells, total) for (soc, label), (cells, total) in sorted(terms.items())]

    cyto = {}
    for event, _day in window_events:
        soc = event.soc
        if event.term in ctcae_terms.CYTOPENIA_TERMS:
            category = _("Cytopenias")
        elif soc == str(ctcae_terms.INFECTIONS):
            category = _("Infections")
        else:
            continue
        key = (str(category), event.term_label)
        level_cells = cyto.setdefault(key, {})
        level_cells.setdefault(event.participant.dose_level_id, CountByGrade()).add(
            event.participant_id, event.max_grade
        )
    cytopenias_infections = [(cat, label, cells) for (cat, label), cells in sorted(cyto.items())]

    return SafetySummary(
        levels=levels,
        treated=dict(treated_count),
        listing=listing,
        by_term=by_term,
        crs=_toxicity(CrsAssessment, "crs_grade", treated, treated_count),
        icans=_toxicity(IcansAssessment, "icans_grade", treated, treated_count),
        cytopenias_infections=cytopenias_infections,
    )


def _listing_order(row: ListingRow):
    level = row.participant.dose_level
    return (level.order if level else 0, str(row.participant), row.event.onset_date, row.event.number)


def _toxicity(model, grade_field, treated, treated_count) -> dict:
    """Per dose level, from every participant's episodes within the primary-endpoint period (one query)."""
    daily = defaultdict(list)
    rows = model.objects.filter(
        participant_id__in=[p.pk for p in treated], entered_in_error=False, assessed_on__isnull=False
    ).values_list("participant_id", "assessed_on", grade_field)
    for participant_id, day, grade in rows:
        daily[participant_id].append((day, grade))
    result = defaultdict(ToxicityByLevel)
    for level_id, n in treated_count.items():
        result[level_id].treated = n
    for p in treated:
        found = [
            e
            for e in episodes(daily.get(p.pk, []), p.infusion_date)
            if e.onset_day is not None and 0 <= e.onset_day <= PRIMARY_ENDPOINT_LAST_DAY
        ]
        if not found:
            continue
        row = result[p.dose_level_id]
        row.participants += 1
        row.max_grades[max(e.max_grade for e in found)] += 1
        first = found[0]
        row.onset_days.append(first.onset_day)
        row.durations.append(sum(e.duration_days for e in found))
    return result


def study_dose_levels(user):
    return (
        DoseLevel.objects.filter(study__sites__id__in=site_ids(user)).distinct().order_by("study_id", "order")
    )


@dataclass(frozen=True)
class UncodedTerm:
    """An adverse event whose term CTCAE v5.0 does not code (``coding``), for the data manager."""

    event: AdverseEvent
    entry: str  # the CTCAE entry the site chose ("Other, specify" under its SOC, or the term)
    reason: str


def uncoded_events_for(user) -> list[UncodedTerm]:
    """Live adverse events at the user's sites whose term has no MedDRA code from CTCAE v5.0."""
    from . import coding

    keys = [t.key for t in ctcae_terms.TERMS if coding.coding_of(t.key) is None]
    events = (
        adverse_events_for(user)
        .filter(entered_in_error=False)
        .filter(Q(term__in=keys) | ~Q(term__in=[t.key for t in ctcae_terms.TERMS]))
        .order_by("participant__site__code", "participant__screening_number", "number")
    )
    return [UncodedTerm(event, event.term_label, coding.why_uncoded(event.term)) for event in events]
