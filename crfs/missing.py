"""Missing data said properly: a field the site cannot fill carries why ("not done", "unknown", "not
applicable") instead of a silent blank, for the fields and the reasons the protocol allows
(``settings.missing_data`` of the protocol file: ``{form code: {field: [reasons]}}``).

A field with a reason counts as answered when the form is marked complete; a field cannot have both a
value and a reason. Reasons are stored in ``MissingValue`` (one row per record and field, audited).
"""

from django.contrib.contenttypes.models import ContentType
from django.utils.translation import gettext as _

from edc.errors import Problem

from .models import MissingReason, MissingValue
from .registry import FORMS

SETTING = "missing_data"


def allowed(study, code: str) -> dict[str, list[str]]:
    """{field: [reasons]} the protocol allows on form ``code``."""
    from trials.protocol import setting

    return dict((setting(study, SETTING) or {}).get(code, {}))


def reasons_of(instance) -> dict[str, str]:
    """{field: reason} stored for ``instance`` (withdrawn reasons left out)."""
    if instance is None or instance.pk is None:
        return {}
    rows = MissingValue.objects.filter(
        content_type=ContentType.objects.get_for_model(instance), object_id=instance.pk
    ).exclude(reason="")
    return {row.field_name: row.reason for row in rows}


def reasons_by_record(model, pks) -> dict[int, dict[str, str]]:
    """{record pk: {field: reason}} of the records ``pks`` of ``model``, in one query (for exports)."""
    found: dict[int, dict[str, str]] = {}
    rows = (
        MissingValue.objects.filter(content_type=ContentType.objects.get_for_model(model), object_id__in=pks)
        .exclude(reason="")
        .values_list("object_id", "field_name", "reason")
    )
    for object_id, name, reason in rows:
        found.setdefault(object_id, {})[name] = reason
    return found


def problems(obj, reasons: dict[str, str], allowed_here: dict[str, list[str]]) -> list[Problem]:
    """A reason the protocol does not allow for the field, or a reason beside a value."""
    found = []
    for name, reason in reasons.items():
        if not reason:
            continue
        if reason not in allowed_here.get(name, []):
            found.append(Problem(_("The protocol does not allow this reason for this field."), field=name))
        elif getattr(obj, name, None) not in (None, ""):
            found.append(Problem(_("Give a value or say why it is missing, not both."), field=name))
    return found


def save_reasons(obj, reasons: dict[str, str]) -> None:
    """Store the reasons given with a save (in its transaction); a cleared one is kept as withdrawn.

    A reason belongs to its form: a lock on the form (its visit, participant, the study) refuses it
    with the lock's message (``LockedError``), as the table's lock trigger does for any other writer."""
    from monitoring.locks import refuse_if_locked

    if reasons:
        refuse_if_locked(obj)
    content_type = ContentType.objects.get_for_model(obj)
    stored = {
        row.field_name: row
        for row in MissingValue.objects.select_for_update().filter(
            content_type=content_type, object_id=obj.pk
        )
    }
    for name, reason in reasons.items():
        row = stored.get(name)
        if row is None:
            if reason:
                MissingValue.objects.create(
                    content_type=content_type, object_id=obj.pk, field_name=name, reason=reason
                )
        elif row.reason != reason:
            row.reason = reason
            row.save(update_fields=["reason"])


def validate_setting(reader, value, path):
    """The protocol's ``settings.missing_data``: known forms, their fields, known reasons."""
    reader.mapping(value, path, optional=tuple(FORMS))
    result = {}
    for code, fields in value.items():
        model = FORMS[code].model
        names = {f.name for f in model._meta.concrete_fields if f.editable}
        reader.mapping(fields, f"{path}.{code}", optional=tuple(sorted(names)))
        result[code] = {}
        for name, reasons in fields.items():
            where = f"{path}.{code}.{name}"
            listed = reader.sequence(reasons, where)
            for i, reason in enumerate(listed):
                if reason not in MissingReason.values:
                    reader.fail(f"{where}[{i}]", f"must be one of {', '.join(MissingReason.values)}")
            result[code][name] = list(listed)
    return result
