"""CDISC ODM 1.3.2: the study's metadata and its clinical data with audit records and signatures.

One snapshot file (``FileType="Snapshot"``, ``Granularity="All"``):

- ``Study``: measurement units, one ``MetaDataVersion`` built from the protocol (visits as
  ``StudyEventDef``) and the form registry (``crfs.registry.FORMS``: each model's fields give
  ``ItemDef`` with its data type, ``CodeList`` from the choices, ``RangeCheck`` from the min/max
  validators, ``MeasurementUnitRef`` from the unit in the label);
- ``AdminData``: users (name only, no contact details), one ``Location`` per site, one
  ``SignatureDef`` per signature meaning;
- ``ClinicalData``: one ``SubjectData`` per participant (``SubjectKey`` = study id, never initials)
  with its site, visits, forms, item groups (child tables and lab results are repeating groups)
  and items. Every ``ItemData`` carries the ``AuditRecord`` of the change that gave it its current
  value (user, site, time stamp, reason for change, from the pghistory events), every ``FormData``
  the record's latest change; visit and casebook ``Signature`` elements come from ``signatures``.

Queries and source data verification are not ODM concepts: they are written in the vendor extension
namespace ``EDC_NS`` at the end of each ``SubjectData``, the one place the ODM extension mechanism
offers (the empty ``SubjectDataElementExtension`` group of ``ODM1-3-2-foundation.xsd``; the schema
has no ``##other`` wildcards). As the ODM specification requires, removing the extension elements
leaves a document valid against the unmodified ODM 1.3.2 schema; ``extension_schema()`` gives the
ODM schema redefined with the extension, which validates the file as written.

Why a field is empty ("not done", "unknown", "not applicable": ``crfs.missing``) has no ODM 1.3.2
element either: such a field is written as ``<ItemData IsNull="Yes" edc:MissingReason="not_done"/>``,
ODM's own null flag with the reason in a vendor attribute (the ``ItemDataAttributeExtension`` group,
redefined the same way); without the attribute the item is a plain ODM null. A partial date is written
to the precision the site knew it ("2019", "2019-03"), as ISO 8601 writes it.

The file is written incrementally (``lxml.etree.xmlfile``): one participant's subtree is in memory
at a time, and records are read per batch of participants (forms without any record in scope are
skipped, and only the visits that hold forms or signatures are read, as plain rows).
"""

import copy
import hashlib
import json
import re
import shutil
from collections import defaultdict, namedtuple
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone, translation
from lxml import etree

from crfs.missing import reasons_by_record
from edc.models import FORM_BOOKKEEPING
from edc.partial_dates import PARTIAL_LENGTH, to_precision
from trials.models import Participant, VisitDefinition
from visits.models import Visit

from . import deid, scope

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
EDC_NS = "urn:udcar-edc:odm-extension:1"
NSMAP = {None: ODM_NS, "edc": EDC_NS}
PURE_NSMAP = {None: ODM_NS}
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XSI_SCHEMA_LOCATION = f"{{{XSI_NS}}}schemaLocation"
# The schema files shipped next to ``odm.xml`` (``write_schemas``): the official ODM 1.3.2 schema and, for
# a file with the vendor extension, the extended schema and the extension's own namespace schema.
ODM_XSD = "ODM1-3-2.xsd"
EXTENDED_XSD = "ODM1-3-2-udcar-edc.xsd"
EXTENSION_XSD_FILE = "udcar-edc-extension.xsd"
OFFICIAL_XSD_FILES = ("ODM1-3-2.xsd", "ODM1-3-2-foundation.xsd", "xml.xsd", "xmldsig-core-schema.xsd")
SCHEMA_DIR = Path(__file__).parent / "schemas"
SOURCE_SYSTEM = "UDCAR EDC"
BATCH = 500  # participants whose records are read together

# Columns every clinical record has that are bookkeeping, not collected data.
BOOKKEEPING = FORM_BOOKKEEPING | {"form", "panel"}
# Repeating child tables of a form that are not declared in ``child_sets`` (lab results).
EXTRA_CHILDREN = {"labs": ("results",)}
SYSTEM_USER = "USR.SYSTEM"
_UNIT = re.compile(r"\(([^()]+)\)\s*$")
_UNIT_WORDS = {"kg", "cm", "mm", "s", "mg", "g", "mL", "days", "years", "L"}


def Q(tag: str) -> str:  # noqa: N802 - reads like the element name it builds
    return f"{{{ODM_NS}}}{tag}"


def E(tag: str) -> str:  # noqa: N802
    return f"{{{EDC_NS}}}{tag}"


def nsmap_of(options) -> dict:
    """The namespaces of the file: a pure ODM file declares no vendor namespace."""
    return PURE_NSMAP if options.odm_pure else NSMAP


_NOT_OID = re.compile(r"[^A-Za-z0-9]+")


def oid_part(value: str) -> str:
    return _oid_part(str(value))


# OIDs are computed per ItemData (millions in a large study) from a few hundred distinct names.
@lru_cache(maxsize=8192)
def _oid_part(text: str) -> str:
    return _NOT_OID.sub("_", text).strip("_").upper() or "X"


# --- Metadata --------------------------------------------------------------------------------------


def unit_of(field) -> str | None:
    """The unit written in a field's (English) label, e.g. "weight (kg)" → "kg"."""
    match = _UNIT.search(str(field.verbose_name))
    if not match:
        return None
    text = match.group(1).strip()
    if text in _UNIT_WORDS or (any(c in text for c in "/%°²⁹") and not re.search(r"\d\s*[–-]\s*\d", text)):
        return text
    return None


