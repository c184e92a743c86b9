"""The casebook: visits × expected forms with a computed status per cell (no shadow table)."""

from dataclasses import dataclass, field

from accounts.permissions import site_ids
from trials.selectors import schedule_for

from .registry import FORMS

NOT_STARTED, NOT_EXPECTED, NOT_AVAILABLE = "not_started", "not_expected", "not_available"


@dataclass
class Cell:
    code: str
    expected: bool
    instances: list = field(default_factory=list)  # [(id, status)]
    queries: int = 0  # live queries on its instances (and their rows: lab results) the reader may see
    verified: str = ""  # "all": every instance verified as a whole; "partial": some fields verified
    locked: bool = False  # a lock covers it (its form, visit, participant or the study)

    @property
    def status(self) -> str:
        if self.instances:
            statuses = {s for _, s in self.instances}
            return "complete" if statuses == {"complete"} else "in_progress"
        if not self.expected:
            return NOT_EXPECTED
        return NOT_STARTED if self.code in FORMS else NOT_AVAILABLE


def casebook(participant, query_counts=None, review=None):
    """(visits, form codes in protocol order, {visit id: {code: Cell}}); one query per form model.

    ``query_counts`` ({(content type id, object id): live queries}) puts a query count on each cell,
    with the queries of its rows (``FormSpec.query_children``: one more query per such form); ``review``
    (``monitoring.selectors.casebook_review``) its verification and lock."""
    from django.contrib.contenttypes.models import ContentType

    visits = list(schedule_for(participant))
    codes: list[str] = []
    for visit in visits:
        for code in visit.definition.forms if visit.definition else []:
            if code not in codes:
                codes.append(code)
    unscheduled = unscheduled_forms(participant)
    codes += [code for code in unscheduled or () if code not in codes]
    entered: dict[tuple[int, str], list] = {}
    for code in codes:
        spec = FORMS.get(code)
        if spec is None:
            continue
        rows = spec.model.objects.filter(participant=participant, entered_in_error=False).values_list(
            "id", "visit_id", "status"
        )
        for pk, visit_id, status in rows:
            entered.setdefault((visit_id, code), []).append((pk, status))
    children = _child_records(participant, codes) if query_counts is not None else {}
    grid = {}
    for visit in visits:
        if visit.unscheduled:
            expected = set(codes if unscheduled is None else unscheduled)
        else:
            expected = set(visit.definition.forms if visit.definition else [])
        grid[visit.pk] = {
            code: Cell(code, code in expected, entered.get((visit.pk, code), [])) for code in codes
        }
        for code, cell in grid[visit.pk].items():
            if code not in FORMS:
                continue
            ct = ContentType.objects.get_for_model(FORMS[code].model).pk
            keys = [(ct, pk) for pk, _status in cell.instances]
            if review is not None:
                cell.locked = review.locked(visit.pk, keys)
            if not keys:
                continue
            if query_counts:
                cell.queries = sum(query_counts.get(key, 0) for key in keys)
                cell.queries += sum(
                    query_counts.get(key, 0) for key in children.get(code, {}).get(visit.pk, [])
                )
            if review is not None:
                cell.verified = review.verified(keys)
    return visits, codes, grid


def _child_records(participant, codes) -> dict[str, dict[int, list[tuple[int, int]]]]:
    """{code: {visit id: [(content type id, row id)]}} of the rows whose queries count on the cell."""
    from django.contrib.contenttypes.models import ContentType

    found: dict[str, dict[int, list]] = {}
    for code in codes:
        spec = FORMS.get(code)
        for name in spec.query_children if spec else ():
            relation = spec.model._meta.get_field(name)
            row_model, fk = relation.related_model, relation.field.name
            ct = ContentType.objects.get_for_model(row_model).pk
            rows = row_model.objects.filter(
                **{f"{fk}__participant": participant, f"{fk}__entered_in_error": False}
            ).values_list("pk", f"{fk}__visit_id")
            for pk, visit_id in rows:
                found.setdefault(code, {}).setdefault(visit_id, []).append((ct, pk))
    return found


def unscheduled_forms(participant) -> list[str] | None:
    """The forms the protocol offers at unscheduled visits; None when it does not say (all of them)."""
    content = participant.protocol_version.content or {}
    return content.get("schedule", {}).get("unscheduled_forms")


def form_statuses(visit, codes) -> dict[str, str]:
    """{code: "not_started" | "in_progress" | "complete"} of ``codes`` at ``visit`` (one query per form)."""
    statuses = {}
    for code in codes:
        spec = FORMS.get(code)
        if spec is None:
            continue
        found = set(
            spec.model.objects.filter(visit=visit, entered_in_error=False).values_list("status", flat=True)
        )
        statuses[code] = Cell(code, True, [(None, s) for s in found]).status
    return statuses


