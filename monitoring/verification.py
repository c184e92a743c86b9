"""Source-data verification (SDV): a monitor checks a complete form, or single fields of it, against the
source documents.

Risk-based SDV verifies only the fields the protocol file marks critical (``settings.critical_fields``:
eligibility, dosing, CRS/ICANS, SLEDAI, PGA…). Verifying stores the value as verified; any later change to
it clears the verification (and any whole-form verification of the record) with what changed, when, by
whom and why, in the same audited transaction as the change (:func:`clear_verifications`, called by
``crfs.services.save_form``). Rows are never deleted; verifying again adds a new one.
"""

import hashlib
import json

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.permissions import Action, require
from edc.audit import audited
from edc.errors import DomainError
from edc.localtime import site_time
from edc.models import FORM_BOOKKEEPING

from .models import SourceVerification

# Study setting (``study.settings``) from the protocol file: ``{form code: [field, ...]}``.
CRITICAL_FIELDS_SETTING = "critical_fields"

# Columns that are the record's bookkeeping, not source data.
NOT_VERIFIABLE = FORM_BOOKKEEPING


def form_code(record) -> str | None:
    """The CRF code of ``record``'s model (``crfs.registry.FORMS``), or None."""
    from crfs.registry import FORMS

    return next((code for code, spec in FORMS.items() if spec.model is type(record)), None)


def critical_fields(study, code: str) -> list[str]:
    """The fields of form ``code`` the study's protocol marks critical (risk-based SDV)."""
    return list(((study.settings or {}).get(CRITICAL_FIELDS_SETTING) or {}).get(code, []))


def verifiable_fields(model) -> list:
    return [f for f in model._meta.concrete_fields if f.name not in NOT_VERIFIABLE]


def validate_critical_fields(r, given, path: str) -> dict[str, list[str]]:
    """The protocol file's ``settings.critical_fields``: ``{form code: [field, ...]}``, each form a CRF the
    system implements and each field one of its own (``r``: ``trials.protocol``'s reader, which fails
    naming the file and ``path``). Registered in ``MonitoringConfig.ready()``."""
    from crfs.registry import FORMS

    r.mapping(given, path, optional=tuple(FORMS))
    result = {}
    for code, fields in given.items():
        names = {f.name for f in verifiable_fields(FORMS[code].model)}
        listed = []
        for j, name in enumerate(r.sequence(fields, f"{path}.{code}")):
            if name not in names:
                r.fail(f"{path}.{code}[{j}]", f"{code!r} has no field {name!r}")
            if name in listed:
                r.fail(f"{path}.{code}[{j}]", f"{name!r} is listed twice")
            listed.append(name)
        result[code] = listed
    return result


def value_text(record, field_name: str) -> str:
    field = record._meta.get_field(field_name)
    return "" if getattr(record, field.attname) is None else field.value_to_string(record)


def digest(record) -> str:
    """A digest of every value of the form and its table rows, as verified."""
    values = {f.name: value_text(record, f.name) for f in verifiable_fields(type(record))}
    for name in getattr(record, "child_sets", ()):
        values[name] = [
            {f.name: value_text(row, f.name) for f in verifiable_fields(type(row)) if f.name != "form"}
            for row in record.rows(name)
        ]
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()


def field_label(model, name: str) -> str:
    """A field's label; for a child table or a pseudo-field (a lab result), its name."""
    try:
        field = model._meta.get_field(name)
    except Exception:  # noqa: BLE001 - e.g. "result:hb" for a lab value
        return name
    if field.is_relation and field.auto_created:
        return str(field.related_model._meta.verbose_name_plural)
    return str(field.verbose_name)


def _check(user, record):
    """Who may verify ``record`` and whether it can be verified now; returns its content type."""
    from crfs.models import FormStatus

    require(user, Action.VERIFY, record.participant.site)
    if getattr(record, "entered_in_error", False):
        raise DomainError(_("This form was entered in error and cannot be verified."))
    if getattr(record, "status", FormStatus.COMPLETE) != FormStatus.COMPLETE:
        raise DomainError(_("Only a complete form can be verified."))
    return ContentType.objects.get_for_model(record)


def _live(content_type, record):
    return SourceVerification.objects.filter(content_type=content_type, object_id=record.pk, cleared_at=None)


def _create(user, record, content_type, field_name, value) -> SourceVerification:
    return SourceVerification.objects.create(
        participant=record.participant,
        content_type=content_type,
        object_id=record.pk,
        field_name=field_name,
        value=value,
        record_version=getattr(record, "version", 1),
        verified_by=user,
    )


def _fresh(record):
    """The record, locked for the transaction (its row only: not its participant, site or study)."""
    return (
        type(record)
        .objects.select_for_update(of=("self",))
        .select_related("participant__site__study")
        .get(pk=record.pk)
    )


def verify_form(*, user, record) -> SourceVerification:
    """The monitor verified every value of ``record`` against the source."""
    with audited(user=user, action="sdv.verify_form"):
        record = _fresh(record)
        content_type = _check(user, record)
        if _live(content_type, record).filter(field_name="").exists():
            raise DomainError(_("This form is already verified."))
        return _create(user, record, content_type, "", digest(record))


