"""The participant-level records of the ODM file: what the site entered outside the visit forms.

Two ``Common`` study events hold them in every ``SubjectData``:

- ``SE.PARTICIPANT`` / ``F.PARTICIPANT``: screening, consent, eligibility outcome, enrollment and dose
  level, lymphodepletion and infusion, end of study (the participant row, one item group per step);
- ``SE.ADVERSE_EVENTS`` / ``F.ADVERSE_EVENT``: one form per adverse event (``FormRepeatKey`` = the AE
  number, a per-participant sequence) with its dated grade entries, the SAE report and its follow-ups,
  the DLT adjudication and the IEC-HS event as item groups.

The daily CRS and ICANS assessments are visit forms (``crfs.registry``) and are written with their visit.
Broken signatures are written after the subjects (``broken_signatures``): ODM 1.3.2 allows one
``Signature`` per subject or visit (the valid one), so each broken one goes to ``ClinicalData/Signatures``
with an ``ID``, and its break (who, when, why) to ``ClinicalData/AuditRecords``.
"""

from collections import defaultdict
from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _
from lxml import etree

from adverse_events.models import (
    AdverseEvent,
    AdverseEventGrade,
    DltAdjudication,
    IecHsEvent,
    SaeFollowUp,
    SaeReport,
)
from trials.models import Participant

from . import deid, scope

PARTICIPANT_EVENT = "PARTICIPANT"
AE_EVENT = "ADVERSE_EVENTS"
PARTICIPANT_FORM = "participant"
AE_FORM = "adverse_event"

# The participant row's fields, one item group per step of participation, in the order they happen.
PARTICIPANT_GROUPS = (
    ("screening", _("Screening"),
     ("screening_number", "initials", "year_of_birth", "age", "sex", "screening_date", "status")),
    ("consent", _("Informed consent"), ("consent_date", "consent_version", "consent_obtained_by")),
    ("eligibility", _("Eligibility outcome"),
     ("eligibility_met", "eligibility_date", "screen_failure_reason")),
    ("enrollment", _("Enrollment and dose level"),
     ("enrollment_date", "dose_level", "planned_infusion_date")),
    ("treatment", _("Lymphodepletion and infusion"), ("lymphodepletion_start_date", "infusion_date")),
    ("end_of_study", _("End of study"), ("end_date", "end_reason")),
)  # fmt: skip
# Items that are not a plain column of the participant row, and the column their audit record follows.
AUDIT_COLUMN = {
    "dose_level": "dose_level_id",
    "consent_obtained_by": "consent_obtained_by_id",
    "age": "year_of_birth",
}


@dataclass(frozen=True)
class Group:
    """One item group of a participant-level form."""

    name: str | None  # None: the form's main group
    label: str
    model: type[models.Model]
    repeating: bool
    fields: tuple


def _synthetic(name, field) -> models.Field:
    field.set_attributes_from_name(name)
    return field


def participant_fields(study, options, names) -> tuple:
    """The participant row's fields of one group as the export holds them: the dose level as its code
    (with the study's dose levels as code list), who obtained consent as a user OID, and in a
    de-identified export the age instead of the year of birth and no initials, screening number or
    free text."""
    dropped = deid.dropped_fields(Participant) if options.deidentify else set()
    result = []
    for name in names:
        if name == "age":
            if options.deidentify:
                result.append(
                    _synthetic("age", models.PositiveSmallIntegerField(_("age at screening (years)")))
                )
            continue
        if name in dropped:
            continue
        if name == "dose_level":
            levels = [(d.code, d.label or d.code) for d in study.dose_levels.order_by("order", "code")]
            field = _synthetic("dose_level", models.CharField(_("dose level"), max_length=10, choices=levels))
            field.model = Participant
            result.append(field)
        elif name == "consent_obtained_by":
            field = _synthetic(
                "consent_obtained_by", models.CharField(_("consent obtained by (user)"), max_length=20)
            )
            result.append(field)
        else:
            result.append(Participant._meta.get_field(name))
    return tuple(result)