def expected_forms(visit) -> list[str]:
    """The form codes a visit expects, in protocol order (an unscheduled visit: those of the protocol)."""
    if visit.definition is not None:
        return list(visit.definition.forms)
    if visit.unscheduled:
        return [c for c in (unscheduled_forms(visit.participant) or FORMS) if c in FORMS]
    return []


def form_url(visit, code: str) -> str:
    """Where the form ``code`` of ``visit`` is entered (the laboratory panel still missing, for labs)."""
    from django.urls import reverse
    from django.utils.module_loading import import_string

    spec = FORMS.get(code)
    if spec is not None and spec.entry_url:
        return import_string(spec.entry_url)(visit)
    return reverse("form_entry", args=[visit.pk, code])


@dataclass(frozen=True)
class NextForm:
    visit: object
    code: str

    @property
    def title(self):
        return FORMS[self.code].title

    @property
    def url(self) -> str:
        return form_url(self.visit, self.code)


def next_form_of_visit(visit, after: str | None = None) -> NextForm | None:
    """The next form of ``visit`` not yet complete: after ``after`` in protocol order, then from the top."""
    codes = [c for c in expected_forms(visit) if c in FORMS]
    statuses = form_statuses(visit, codes)
    start = codes.index(after) + 1 if after in codes else 0
    for code in codes[start:] + codes[:start]:
        if code != after and statuses.get(code) != "complete":
            return NextForm(visit, code)
    return None


def next_form_of_participant(participant, *, skip=None, now=None) -> NextForm | None:
    """The first form not complete of the participant's visits that took place or whose window is open,
    in schedule order; ``skip`` ((visit id, code)) leaves out the form just saved."""
    visits, codes, grid = casebook(participant)
    for visit in visits:
        if visit.status not in ("done", "open", "overdue"):
            continue
        for code in codes:
            cell = grid[visit.pk][code]
            if (visit.pk, code) == skip or not cell.expected or code not in FORMS:
                continue
            if cell.status != "complete":
                return NextForm(visit, code)
    return None


# What a "save" button asks for next (its value on ``name="complete"``): the next form of the visit, of
# the participant, another entry of a repeating form (a medication), or the next laboratory panel.
NEXT_OF_VISIT, NEXT_OF_PARTICIPANT, ANOTHER = "visit", "participant", "another"


def url_after_save(then: str, *, visit, code: str, default: str) -> str:
    """Where a save lands: the next form the button asked for, else ``default`` (the casebook when the
    visit or the participant has nothing left to enter)."""
    from django.urls import reverse

    if then == ANOTHER and FORMS[code].repeating:
        return reverse("form_entry", args=[visit.pk, code])
    if then == NEXT_OF_VISIT:
        found = next_form_of_visit(visit, after=code)
    elif then == NEXT_OF_PARTICIPANT:
        found = next_form_of_participant(visit.participant, skip=(visit.pk, code))
    else:
        return default
    return found.url if found else reverse("casebook", args=[visit.participant_id])


def visit_defaults(spec, visit) -> dict:
    """A new form's date: the visit's date; Day 0 on the infusion form and the day of lymphodepletion
    on its forms when the participant's page recorded them first, so they are typed once."""
    name = spec.visit_date_field
    day = visit.visit_date
    participant = visit.participant
    if name == "infusion_date":
        day = participant.infusion_date or day
    elif day is None and spec.code == "lymphodepletion" and participant.lymphodepletion_start_date:
        day = _lymphodepletion_day(visit)
    return {name: day} if name and day else {}


def _lymphodepletion_day(visit):
    """The date of a lymphodepletion visit counted from the recorded start (its first visit's day)."""
    from datetime import timedelta

    days = [
        v.target_day
        for v in visit.participant.visits.filter(definition__isnull=False).select_related("definition")
        if "lymphodepletion" in v.definition.forms and v.target_day is not None
    ]
    if visit.target_day is None or not days:
        return None
    return visit.participant.lymphodepletion_start_date + timedelta(days=visit.target_day - min(days))


def forms_for(user, spec):
    """Every instance of form ``spec`` at the user's sites, entered in error included (with its flag)."""
    return spec.model.objects.filter(participant__site_id__in=site_ids(user)).select_related(
        "participant__site", "visit"
    )


def history_records(instance) -> list:
    """What a form's audit trail covers: the form, its child rows, its verifications and locks."""
    from monitoring import selectors as review_selectors

    return [
        instance,
        *(row for name in type(instance).child_sets for row in getattr(instance, name).all()),
        *review_selectors.review_history_objects(instance),
    ]
