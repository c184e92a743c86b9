"""Saving a case report form: one workflow for every CRF.

Draft saves accept missing fields; "complete" requires every required field; a change to a complete
form needs a reason for change. Hard edit checks refuse the save with a field message; soft checks
save and open automatic queries, which close themselves once the data are corrected. A save based on
an older version is refused (optimistic locking) so nothing is overwritten silently.
"""

from decimal import Decimal, InvalidOperation

from django.db import models
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from accounts.permissions import Action, require
from edc.audit import audited
from edc.errors import DomainError
from edc.models import FORM_BOOKKEEPING
from monitoring.locks import refuse_if_locked
from monitoring.services import sync_automatic_queries
from monitoring.verification import changes_between, clear_verifications, values_of
from signatures.services import break_signatures

from .checks import run_checks
from .models import FormStatus
from .registry import FormSpec

BOOKKEEPING = FORM_BOOKKEEPING


def expected_codes(visit) -> list[str]:
    return list(visit.definition.forms) if visit.definition else []


def changed_fields(instance, data: dict) -> list[str]:
    return [name for name, value in data.items() if getattr(instance, name) != value]


def label(model, name: str) -> str:
    """A field's label; for a child table, the table's name."""
    field = model._meta.get_field(name)
    if field.is_relation and field.auto_created:
        return str(field.related_model._meta.verbose_name_plural)
    return str(field.verbose_name)


def _rows_changed(obj, name: str, rows: list[dict]) -> bool:
    """Whether submitted rows of child table ``name`` differ from the stored ones."""
    stored = {row.pk: row for row in obj.rows(name)} if obj.pk else {}
    for row in rows:
        current = stored.get(row.get("id"))
        if current is None:
            if not row.get("remove"):
                return True
        elif row.get("remove") or any(
            getattr(current, k) != v for k, v in row.items() if k not in ("id", "remove")
        ):
            return True
    return False


def _pending_rows(obj, name: str, rows: list[dict]) -> list:
    """The rows as they will be after the save (unsaved instances), for derive() and the checks."""
    model = obj._meta.get_field(name).related_model
    stored = {row.pk: row for row in obj.rows(name)} if obj.pk else {}
    submitted = {row.get("id") for row in rows if row.get("id")}
    pending = [row for pk, row in stored.items() if pk not in submitted]
    for row in rows:
        if row.get("remove"):
            continue
        values = {k: v for k, v in row.items() if k not in ("id", "remove")}
        instance = stored.get(row.get("id")) or model()
        for key, value in values.items():
            setattr(instance, key, value)
        pending.append(instance)
    return pending


def _save_rows(obj, name: str, rows: list[dict], reason: str) -> None:
    relation = obj._meta.get_field(name)
    model, fk = relation.related_model, relation.field.name
    stored = {row.pk: row for row in model.objects.filter(**{fk: obj}, entered_in_error=False)}
    for row in rows:
        current = stored.get(row.get("id"))
        values = {k: v for k, v in row.items() if k not in ("id", "remove")}
        if current is None:
            if not row.get("remove"):
                model.objects.create(**{fk: obj}, **values)
            continue
        if row.get("remove"):
            current.entered_in_error, current.entered_in_error_reason = (
                True,
                reason or _("removed from the table"),
            )
            current.version += 1
            current.save()
        elif any(getattr(current, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(current, key, value)
            current.version += 1
            current.save()


def _check_storable(obj) -> None:
    """A derived or entered number too large for its column is refused, never a database error."""
    for field in obj._meta.concrete_fields:
        if isinstance(field, models.DecimalField):
            value = getattr(obj, field.attname)
            if value is None:
                continue
            try:
                digits = len(value.quantize(Decimal(1).scaleb(-field.decimal_places)).as_tuple().digits)
            except (InvalidOperation, AttributeError):
                digits = field.max_digits + 1
            if not value.is_finite() or digits > field.max_digits:
                raise DomainError(
                    _("%(field)s is out of range; check the values entered.") % {"field": field.verbose_name},
                    field=field.name,
                )


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
    child_rows = {name: data.pop(name) for name in model.child_sets if name in data}
    with audited(user=user, action=f"save_{spec.code}", reason=reason or ""):
        changes: list[str] = []  # names of the fields and child tables changed, for broken signatures
        if instance is None:
            if not spec.repeating and model.objects.filter(visit=visit, entered_in_error=False).exists():
                raise DomainError(_("This form already exists for this visit; open it to change it."))
            obj = model(participant=participant, visit=visit)
        else:
            obj = model.objects.select_for_update().get(pk=instance.pk)
            obj.bump_version(expected_version)
            changes = changed_fields(obj, data) + [
                name for name, rows in child_rows.items() if _rows_changed(obj, name, rows)
            ]
            if obj.status == FormStatus.COMPLETE and changes and not reason.strip():
                raise DomainError(_("This form is complete: give a reason for the change."), field="reason")
        refuse_if_locked(obj)
        before = values_of(obj) if obj.pk else {}  # for the verifications a change clears
        for name, value in data.items():
            setattr(obj, name, value)
        obj._pending_rows = {name: _pending_rows(obj, name, rows) for name, rows in child_rows.items()}
        obj.derive()
        hard, soft, quiet = run_checks(spec.code, obj)
        if hard:
            first = hard[0]
            raise DomainError(first.message, field=first.field)
        if complete:
            missing = obj.missing_required()
            if missing:
                labels = ", ".join(label(model, n) for n in missing)
                raise DomainError(_("To mark the form complete, fill in: %(fields)s.") % {"fields": labels})
            if obj.status != FormStatus.COMPLETE:
                obj.status, obj.completed_at, obj.completed_by = FormStatus.COMPLETE, timezone.now(), user
        _check_storable(obj)
        obj.save()
        for name, rows in child_rows.items():
            _save_rows(obj, name, rows, reason)
        obj._pending_rows = {}
        break_signatures(record=obj, user=user, reason=reason, changes=changes)
        changed_tables = {name: (None, None) for name in changes if name in child_rows}
        clear_verifications(
            record=obj, changes=changes_between(before, obj) | changed_tables, user=user, reason=reason
        )
        if spec.updates_participant:
            import_string(spec.updates_participant)(user=user, form=obj, reason=reason)
        sync_automatic_queries(record=obj, participant=participant, firing=soft, quiet=quiet, user=None)
    return obj


def mark_form_entered_in_error(*, user, spec: FormSpec, instance, reason: str, expected_version=None):
    require(user, Action.ENTER_DATA, instance.participant.site)
    if not reason.strip():
        raise DomainError(_("Say why the form was entered in error."), field="reason")
    with audited(user=user, action=f"entered_in_error_{spec.code}", reason=reason):
        obj = spec.model.objects.select_for_update().get(pk=instance.pk)
        obj.bump_version(expected_version)
        refuse_if_locked(obj)
        obj.entered_in_error, obj.entered_in_error_reason = True, reason
        obj.save()
        clear_verifications(record=obj, changes={"entered_in_error": (False, True)}, user=user, reason=reason)
        break_signatures(record=obj, user=user, reason=reason, changes=["entered_in_error"])
    return obj