def verify_field(*, user, record, field_name: str) -> SourceVerification:
    """The monitor verified one field of ``record`` against the source."""
    _check(user, record)
    if field_name not in {f.name for f in verifiable_fields(type(record))}:
        raise DomainError(
            _("This form has no field named %(field)s.") % {"field": field_name}, field="field_name"
        )
    with audited(user=user, action="sdv.verify_field"):
        record = _fresh(record)
        content_type = _check(user, record)
        if _live(content_type, record).filter(field_name=field_name).exists():
            raise DomainError(
                _("%(field)s is already verified.") % {"field": field_label(type(record), field_name)},
                field="field_name",
            )
        return _create(user, record, content_type, field_name, value_text(record, field_name))


def verify_critical_fields(*, user, record) -> list[SourceVerification]:
    """Risk-based SDV: verify every critical field of ``record`` not verified yet."""
    _check(user, record)
    fields = critical_fields(record.participant.site.study, form_code(record) or "")
    if not fields:
        raise DomainError(_("The protocol marks no field of this form as critical."))
    with audited(user=user, action="sdv.verify_critical_fields"):
        record = _fresh(record)
        content_type = _check(user, record)
        done = set(_live(content_type, record).values_list("field_name", flat=True))
        todo = [name for name in fields if name not in done]
        if not todo:
            raise DomainError(_("Every critical field of this form is already verified."))
        return [_create(user, record, content_type, name, value_text(record, name)) for name in todo]


def _shown(value) -> str:
    return "—" if value in (None, "") else str(value)


def clear_verifications(*, record, changes: dict, user=None, reason: str = "") -> int:
    """Clear the live verifications of ``record`` that ``changes`` (``{field: (old, new)}``) invalidate.

    A changed field loses its own verification; any change loses the whole-form verification. Called
    inside the transaction (and audit context) of the change; returns how many were cleared.
    """
    if not changes or record.pk is None:
        return 0
    content_type = ContentType.objects.get_for_model(record)
    live = list(_live(content_type, record).select_for_update())
    if not live:
        return 0
    now = timezone.now()
    participant = getattr(record, "participant", None)
    when = f"{site_time(now, participant.site.timezone) if participant else now:%Y-%m-%d %H:%M}"
    who = getattr(user, "username", None) or _("the system")
    why = (reason or "").strip() or _("no reason given")
    model = type(record)
    cleared = 0
    for verification in live:
        if verification.field_name:
            if verification.field_name not in changes:
                continue
            old, new = changes[verification.field_name]
            text = _("%(field)s changed from %(old)s to %(new)s on %(at)s by %(user)s: %(reason)s") % {
                "field": field_label(model, verification.field_name),
                "old": _shown(old),
                "new": _shown(new),
                "at": when,
                "user": who,
                "reason": why,
            }
        else:
            text = _("The form changed (%(fields)s) on %(at)s by %(user)s: %(reason)s") % {
                "fields": ", ".join(field_label(model, name) for name in changes),
                "at": when,
                "user": who,
                "reason": why,
            }
        verification.cleared_at, verification.cleared_by, verification.cleared_reason = now, user, text
        verification.save(update_fields=["cleared_at", "cleared_by", "cleared_reason"])
        cleared += 1
    return cleared


def changes_between(before: dict, record) -> dict:
    """``{field: (old, new)}`` of ``record``'s verifiable fields against ``before`` (name → value)."""
    return {
        f.name: (before[f.name], getattr(record, f.attname))
        for f in verifiable_fields(type(record))
        if f.name in before and before[f.name] != getattr(record, f.attname)
    }


def values_of(record) -> dict:
    """The verifiable values of ``record`` now (name → value), to compare after a change."""
    return {f.name: getattr(record, f.attname) for f in verifiable_fields(type(record))}


def verify_critical_fields_in_bulk(*, user, records) -> int:
    """Risk-based SDV in one action: the critical fields not verified yet of every complete form in
    ``records`` (the forms of a whole visit, or one form across participants); returns the fields verified.

    Each field still gets its own verification row with its value (audited like a single one), all in one
    transaction; forms not complete, entered in error or without critical fields are left as they are.
    """
    from crfs.models import FormStatus

    records = list(records)
    for site in {record.participant.site for record in records}:
        require(user, Action.VERIFY, site)
    verified = 0
    with audited(user=user, action="sdv.verify_critical_fields_in_bulk"):
        for record in records:
            record = _fresh(record)
            if record.entered_in_error or getattr(record, "status", "") != FormStatus.COMPLETE:
                continue
            fields = critical_fields(record.participant.site.study, form_code(record) or "")
            content_type = ContentType.objects.get_for_model(record)
            done = set(_live(content_type, record).values_list("field_name", flat=True))
            if "" in done:  # verified as a whole already
                continue
            for name in fields:
                if name not in done:
                    _create(user, record, content_type, name, value_text(record, name))
                    verified += 1
    return verified