def unit_oid(unit: str) -> str:
    """A readable OID, made unique by a short hash ("10^9/L" and "×10⁹/L" read alike)."""
    readable = oid_part(unit.replace("%", "PCT").replace("°", "DEG").replace("/", "_PER_"))
    return f"MU.{readable}.{hashlib.sha1(unit.encode()).hexdigest()[:6].upper()}"


def child_sets(spec) -> list[tuple[str, type[models.Model]]]:
    """(relation name, row model) of each repeating child table of ``spec``'s form."""
    names = tuple(getattr(spec.model, "child_sets", ())) + EXTRA_CHILDREN.get(spec.code, ())
    return [(name, spec.model._meta.get_field(name).related_model) for name in names]


@lru_cache(maxsize=256)
def item_fields(model, options) -> list[models.Field]:
    """The collected fields of ``model`` that the export holds (de-identification drops some)."""
    dropped = deid.dropped_fields(model) if options.deidentify else set()
    return [
        f
        for f in model._meta.concrete_fields
        if f.name not in BOOKKEEPING
        and not f.is_relation
        and f.name not in dropped
        # Stored calculator results may hold dates and entered values that de-identification
        # cannot reach inside the JSON; the fields they were derived from are exported.
        and not (options.deidentify and isinstance(f, models.JSONField))
    ]


def as_study_day(field, options) -> bool:
    """In a de-identified "study day" export, dates are replaced by the study day."""
    return options.deidentify and options.date_mode == "study_day" and isinstance(field, models.DateField)


@lru_cache(maxsize=4096)
def _precision_of(field) -> str:
    """The name of a partial date's precision field ("" for a plain date)."""
    name = f"{field.name}_precision"
    model = getattr(field, "model", None)
    if model is None or not isinstance(field, models.DateField) or isinstance(field, models.DateTimeField):
        return ""
    return name if any(f.name == name for f in model._meta.concrete_fields) else ""


def data_type(field, options) -> tuple[str, dict]:
    """ODM DataType and the Length/SignificantDigits attributes of ``field``."""
    if as_study_day(field, options):
        return "integer", {}
    if isinstance(field, models.BooleanField):
        return "boolean", {}
    if isinstance(field, models.DateTimeField):
        return "datetime", {}
    if isinstance(field, models.DateField):
        return ("partialDate" if _precision_of(field) else "date"), {}
    if isinstance(field, models.TimeField):
        return "time", {}
    if isinstance(field, models.DecimalField):
        return "float", {"Length": str(field.max_digits), "SignificantDigits": str(field.decimal_places)}
    if isinstance(field, (models.IntegerField, models.AutoField)):
        return "integer", {}
    if isinstance(field, models.CharField) and field.max_length:
        return "text", {"Length": str(field.max_length)}
    return "text", {}


@lru_cache(maxsize=8192)
def item_oid(form_code: str, field_name: str, group: str | None = None) -> str:
    parts = [form_code] + ([group] if group else []) + [field_name]
    return "IT." + ".".join(oid_part(p) for p in parts)


def group_oid(form_code: str, group: str | None = None) -> str:
    return "IG." + ".".join(oid_part(p) for p in ([form_code] + ([group] if group else [])))


def form_oid(form_code: str) -> str:
    return "F." + oid_part(form_code)


def codelist_oid(model, field) -> str:
    return f"CL.{oid_part(model._meta.label)}.{oid_part(field.name)}"


def event_oid(code: str | None) -> str:
    return "SE." + oid_part(code) if code else "SE.UNSCHEDULED"


def _text(parent, tag, text, **attrib):
    element = etree.SubElement(parent, Q(tag), attrib)
    translated = etree.SubElement(
        element, Q("TranslatedText"), {"{http://www.w3.org/XML/1998/namespace}lang": "en"}
    )
    translated.text = str(text)
    return element


def _item_def(parent, oid, model, field, options, codelists, units):
    dtype, extra = data_type(field, options)
    label = str(field.verbose_name)
    if as_study_day(field, options):
        label += " (study day)"
    item = etree.SubElement(
        parent, Q("ItemDef"), {"OID": oid, "Name": field.name, "DataType": dtype, **extra}
    )
    _text(item, "Question", label)
    unit = unit_of(field)
    if unit:
        units.add(unit)
        etree.SubElement(item, Q("MeasurementUnitRef"), {"MeasurementUnitOID": unit_oid(unit)})
    for validator in field.validators:
        comparator = {MinValueValidator: "GE", MaxValueValidator: "LE"}.get(type(validator))
        if comparator:
            check = etree.SubElement(item, Q("RangeCheck"), {"Comparator": comparator, "SoftHard": "Hard"})
            etree.SubElement(check, Q("CheckValue")).text = str(validator.limit_value)
    if field.choices and not as_study_day(field, options):
        cl_oid = codelist_oid(model, field)
        etree.SubElement(item, Q("CodeListRef"), {"CodeListOID": cl_oid})
        codelists[cl_oid] = (field, "integer" if dtype == "integer" else "text")


def _codelist(parent, oid, field, dtype):
    codelist = etree.SubElement(parent, Q("CodeList"), {"OID": oid, "Name": field.name, "DataType": dtype})
    for value, label in field.choices:
        item = etree.SubElement(codelist, Q("CodeListItem"), {"CodedValue": str(value)})
        _text(item, "Decode", label)


