"""Reads of signatures: what a participant's pages show, what is left to sign, the investigator's
worklist, verification of a signature against the content as stored now, and rows for exports."""

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.permissions import Action, site_ids
from crfs.registry import FORMS
from trials.models import Participant
from visits.models import Visit

from . import rules
from .content import Snapshot
from .models import Scope, Signature, SignatureStatus


def signatures_for(participant) -> list[Signature]:
    """Every signature of the participant, valid and broken, oldest first (one query)."""
    return list(
        Signature.objects.filter(participant=participant)
        .select_related("visit", "signer", "broken_by")
        .order_by("signed_at", "pk")
    )


def valid_signature(participant, *, scope: str, visit=None) -> Signature | None:
    return Signature.objects.filter(
        participant=participant, scope=scope, visit=visit, status=SignatureStatus.VALID
    ).first()


@dataclass
class Shown:
    """The signature shown with a participant's data: the valid one, else the latest broken one."""

    casebook: Signature | None
    visits: dict[int, Signature]

    def for_visit(self, visit_id) -> list[Signature]:
        return [s for s in (self.visits.get(visit_id), self.casebook) if s is not None]


def shown_for(participant) -> Shown:
    casebook, visits = None, {}
    for signature in signatures_for(participant):  # oldest first: a later one replaces an earlier one
        if signature.scope == Scope.CASEBOOK:
            if casebook is None or casebook.status != SignatureStatus.VALID or signature.valid:
                casebook = signature
        else:
            current = visits.get(signature.visit_id)
            if current is None or not current.valid or signature.valid:
                visits[signature.visit_id] = signature
    return Shown(casebook, visits)


def verify(signature: Signature, snapshot: Snapshot | None = None) -> bool:
    """Whether ``signature`` is valid and its content, as stored now, still has the signed hash.

    False for a broken signature, for a change that bypassed the services (raw SQL), and for a
    signature row copied onto another participant or visit (the hash names the records it covers)."""
    if signature.status != SignatureStatus.VALID:
        return False
    snapshot = snapshot or Snapshot.of(signature.participant_id)
    return snapshot.content_hash(signature.scope, signature.visit_id) == signature.content_hash


def verified(participant) -> list[tuple[Signature, bool]]:
    """Every signature of the participant with its verification (constant number of queries)."""
    snapshot = Snapshot.of(participant.pk)
    return [(signature, verify(signature, snapshot)) for signature in signatures_for(participant)]


# What stands between a visit or a casebook and its signature -------------------------------------


def _single_instance() -> set[str]:
    return {code for code, spec in FORMS.items() if not spec.repeating}


def _visit_gaps(visit, snapshot: Snapshot) -> list[tuple[str, str]]:
    expected = visit.definition.forms if visit.definition is not None and not visit.unscheduled else []
    return rules.visit_gaps(
        done=visit.visit_date is not None,
        expected=expected,
        instances=[(form.code, form.status) for form in snapshot.forms.get(visit.pk, [])],
        single_instance=_single_instance(),
    )


def _describe(visit, code: str, problem: str) -> str:
    values = {
        "visit": visit.display_name if visit is not None else "",
        "form": FORMS[code].title if code in FORMS else code,
    }
    text = {
        rules.VISIT_NOT_DONE: _("%(visit)s: no visit date recorded"),
        rules.VISIT_OVERDUE: _("%(visit)s: overdue, neither done nor marked missed or not applicable"),
        rules.NOTHING_ENTERED: _("%(visit)s: no form entered"),
        rules.NOT_STARTED: _("%(visit)s: %(form)s not started"),
        rules.IN_PROGRESS: _("%(visit)s: %(form)s in progress"),
        rules.NO_VISIT: _("no visit has taken place yet"),
    }[problem]
    return text % values


def unsigned_reasons(participant, *, scope: str, visit=None, snapshot: Snapshot | None = None) -> list[str]:
    """Why the visit (or the casebook) cannot be signed yet, one readable line each; [] when it can."""
    snapshot = snapshot or Snapshot.of(participant.pk)
    if scope == Scope.VISIT:
        visit = Visit.objects.select_related("definition").get(pk=visit.pk)
        return [_describe(visit, code, problem) for code, problem in _visit_gaps(visit, snapshot)]
    from trials.selectors import schedule_for

    schedule = [(v, v.status, _visit_gaps(v, snapshot)) for v in schedule_for(participant)]
    return [_describe(v, code, problem) for v, code, problem in rules.casebook_gaps(schedule)]


def readiness(participant, visits) -> dict[int, bool]:
    """{visit id: whether it can be signed now} for the participant's visits (constant queries)."""
    snapshot = Snapshot.of(participant.pk)
    return {visit.pk: not _visit_gaps(visit, snapshot) for visit in visits}


# The investigator's worklist ---------------------------------------------------------------------


