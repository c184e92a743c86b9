"""Query workflows. Automatic queries follow their edit check: opened when it fires, closed when the
data no longer fire it. Manual and reason-for-change queries follow the people: a monitor or data manager
raises one (a draft first when the study asks for pre-query review), the site answers, the opener's role
closes or re-opens it. Each transition is one audited transaction with a message in the query's thread."""

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Role
from accounts.permissions import ROLE_ACTIONS, Action, memberships, require
from edc.audit import audited
from edc.errors import DomainError

from .models import AUTOMATIC_CLOSE, Query, QueryAction, QueryMessage, QueryPriority, QueryStatus, QueryType

# Study setting (``study.settings``): monitors' queries wait as drafts until a data manager releases
# them. Read with this default so protocol files that do not name it keep their checksum.
PRE_REVIEW_SETTING = "query_pre_review"
PRE_REVIEW_DEFAULT = False

# The roles that raise queries, in the order a user holding several is taken to act in.
OPENER_ROLES = (Role.MONITOR, Role.DATA_MANAGER)


def stored_text(message) -> str:
    """A message as stored: in English whatever the user's language (``Query.shown_text`` translates)."""
    with translation.override("en"):
        return str(message)


def sync_automatic_queries(
    *, record, participant, firing, quiet, user=None, created=False
) -> tuple[int, int]:
    """Open one query per firing soft check (if none is live), close live ones whose check is quiet.

    ``created``: ``record`` was inserted in this transaction, so no query can be live on it yet (a lab
    import writes thousands of new results: one lookup fewer each)."""
    content_type = ContentType.objects.get_for_model(record)
    live = (
        {}
        if created
        else {
            (q.field_name, q.check_id): q
            for q in Query.objects.select_for_update()
            .filter(content_type=content_type, object_id=record.pk, query_type=QueryType.AUTOMATIC)
            .exclude(status=QueryStatus.CLOSED)
        }
    )
    opened = 0
    for check in firing:
        if (check.field, check.id) not in live:
            automatic_query(record, participant, check, user=user, content_type=content_type).save()
            opened += 1
    closed = 0
    for check in quiet:
        query = live.get((check.field, check.id))
        if query is not None:
            query.status, query.closed_at = QueryStatus.CLOSED, timezone.now()
            query.resolution = stored_text(AUTOMATIC_CLOSE)
            query.save(update_fields=["status", "closed_at", "resolution"])
            closed += 1
    return opened, closed


def automatic_query(record, participant, check, *, user=None, content_type=None) -> Query:
    """The automatic query a firing soft ``check`` opens on ``record`` (unsaved: ``sync_automatic_queries``
    saves it; ``labs.services.create_panels`` creates those of many new records in one statement)."""
    return Query(
        participant=participant,
        content_type=content_type or ContentType.objects.get_for_model(record),
        object_id=record.pk,
        field_name=check.field,
        query_type=QueryType.AUTOMATIC,
        check_id=check.id,
        text=stored_text(check.message),
        opened_by=user,
    )


def open_queries_for(records) -> dict[tuple[int, int], list[Query]]:
    """Live queries of many records, keyed by (content type id, object id): one query."""
    result: dict[tuple[int, int], list[Query]] = {}
    by_type: dict[int, list[int]] = {}
    for record in records:
        by_type.setdefault(ContentType.objects.get_for_model(record).pk, []).append(record.pk)
    if not by_type:
        return result
    from django.db.models import Q

    condition = Q()
    for ct, ids in by_type.items():
        condition |= Q(content_type_id=ct, object_id__in=ids)
    live = Query.objects.filter(condition).exclude(status__in=[QueryStatus.CLOSED, QueryStatus.DRAFT])
    for query in live.order_by("opened_at"):
        result.setdefault((query.content_type_id, query.object_id), []).append(query)
    return result


# People's queries ----------------------------------------------------------------------------------


def pre_review(study) -> bool:
    """The study's pre-query review setting, read from the database (a cached study may be stale)."""
    from trials.models import Study

    stored = Study.objects.filter(pk=getattr(study, "pk", study)).values_list("settings", flat=True).first()
    return bool((stored or {}).get(PRE_REVIEW_SETTING, PRE_REVIEW_DEFAULT))