def visit_definitions(study) -> list[VisitDefinition]:
    """One definition per visit code over the study's protocol versions, the latest version winning."""
    by_code = {}
    for definition in VisitDefinition.objects.filter(protocol_version__study=study).order_by(
        "protocol_version__number", "order"
    ):
        by_code[definition.code] = definition
    return sorted(by_code.values(), key=lambda d: (d.target_day, d.order))


def mdv_oid(study) -> str:
    protocol = study.current_protocol
    return f"MDV.{protocol.number if protocol else 1}"


def study_oid(study) -> str:
    return "ST." + oid_part(study.code)


def study_element(study, options, specs) -> etree._Element:
    """The ``Study`` element: global variables, measurement units and the metadata version (the visits
    and their forms, then the participant-level events and forms of ``odm_subject``)."""
    from . import odm_subject

    subject_forms = odm_subject.subject_forms(study, options)
    protocol = study.current_protocol
    root = etree.Element(Q("Study"), {"OID": study_oid(study)}, nsmap=nsmap_of(options))
    variables = etree.SubElement(root, Q("GlobalVariables"))
    etree.SubElement(variables, Q("StudyName")).text = study.code
    etree.SubElement(variables, Q("StudyDescription")).text = study.title
    etree.SubElement(variables, Q("ProtocolName")).text = f"{study.code} ({study.nct_id})"
    basic = etree.SubElement(root, Q("BasicDefinitions"))
    mdv = etree.SubElement(
        root,
        Q("MetaDataVersion"),
        {"OID": mdv_oid(study), "Name": f"Protocol {protocol.label if protocol else ''}".strip()},
    )
    codes = [spec.code for spec in specs]
    definitions = visit_definitions(study)
    protocol_el = etree.SubElement(mdv, Q("Protocol"))
    for order, definition in enumerate(definitions, start=1):
        etree.SubElement(
            protocol_el,
            Q("StudyEventRef"),
            {
                "StudyEventOID": event_oid(definition.code),
                "OrderNumber": str(order),
                "Mandatory": "No" if definition.optional else "Yes",
            },
        )
    etree.SubElement(
        protocol_el,
        Q("StudyEventRef"),
        {"StudyEventOID": event_oid(None), "OrderNumber": str(len(definitions) + 1), "Mandatory": "No"},
    )
    for order, subject_form in enumerate(subject_forms, start=len(definitions) + 2):
        etree.SubElement(
            protocol_el,
            Q("StudyEventRef"),
            {"StudyEventOID": event_oid(subject_form.event), "OrderNumber": str(order), "Mandatory": "No"},
        )
    for definition in definitions:
        event = etree.SubElement(
            mdv,
            Q("StudyEventDef"),
            {
                "OID": event_oid(definition.code),
                "Name": definition.name,
                "Repeating": "No",
                "Type": "Scheduled",
            },
        )
        _text(event, "Description", f"Study day {definition.target_day}")
        forms = [code for code in definition.forms if code in codes]
        for order, code in enumerate(forms, start=1):
            etree.SubElement(
                event, Q("FormRef"), {"FormOID": form_oid(code), "OrderNumber": str(order), "Mandatory": "No"}
            )
    unscheduled = etree.SubElement(
        mdv,
        Q("StudyEventDef"),
        {"OID": event_oid(None), "Name": "Unscheduled visit", "Repeating": "Yes", "Type": "Unscheduled"},
    )
    for order, code in enumerate(codes, start=1):
        etree.SubElement(
            unscheduled,
            Q("FormRef"),
            {"FormOID": form_oid(code), "OrderNumber": str(order), "Mandatory": "No"},
        )
    for subject_form in subject_forms:
        event = etree.SubElement(
            mdv,
            Q("StudyEventDef"),
            {
                "OID": event_oid(subject_form.event),
                "Name": subject_form.event_name,
                "Repeating": "No",
                "Type": "Common",
            },
        )
        etree.SubElement(
            event,
            Q("FormRef"),
            {"FormOID": form_oid(subject_form.code), "OrderNumber": "1", "Mandatory": "No"},
        )
    for spec in specs:
        form = etree.SubElement(
            mdv,
            Q("FormDef"),
            {
                "OID": form_oid(spec.code),
                "Name": str(spec.title),
                "Repeating": "Yes" if spec.repeating else "No",
            },
        )
        etree.SubElement(form, Q("ItemGroupRef"), {"ItemGroupOID": group_oid(spec.code), "Mandatory": "Yes"})
        for name, _model in child_sets(spec):
            etree.SubElement(
                form, Q("ItemGroupRef"), {"ItemGroupOID": group_oid(spec.code, name), "Mandatory": "No"}
            )
    for subject_form in subject_forms:
        form = etree.SubElement(
            mdv,
            Q("FormDef"),
            {
                "OID": form_oid(subject_form.code),
                "Name": subject_form.title,
                "Repeating": "Yes" if subject_form.repeating else "No",
            },
        )
        for group in subject_form.groups:
            etree.SubElement(
                form,
                Q("ItemGroupRef"),
                {"ItemGroupOID": group_oid(subject_form.code, group.name), "Mandatory": "No"},
            )
    item_defs, codelists, units = [], {}, set()
    for spec in specs:
        groups = [(None, spec.model)] + child_sets(spec)
        for name, model in groups:
            group = etree.SubElement(
                mdv,
                Q("ItemGroupDef"),
                {
                    "OID": group_oid(spec.code, name),
                    "Name": str(model._meta.verbose_name),
                    "Repeating": "Yes" if name else "No",
                },
            )
            for order, field in enumerate(item_fields(model, options), start=1):
                oid = item_oid(spec.code, field.name, name)
                etree.SubElement(
                    group, Q("ItemRef"), {"ItemOID": oid, "OrderNumber": str(order), "Mandatory": "No"}
                )
                item_defs.append((oid, model, field))
    for subject_form in subject_forms:
        for group in subject_form.groups:
            group_el = etree.SubElement(
                mdv,
                Q("ItemGroupDef"),
                {
                    "OID": group_oid(subject_form.code, group.name),
                    "Name": group.label,
                    "Repeating": "Yes" if group.repeating else "No",
                },
            )
            for order, field in enumerate(group.fields, start=1):
                oid = item_oid(subject_form.code, field.name, group.name)
                etree.SubElement(
                    group_el, Q("ItemRef"), {"ItemOID": oid, "OrderNumber": str(order), "Mandatory": "No"}
                )
                item_defs.append((oid, group.model, field))
    for oid, model, field in item_defs:
        _item_def(mdv, oid, model, field, options, codelists, units)
    for oid, (field, dtype) in codelists.items():
        _codelist(mdv, oid, field, dtype)
    for unit in sorted(units):
        measurement = etree.SubElement(basic, Q("MeasurementUnit"), {"OID": unit_oid(unit), "Name": unit})
        _text(measurement, "Symbol", unit)
    # Units of laboratory results are per row: declare every one the analyte table accepts.
    if "labs" in codes:
        from labs.analytes import ANALYTES

        for unit in sorted({u for a in ANALYTES for u in a.units} - units):
            measurement = etree.SubElement(basic, Q("MeasurementUnit"), {"OID": unit_oid(unit), "Name": unit})
            _text(measurement, "Symbol", unit)
    if not len(basic):
        root.remove(basic)
    return root


