"""Saving a case report form: one workflow for every CRF.

Draft saves accept missing fields; "complete" requires every required field; a change to a complete
form needs a reason for change. Hard edit checks refuse the save with a field message; soft checks
save and open automatic queries, which close themselves once the data are corrected. A save based on
an older version is refused (optimistic locking) so nothing is overwritten silently.
"""

from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from accounts.permissions import Action, require
from edc.audit import audited
from edc.errors import ConflictError, DomainError, Problem, refuse
from edc.merge import UNKNOWN, rows_at, snapshot, three_way, value_of
from edc.models import FORM_BOOKKEEPING
from monitoring.locks import refuse_if_locked
from monitoring.services import sync_automatic_queries
from monitoring.verification import changes_between, clear_verifications, values_of
from signatures.services import break_signatures
from visits.services import take_date_from_form

from . import missing
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
    seen_version=None,
    keep=None,
    extra_merge=None,
    action: Action = Action.ENTER_DATA,
):
    """Create or update ``spec``'s form at ``visit`` from cleaned ``data``; return the saved instance.

    A save based on an older version (``expected_version``) is merged three-way (``edc.merge``): what the
    user did not change keeps the current value; it is applied only once the user has seen the record's
    current version (``seen_version``, the conflict page) and chosen, in ``keep`` ({key: "theirs" or
    "mine"}), for every value both changed. ``extra_merge`` merges rows the caller saves itself.
    ``action`` is what the permission layer checks: entering data, or importing laboratory results.
    """
    participant = visit.participant
    require(user, action, participant.site)
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
    reasons = data.pop("missing", None) or {}  # {field: "not_done" | "unknown" | "not_applicable" | ""}
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
            if expected_version is not None and int(expected_version) != obj.version:
                _merge_stale(
                    spec, obj, int(expected_version), data, child_rows, seen_version, keep or {}, extra_merge
                )
            obj.bump_version(None)
            changes = changed_fields(obj, data) + [
                name for name, rows in child_rows.items() if _rows_changed(obj, name, rows)
            ]
            if obj.status == FormStatus.COMPLETE and changes and not reason.strip():
                raise DomainError(_("This form is complete: give a reason for the change."), field="reason")
        refuse_if_locked(obj)
        before = values_of(obj) if obj.pk else {}  # for the verifications a change clears
        soft, quiet = _checked(spec, obj, data, child_rows, reasons, complete=complete, user=user)
        _save_or_conflict(obj, spec)
        for name, rows in child_rows.items():
            _save_rows(obj, name, rows, reason)
        missing.save_reasons(obj, reasons)
        obj._pending_rows = {}
        break_signatures(record=obj, user=user, reason=reason, changes=changes)
        if instance is not None:  # a form created now has no verification to clear
            changed_tables = {name: (None, None) for name in changes if name in child_rows}
            clear_verifications(
                record=obj, changes=changes_between(before, obj) | changed_tables, user=user, reason=reason
            )
        if spec.updates_participant:
            import_string(spec.updates_participant)(user=user, form=obj, reason=reason)
        if spec.visit_date_field:
            take_date_from_form(user=user, visit=visit, visit_date=getattr(obj, spec.visit_date_field))
        sync_automatic_queries(
            record=obj, participant=participant, firing=soft, quiet=quiet, user=None, created=instance is None
        )
    return obj


