"""The REST API (``/api/v1/``): thin views over the selectors and services the pages use.

Every list and record is read through the selector of its app, so a token sees exactly what its owner
sees in the pages (other sites' records answer 404); the one write, a query's answer, goes through
``monitoring.services.answer_query`` after the ``If-Match`` check (``api.services``).
"""

from datetime import datetime

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from adverse_events import selectors as ae_selectors
from crfs import selectors as form_selectors
from crfs.registry import FORMS, FormSpec
from edc.errors import ConflictError, DomainError, LockedError
from edc.history import history_rows
from labs import selectors as lab_selectors
from labs.models import LabPanel, LabResult
from monitoring import selectors as review_selectors
from monitoring.models import QueryMessage
from signatures import selectors as signature_selectors
from trials import selectors as trial_selectors

from . import conditional, serializers, services
from .events import changed_since

UPDATED_SINCE = OpenApiParameter(
    "updated_since",
    OpenApiTypes.DATETIME,
    description=_("Only records created or changed at or after this time (ISO 8601): incremental sync."),
)
PARTICIPANT = OpenApiParameter("participant", OpenApiTypes.INT, description=_("Only this participant's."))
SITE = OpenApiParameter("site", OpenApiTypes.STR, description=_("Only this site's (site code)."))
IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description=_("The ETag of the query as last read; a stale one is refused with 412."),
)


def exception_handler(exc, context):
    """Domain refusals become 400 (409 for a conflict or a lock) with their message, never a 500."""
    if isinstance(exc, DomainError):
        conflict = isinstance(exc, ConflictError | LockedError)
        code = status.HTTP_409_CONFLICT if conflict else status.HTTP_400_BAD_REQUEST
        body = {"detail": str(exc.message)}
        if exc.field:
            body["field"] = exc.field
        return Response(body, status=code)
    response = drf_exception_handler(exc, context)
    if isinstance(exc, conditional.PreconditionFailed) and response is not None:
        response["ETag"] = exc.current
    return response


def _since(request) -> datetime | None:
    raw = request.query_params.get("updated_since")
    if not raw:
        return None
    try:
        value = parse_datetime(raw)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise ApiValidationError({"updated_since": _("Give a date and time with its offset (ISO 8601).")})
    return value


def _int_param(request, name):
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise ApiValidationError({name: _("Give a number.")}) from exc


class RecordList(generics.ListAPIView):
    """A paginated list of one kind of record, ordered by id, filtered by the query parameters."""

    selector = None  # the role-scoped read of the app: ``selector(user) -> queryset``
    participant_path = "participant_id"  # how the record names its participant (None: no filter)
    supports_since = True

    def get_queryset(self):
        queryset = type(self).selector(self.request.user)
        participant = _int_param(self.request, "participant")
        if participant is not None and self.participant_path:
            queryset = queryset.filter(**{self.participant_path: participant})
        since = _since(self.request) if self.supports_since else None
        if since is not None:
            queryset = changed_since(queryset, since)
        return queryset.order_by("pk")


class RecordDetail(generics.RetrieveAPIView):
    """One record with its ETag (``If-None-Match`` with the current one answers 304)."""

    selector = None

    def get_object(self):
        return get_object_or_404(type(self).selector(self.request.user), pk=self.kwargs["pk"])

    def retrieve(self, request, *args, **kwargs):
        record = self.get_object()
        etag = conditional.etag_of(record)
        if conditional.not_modified(request.headers.get("If-None-Match"), etag):
            response = Response(status=status.HTTP_304_NOT_MODIFIED)
        else:
            response = Response(self.get_serializer(record).data)
        if etag:
            response["ETag"] = etag
        return response


class RecordHistory(generics.GenericAPIView):
    """The audit trail of one record as its history page shows it: who, when, what, why, old → new."""

    serializer_class = serializers.HistoryRowSerializer
    pagination_class = None
    selector = None

    def covered(self, record) -> list:
        return [record]

    def timezone_of(self, record) -> str:
        return record.participant.site.timezone

    def get(self, request, pk):
        record = get_object_or_404(type(self).selector(request.user), pk=pk)
        rows = history_rows(self.covered(record), tz=self.timezone_of(record))
        return Response(self.get_serializer(rows, many=True).data)