def signature_meanings() -> list[tuple[str, str]]:
    if not apps.is_installed("signatures"):
        return []
    from signatures.models import Meaning

    return [(str(value), str(label)) for value, label in Meaning.choices]


def admin_data_element(study, options) -> etree._Element:
    """Users (login and full name, no contact details), sites as locations and the signature
    definitions. De-identified: users are their OIDs only and a location is named by its site code."""
    admin = etree.Element(Q("AdminData"), {"StudyOID": study_oid(study)}, nsmap=nsmap_of(options))
    system = etree.SubElement(admin, Q("User"), {"OID": SYSTEM_USER, "UserType": "Other"})
    etree.SubElement(system, Q("FullName")).text = "system"
    for user in get_user_model().objects.order_by("pk").iterator():
        element = etree.SubElement(admin, Q("User"), {"OID": f"USR.{user.pk}"})
        if not options.deidentify:
            etree.SubElement(element, Q("LoginName")).text = user.get_username()
            etree.SubElement(element, Q("FullName")).text = user.get_full_name() or user.get_username()
    protocol = study.current_protocol
    effective = (protocol.loaded_at.date() if protocol else timezone.now().date()).isoformat()
    for site in study.sites.order_by("code"):
        location = etree.SubElement(
            admin,
            Q("Location"),
            {
                "OID": location_oid(site.code),
                "Name": site.code if options.deidentify else site.name,
                "LocationType": "Site",
            },
        )
        etree.SubElement(
            location,
            Q("MetaDataVersionRef"),
            {"StudyOID": study_oid(study), "MetaDataVersionOID": mdv_oid(study), "EffectiveDate": effective},
        )
    for value, label in signature_meanings():
        definition = etree.SubElement(
            admin, Q("SignatureDef"), {"OID": signature_def_oid(value), "Methodology": "Electronic"}
        )
        etree.SubElement(definition, Q("Meaning")).text = label
        etree.SubElement(
            definition, Q("LegalReason")
        ).text = (
            "Electronic signature under 21 CFR Part 11 (11.50, 11.70): the signer re-entered the password."
        )
    return admin


@lru_cache(maxsize=256)
def location_oid(site_code: str) -> str:
    return "LOC." + oid_part(site_code)


def signature_def_oid(meaning: str) -> str:
    return "SD." + oid_part(meaning)


# --- Values ----------------------------------------------------------------------------------------


def utc_stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


class Dates:
    """Dates of one participant as the export shows them: real, shifted, or as study days."""

    def __init__(self, participant, options, shift_days: int | None):
        self.participant = participant
        self.options = options
        self.days = shift_days
        self.audit_records: dict = {}  # (change, site code) → its AuditRecord element (``_audit``)

    @property
    def shifting(self) -> bool:
        return self.options.deidentify

    @property
    def timestamps(self) -> bool:
        """Whether the file holds time stamps: a "study day" export holds no date at all, so it has
        no audit records, signatures, queries or verifications (ODM requires a time on each)."""
        return not (self.options.deidentify and self.options.date_mode == "study_day")

    def moment(self, value: datetime) -> datetime:
        """A time stamp (audit, signature): shifted by the participant's offset when de-identified."""
        return deid.shift(self.participant.pk, value, self.days) if self.shifting else value

    def value(self, field, value):
        if value is None:
            return None
        if as_study_day(field, self.options):
            day = value.date() if isinstance(value, datetime) else value
            return self.participant.study_day(day)
        if self.shifting and isinstance(value, (date, datetime)):
            return deid.shift(self.participant.pk, value, self.days)
        return value