@dataclass
class Awaiting:
    visits: QuerySet  # Visit, with participant and site
    casebooks: QuerySet  # Participant, with site


def _ready_visits(sites) -> dict[int, int]:
    """{visit id: participant id} of the done visits at ``sites`` that ``rules.visit_gaps`` lets sign.

    One aggregate query per form model over the forms entered at done visits, and one for those
    visits: the cost follows the forms entered, not the number of visits times the number of forms."""
    instances: dict[int, list[tuple[str, str]]] = {}
    for code, spec in FORMS.items():
        counts = (
            spec.model.objects.filter(
                participant__site_id__in=sites,
                participant__entered_in_error=False,
                visit__visit_date__isnull=False,
                visit__entered_in_error=False,
                entered_in_error=False,
            )
            .values("visit_id")
            .annotate(
                complete=Count("pk", filter=Q(status="complete")),
                other=Count("pk", filter=~Q(status="complete")),
            )
            .order_by()
        )
        for row in counts:
            entered = instances.setdefault(row["visit_id"], [])
            entered += [(code, "complete")] * row["complete"] + [(code, "in_progress")] * row["other"]
    single = _single_instance()
    ready = {}
    for visit in Visit.objects.filter(pk__in=list(instances)).values(
        "id", "participant_id", "unscheduled", "definition__forms"
    ):
        expected = [] if visit["unscheduled"] else visit["definition__forms"] or []
        gaps = rules.visit_gaps(
            done=True, expected=expected, instances=instances[visit["id"]], single_instance=single
        )
        if not gaps:
            ready[visit["id"]] = visit["participant_id"]
    return ready


def awaiting_signature(user, now=None) -> Awaiting:
    """Visits and casebooks the user may sign that can be signed now and have no valid signature.

    The same rule as signing (``rules``) in a constant number of queries; two querysets (slice them
    for a page)."""
    sites = list(site_ids(user, Action.SIGN))
    ready = _ready_visits(sites) if sites else {}
    signed_visits, signed_casebooks = set(), set()
    for scope, visit_id, participant_id in Signature.objects.filter(
        participant__site_id__in=sites, status=SignatureStatus.VALID
    ).values_list("scope", "visit_id", "participant_id"):
        (signed_visits if scope == Scope.VISIT else signed_casebooks).add(visit_id or participant_id)
    visits = (
        Visit.objects.filter(pk__in=[pk for pk in ready if pk not in signed_visits])
        .select_related("participant__site", "definition")
        .order_by("visit_date", "pk")
    )
    # A casebook can be signed when one of its visits can and no other done or overdue visit blocks it.
    candidates = set(ready.values()) - signed_casebooks
    blocked = set(
        Visit.objects.filter(participant_id__in=candidates, entered_in_error=False, visit_date__isnull=False)
        .exclude(pk__in=list(ready))
        .values_list("participant_id", flat=True)
    ) | set(
        Visit.objects.filter(participant_id__in=candidates, entered_in_error=False)
        .with_status(now or timezone.now())
        .filter(status="overdue")
        .values_list("participant_id", flat=True)
    )
    casebooks = (
        Participant.objects.filter(pk__in=candidates - blocked, entered_in_error=False)
        .select_related("site")
        .order_by("site__code", "screening_number")
    )
    return Awaiting(visits=visits, casebooks=casebooks)


# Exports -------------------------------------------------------------------------------------------


def manifestations(participant_ids) -> dict[int, list[dict]]:
    """{participant id: signature rows, oldest first} for exports (one query; the caller scopes the ids).

    Each row: scope, visit_code, printed_name, signed_at (UTC), local_signed_at (site time as shown),
    meaning (code), meaning_text, status, content_hash, broken_at, broken_reason, manifestation."""
    rows: dict[int, list[dict]] = {pk: [] for pk in participant_ids}
    signatures = (
        Signature.objects.filter(participant_id__in=list(rows))
        .select_related("visit")
        .order_by("participant_id", "signed_at", "pk")
    )
    for s in signatures:
        rows[s.participant_id].append(
            {
                "scope": s.scope,
                "visit_code": s.visit.code if s.visit_id else "",
                "printed_name": s.printed_name,
                "signed_at": s.signed_at,
                "local_signed_at": s.local_signed_at,
                "meaning": s.meaning,
                "meaning_text": str(s.get_meaning_display()),
                "status": s.status,
                "content_hash": s.content_hash,
                "broken_at": s.broken_at,
                "broken_reason": s.broken_reason,
                "manifestation": s.manifestation,
            }
        )
    return rows


def signatures_visible_to(user) -> QuerySet:
    """Every signature (valid and broken) of the participants at the user's sites."""
    return Signature.objects.filter(participant__site_id__in=site_ids(user)).select_related(
        "participant__site", "visit", "signer", "broken_by"
    )