def documented(view, *, tags, parameters=(), summary=""):
    """The OpenAPI description of a view: its tag, its query parameters and a summary."""
    return extend_schema(tags=tags, parameters=list(parameters), summary=summary or None)(view)


# Study and sites ------------------------------------------------------------------------------------


class Studies(RecordList):
    serializer_class = serializers.StudySerializer
    selector = staticmethod(trial_selectors.studies_for)
    participant_path = None
    supports_since = False


class Study(RecordDetail):
    serializer_class = serializers.StudySerializer
    selector = staticmethod(trial_selectors.studies_for)


class Sites(RecordList):
    serializer_class = serializers.SiteSerializer
    selector = staticmethod(trial_selectors.sites_for)
    participant_path = None


class Site(RecordDetail):
    serializer_class = serializers.SiteSerializer
    selector = staticmethod(trial_selectors.sites_for)


# Participants and visits ----------------------------------------------------------------------------


class Participants(RecordList):
    serializer_class = serializers.ParticipantSerializer
    selector = staticmethod(trial_selectors.participants_for)
    participant_path = "pk"

    def get_queryset(self):
        queryset = super().get_queryset()
        site = self.request.query_params.get("site")
        return queryset.filter(site__code=site) if site else queryset


class Participant(RecordDetail):
    serializer_class = serializers.ParticipantSerializer
    selector = staticmethod(trial_selectors.participants_for)


class ParticipantHistory(RecordHistory):
    selector = staticmethod(trial_selectors.participants_for)

    def covered(self, participant):
        return [participant, *participant.visits.all()]

    def timezone_of(self, participant):
        return participant.site.timezone


def _visits(user):
    return trial_selectors.visits_for(user).with_status().select_related("participant__site")


class Visits(RecordList):
    serializer_class = serializers.VisitSerializer
    selector = staticmethod(_visits)


class Visit(RecordDetail):
    serializer_class = serializers.VisitSerializer
    selector = staticmethod(_visits)


class VisitHistory(RecordHistory):
    selector = staticmethod(_visits)


# Forms --------------------------------------------------------------------------------------------------


class FormDefinitions(generics.GenericAPIView):
    """Every form code the API serves, with its title, its columns and their labels."""

    serializer_class = serializers.FormDefinitionSerializer
    pagination_class = None

    def get(self, request):
        rows = [
            {
                "code": code,
                "title": str(spec.title),
                "repeating": spec.repeating,
                "url": request.build_absolute_uri(reverse(f"api_form_{code}")),
                "fields": {f.name: str(f.verbose_name) for f in spec.model._meta.concrete_fields},
            }
            for code, spec in FORMS.items()
        ]
        return Response(self.get_serializer(rows, many=True).data)


def _form_records(user, spec: FormSpec):
    records = form_selectors.forms_for(user, spec)
    for name in spec.model.child_sets:
        records = records.prefetch_related(name)
    if spec.model is LabPanel:
        records = records.prefetch_related(Prefetch("results", queryset=LabResult.objects.order_by("pk")))
    return records


def form_views(code: str, spec: FormSpec) -> tuple[type, type, type]:
    """The list, record and history views of one form code (each with its own typed serializer)."""
    serializer = serializers.FORM_SERIALIZERS[code]
    tags = ["forms"]
    name = spec.model.__name__

    def records(user):
        return _form_records(user, spec)

    class Records(RecordList):
        serializer_class = serializer
        selector = staticmethod(records)

    class Record(RecordDetail):
        serializer_class = serializer
        selector = staticmethod(records)

    class History(RecordHistory):
        selector = staticmethod(records)

        def covered(self, record):
            rows = list(record.results.all()) if isinstance(record, LabPanel) else []
            return [*form_selectors.history_records(record), *rows]

    title = str(spec.title)
    return (
        documented(
            type(f"{name}Records", (Records,), {}),
            tags=tags,
            parameters=[PARTICIPANT, UPDATED_SINCE],
            summary=title,
        ),
        documented(type(f"{name}Record", (Record,), {}), tags=tags, summary=title),
        documented(type(f"{name}History", (History,), {}), tags=tags, summary=title),
    )


