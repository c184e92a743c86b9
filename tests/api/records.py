"""One record of every kind the API serves at one participant's site, for the role × site walk.

Written directly (the walk tests who may read what, not how records are entered); required columns
without a default get a plain value of their type.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone

from crfs.registry import FORMS


def _filler(field):
    if field.choices:
        return field.choices[0][0]
    if isinstance(field, models.DateTimeField):
        return timezone.now()
    if isinstance(field, models.DateField):
        return date.today()
    if isinstance(field, models.DecimalField):
        return Decimal("1")
    if isinstance(field, models.IntegerField):
        return 1
    if isinstance(field, models.CharField | models.TextField):
        return "x"
    raise NotImplementedError(field)


def make(model, **values):
    for field in model._meta.concrete_fields:
        if field.name in values or field.primary_key or field.is_relation:
            continue
        automatic = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
        if not (field.null or field.has_default() or field.blank or automatic):
            values[field.name] = _filler(field)
    return model.objects.create(**values)


@dataclass
class SiteRecords:
    """Primary keys of one record of each kind at one site, by the name the walk knows it by."""

    participant: int
    visit: int
    forms: dict  # form code → pk
    lab_result: int
    adverse_event: int
    query: int
    verification: int
    signature: int
    site: int
    study: int
    lab_import: int


def records_at(participant, *, staff) -> SiteRecords:
    """One of everything for ``participant`` (``staff``: a user of its site, the author of the records)."""
    from adverse_events.models import AdverseEvent
    from labs.models import LabImport, LabResult
    from monitoring.models import Query, SourceVerification
    from signatures.models import Signature

    visit = participant.visits.get(code="BL")
    forms = {}
    for code, spec in FORMS.items():
        existing = spec.model.objects.filter(visit=visit).first()
        forms[code] = (existing or make(spec.model, participant=participant, visit=visit)).pk
    panel = FORMS["labs"].model.objects.get(pk=forms["labs"])
    result = make(LabResult, panel=panel, analyte="hb", value=Decimal("120"), unit="g/L")
    event = make(AdverseEvent, participant=participant, number=1)
    vitals = ContentType.objects.get_for_model(FORMS["vital_signs"].model)
    query = make(
        Query,
        participant=participant,
        content_type=vitals,
        object_id=forms["vital_signs"],
        field_name="heart_rate",
    )
    verification = make(
        SourceVerification,
        participant=participant,
        content_type=vitals,
        object_id=forms["vital_signs"],
        record_version=1,
        verified_by=staff,
    )
    signature = make(
        Signature,
        participant=participant,
        scope="casebook",
        visit=None,
        signer=staff,
        meaning="casebook_approved",
    )
    lab_import = make(
        LabImport,
        site=participant.site,
        uploaded_by=staff,
        content=b'{"resourceType": "Bundle", "entry": []}',
        format="fhir",
        counts={},
    )
    return SiteRecords(
        participant=participant.pk,
        visit=visit.pk,
        forms=forms,
        lab_result=result.pk,
        adverse_event=event.pk,
        query=query.pk,
        verification=verification.pk,
        signature=signature.pk,
        site=participant.site_id,
        study=participant.site.study_id,
        lab_import=lab_import.pk,
    )