def participant_value(participant, field):
    """The stored value of ``field`` of the participant row (before shifting or formatting)."""
    if field.name == "dose_level":
        return participant.dose_level.code if participant.dose_level_id else None
    if field.name == "consent_obtained_by":
        return f"USR.{participant.consent_obtained_by_id}" if participant.consent_obtained_by_id else None
    if field.name == "age":
        return deid.age_at(participant.year_of_birth, participant.screening_date)
    return getattr(participant, field.attname)


def participant_groups(study, options) -> list[Group]:
    return [
        Group(name, str(label), Participant, False, participant_fields(study, options, names))
        for name, label, names in PARTICIPANT_GROUPS
    ]


def adverse_event_groups(options) -> list[Group]:
    from .odm import item_fields

    def group(name, model, repeating):
        return Group(
            name, str(model._meta.verbose_name), model, repeating, tuple(item_fields(model, options))
        )

    return [
        group(None, AdverseEvent, False),
        group("grades", AdverseEventGrade, True),
        group("sae_report", SaeReport, False),
        group("sae_follow_ups", SaeFollowUp, True),
        group("dlt_adjudication", DltAdjudication, False),
        group("iec_hs", IecHsEvent, False),
    ]


def exports_adverse_events(options) -> bool:
    return options.form_codes is None or "adverse_events" in options.form_codes


@dataclass(frozen=True)
class SubjectForm:
    """A participant-level form and the ``Common`` study event that holds it."""

    event: str
    event_name: str
    code: str
    title: str
    repeating: bool
    groups: list[Group]


def subject_forms(study, options) -> list[SubjectForm]:
    forms = [
        SubjectForm(
            PARTICIPANT_EVENT,
            str(_("Participation")),
            PARTICIPANT_FORM,
            str(_("Participation: consent, eligibility, enrollment, treatment, end of study")),
            False,
            participant_groups(study, options),
        )
    ]
    if exports_adverse_events(options):
        forms.append(
            SubjectForm(
                AE_EVENT,
                str(_("Adverse events")),
                AE_FORM,
                str(_("Adverse event")),
                True,
                adverse_event_groups(options),
            )
        )
    return forms


# --- Data --------------------------------------------------------------------------------------------


@dataclass
class AdverseEventRecord:
    event: AdverseEvent
    changes: tuple | None
    groups: dict  # group name → [(row, changes)]


def adverse_events(study, options, participant_ids) -> dict[int, list[AdverseEventRecord]]:
    """The live adverse events in scope of a batch of participants with their grades, SAE report and
    follow-ups, DLT adjudication and IEC-HS event, by participant id."""
    from .odm import item_fields, last_changes

    if not exports_adverse_events(options):
        return {}
    events = list(scope.adverse_events(study, options).filter(participant_id__in=participant_ids))
    if not events:
        return {}
    ids = [e.pk for e in events]
    event_changes = last_changes(AdverseEvent, ids, item_fields(AdverseEvent, options))
    rows = defaultdict(lambda: defaultdict(list))

    def attach(name, model, queryset, key):
        found = list(queryset.filter(entered_in_error=False).order_by("pk"))
        changes = last_changes(model, [r.pk for r in found], item_fields(model, options))
        for row in found:
            rows[key(row)][name].append((row, changes.get(row.pk)))
        return found

    grades = AdverseEventGrade.objects.filter(adverse_event_id__in=ids).order_by("grade_on", "pk")
    attach("grades", AdverseEventGrade, grades, lambda r: r.adverse_event_id)
    reports = attach(
        "sae_report",
        SaeReport,
        SaeReport.objects.filter(adverse_event_id__in=ids),
        lambda r: r.adverse_event_id,
    )
    event_of_report = {r.pk: r.adverse_event_id for r in reports}
    attach(
        "sae_follow_ups",
        SaeFollowUp,
        SaeFollowUp.objects.filter(report_id__in=list(event_of_report)),
        lambda r: event_of_report[r.report_id],
    )
    attach(
        "dlt_adjudication",
        DltAdjudication,
        DltAdjudication.objects.filter(adverse_event_id__in=ids),
        lambda r: r.adverse_event_id,
    )
    attach(
        "iec_hs",
        IecHsEvent,
        IecHsEvent.objects.filter(adverse_event_id__in=ids),
        lambda r: r.adverse_event_id,
    )
    result = defaultdict(list)
    for event in events:
        result[event.participant_id].append(
            AdverseEventRecord(event, event_changes.get(event.pk), rows[event.pk])
        )
    return result