def roles_at(user, site) -> set[Role]:
    """The user's roles that apply at ``site`` (its own memberships there and study-wide ones)."""
    return {
        Role(m.role)
        for m in memberships(user)
        if m.site_id == site.pk or (m.site_id is None and m.study_id == site.study_id)
    }


def _opener_role(user, site) -> Role:
    held = roles_at(user, site)
    for role in OPENER_ROLES:
        if role in held and Action.QUERY in ROLE_ACTIONS[role]:
            return role
    require(user, Action.QUERY, site)  # raises: the user has no role that raises queries here
    raise AssertionError  # pragma: no cover


def raises_drafts(user, site) -> bool:
    """Would a query ``user`` raises at ``site`` wait as a draft for a data manager?"""
    return pre_review(site.study) and _opener_role(user, site) == Role.MONITOR


def _participant_of(record):
    from trials.models import Participant

    return record if isinstance(record, Participant) else record.participant


def _field_names(record) -> set[str]:
    return {f.name for f in record._meta.get_fields() if getattr(f, "concrete", False) and not f.auto_created}


def _message(query, *, user, action, text="", role=""):
    return QueryMessage.objects.create(
        query=query, action=action, text=text, author=user, author_role=str(role or "")
    )


def _locked(query) -> Query:
    return Query.objects.select_for_update().select_related("participant__site__study").get(pk=query.pk)


def open_query(
    *,
    user,
    record,
    field_name: str,
    text: str,
    query_type: str = QueryType.MANUAL,
    priority: str = QueryPriority.NORMAL,
    due_date=None,
) -> Query:
    """Raise a query on ``field_name`` of ``record`` (a CRF, a participant or a visit)."""
    participant = _participant_of(record)
    site = participant.site
    role = _opener_role(user, site)
    if query_type not in (QueryType.MANUAL, QueryType.REASON_FOR_CHANGE):
        raise DomainError(_("Only manual and reason-for-change queries can be raised by hand."))
    if field_name not in _field_names(record):
        raise DomainError(
            _("This form has no field named %(field)s.") % {"field": field_name}, field="field_name"
        )
    if not (text or "").strip():
        raise DomainError(_("Write what the site should check."), field="text")
    if priority not in QueryPriority.values:
        raise DomainError(_("Choose a priority."), field="priority")
    if due_date is not None and due_date < timezone.localdate():
        raise DomainError(_("The due date cannot be in the past."), field="due_date")
    draft = raises_drafts(user, site)
    now = timezone.now()
    with audited(user=user, action="query.open"):
        query = Query.objects.create(
            participant=participant,
            content_type=ContentType.objects.get_for_model(record),
            object_id=record.pk,
            field_name=field_name,
            query_type=query_type,
            status=QueryStatus.DRAFT if draft else QueryStatus.OPEN,
            text=text.strip(),
            opened_by=user,
            opened_by_role=role,
            priority=priority,
            due_date=due_date,
            released_at=None if draft else now,
            released_by=None if draft else user,
        )
        _message(query, user=user, action=QueryAction.RAISED, text=query.text, role=role)
    return query


def release_query(*, user, query) -> Query:
    """A data manager releases a monitor's draft to the site (pre-query review)."""
    with audited(user=user, action="query.release"):
        query = _locked(query)
        require(user, Action.QUERY, query.participant.site)
        if Role.DATA_MANAGER not in roles_at(user, query.participant.site):
            raise DomainError(_("Only a data manager releases a draft query to the site."))
        if query.status != QueryStatus.DRAFT:
            raise DomainError(
                _("Only a draft query can be released; this one is %(status)s.")
                % {"status": query.get_status_display()}
            )
        query.status, query.released_at, query.released_by = QueryStatus.OPEN, timezone.now(), user
        query.save(update_fields=["status", "released_at", "released_by"])
        _message(query, user=user, action=QueryAction.RELEASED, role=Role.DATA_MANAGER)
    return query