def _checked(spec: FormSpec, obj, data, child_rows, reasons, *, complete: bool, user) -> tuple[list, list]:
    """Apply ``data`` to ``obj`` and refuse it as a save would (every hard check, missing-data problem and
    unanswered field in one answer; a number too large for its column); (soft, quiet) checks otherwise."""
    obj._missing_reasons = {**missing.reasons_of(obj), **reasons}
    hard, soft, quiet = _assess(spec, obj, data, child_rows)
    problems = [Problem(check.message, field=check.field) for check in hard]
    problems += missing.problems(obj, reasons, missing.allowed(obj.participant.site.study, spec.code))
    if complete:
        unanswered = obj.missing_required()
        if unanswered:
            labels = ", ".join(label(spec.model, n) for n in unanswered)
            problems.append(
                Problem(_("To mark the form complete, fill in: %(fields)s.") % {"fields": labels})
            )
    refuse(problems)  # every hard check and the missing fields together, in one answer
    if complete and obj.status != FormStatus.COMPLETE:
        obj.status, obj.completed_at, obj.completed_by = FormStatus.COMPLETE, timezone.now(), user
    _check_storable(obj)
    return soft, quiet


def new_form(*, spec: FormSpec, visit, data: dict):
    """The form ``save_form`` would create at ``visit`` from ``data`` (a draft), unsaved: derived and
    refused exactly as a save would; (instance, soft checks, quiet checks).

    For a caller that writes many new forms at once (``labs.services.create_panels``) and so checks the
    permission, the locks and that none exists yet, and holds the audit context, for all of them itself.
    """
    participant = visit.participant
    if participant.entered_in_error or visit.entered_in_error:
        raise DomainError(_("This record was entered in error and can no longer change."))
    if not spec.repeating and spec.code not in expected_codes(visit) and not visit.unscheduled:
        raise DomainError(_("The protocol does not expect this form at this visit."))
    data = {k: v for k, v in data.items() if k not in BOOKKEEPING}
    reasons = data.pop("missing", None) or {}
    obj = spec.model(participant=participant, visit=visit)
    soft, quiet = _checked(spec, obj, data, {}, reasons, complete=False, user=None)
    obj._pending_rows = {}
    return obj, soft, quiet


def _assess(spec: FormSpec, obj, data: dict, child_rows: dict):
    """Apply ``data`` to ``obj`` (unsaved), derive its values and run its edit checks.

    The one validation path: ``save_form`` saves what it assessed, ``check_form`` (the live checks
    beside the fields and the checks of a submit with unreadable fields) only reports it.
    """
    for name, value in data.items():
        setattr(obj, name, value)
    # Every child table as it will be: the submitted rows applied, else the stored ones, read once
    # here rather than by each check that looks at the table.
    obj._pending_rows = {name: _pending_rows(obj, name, child_rows.get(name, [])) for name in obj.child_sets}
    obj.derive()
    return run_checks(spec.code, obj)


def check_form(*, spec: FormSpec, visit, data: dict, instance=None) -> tuple[list, list]:
    """(hard, soft) edit checks that saving ``data`` would fire, without writing anything."""
    data = {k: v for k, v in data.items() if k not in BOOKKEEPING and k != "reason"}
    reasons = data.pop("missing", None) or {}
    child_rows = {name: data.pop(name) for name in spec.model.child_sets if name in data}
    if instance is not None:
        obj = spec.model.objects.get(pk=instance.pk)
    else:
        obj = spec.model(participant=visit.participant, visit=visit)
    try:
        hard, soft, _quiet = _assess(spec, obj, data, child_rows)
    except DomainError as exc:  # a derivation that refuses these values says why
        return [exc], []
    allowed_here = missing.allowed(visit.participant.site.study, spec.code)
    return [*hard, *missing.problems(obj, reasons, allowed_here)], soft


def _save_or_conflict(obj, spec) -> None:
    """A form created by someone else at the same moment (a "one per" constraint) is a conflict, not a 500.

    The unique index makes the second insert wait for the first one's transaction; once it committed,
    the second user gets the conflict page with their input kept and merged with the colleague's.
    """
    if obj.pk is not None:
        obj.save()
        return
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        name = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", "") or ""
        constraint = next((c for c in type(obj)._meta.constraints if c.name == name), None)
        if constraint is None or "_one_per_" not in name:
            raise
        existing = (
            type(obj)
            .objects.filter(**{f: getattr(obj, f) for f in constraint.fields}, entered_in_error=False)
            .first()
        )
        if existing is None:
            raise
        raise ConflictError(
            _("Someone else created this form while you were entering yours."),
            current=existing,
            merge=_merge_items(spec, existing, 0, _form_values(obj, spec), {}, None),
        ) from exc