def format_value(value) -> str | None:
    """The ODM text of a stored value; None for "no data"."""
    if value is None or value == "" or value == [] or value == {}:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return utc_stamp(value)
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return text
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


class Change:
    """Who changed a value, when and why (one pghistory event)."""

    __slots__ = ("at", "user_oid", "reason")

    def __init__(self, at, user_oid, reason):
        self.at, self.user_oid, self.reason = at, user_oid, reason


def _change(event: dict) -> Change:
    context = event.get("pgh_context__metadata") or {}
    user = context.get("user")
    return Change(
        event["pgh_created_at"], f"USR.{user}" if user else SYSTEM_USER, context.get("reason") or ""
    )


def last_changes(model, pks, fields) -> dict[int, tuple[Change, dict[str, Change]]]:
    """For each record: its latest change, and per field the change that gave the current value."""
    event_model = getattr(model, "pgh_event_model", None)
    if event_model is None or not pks:
        return {}
    attnames = [f.attname for f in fields]
    rows = (
        event_model.objects.filter(pgh_obj_id__in=pks)
        .order_by("pgh_obj_id", "pgh_created_at", "pgh_id")
        .values("pgh_obj_id", "pgh_created_at", "pgh_context__metadata", *attnames)
    )
    result = {}
    previous = None
    for event in rows.iterator(chunk_size=2000):
        pk = event["pgh_obj_id"]
        change = _change(event)
        if previous is None or previous["pgh_obj_id"] != pk:
            per_field = {a: change for a in attnames if event[a] not in (None, "", [], {})}
        else:
            per_field = result[pk][1]
            for a in attnames:
                if event[a] != previous[a]:
                    per_field[a] = change
        result[pk] = (change, per_field)
        previous = event
    return result


def _audit(parent, change: Change, site_code: str, dates: Dates):
    if not dates.timestamps:
        return
    # One save changes many fields: its record is built once per participant and copied to each item
    # (a copy in C is several times cheaper than building the elements again).
    key = (change, site_code)
    record = dates.audit_records.get(key)
    if record is None:
        record = etree.Element(Q("AuditRecord"))
        etree.SubElement(record, Q("UserRef"), {"UserOID": change.user_oid})
        etree.SubElement(record, Q("LocationRef"), {"LocationOID": location_oid(site_code)})
        etree.SubElement(record, Q("DateTimeStamp")).text = utc_stamp(dates.moment(change.at))
        if change.reason and not dates.options.deidentify:  # a reason is free text
            etree.SubElement(record, Q("ReasonForChange")).text = change.reason
        dates.audit_records[key] = record
    parent.append(copy.deepcopy(record))


def _signature(parent, signature, site_code: str, dates: Dates):
    if not dates.timestamps:
        return
    element = etree.SubElement(parent, Q("Signature"))
    etree.SubElement(element, Q("UserRef"), {"UserOID": f"USR.{signature.signer_id}"})
    etree.SubElement(element, Q("LocationRef"), {"LocationOID": location_oid(site_code)})
    etree.SubElement(element, Q("SignatureRef"), {"SignatureOID": signature_def_oid(signature.meaning)})
    etree.SubElement(element, Q("DateTimeStamp")).text = utc_stamp(dates.moment(signature.signed_at))


class FormRecord:
    """One stored form of a visit with its child rows and audit changes, ready to write."""

    __slots__ = ("spec", "record", "children", "changes", "missing")

    def __init__(self, spec, record, children, changes, missing=None):
        self.spec, self.record, self.children, self.changes = spec, record, children, changes
        self.missing = missing or {}  # {field: reason} of the fields the site said why they are empty


def _batch(study, options, specs, participant_ids) -> dict[int, list[FormRecord]]:
    """The forms of a batch of participants in scope, by visit id."""
    by_visit = defaultdict(list)
    for spec in specs:
        records = list(scope.records(spec, options, study).filter(participant_id__in=participant_ids))
        if not records:
            continue
        pks = [r.pk for r in records]
        changes = last_changes(spec.model, pks, item_fields(spec.model, options))
        missing = reasons_by_record(spec.model, pks)
        children = defaultdict(lambda: defaultdict(list))
        for name, row_model in child_sets(spec):
            relation = spec.model._meta.get_field(name)
            rows = row_model.objects.filter(**{f"{relation.field.name}_id__in": pks})
            if any(f.name == "entered_in_error" for f in row_model._meta.concrete_fields):
                rows = rows.filter(entered_in_error=False)
            rows = list(rows.order_by("pk"))
            row_changes = last_changes(row_model, [r.pk for r in rows], item_fields(row_model, options))
            for row in rows:
                children[getattr(row, relation.field.attname)][name].append((row, row_changes.get(row.pk)))
        for record in records:
            by_visit[record.visit_id].append(
                FormRecord(spec, record, children[record.pk], changes.get(record.pk), missing.get(record.pk))
            )
    return by_visit