def answer_query(*, user, query, text: str) -> Query:
    """The site answers an open query (and corrects the data in the form when needed)."""
    with audited(user=user, action="query.answer"):
        query = _locked(query)
        require(user, Action.ENTER_DATA, query.participant.site)
        if query.status != QueryStatus.OPEN:
            raise DomainError(
                _("Only an open query can be answered; this one is %(status)s.")
                % {"status": query.get_status_display()}
            )
        if not (text or "").strip():
            raise DomainError(_("Write an answer."), field="text")
        query.status = QueryStatus.ANSWERED
        query.save(update_fields=["status"])
        roles = roles_at(user, query.participant.site)
        role = Role.INVESTIGATOR if Role.INVESTIGATOR in roles else Role.COORDINATOR
        _message(query, user=user, action=QueryAction.ANSWERED, text=text.strip(), role=role)
    return query


def _closer_role(user, query) -> Role:
    """The opener's role, held by ``user`` at the query's site; refused otherwise."""
    site = query.participant.site
    require(user, Action.QUERY, site)
    held = roles_at(user, site)
    if query.opened_by_role:
        if query.opened_by_role not in held:
            raise DomainError(
                _("Only a %(role)s can close or re-open this query: it was raised by one.")
                % {"role": Role(query.opened_by_role).label}
            )
        return Role(query.opened_by_role)
    return next(role for role in OPENER_ROLES if role in held)


def close_query(*, user, query, text: str = "") -> Query:
    """The opener's role closes an open or answered query, with an optional resolution."""
    with audited(user=user, action="query.close"):
        query = _locked(query)
        role = _closer_role(user, query)
        if query.status not in (QueryStatus.OPEN, QueryStatus.ANSWERED):
            raise DomainError(
                _("Only an open or answered query can be closed; this one is %(status)s.")
                % {"status": query.get_status_display()}
            )
        query.status, query.closed_at, query.closed_by = QueryStatus.CLOSED, timezone.now(), user
        query.resolution = (text or "").strip()
        query.save(update_fields=["status", "closed_at", "closed_by", "resolution"])
        _message(query, user=user, action=QueryAction.CLOSED, text=query.resolution, role=role)
    return query


def reopen_query(*, user, query, text: str) -> Query:
    """The opener's role re-opens a closed query, saying why; the site answers it again."""
    with audited(user=user, action="query.reopen", reason=text or ""):
        query = _locked(query)
        role = _closer_role(user, query)
        if query.status != QueryStatus.CLOSED:
            raise DomainError(
                _("Only a closed query can be re-opened; this one is %(status)s.")
                % {"status": query.get_status_display()}
            )
        if query.query_type == QueryType.AUTOMATIC:
            raise DomainError(_("An automatic query re-opens by itself when its edit check fires again."))
        if not (text or "").strip():
            raise DomainError(_("Say why the query is re-opened."), field="text")
        query.status, query.closed_at, query.closed_by = QueryStatus.OPEN, None, None
        query.save(update_fields=["status", "closed_at", "closed_by"])
        _message(query, user=user, action=QueryAction.REOPENED, text=text.strip(), role=role)
    return query


def allowed_actions(user, query) -> list[str]:
    """The transitions ``user`` may take on ``query`` now (for the page; the services decide)."""
    from accounts.permissions import can

    site = query.participant.site
    held = roles_at(user, site)
    opener_ok = can(user, Action.QUERY, site) and (
        query.opened_by_role in held if query.opened_by_role else bool(held & set(OPENER_ROLES))
    )
    actions = []
    if query.status == QueryStatus.DRAFT and Role.DATA_MANAGER in held:
        actions.append("release")
    if query.status == QueryStatus.OPEN and can(user, Action.ENTER_DATA, site):
        actions.append("answer")
    if query.status in (QueryStatus.OPEN, QueryStatus.ANSWERED) and opener_ok:
        actions.append("close")
    if query.status == QueryStatus.CLOSED and opener_ok and query.query_type != QueryType.AUTOMATIC:
        actions.append("reopen")
    return actions