def _form_values(obj, spec) -> dict:
    return {
        f.name: getattr(obj, f.name)
        for f in spec.model._meta.concrete_fields
        if f.editable and f.name not in BOOKKEEPING and f.name != "participant"
    }


def _merge_items(spec, obj, base_version: int, data: dict, child_rows: dict, extra_merge):
    """The three-way merge of ``data`` and ``child_rows`` against ``obj`` (now) and its ``base_version``."""
    model = spec.model
    base = snapshot(obj, base_version)
    items = [
        (name, label(model, name), value_of(base, name), getattr(obj, name), value)
        for name, value in data.items()
    ]
    for name, rows in child_rows.items():
        relation = model._meta.get_field(name)
        row_model, fk = relation.related_model, relation.field.name
        then = UNKNOWN if base is UNKNOWN else rows_at(row_model, fk, obj, base_version)
        now = {row.pk: row for row in obj.rows(name)}
        table = label(model, name)
        submitted = {row.get("id") for row in rows if row.get("id")}
        for row in rows:
            pk = row.get("id")
            if not pk:
                continue  # a row I added: nothing of theirs to keep
            was = UNKNOWN if then is UNKNOWN else then.get(pk)
            current = now.get(pk)
            for key, value in row.items():
                if key == "id":
                    continue
                if key == "remove":
                    base_value = UNKNOWN if was is UNKNOWN else was is None
                    items.append(
                        (
                            f"{name}:{pk}:remove",
                            f"{table} · {_('removed')}",
                            base_value,
                            current is None,
                            value,
                        )
                    )
                    continue
                items.append(
                    (
                        f"{name}:{pk}:{key}",
                        f"{table} · {label(row_model, key)}",
                        value_of(was, key),
                        getattr(current, key) if current is not None else None,
                        value,
                    )
                )
        if then is not UNKNOWN:  # rows they added since: kept as they are, listed for the user
            for pk, current in now.items():
                if pk not in then and pk not in submitted:
                    items.append((f"{name}:{pk}:*", f"{table} · {_('added')}", None, str(current), None))
    if extra_merge is not None:
        items += extra_merge.items(obj, base, base_version)
    return three_way(obj.version, items)


def _merge_stale(spec, obj, base_version, data, child_rows, seen_version, keep, extra_merge) -> None:
    """Merge a save based on ``base_version`` into ``obj`` as it is now, or raise the conflict page.

    ``data`` and ``child_rows`` are changed in place: every value the user did not change (and every
    value they chose to keep from the colleague) takes the current one, so nothing is reverted.
    """
    merge = _merge_items(spec, obj, base_version, data, child_rows, extra_merge)
    undecided = [c for c in merge.both if keep.get(c.key) not in ("theirs", "mine")]
    if undecided or seen_version is None or int(seen_version) != obj.version:
        raise ConflictError(
            _(
                "This record was changed by someone else after you opened it. Review the current "
                "values and submit again."
            ),
            current=obj,
            merge=merge,
        )
    for change in merge.theirs + [c for c in merge.both if keep[c.key] == "theirs"]:
        name, _sep, rest = change.key.partition(":")
        if not rest:
            if name in data:
                data[name] = change.theirs
            elif extra_merge is not None:
                extra_merge.keep_theirs(change.key)
            continue
        if name not in child_rows:
            if extra_merge is not None:
                extra_merge.keep_theirs(change.key)
            continue
        pk, _sep, field = rest.partition(":")
        rows = child_rows[name]
        for row in list(rows):
            if str(row.get("id")) == pk:
                if field == "remove" and change.theirs:  # they removed it: do not bring it back
                    rows.remove(row)
                elif field not in ("*",):
                    row[field] = change.theirs


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
