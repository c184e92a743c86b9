"""Saving a case report form: one workflow for every CRF.

Draft saves accept missing fields; "complete" requires every required field; a change to a complete
form needs a reason for change. Hard edit checks refuse the save with a field message; soft checks
save and open automatic queries, which close themselves once the data are corrected. A save based on
an older version is refused (optimistic locking) so nothing is overwritten silently.
"""

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.permissions import Action, require
from edc.audit import audited
from edc.errors import DomainError
from monitoring.services import sync_automatic_queries

from .checks import run_checks
from .models import FormStatus
from .registry import FormSpec

BOOKKEEPING = {
    "id",
    "version",
    "created_at",
    "updated_at",
    "status",
    "completed_at",
    "completed_by",
    "participant",
    "visit",
    "entered_in_error",
    "entered_in_error_reason",
}


def expected_codes(visit) -> list[str]:
    return list(visit.definition.forms) if visit.definition else []


def changed_fields(instance, data: dict) -> list[str]:
    return [name for name, value in data.items() if getattr(instance, name) != value]


def save_form(
    *,
    user,
    spec: FormSpec,
    visit,
    data: dict,
    instance=None,
    complete: bool = False,
    reason: str = "",
    expected_version=None,
):
    """Create or update ``spec``'s form at ``visit`` from cleaned ``data``; return the saved instance."""
    participant = visit.participant
    require(user, Action.ENTER_DATA, participant.site)
    if participant.entered_in_error or visit.entered_in_error:
        raise DomainError(_("This record was entered in error and can no longer change."))
    if (
        instance is None
        and not spec.repeating
        and spec.code not in expected_codes(visit)
        and not visit.unscheduled
    ):
        raise DomainError(_("The protocol does not expect this form at this visit."))
    data = {k: v for k, v in data.items() if k not in BOOKKEEPING}
    model = spec.model
    with audited(user=user, action=f"save_{spec.code}", reason=reason or ""):
        if instance is None:
            if not spec.repeating and model.objects.filter(visit=visit, entered_in_error=False).exists():
                raise DomainError(_("This form already exists for this visit; open it to change it."))
            obj = model(participant=participant, visit=visit)
        else:
            obj = model.objects.select_for_update().get(pk=instance.pk)
            obj.bump_version(expected_version)
            if obj.status == FormStatus.COMPLETE and changed_fields(obj, data) and not reason.strip():
                raise DomainError(_("This form is complete: give a reason for the change."), field="reason")
        for name, value in data.items():
            setattr(obj, name, value)
        obj.derive()
        hard, soft, quiet = run_checks(spec.code, obj)
        if hard:
            first = hard[0]
            raise DomainError(first.message, field=first.field)
        if complete:
            missing = obj.missing_required()
            if missing:
                labels = ", ".join(str(model._meta.get_field(n).verbose_name) for n in missing)
                raise DomainError(_("To mark the form complete, fill in: %(fields)s.") % {"fields": labels})
            if obj.status != FormStatus.COMPLETE:
                obj.status, obj.completed_at, obj.completed_by = FormStatus.COMPLETE, timezone.now(), user
        obj.save()
        sync_automatic_queries(record=obj, participant=participant, firing=soft, quiet=quiet, user=None)
    return obj


def mark_form_entered_in_error(*, user, spec: FormSpec, instance, reason: str, expected_version=None):
    require(user, Action.ENTER_DATA, instance.participant.site)
    if not reason.strip():
        raise DomainError(_("Say why the form was entered in error."), field="reason")
    with audited(user=user, action=f"entered_in_error_{spec.code}", reason=reason):
        obj = spec.model.objects.select_for_update().get(pk=instance.pk)
        obj.bump_version(expected_version)
        obj.entered_in_error, obj.entered_in_error_reason = True, reason
        obj.save()
    return obj