def participant_changes(participant_ids, study, options) -> dict:
    """``odm.last_changes`` of the participant rows, per field of every participation group."""
    from .odm import last_changes

    columns = set()
    for _name, _label, names in PARTICIPANT_GROUPS:
        for name in names:
            columns.add(AUDIT_COLUMN.get(name, name))
    fields = [f for f in Participant._meta.concrete_fields if f.attname in columns]
    return last_changes(Participant, participant_ids, fields)


def write_participant(subject, participant, changes, groups, options, dates, site_code) -> int:
    """``SE.PARTICIPANT`` with the participation form; the number of ``ItemData`` written."""
    from . import odm

    event = etree.SubElement(
        subject, odm.Q("StudyEventData"), {"StudyEventOID": odm.event_oid(PARTICIPANT_EVENT)}
    )
    form = etree.SubElement(event, odm.Q("FormData"), {"FormOID": odm.form_oid(PARTICIPANT_FORM)})
    if changes:
        odm._audit(form, changes[0], site_code, dates)
    per_field = changes[1] if changes else {}
    count = 0
    for group in groups:
        group_el = etree.Element(
            odm.Q("ItemGroupData"), {"ItemGroupOID": odm.group_oid(PARTICIPANT_FORM, group.name)}
        )
        for field in group.fields:
            text = odm.format_value(dates.value(field, participant_value(participant, field)))
            if text is None:
                continue
            item = etree.SubElement(
                group_el,
                odm.Q("ItemData"),
                {"ItemOID": odm.item_oid(PARTICIPANT_FORM, field.name, group.name), "Value": text},
            )
            change = per_field.get(AUDIT_COLUMN.get(field.name, field.attname))
            if change:
                odm._audit(item, change, site_code, dates)
            count += 1
        if len(group_el):
            form.append(group_el)
    return count


def write_adverse_events(subject, records, options, dates, site_code, form_keys, content_types) -> int:
    """``SE.ADVERSE_EVENTS`` with one form per adverse event; the number of ``ItemData`` written."""
    from . import odm

    if not records:
        return 0
    event_oid = odm.event_oid(AE_EVENT)
    event = etree.SubElement(subject, odm.Q("StudyEventData"), {"StudyEventOID": event_oid})
    count = 0
    for record in records:
        ae = record.event
        attrib = {"FormOID": odm.form_oid(AE_FORM), "FormRepeatKey": str(ae.number)}
        form_keys[(content_types.get(AdverseEvent), ae.pk)] = {"StudyEventOID": event_oid, **attrib}
        form = etree.SubElement(event, odm.Q("FormData"), attrib)
        if record.changes:
            odm._audit(form, record.changes[0], site_code, dates)
        group = etree.SubElement(form, odm.Q("ItemGroupData"), {"ItemGroupOID": odm.group_oid(AE_FORM)})
        count += odm._items(group, AE_FORM, None, ae, record.changes, options, dates, site_code)
        for name in ("grades", "sae_report", "sae_follow_ups", "dlt_adjudication", "iec_hs"):
            for key, (row, changes) in enumerate(record.groups.get(name, []), start=1):
                form_keys[(content_types.get(type(row)), row.pk)] = form_keys[
                    (content_types.get(AdverseEvent), ae.pk)
                ]
                group_attrib = {"ItemGroupOID": odm.group_oid(AE_FORM, name)}
                if name in ("grades", "sae_follow_ups"):
                    group_attrib["ItemGroupRepeatKey"] = str(key)
                group = etree.SubElement(form, odm.Q("ItemGroupData"), group_attrib)
                count += odm._items(group, AE_FORM, name, row, changes, options, dates, site_code)
    return count


# --- Broken signatures -------------------------------------------------------------------------------