def _items(parent, form_code, group, instance, changes, options, dates, site_code, missing=None) -> int:
    """The ``ItemData`` of ``instance``; an empty field whose absence the site explained (``missing``:
    {field: reason}) is written ``IsNull="Yes"`` with the reason in ``edc:MissingReason``."""
    count = 0
    per_field = changes[1] if changes else {}
    missing = missing or {}
    for field in item_fields(type(instance), options):
        precision = _precision_of(field)
        value = getattr(instance, field.attname)
        if precision and as_study_day(field, options) and getattr(instance, precision) in PARTIAL_LENGTH:
            value = None  # a date known to the year or month has no study day (SDTMIG 4.4.4)
        text = format_value(dates.value(field, value))
        if text is None:
            if field.name in missing:
                attrib = {"ItemOID": item_oid(form_code, field.name, group), "IsNull": "Yes"}
                item = etree.SubElement(parent, Q("ItemData"), attrib)
                if not options.odm_pure:  # pure ODM keeps IsNull, the reason is the extension's
                    item.set(E("MissingReason"), missing[field.name])
                change = per_field.get(field.attname)
                if change:
                    _audit(item, change, site_code, dates)
                count += 1
            continue
        if precision and not as_study_day(field, options):  # a partial date: as precise as the site knew it
            text = to_precision(text, getattr(instance, precision))
        item = etree.SubElement(
            parent, Q("ItemData"), {"ItemOID": item_oid(form_code, field.name, group), "Value": text}
        )
        change = per_field.get(field.attname)
        if change:
            _audit(item, change, site_code, dates)
        unit = getattr(instance, "unit", "") if field.name in ("value", "lln", "uln") else ""
        if field.name == "standard_value":
            unit = getattr(instance, "standard_unit", "")
        if unit:
            etree.SubElement(item, Q("MeasurementUnitRef"), {"MeasurementUnitOID": unit_oid(unit)})
        count += 1
    return count


def _extension(subject, participant, queries, verifications, options, dates, form_keys):
    """Queries and source data verification of one participant, in the vendor namespace (none in a
    pure ODM file). De-identified, a query or verification is numbered within its subject: its
    database id would link the file back to the identifiable data."""
    if not dates.timestamps or options.odm_pure:
        return
    if queries:
        container = etree.SubElement(subject, E("Queries"))
        for number, query in enumerate(queries, start=1):
            location = form_keys.get((query.content_type_id, query.object_id), {})
            attrib = {
                "ID": f"Q.{number if options.deidentify else query.pk}",
                **location,
                "Field": query.field_name,
                "Type": query.query_type,
                "Status": query.status,
                "Priority": query.priority,
                "OpenedAt": utc_stamp(dates.moment(query.opened_at)),
                "OpenedBy": f"USR.{query.opened_by_id}" if query.opened_by_id else SYSTEM_USER,
            }
            if query.check_id:
                attrib["Check"] = query.check_id
            if query.closed_at:
                attrib["ClosedAt"] = utc_stamp(dates.moment(query.closed_at))
            element = etree.SubElement(container, E("Query"), attrib)
            if not options.deidentify:  # query texts and answers are free text
                etree.SubElement(element, E("Text")).text = query.text
            for message in query.messages.all():
                message_el = etree.SubElement(
                    element,
                    E("Message"),
                    {
                        "Action": message.action,
                        "DateTimeStamp": utc_stamp(dates.moment(message.created_at)),
                        "UserOID": f"USR.{message.author_id}",
                    },
                )
                if not options.deidentify:
                    message_el.text = message.text
    if verifications:
        container = etree.SubElement(subject, E("SourceVerifications"))
        for number, verification in enumerate(verifications, start=1):
            location = form_keys.get((verification.content_type_id, verification.object_id), {})
            attrib = {
                "ID": f"SDV.{number if options.deidentify else verification.pk}",
                **location,
                "RecordVersion": str(verification.record_version),
                "VerifiedAt": utc_stamp(dates.moment(verification.verified_at)),
                "VerifiedBy": f"USR.{verification.verified_by_id}",
            }
            if verification.field_name:  # empty: the whole form was verified
                attrib["Field"] = verification.field_name
            if verification.cleared_at:
                attrib["ClearedAt"] = utc_stamp(dates.moment(verification.cleared_at))
                if verification.cleared_by_id:
                    attrib["ClearedBy"] = f"USR.{verification.cleared_by_id}"
            etree.SubElement(container, E("SourceVerification"), attrib)


def _forms_with_records(study, options, specs) -> set:
    """Codes of the ``specs`` with at least one record in scope (the others are not read per batch)."""
    return {spec.code for spec in specs if scope.records(spec, options, study).order_by().exists()}


# The visit columns ``subject_element`` reads.
VisitRow = namedtuple(
    "VisitRow", ("pk", "participant_id", "definition_id", "unscheduled", "code", "sequence")
)


def _visits(participant_ids, forms_by_visit, signatures) -> dict[int, list[VisitRow]]:
    """The visits of a batch that hold forms or signatures (the only ones written), in order, by
    participant id."""
    wanted = {pk for pk in forms_by_visit if pk is not None}
    wanted.update(s.visit_id for group in signatures.values() for s in group if s.visit_id is not None)
    visits = defaultdict(list)
    if not wanted:
        return visits
    rows = (
        Visit.objects.filter(participant_id__in=participant_ids, pk__in=wanted)
        .order_by("participant_id", "sequence")
        .values_list(*VisitRow._fields)
    )
    for row in rows:
        visit = VisitRow(*row)
        visits[visit.participant_id].append(visit)
    return visits


def _source_verification_model():
    try:
        return apps.get_model("monitoring", "SourceVerification")
    except LookupError:
        return None


def _by_participant(queryset, participant_ids):
    grouped = defaultdict(list)
    for obj in queryset.filter(participant_id__in=participant_ids):
        grouped[obj.participant_id].append(obj)
    return grouped


