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
    queries: int = 0  # live queries on its instances that the reader may see

    @property
    def status(self) -> str:
        if self.instances:
            statuses = {s for _, s in self.instances}
            return "complete" if statuses == {"complete"} else "in_progress"
        if not self.expected:
            return NOT_EXPECTED
        return NOT_STARTED if self.code in FORMS else NOT_AVAILABLE


def casebook(participant, query_counts=None):
    """(visits, form codes in protocol order, {visit id: {code: Cell}}); one query per form model.

    ``query_counts`` ({(content type id, object id): live queries}) puts a query count on each cell."""
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
            if query_counts and cell.instances and code in FORMS:
                ct = ContentType.objects.get_for_model(FORMS[code].model).pk
                cell.queries = sum(query_counts.get((ct, pk), 0) for pk, _status in cell.instances)
    return visits, codes, grid


def unscheduled_forms(participant) -> list[str] | None:
    """The forms the protocol offers at unscheduled visits; None when it does not say (all of them)."""
    content = participant.protocol_version.content or {}
    return content.get("schedule", {}).get("unscheduled_forms")


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