# Laboratory results and adverse events --------------------------------------------------------------


class LabResults(RecordList):
    serializer_class = serializers.LabResultSerializer
    selector = staticmethod(lab_selectors.lab_results_for)
    participant_path = "panel__participant_id"

    def get_queryset(self):
        queryset = super().get_queryset()
        analyte = self.request.query_params.get("analyte")
        return queryset.filter(analyte=analyte) if analyte else queryset


class LabResultDetail(RecordDetail):
    serializer_class = serializers.LabResultSerializer
    selector = staticmethod(lab_selectors.lab_results_for)


def _adverse_events(user):
    return ae_selectors.adverse_events_for(user).prefetch_related("grades")


class AdverseEvents(RecordList):
    serializer_class = serializers.AdverseEventSerializer
    selector = staticmethod(_adverse_events)


class AdverseEvent(RecordDetail):
    serializer_class = serializers.AdverseEventSerializer
    selector = staticmethod(_adverse_events)


class AdverseEventHistory(RecordHistory):
    selector = staticmethod(_adverse_events)

    def covered(self, event):
        return ae_selectors.history_records(event)


# Queries, source-data verification, signatures --------------------------------------------------------


def _queries(user):
    messages = QueryMessage.objects.select_related("author").order_by("created_at", "pk")
    return review_selectors.queries_for(user).prefetch_related(Prefetch("messages", queryset=messages))


class Queries(RecordList):
    serializer_class = serializers.QuerySerializer
    selector = staticmethod(_queries)

    def get_queryset(self):
        queryset = super().get_queryset()
        wanted = self.request.query_params.get("status")
        return queryset.filter(status=wanted) if wanted else queryset


class Query(RecordDetail):
    serializer_class = serializers.QuerySerializer
    selector = staticmethod(_queries)


class QueryHistory(RecordHistory):
    selector = staticmethod(_queries)

    def covered(self, query):
        return [query, *query.messages.all()]


class QueryAnswer(generics.GenericAPIView):
    """The site answers an open query (a read-write token of a coordinator or investigator)."""

    serializer_class = serializers.QueryAnswerSerializer

    @extend_schema(
        tags=["queries"],
        parameters=[IF_MATCH],
        request=serializers.QueryAnswerSerializer,
        responses={
            200: serializers.QuerySerializer,
            400: OpenApiResponse(description=_("Refused by the workflow (the message says why).")),
            412: OpenApiResponse(description=_("The query changed since it was read (stale If-Match).")),
            428: OpenApiResponse(description=_("If-Match is missing.")),
        },
    )
    def post(self, request, pk):
        query = review_selectors.query_for(request.user, pk)
        form = self.get_serializer(data=request.data)
        form.is_valid(raise_exception=True)
        services.answer_query(
            user=request.user,
            query=query,
            text=form.validated_data["text"],
            if_match=request.headers.get("If-Match"),
        )
        answered = _queries(request.user).get(pk=query.pk)
        response = Response(serializers.QuerySerializer(answered).data)
        response["ETag"] = conditional.etag_of(answered)
        return response


class Verifications(RecordList):
    serializer_class = serializers.VerificationSerializer
    selector = staticmethod(review_selectors.verifications_for)


class Verification(RecordDetail):
    serializer_class = serializers.VerificationSerializer
    selector = staticmethod(review_selectors.verifications_for)


class Signatures(RecordList):
    serializer_class = serializers.SignatureSerializer
    selector = staticmethod(signature_selectors.signatures_visible_to)


class Signature(RecordDetail):
    serializer_class = serializers.SignatureSerializer
    selector = staticmethod(signature_selectors.signatures_visible_to)