def record_key(record, numbers: dict) -> int:
    """A repeating form's ``FormRepeatKey``: the record's number among the participant's records of the
    form (``deid.record_numbers``; the de-identified CSV ``record_id`` is ``<subject key>.<n>``), never
    its database id, so the identifiable and the de-identified file number a record alike."""
    return numbers[(type(record), record.pk)]


def subject_key(participant, options) -> str:
    """``deid.subject_key``: the same key in every format of an export."""
    return deid.subject_key(participant, deidentify=options.deidentify)


def subject_element(participant, visits, forms_by_visit, signatures, extension, options, dates) -> tuple:
    """One ``SubjectData`` and its number of ``ItemData``: the participation form, the visits, the
    adverse events, then the vendor extension."""
    from . import odm_subject

    site_code = participant.site.code
    subject = etree.Element(
        Q("SubjectData"), {"SubjectKey": subject_key(participant, options)}, nsmap=nsmap_of(options)
    )
    participant_changes = extension["participant_changes"].get(participant.pk)
    if participant_changes:
        _audit(subject, participant_changes[0], site_code, dates)
    casebook = [s for s in signatures if s.visit_id is None]
    if casebook:
        _signature(subject, casebook[-1], site_code, dates)
    etree.SubElement(subject, Q("SiteRef"), {"LocationOID": location_oid(site_code)})
    count = odm_subject.write_participant(
        subject, participant, participant_changes, extension["participant_groups"], options, dates, site_code
    )
    form_keys = {
        (extension["content_types"].get(Participant), participant.pk): {
            "StudyEventOID": event_oid(odm_subject.PARTICIPANT_EVENT),
            "FormOID": form_oid(odm_subject.PARTICIPANT_FORM),
        }
    }
    for visit in visits:
        forms = forms_by_visit.get(visit.pk, [])
        visit_signatures = [s for s in signatures if s.visit_id == visit.pk]
        if not forms and not visit_signatures:
            continue
        scheduled = visit.definition_id is not None and not visit.unscheduled
        attrib = {"StudyEventOID": event_oid(visit.code if scheduled else None)}
        if not scheduled:
            attrib["StudyEventRepeatKey"] = str(visit.sequence)
        event = etree.SubElement(subject, Q("StudyEventData"), attrib)
        if visit_signatures:
            _signature(event, visit_signatures[-1], site_code, dates)
        for form in forms:
            code = form.spec.code
            form_attrib = {"FormOID": form_oid(code)}
            if form.spec.repeating:
                form_attrib["FormRepeatKey"] = str(record_key(form.record, extension["record_numbers"]))
            form_keys[(extension["content_types"][form.spec.model], form.record.pk)] = {
                "StudyEventOID": attrib["StudyEventOID"],
                **(
                    {"StudyEventRepeatKey": attrib["StudyEventRepeatKey"]}
                    if "StudyEventRepeatKey" in attrib
                    else {}
                ),
                **form_attrib,
            }
            form_el = etree.SubElement(event, Q("FormData"), form_attrib)
            if form.changes:
                _audit(form_el, form.changes[0], site_code, dates)
            group = etree.SubElement(form_el, Q("ItemGroupData"), {"ItemGroupOID": group_oid(code)})
            count += _items(
                group, code, None, form.record, form.changes, options, dates, site_code, form.missing
            )
            for name, rows in form.children.items():
                for key, (row, row_changes) in enumerate(rows, start=1):
                    row_model = type(row)
                    form_keys[(extension["content_types"].get(row_model), row.pk)] = form_keys[
                        (extension["content_types"][form.spec.model], form.record.pk)
                    ]
                    row_group = etree.SubElement(
                        form_el,
                        Q("ItemGroupData"),
                        {"ItemGroupOID": group_oid(code, name), "ItemGroupRepeatKey": str(key)},
                    )
                    count += _items(row_group, code, name, row, row_changes, options, dates, site_code)
    count += odm_subject.write_adverse_events(
        subject,
        extension["adverse_events"].get(participant.pk, []),
        options,
        dates,
        site_code,
        form_keys,
        extension["content_types"],
    )
    _extension(
        subject,
        participant,
        extension["queries"].get(participant.pk, []),
        extension["verifications"].get(participant.pk, []),
        options,
        dates,
        form_keys,
    )
    return subject, count


