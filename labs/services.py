"""Saving laboratory panels and managing reference ranges.

``save_panel`` saves the panel through ``crfs.services.save_form`` (permissions, workflow, optimistic
locking, panel edit checks, audit context) and, in the same transaction, its results: each value is
converted to the standard unit, interpreted against the reference range valid on the collection date
for the participant's sex and age, graded (CTCAE v5.0, with the rule version) and checked.

Range versions and stored results: a result keeps the range, flag and grade it was saved with. Adding
a range never rewrites stored results; a later save re-derives a result only when its own entry
(value, unit, result) or the panel's collection time changed, and then uses the range valid on the
collection date, which a back-dated range may have replaced. The history shows every such change.

A result graded at or above the study's ``lab_ae_prompt_min_grade`` (default 3) gets a "record as
adverse event?" prompt (``adverse_events.services.sync_lab_prompt``) in the same transaction.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.utils.translation import gettext as _

from accounts.permissions import Action, require
from adverse_events.services import lab_prompt_min_grade, sync_lab_prompt
from crfs.checks import run_checks
from crfs.models import FormStatus
from crfs.registry import spec_for
from crfs.services import expected_codes, new_form, save_form
from edc.audit import audited
from edc.errors import ConflictError, DomainError, Problem, Problems, refuse
from edc.merge import UNKNOWN, rows_at
from monitoring.models import Query
from monitoring.services import automatic_query, sync_automatic_queries
from monitoring.verification import clear_verifications
from signatures.services import break_signatures

from .analytes import BY_CODE, Panel, analytes_of
from .checks import RESULT
from .interpretation import interpret
from .models import LabPanel, LabResult, RangeSex, ReferenceRange
from .selectors import applicable_ranges, ranges_for, site_ranges

CODE = "labs"


@dataclass(frozen=True)
class ResultEntry:
    analyte: str
    value: Decimal | None = None
    unit: str = ""
    result: str = ""
    not_done: bool = False

    @classmethod
    def of(cls, row: LabResult) -> "ResultEntry":
        return cls(row.analyte, row.value, row.unit, row.result, row.not_done)

    @property
    def empty(self) -> bool:
        return self.value is None and not self.result and not self.not_done

    def differs_from(self, row: LabResult) -> bool:
        return (self.value, self.unit if self.value is not None else "", self.result, self.not_done) != (
            row.value,
            row.unit,
            row.result,
            row.not_done,
        )


@dataclass(frozen=True, eq=False)
class ShownEntry:
    """A result as the conflict page shows and compares it (``edc.merge``)."""

    entry: ResultEntry

    def _key(self):
        e = self.entry
        return (e.value, e.unit if e.value is not None else "", e.result, e.not_done)

    def __eq__(self, other):
        return isinstance(other, ShownEntry) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __str__(self):
        e = self.entry
        if e.not_done:
            return str(_("not done"))
        if e.value is not None:
            return f"{format(e.value.normalize(), 'f')} {e.unit}".strip()
        return e.result or "—"


class ResultsMerge:
    """The results of a stale panel save, merged per test against the panel version the user opened."""

    def __init__(self, entries: dict[str, ResultEntry]):
        self.entries = entries  # changed in place: a result the user did not change keeps the current one
        self.current: dict[str, LabResult] = {}

    def items(self, panel, base, base_version: int):
        then = {} if base is UNKNOWN else rows_at(LabResult, "panel", panel, base_version)
        before = {e.analyte: e for e in then.values()}
        self.current = {r.analyte: r for r in LabResult.objects.filter(panel=panel)}
        for code, entry in self.entries.items():
            was = before.get(code)
            yield (
                f"results:{code}",
                str(BY_CODE[code].label),
                UNKNOWN if base is UNKNOWN else ShownEntry(ResultEntry.of(was) if was else ResultEntry(code)),
                ShownEntry(ResultEntry.of(self.current[code]) if code in self.current else ResultEntry(code)),
                ShownEntry(entry),
            )

    def keep_theirs(self, key: str) -> None:
        code = key.partition(":")[2]
        row = self.current.get(code)
        self.entries[code] = ResultEntry.of(row) if row is not None else ResultEntry(code)


def _validate(panel: str, entries: list[ResultEntry]) -> tuple[dict[str, ResultEntry], list[Problem]]:
    """The entries by analyte, and every problem of their form (not of their values: ``assess_result``)."""
    allowed = {a.code for a in analytes_of(panel)}
    by_code, problems = {}, []
    for entry in entries:
        spec = BY_CODE.get(entry.analyte)
        if spec is None or entry.analyte not in allowed:
            raise DomainError(_("%(analyte)s is not part of this panel.") % {"analyte": entry.analyte})
        if entry.analyte in by_code:
            raise DomainError(_("%(analyte)s was given twice.") % {"analyte": spec.label})
        code = spec.code
        if entry.value is not None and not spec.quantitative:
            problems.append(Problem(_("Choose a result; this test has no numeric value."), row=code))
        elif entry.value is not None and entry.unit not in spec.units:
            problems.append(Problem(_("Choose one of the units offered."), row=code, field="unit"))
        elif entry.result and entry.result not in spec.results:
            problems.append(Problem(_("Choose one of the results offered."), row=code, field="result"))
        elif entry.not_done and (entry.value is not None or entry.result):
            problems.append(
                Problem(_("A test marked not done cannot have a result."), row=code, field="not_done")
            )
        by_code[entry.analyte] = entry
    return by_code, problems


@dataclass
class Assessment:
    """A result as it would be stored (unsaved ``row``: standard value, range, flag, grade) and its checks."""

    row: LabResult
    hard: list
    soft: list
    quiet: list

    @property
    def problems(self) -> list[Problem]:
        return [Problem(c.message, field=c.field, row=self.row.analyte) for c in self.hard]


def assess_result(
    entry: ResultEntry, reference_range, collected_at, row: LabResult | None = None
) -> Assessment:
    """Derive and check one result: the one path of the live preview and of ``save_panel``."""
    row = row if row is not None else LabResult(analyte=entry.analyte)
    _apply(row, entry, reference_range, collected_at)
    hard, soft, quiet = run_checks(RESULT, row)
    return Assessment(row, hard, soft, quiet)


def preview_result(*, participant, entry: ResultEntry, collected_at) -> Assessment:
    """What saving ``entry`` would store and say, against the range valid at ``collected_at`` (or now)."""
    from django.utils import timezone

    ranges = applicable_ranges(participant, [entry.analyte], collected_at or timezone.now())
    return assess_result(entry, ranges.get(entry.analyte), collected_at)


def check_panel(*, visit, panel: str, data: dict, results: list[ResultEntry], instance=None) -> list[Problem]:
    """Every problem saving the panel would refuse, without writing (a submit with unreadable input)."""
    from crfs.services import check_form

    entries, problems = _validate(panel, results)
    hard, _soft = check_form(
        spec=spec_for(CODE), visit=visit, instance=instance, data={**data, "panel": panel}
    )
    problems += [Problem(c.message, field=c.field) for c in hard]
    return problems + _result_problems(visit.participant, entries, data.get("collected_at"))


def _all_problems(exc: DomainError, problems, participant, entries, data) -> Problems:
    """The panel's problems (``exc``, from the form service) and the results' together, in one answer."""
    also = _result_problems(participant, entries, data.get("collected_at"))
    return Problems([*exc.problems, *problems, *also])


def _result_problems(participant, entries: dict[str, ResultEntry], collected_at) -> list[Problem]:
    filled = [code for code, entry in entries.items() if not entry.empty]
    if not filled:
        return []
    from django.utils import timezone

    ranges = applicable_ranges(participant, filled, collected_at or timezone.now())
    return [
        problem
        for code in filled
        for problem in assess_result(entries[code], ranges.get(code), collected_at).problems
    ]


def save_panel(
    *,
    user,
    visit,
    panel: str,
    data: dict,
    results: list[ResultEntry],
    instance: LabPanel | None = None,
    complete: bool = False,
    reason: str = "",
    expected_version=None,
    seen_version=None,
    keep=None,
    action: Action = Action.ENTER_DATA,
) -> LabPanel:
    """Create or update the ``panel`` of ``visit`` with its ``results``; return the saved panel.

    ``action`` is the permission checked: ``IMPORT_LABS`` when the values come from a laboratory file
    (``labs.importing``), which data managers may load although they do not type values in.
    """
    participant = visit.participant
    require(user, action, participant.site)
    if panel not in Panel.values or (instance is not None and instance.panel != panel):
        raise DomainError(_("Unknown laboratory panel."))
    entries, problems = _validate(panel, results)
    if instance is None:
        if CODE not in expected_codes(visit) and not visit.unscheduled:
            raise DomainError(_("The protocol does not expect laboratory results at this visit."))
        if LabPanel.objects.filter(visit=visit, panel=panel, entered_in_error=False).exists():
            raise DomainError(_("This panel already exists for this visit; open it to change it."))
    if data.get("collected_at") is not None:  # collection times are entered to the minute
        data = {**data, "collected_at": data["collected_at"].replace(second=0, microsecond=0)}
    was_complete = instance is not None and instance.status == FormStatus.COMPLETE

    with audited(user=user, action=f"save_{CODE}", reason=reason):
        try:
            saved = save_form(
                user=user,
                spec=spec_for(CODE),
                visit=visit,
                data={**data, "panel": panel},
                instance=instance,
                complete=complete,
                reason=reason,
                expected_version=expected_version,
                seen_version=seen_version,
                keep=keep,
                extra_merge=ResultsMerge(entries),
                action=action,
            )
        except ConflictError:
            raise
        except DomainError as exc:
            raise _all_problems(exc, problems, participant, entries, data) from exc
        refuse(problems)
        existing = {r.analyte: r for r in LabResult.objects.select_for_update().filter(panel=saved)}
        edited = {
            code
            for code, entry in entries.items()
            if (entry.differs_from(existing[code]) if code in existing else not entry.empty)
        }
        if was_complete and edited and not reason.strip():
            raise DomainError(_("This form is complete: give a reason for the change."), field="reason")
        values = {code: ResultEntry.of(row) for code, row in existing.items()} | entries
        if saved.collected_at is None and any(not e.empty for e in values.values()):
            raise DomainError(_("Enter the collection date and time."), field="collected_at")
        if complete:
            missing = [a.label for a in analytes_of(panel) if values.get(a.code, ResultEntry(a.code)).empty]
            if missing:
                raise DomainError(
                    _("To mark the panel complete, enter a result or tick “not done” for: %(tests)s.")
                    % {"tests": ", ".join(str(m) for m in missing)}
                )
        recollected = instance is not None and instance.collected_at != saved.collected_at
        if recollected:  # every stored result is re-read against the range valid on the new date
            edited |= {code for code in values if code in existing}
        rederive = [a.code for a in analytes_of(panel) if a.code in edited]
        ranges = applicable_ranges(participant, rederive, saved.collected_at)
        assessed = [
            assess_result(
                values[code],
                ranges.get(code),
                saved.collected_at,
                existing.get(code) or LabResult(panel=saved, analyte=code),
            )
            for code in rederive
        ]
        refuse([problem for assessment in assessed for problem in assessment.problems])
        for assessment in assessed:
            row = assessment.row
            created = row.pk is None
            row.save()
            sync_automatic_queries(
                record=row,
                participant=participant,
                firing=assessment.soft,
                quiet=assessment.quiet,
                user=None,
                created=created,
            )
            sync_lab_prompt(row, participant=participant)  # grade ≥ threshold: "record as adverse event?"
        # save_form broke the signatures its panel changes altered; the results are saved after it.
        break_signatures(
            record=saved, user=user, reason=reason, changes=[BY_CODE[code].label for code in rederive]
        )
        # A changed result is a change of the panel: its verifications are cleared, saying which (a
        # panel created now has none).
        if instance is not None:
            results = {str(BY_CODE[code].label): (None, None) for code in rederive}
            clear_verifications(record=saved, changes=results, user=user, reason=reason)
    return saved


@dataclass(frozen=True)
class NewPanel:
    """A panel a laboratory file brings to a visit that has none of its kind yet (``create_panels``)."""

    visit: object
    panel: str
    data: dict
    results: list[ResultEntry]
    reason: str


def create_panels(
    *, user, site, panels: list[NewPanel], action: Action = Action.IMPORT_LABS
) -> list[LabPanel]:
    """Create many new panels with their results: what ``save_panel`` does for each, in fewer statements.

    The same checks, derivations and records as ``save_panel`` with ``instance=None`` (the tests compare
    the two on one file): the panel's edit checks and missing-data rules (``crfs.services.new_form``),
    each result converted, interpreted against the range valid on its collection date, graded and
    checked (``assess_result``), automatic queries for the soft checks that fire, a "record as adverse
    event?" prompt from the study's grade. Each panel is written under an audit context of its own with
    its reason. What differs is only how: one permission check, the participants locked and their
    signatures and locks read once, the ranges of the site read once, and per panel one statement for
    the panel, one for its results and one for its queries.

    A panel whose participant, visit or study a lock covers, or whose visit or casebook a valid
    signature covers, goes through ``save_panel`` itself (which refuses the lock, or breaks the
    signature with its reason): rare, and exactly as a form saved alone. Returns the saved panels in
    the order given.
    """
    from monitoring.models import Lock, LockScope
    from signatures.models import Scope, Signature, SignatureStatus
    from trials.models import Participant

    require(user, action, site)
    if any(item.visit.participant.site_id != site.pk for item in panels):
        raise DomainError(
            _("Every panel must belong to a participant of site %(site)s.") % {"site": site.code}
        )
    participant_ids = sorted({item.visit.participant_id for item in panels})
    # Taken as break_signatures takes it: a signature cannot be given while these panels are written.
    list(Participant.objects.select_for_update().filter(pk__in=participant_ids).values_list("pk"))
    signed = set()
    for participant_id, scope, visit_id in Signature.objects.filter(
        participant_id__in=participant_ids, status=SignatureStatus.VALID
    ).values_list("participant_id", "scope", "visit_id"):
        signed.add((participant_id, None) if scope == Scope.CASEBOOK else (participant_id, visit_id))
    locks = list(
        Lock.objects.filter(study_id=site.study_id, unlocked_at=None).values_list(
            "scope", "participant_id", "visit_id"
        )
    )
    study_locked = any(scope == LockScope.STUDY for scope, _p, _v in locks)
    locked = {(p, None) for scope, p, _v in locks if scope == LockScope.PARTICIPANT}
    locked |= {(None, v) for scope, _p, v in locks if scope == LockScope.VISIT}

    def alone(item) -> bool:
        visit = item.visit
        return (
            study_locked
            or (visit.participant_id, None) in locked
            or (None, visit.pk) in locked
            or (visit.participant_id, None) in signed
            or (visit.participant_id, visit.pk) in signed
        )

    ranges = site_ranges(ReferenceRange.objects.filter(site=site))
    min_grade = lab_prompt_min_grade(site.study)
    saved = []
    for item in panels:
        if alone(item):
            saved.append(
                save_panel(
                    user=user,
                    visit=item.visit,
                    panel=item.panel,
                    data=item.data,
                    results=item.results,
                    reason=item.reason,
                    action=action,
                )
            )
            continue
        saved.append(_create_panel(user, item, ranges, min_grade))
    return saved


def _create_panel(user, item: NewPanel, ranges, min_grade: int) -> LabPanel:
    visit, panel, data = item.visit, item.panel, item.data
    participant = visit.participant
    if panel not in Panel.values:
        raise DomainError(_("Unknown laboratory panel."))
    entries, problems = _validate(panel, item.results)
    if CODE not in expected_codes(visit) and not visit.unscheduled:
        raise DomainError(_("The protocol does not expect laboratory results at this visit."))
    if data.get("collected_at") is not None:  # collection times are entered to the minute
        data = {**data, "collected_at": data["collected_at"].replace(second=0, microsecond=0)}
    try:
        obj, soft, quiet = new_form(spec=spec_for(CODE), visit=visit, data={**data, "panel": panel})
    except DomainError as exc:
        raise _all_problems(exc, problems, participant, entries, data) from exc
    refuse(problems)
    filled = [a.code for a in analytes_of(panel) if a.code in entries and not entries[a.code].empty]
    if obj.collected_at is None and filled:
        raise DomainError(_("Enter the collection date and time."), field="collected_at")
    applying = ranges_for(ranges, participant, filled, obj.collected_at)
    assessed = [
        assess_result(entries[code], applying.get(code), obj.collected_at, LabResult(analyte=code))
        for code in filled
    ]
    refuse([problem for assessment in assessed for problem in assessment.problems])
    with audited(user=user, action=f"save_{CODE}", reason=item.reason, separate=True):
        obj.save()
        rows = [assessment.row for assessment in assessed]
        for row in rows:
            row.panel = obj
        LabResult.objects.bulk_create(rows)
        result_type = ContentType.objects.get_for_model(LabResult)
        queries = [automatic_query(obj, participant, check) for check in soft]
        queries += [
            automatic_query(a.row, participant, check, content_type=result_type)
            for a in assessed
            for check in a.soft
        ]
        if queries:
            Query.objects.bulk_create(queries)
        for row in rows:
            if row.ctcae_grade is not None and row.ctcae_grade >= min_grade:
                sync_lab_prompt(row, participant=participant)  # "record as adverse event?"
    return obj


def _apply(row: LabResult, entry: ResultEntry, reference_range, collected_at) -> None:
    spec = BY_CODE[entry.analyte]
    row.value = entry.value
    row.unit = entry.unit if entry.value is not None else ""
    row.result = entry.result
    row.not_done = entry.not_done
    row.collected_at = collected_at
    meaning = interpret(spec, entry.value, row.unit, reference_range)
    row.standard_value = meaning.standard_value
    row.standard_unit = meaning.standard_unit
    row.lln, row.uln = meaning.lln, meaning.uln
    row.reference_range = meaning.reference_range
    row.flag = meaning.flag
    row.ctcae_grade = meaning.ctcae_grade
    row.rule_version = meaning.rule_version


def add_reference_range(
    *,
    user,
    site,
    analyte: str,
    unit: str,
    valid_from,
    lln: Decimal | None = None,
    uln: Decimal | None = None,
    sex: str = RangeSex.ANY,
    age_min: int = 0,
    age_max: int | None = None,
    source: str = "",
    reason: str = "",
) -> ReferenceRange:
    """Add a range version; from ``valid_from`` on it supersedes the older ones with the same key."""
    if user is not None:
        require(user, Action.MANAGE_RANGES, site)
    validate_range(analyte=analyte, unit=unit, lln=lln, uln=uln, sex=sex, age_min=age_min, age_max=age_max)
    key = {"site": site, "analyte": analyte, "sex": sex, "age_min": age_min, "age_max": age_max}
    if ReferenceRange.objects.filter(**key, valid_from=valid_from).exists():
        raise DomainError(
            _("A range with this key already starts on that date; choose a later date."), field="valid_from"
        )
    with audited(user=user, action="add_reference_range", reason=reason):
        return ReferenceRange.objects.create(
            **key,
            unit=unit,
            lln=lln,
            uln=uln,
            valid_from=valid_from,
            source=source,
            created_by=user if getattr(user, "pk", None) else None,
        )


def validate_range(*, analyte, unit, lln, uln, sex, age_min, age_max) -> None:
    spec = BY_CODE.get(analyte)
    if spec is None or not spec.quantitative:
        raise DomainError(_("Reference ranges exist for numeric tests only."), field="analyte")
    if unit not in spec.units:
        raise DomainError(
            _("The unit must be one of: %(units)s.") % {"units": ", ".join(spec.units)}, field="unit"
        )
    if lln is None and uln is None:
        raise DomainError(_("Give a lower limit, an upper limit or both."), field="lln")
    if any(limit is not None and limit < 0 for limit in (lln, uln)):
        raise DomainError(_("Limits cannot be negative."), field="lln")
    if lln is not None and uln is not None and lln > uln:
        raise DomainError(_("The lower limit cannot be above the upper limit."), field="uln")
    if sex not in RangeSex.values:
        raise DomainError(_("Unknown sex."), field="sex")
    if age_max is not None and age_min > age_max:
        raise DomainError(_("The age band is empty."), field="age_max")