def broken_reason(signature, options) -> str:
    """Why the signature broke, in English. De-identified, the reason is rebuilt from its stored parts
    with the user's OID for their name and without the free-text reason the user gave (a break recorded
    before parts were stored gives none)."""
    from signatures.services import reason_text

    if not options.deidentify:
        return signature.broken_reason
    parts = signature.broken_reason_parts
    if not parts:
        return ""
    params = {
        **parts.get("params", {}),
        "user": f"USR.{signature.broken_by_id}" if signature.broken_by_id else "system",
    }
    return reason_text({"msgid": parts["msgid"], "params": params, "reason": ""})


def signature_id(key: str, number: int) -> str:
    """``SIG.<subject key>.<n>``: the participant's n-th broken signature (an XML ID, no database id)."""
    from .odm import oid_part

    return f"SIG.{oid_part(key)}.{number}"


def write_broken_signatures(xf, study, options) -> int:
    """Every broken signature of the participants in scope: the signature as it was given in
    ``ClinicalData/Signatures`` and its break (who, when, why) in ``ClinicalData/AuditRecords``, linked
    by their IDs (``AR.`` + the signature's ID) and, with the vendor extension, by ``edc:SignatureID``,
    ``edc:SubjectKey`` and ``edc:StudyEventOID``. A "study day" export holds no time stamps, so none."""
    from django.apps import apps

    from . import odm

    if not apps.is_installed("signatures") or (options.deidentify and options.date_mode == "study_day"):
        return 0
    from signatures.models import Signature, SignatureStatus

    in_scope = scope.participants(study, options).values("pk")
    broken = (
        Signature.objects.filter(participant__in=in_scope, status=SignatureStatus.BROKEN)
        .select_related("participant__site", "participant__pseudonym", "visit__definition")
        .order_by("participant_id", "signed_at", "pk")
    )
    shifts = deid.offsets({s.participant_id for s in broken}) if options.deidentify else {}
    nsmap = odm.nsmap_of(options)
    records = etree.Element(odm.Q("AuditRecords"), nsmap=nsmap)
    signatures = etree.Element(odm.Q("Signatures"), nsmap=nsmap)
    number, previous = 0, None
    for signature in broken:
        participant = signature.participant
        number = number + 1 if participant.pk == previous else 1
        previous = participant.pk
        dates = odm.Dates(participant, options, shifts.get(participant.pk))
        site_code = participant.site.code
        key = odm.subject_key(participant, options)
        sig_id = signature_id(key, number)
        element = etree.SubElement(signatures, odm.Q("Signature"), {"ID": sig_id})
        record = etree.SubElement(records, odm.Q("AuditRecord"), {"ID": f"AR.{sig_id}"})
        if not options.odm_pure:
            element.set(odm.E("SubjectKey"), key)
            element.set(odm.E("Status"), SignatureStatus.BROKEN.value)
            if signature.visit_id is not None:
                visit = signature.visit
                scheduled = visit.definition_id is not None and not visit.unscheduled
                element.set(odm.E("StudyEventOID"), odm.event_oid(visit.code if scheduled else None))
                if not scheduled:
                    element.set(odm.E("StudyEventRepeatKey"), str(visit.sequence))
            record.set(odm.E("SignatureID"), sig_id)
        etree.SubElement(element, odm.Q("UserRef"), {"UserOID": f"USR.{signature.signer_id}"})
        etree.SubElement(element, odm.Q("LocationRef"), {"LocationOID": odm.location_oid(site_code)})
        etree.SubElement(
            element, odm.Q("SignatureRef"), {"SignatureOID": odm.signature_def_oid(signature.meaning)}
        )
        etree.SubElement(element, odm.Q("DateTimeStamp")).text = odm.utc_stamp(
            dates.moment(signature.signed_at)
        )
        user = f"USR.{signature.broken_by_id}" if signature.broken_by_id else odm.SYSTEM_USER
        etree.SubElement(record, odm.Q("UserRef"), {"UserOID": user})
        etree.SubElement(record, odm.Q("LocationRef"), {"LocationOID": odm.location_oid(site_code)})
        etree.SubElement(record, odm.Q("DateTimeStamp")).text = odm.utc_stamp(
            dates.moment(signature.broken_at)
        )
        reason = broken_reason(signature, options)
        if reason:
            etree.SubElement(record, odm.Q("ReasonForChange")).text = reason
    if not len(signatures):
        return 0
    xf.write(records)
    xf.write(signatures)
    return len(signatures)