def write_odm(*, study, options, path: Path) -> dict[str, int]:
    """Write the ODM 1.3.2 file of ``study`` within ``options`` to ``path``; {file name: ItemData count}."""
    from django.contrib.contenttypes.models import ContentType

    from monitoring.models import Query

    from . import odm_subject

    specs = scope.form_specs(options)
    verification_model = _source_verification_model()
    signature_model = apps.get_model("signatures", "Signature") if apps.is_installed("signatures") else None
    content_types = {}
    for spec in specs:
        content_types[spec.model] = ContentType.objects.get_for_model(spec.model).pk
        for _name, row_model in child_sets(spec):
            content_types[row_model] = ContentType.objects.get_for_model(row_model).pk
    for model in (Participant, *(g.model for g in odm_subject.adverse_event_groups(options))):
        content_types[model] = ContentType.objects.get_for_model(model).pk
    participant_groups = odm_subject.participant_groups(study, options)
    repeating = [spec.model for spec in specs if spec.repeating]
    items = 0
    now = timezone.now()
    with translation.override("en"), etree.xmlfile(str(path), encoding="utf-8") as xf:
        xf.write_declaration()
        root_attrib = {
            "FileType": "Snapshot",
            "Granularity": "All",
            "FileOID": f"UDCAR-EDC.{oid_part(study.code)}.{now:%Y%m%dT%H%M%S}",
            "CreationDateTime": utc_stamp(now),
            "ODMVersion": "1.3.2",
            "Originator": SOURCE_SYSTEM,
            "SourceSystem": SOURCE_SYSTEM,
        }
        if options.cutoff:
            root_attrib["Description"] = f"Records of visits on or before {options.cutoff.isoformat()}"
        # The schema shipped next to the file (``write_schemas``) that validates it as written.
        root_attrib[XSI_SCHEMA_LOCATION] = f"{ODM_NS} {ODM_XSD if options.odm_pure else EXTENDED_XSD}"
        with xf.element(Q("ODM"), root_attrib, nsmap={**nsmap_of(options), "xsi": XSI_NS}):
            xf.write(study_element(study, options, specs))
            xf.write(admin_data_element(study, options))
            with xf.element(
                Q("ClinicalData"), {"StudyOID": study_oid(study), "MetaDataVersionOID": mdv_oid(study)}
            ):
                ids = list(scope.participants(study, options).values_list("pk", flat=True))
                present = _forms_with_records(study, options, specs)
                for start in range(0, len(ids), BATCH):
                    batch_ids = ids[start : start + BATCH]
                    shifts = deid.offsets(batch_ids) if options.deidentify else {}
                    participants = Participant.objects.filter(pk__in=batch_ids).select_related(
                        "site", "pseudonym", "dose_level"
                    )
                    order = {pk: i for i, pk in enumerate(batch_ids)}
                    participants = sorted(participants, key=lambda p: order[p.pk])
                    forms_by_visit = _batch(
                        study, options, [s for s in specs if s.code in present], batch_ids
                    )
                    signatures = defaultdict(list)
                    if signature_model is not None:
                        for signature in signature_model.objects.filter(
                            participant_id__in=batch_ids, status="valid"
                        ).order_by("signed_at", "pk"):
                            signatures[signature.participant_id].append(signature)
                    visits = _visits(batch_ids, forms_by_visit, signatures)
                    extension = {
                        "content_types": content_types,
                        "queries": _by_participant(
                            Query.objects.exclude(status="draft")
                            .prefetch_related("messages")
                            .order_by("opened_at", "pk"),
                            batch_ids,
                        ),
                        "verifications": _by_participant(verification_model.objects.order_by("pk"), batch_ids)
                        if verification_model is not None
                        else {},
                        "participant_changes": odm_subject.participant_changes(batch_ids, study, options),
                        "participant_groups": participant_groups,
                        "adverse_events": odm_subject.adverse_events(study, options, batch_ids),
                        "record_numbers": deid.record_numbers(repeating, batch_ids),
                    }
                    for participant in participants:
                        dates = Dates(participant, options, shifts.get(participant.pk))
                        subject, count = subject_element(
                            participant,
                            visits.get(participant.pk, []),
                            forms_by_visit,
                            signatures.get(participant.pk, []),
                            extension,
                            options,
                            dates,
                        )
                        xf.write(subject)
                        items += count
                odm_subject.write_broken_signatures(xf, study, options)
    return {path.name: items}


# --- Validation ------------------------------------------------------------------------------------


def odm_schema_dir() -> Path:
    """The official ODM 1.3.2 schema files, as shipped by the ``odmlib`` package."""
    import odmlib

    return Path(odmlib.__file__).parent / "schemas" / "odm" / "1.3.2"


def write_schemas(directory: Path, *, pure: bool) -> list[Path]:
    """Ship the schema that validates ``odm.xml`` as written next to it: the official ODM 1.3.2 files
    (unchanged, from ``odmlib``) and, unless the file is pure ODM, the vendor extension's schema
    (``exports/schemas/udcar-edc-extension.xsd``) with the ODM schema it extends
    (``ODM1-3-2-udcar-edc.xsd``, named by the file's ``xsi:schemaLocation``)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in OFFICIAL_XSD_FILES:
        written.append(directory / name)
        shutil.copyfile(odm_schema_dir() / name, written[-1])
    if not pure:
        for name in (EXTENSION_XSD_FILE, EXTENDED_XSD):
            written.append(directory / name)
            shutil.copyfile(SCHEMA_DIR / name, written[-1])
    return written


def odm_schema() -> etree.XMLSchema:
    """The unmodified official ODM 1.3.2 schema."""
    return etree.XMLSchema(etree.parse(str(odm_schema_dir() / "ODM1-3-2.xsd")))


def extension_schema(workdir: Path) -> etree.XMLSchema:
    """ODM 1.3.2 extended with this EDC's vendor extension, as shipped (files written to ``workdir``)."""
    write_schemas(workdir, pure=False)
    return etree.XMLSchema(etree.parse(str(workdir / EXTENDED_XSD)))


def without_extensions(document: etree._ElementTree) -> etree._ElementTree:
    """A copy of ``document`` without the vendor extension's elements and attributes (valid against
    plain ODM)."""
    copy = etree.fromstring(etree.tostring(document))
    for element in list(copy.iter(E("Queries"), E("SourceVerifications"))):
        element.getparent().remove(element)
    for element in copy.iter():
        for name in [a for a in element.attrib if a.startswith(f"{{{EDC_NS}}}")]:
            del element.attrib[name]
    return etree.ElementTree(copy)
