"""Locks: a data manager freezes a form, a visit, a participant or the whole study (database lock).

A lock has a reason; unlocking needs one too. Both are audited transactions. While a lock is active the
services refuse any change to the data it covers (:func:`refuse_if_locked`, with the lock's message) and
so does the database: every clinical table carries ``edc.integrity.RefuseWhenLocked``, which
raises a ``LockedError`` through ``edc.audit.audited`` when a write slips past the services.
"""

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.permissions import Action, require, site_ids
from edc.audit import audited
from edc.errors import DomainError, LockedError
from edc.integrity import RefuseWhenLocked
from edc.localtime import site_time

from .models import Lock, LockScope


def covered_by(record) -> tuple | None:
    """(form, participant id, visit id) that the locks of ``record`` are looked up by, or None.

    A child row (a table row of a form, a lab result) is covered by its parent form's locks: the
    ``parent`` its trigger names. Records without the trigger are not lockable.
    """
    guard = next((t for t in type(record)._meta.triggers if isinstance(t, RefuseWhenLocked)), None)
    if guard is None:
        return None
    form = getattr(record, guard.parent) if guard.parent else record
    label = form._meta.label
    participant_id = form.pk if label == "trials.Participant" else form.participant_id
    visit_id = form.pk if label == "visits.Visit" else getattr(form, "visit_id", None)
    return form, participant_id, visit_id


def _participant(participant_id):
    from trials.models import Participant

    return Participant.objects.select_related("site__study").get(pk=participant_id)


def lock_covering(record) -> Lock | None:
    """The active lock that covers ``record`` (a form, a row of one, a visit, a participant): one query."""
    covered = covered_by(record)
    if covered is None or covered[1] is None:
        return None
    form, participant_id, visit_id = covered
    condition = Q(scope=LockScope.PARTICIPANT, participant_id=participant_id) | Q(
        scope=LockScope.STUDY, study__sites__participants__id=participant_id
    )
    if visit_id is not None:
        condition |= Q(scope=LockScope.VISIT, visit_id=visit_id)
    if form.pk is not None:
        condition |= Q(scope=LockScope.FORM, form_table=form._meta.db_table, object_id=form.pk)
    return (
        Lock.objects.filter(condition, unlocked_at=None)
        .select_related("locked_by")
        .order_by("locked_at", "pk")
        .first()
    )


def locked_error(lock: Lock, tz: str) -> LockedError:
    return LockedError(
        scope=lock.scope,
        by=lock.locked_by.username,
        at=f"{site_time(lock.locked_at, tz):%Y-%m-%d %H:%M}",
        reason=lock.reason,
    )


def refuse_if_locked(record) -> None:
    """Raise ``LockedError`` ("This form is locked by … on …: reason") when a lock covers ``record``."""
    lock = lock_covering(record)
    if lock is not None:
        covered = covered_by(record)
        raise locked_error(lock, _participant(covered[1]).site.timezone)


# Locking and unlocking -------------------------------------------------------------------------------


def _target(scope: str, target) -> dict:
    """The lock's columns for ``target`` (a form, a visit, a participant or a study)."""
    from trials.models import Participant, Study
    from visits.models import Visit

    if scope == LockScope.STUDY:
        if not isinstance(target, Study):
            raise DomainError(_("A study lock locks a study."))
        return {"study": target}
    if scope == LockScope.PARTICIPANT:
        if not isinstance(target, Participant):
            raise DomainError(_("A participant lock locks a participant."))
        return {"study_id": target.site.study_id, "participant": target}
    if scope == LockScope.VISIT:
        if not isinstance(target, Visit):
            raise DomainError(_("A visit lock locks a visit."))
        return {
            "study_id": target.participant.site.study_id,
            "participant": target.participant,
            "visit": target,
        }
    if scope == LockScope.FORM:
        covered = covered_by(target)
        if covered is None or covered[0] is not target or isinstance(target, (Participant, Visit)):
            raise DomainError(_("Only a form can be locked as a form."))
        if target.pk is None:
            raise DomainError(_("Save the form before locking it."))
        return {
            "study_id": target.participant.site.study_id,
            "participant": target.participant,
            "visit_id": getattr(target, "visit_id", None),
            "content_type": ContentType.objects.get_for_model(target),
            "object_id": target.pk,
            "form_table": target._meta.db_table,
        }
    raise DomainError(_("Choose what to lock: a form, a visit, a participant or the study."))


def _require_lock(user, *, study_id, participant=None):
    if participant is not None:
        require(user, Action.LOCK, participant.site)
        return
    from trials.models import Site

    # A study lock needs the right to lock at every site of the study.
    sites = set(Site.objects.filter(study_id=study_id).values_list("pk", flat=True))
    if not sites or not sites <= set(site_ids(user, Action.LOCK)):
        raise PermissionDenied(_("Your role does not allow this action here."))


def require_lock(user, *, scope: str, target) -> None:
    """Refuse (403) a user who may not lock ``target`` at ``scope`` (for the page before the form)."""
    columns = _target(scope, target)
    _require_lock(
        user,
        study_id=columns.get("study_id") or columns["study"].pk,
        participant=columns.get("participant"),
    )


def lock(*, user, scope: str, target, reason: str) -> Lock:
    """Lock ``target`` at ``scope`` because of ``reason``; the data it covers can no longer change."""
    require_lock(user, scope=scope, target=target)
    columns = _target(scope, target)
    if not (reason or "").strip():
        raise DomainError(_("Say why the data are locked."), field="reason")
    with audited(user=user, action=f"lock.{scope}", reason=reason.strip()):
        existing = Lock.objects.filter(unlocked_at=None, scope=scope, **_match(columns)).first()
        if existing is not None:
            raise DomainError(
                _("This is already locked (since %(at)s).") % {"at": f"{existing.locked_at:%Y-%m-%d}"}
            )
        return Lock.objects.create(scope=scope, reason=reason.strip(), locked_by=user, **columns)


def _match(columns: dict) -> dict:
    keys = {"study", "study_id", "participant", "visit", "visit_id", "form_table", "object_id"}
    return {k: v for k, v in columns.items() if k in keys}


def require_unlock(user, lock: Lock) -> None:
    """Refuse (403) a user who may not lift ``lock``: the right to lock what it covers."""
    _require_lock(user, study_id=lock.study_id, participant=lock.participant)


def unlock(*, user, lock: Lock, reason: str) -> Lock:
    """Lift an active lock; the reason is required and kept with the lock and in the audit trail."""
    with audited(user=user, action=f"unlock.{lock.scope}", reason=(reason or "").strip()):
        lock = (
            Lock.objects.select_for_update(of=("self",)).select_related("participant__site").get(pk=lock.pk)
        )
        require_unlock(user, lock)
        if not (reason or "").strip():
            raise DomainError(_("Say why the data are unlocked."), field="reason")
        if lock.unlocked_at is not None:
            raise DomainError(_("This lock was already lifted."))
        lock.unlocked_at, lock.unlocked_by, lock.unlock_reason = timezone.now(), user, reason.strip()
        lock.save(update_fields=["unlocked_at", "unlocked_by", "unlock_reason"])
    return lock
