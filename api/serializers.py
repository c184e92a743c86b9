"""What the API returns: each record's stored columns (foreign keys as ids), and computed state the pages
show (visit status, query thread, SDV and signature state). Read-only, except a query's answer."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from adverse_events.models import AdverseEvent, AdverseEventGrade
from crfs.registry import FORMS, FormSpec
from labs.models import ImportFormat, LabImport, LabImportRow, LabPanel, LabResult
from monitoring.models import Query, QueryMessage, SourceVerification
from signatures.models import Signature
from trials.models import DoseLevel, Participant, Site, Study
from visits.models import Visit, VisitStatus

from . import conditional


def columns(model, *, exclude=()) -> list[str]:
    return [f.name for f in model._meta.concrete_fields if f.name not in exclude]


def read_only(model, name: str, *, fields=None, extra: dict | None = None) -> type[serializers.Serializer]:
    """A read-only ModelSerializer of ``model``'s stored columns (and ``extra`` declared fields)."""
    names = list(fields or columns(model)) + list(extra or {})
    meta = type("Meta", (), {"model": model, "fields": names, "read_only_fields": names})
    return type(name, (serializers.ModelSerializer,), {"Meta": meta, **(extra or {})})


@extend_schema_field({"type": "string", "nullable": True})
class ETagField(serializers.Field):
    """The record's ETag, as the ``ETag`` header of its own URL gives it (for ``If-Match``)."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, record):
        return conditional.etag_of(record)


class DoseLevelSerializer(serializers.ModelSerializer):
    class Meta:
        model = DoseLevel
        fields = ["id", "code", "label", "cells_per_kg", "to_be_confirmed"]


class StudySerializer(serializers.ModelSerializer):
    dose_levels = DoseLevelSerializer(many=True, read_only=True)
    protocol_version = serializers.SerializerMethodField()

    class Meta:
        model = Study
        fields = [
            "id",
            "nct_id",
            "code",
            "title",
            "phase",
            "target_enrollment",
            "protocol_version",
            "dose_levels",
        ]

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {"number": {"type": "integer"}, "label": {"type": "string"}},
        }
    )
    def get_protocol_version(self, study):
        current = study.current_protocol
        return {"number": current.number, "label": current.label} if current else None


SiteSerializer = read_only(Site, "SiteSerializer")
ParticipantSerializer = read_only(Participant, "ParticipantSerializer", extra={"etag": ETagField()})


class VisitSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=VisitStatus.choices, read_only=True)
    etag = ETagField()

    class Meta:
        model = Visit
        fields = [*columns(Visit), "status", "etag"]
        read_only_fields = fields


def _child_serializers(spec: FormSpec) -> dict:
    """The rows entered on the form's page: child tables (prior treatments …) and a panel's results."""
    model = spec.model
    names = list(model.child_sets) + (["results"] if model is LabPanel else [])
    nested = {}
    for name in names:
        child = model._meta.get_field(name).related_model
        parent = model._meta.get_field(name).field.name
        row = read_only(child, f"{child.__name__}RowSerializer", fields=columns(child, exclude=(parent,)))
        nested[name] = row(many=True, read_only=True)
    return nested


def form_serializer(spec: FormSpec) -> type[serializers.Serializer]:
    """The serializer of one form code: its columns, its child rows, its ETag."""
    return read_only(
        spec.model,
        f"{spec.model.__name__}FormSerializer",
        extra={**_child_serializers(spec), "etag": ETagField()},
    )


FORM_SERIALIZERS = {code: form_serializer(spec) for code, spec in FORMS.items()}


class FormDefinitionSerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    repeating = serializers.BooleanField()
    url = serializers.CharField()
    fields = serializers.DictField(child=serializers.CharField(), help_text=_("column: label"))


LabResultSerializer = read_only(
    LabResult,
    "LabResultSerializer",
    extra={
        "participant": serializers.IntegerField(source="panel.participant_id", read_only=True),
        "visit": serializers.IntegerField(source="panel.visit_id", read_only=True),
        "panel_code": serializers.CharField(source="panel.panel", read_only=True),
    },
)

AdverseEventGradeSerializer = read_only(
    AdverseEventGrade,
    "AdverseEventGradeSerializer",
    fields=columns(AdverseEventGrade, exclude=("adverse_event",)),
)
AdverseEventSerializer = read_only(
    AdverseEvent,
    "AdverseEventSerializer",
    extra={"grades": AdverseEventGradeSerializer(many=True, read_only=True), "etag": ETagField()},
)


@extend_schema_field(
    {
        "type": "object",
        "properties": {
            "model": {"type": "string"},
            "id": {"type": "integer"},
            "form": {"type": "string", "nullable": True},
        },
    }
)
class RecordRefField(serializers.Field):
    """The record a query, a verification or a signature is about: model, id and form code."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, obj):
        model = obj.content_type.model_class()
        codes = {spec.model: code for code, spec in FORMS.items()}
        return {"model": model._meta.label, "id": obj.object_id, "form": codes.get(model)}


class QueryMessageSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", read_only=True)

    class Meta:
        model = QueryMessage
        fields = ["id", "action", "text", "author", "author_role", "created_at"]
        read_only_fields = fields


QuerySerializer = read_only(
    Query,
    "QuerySerializer",
    fields=columns(Query, exclude=("content_type", "object_id")),
    extra={
        "record": RecordRefField(),
        "messages": QueryMessageSerializer(many=True, read_only=True),
        "etag": ETagField(),
    },
)


class QueryAnswerSerializer(serializers.Serializer):
    text = serializers.CharField(help_text=_("The site's answer."), allow_blank=True)


VerificationSerializer = read_only(
    SourceVerification,
    "VerificationSerializer",
    fields=columns(SourceVerification, exclude=("content_type", "object_id")),
    extra={"record": RecordRefField()},
)

SignatureSerializer = read_only(Signature, "SignatureSerializer")


class ChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    old = serializers.JSONField(allow_null=True)
    new = serializers.JSONField(allow_null=True)


class HistoryRowSerializer(serializers.Serializer):
    """One event of a record's audit trail, as its history page shows it."""

    at = serializers.DateTimeField()
    local_at = serializers.DateTimeField()
    user = serializers.CharField()
    action = serializers.CharField()
    reason = serializers.CharField(allow_blank=True)
    record = serializers.CharField()
    event = serializers.CharField(source="label")
    changes = serializers.SerializerMethodField()

    @extend_schema_field(ChangeSerializer(many=True))
    def get_changes(self, row):
        return [{"field": str(f), "old": old, "new": new} for f, old, new in row.changes]


# Laboratory import (the API's lab write) --------------------------------------------------------------


class LabImportRowSerializer(serializers.ModelSerializer):
    class Meta:
        model = LabImportRow
        fields = [
            "number",
            "source_id",
            "subject",
            "code",
            "value_text",
            "unit_text",
            "effective_text",
            "performer",
            "specimen",
            "participant",
            "visit",
            "chosen_visit",
            "analyte",
            "value",
            "unit",
            "collected_at",
            "outcome",
            "message",
            "entered",
            "result",
        ]
        read_only_fields = fields


class LabImportSerializer(serializers.ModelSerializer):
    """An uploaded laboratory file: its hash, status, counts by outcome, and every row's preview."""

    rows = LabImportRowSerializer(many=True, read_only=True)

    class Meta:
        model = LabImport
        fields = [
            "id",
            "site",
            "format",
            "file_name",
            "sha256",
            "status",
            "uploaded_by",
            "uploaded_at",
            "imported_by",
            "imported_at",
            "counts",
            "written",
            "rows",
        ]
        read_only_fields = fields


class LabImportUploadSerializer(serializers.Serializer):
    site = serializers.CharField(help_text=_("The site's code, e.g. YC."))
    format = serializers.ChoiceField(choices=ImportFormat.choices)
    file = serializers.FileField(
        help_text=_("A FHIR R4 Bundle (JSON) or a CSV in the site's column mapping.")
    )


class LabImportCommitSerializer(serializers.Serializer):
    visits = serializers.DictField(
        child=serializers.IntegerField(),
        required=False,
        help_text=_("Row number → visit id, for rows outside every window (applied before the import)."),
    )
