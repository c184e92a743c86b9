"""The REST API (``/api/v1/``): thin views over the selectors and services the pages use.

Every list and record is read through the selector of its app, so a token sees exactly what its owner
sees in the pages (other sites' records answer 404); the one write, a query's answer, goes through
``monitoring.services.answer_query`` after the ``If-Match`` check (``api.services``).
"""

from collections.abc import Callable
from dataclasses import dataclass
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
from labs import importing as lab_importing
from labs import selectors as lab_selectors
from labs.models import LabImportRow, LabPanel, LabResult
from monitoring import selectors as review_selectors
from monitoring.models import QueryMessage
from signatures import selectors as signature_selectors
from trials import selectors as trial_selectors
from trials.models import Participant as ParticipantModel

from . import conditional, serializers, services
from .events import changed_since

UPDATED_SINCE = OpenApiParameter(
    "updated_since",
    OpenApiTypes.DATETIME,
    description=_("Only records created or changed at or after this time (ISO 8601): incremental sync."),
)
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


@dataclass(frozen=True)
class Filter:
    """A query parameter of a list: ``?name=value`` keeps the records whose ``lookup`` equals it."""

    name: str
    lookup: str
    description: str
    type: type = str

    def apply(self, queryset, request):
        raw = request.query_params.get(self.name)
        if raw in (None, ""):
            return queryset
        try:
            value = self.type(raw)
        except ValueError as exc:
            raise ApiValidationError({self.name: _("Give a number.")}) from exc
        return queryset.filter(**{self.lookup: value})

    @property
    def parameter(self) -> OpenApiParameter:
        kind = OpenApiTypes.INT if self.type is int else OpenApiTypes.STR
        return OpenApiParameter(self.name, kind, description=self.description)


def by_participant(lookup="participant_id") -> Filter:
    return Filter("participant", lookup, _("Only this participant's (id)."), int)


class RecordList(generics.ListAPIView):
    """A paginated list of one kind of record, ordered by id, filtered by the query parameters."""

    selector = None  # the role-scoped read of the app: ``selector(user) -> queryset``
    filters: tuple[Filter, ...] = ()
    supports_since = True

    def get_queryset(self):
        queryset = type(self).selector(self.request.user)
        for query_filter in self.filters:
            queryset = query_filter.apply(queryset, self.request)
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
    covered = None  # ``covered(record) -> [records]``: what the record's history page shows

    def get(self, request, pk):
        record = get_object_or_404(type(self).selector(request.user), pk=pk)
        site = record.site if isinstance(record, ParticipantModel) else record.participant.site
        rows = history_rows(type(self).covered(record), tz=site.timezone)
        return Response(self.get_serializer(rows, many=True).data)


@dataclass(frozen=True)
class Resource:
    """One kind of record the API serves: its list, each record, and its audit trail when it has one."""

    route: str  # "participants": /api/v1/participants/, …/<pk>/, …/<pk>/history/
    list_name: str
    record_name: str
    tag: str
    selector: Callable  # the app's role-scoped read
    serializer: type
    filters: tuple[Filter, ...] = ()
    supports_since: bool = True
    history: Callable | None = None  # record -> the records its history covers
    summary: str = ""

    def views(self) -> list[tuple[str, type, str]]:
        """(route, view class, URL name) of its list, record and history."""
        common = {"selector": staticmethod(self.selector)}
        schema = {"tags": [self.tag], "summary": self.summary or None}
        listing = type(
            f"{self.record_name}_list",
            (RecordList,),
            {
                **common,
                "serializer_class": self.serializer,
                "filters": self.filters,
                "supports_since": self.supports_since,
            },
        )
        parameters = [f.parameter for f in self.filters] + ([UPDATED_SINCE] if self.supports_since else [])
        found = [
            (f"{self.route}/", extend_schema(parameters=parameters, **schema)(listing), self.list_name),
            (
                f"{self.route}/<int:pk>/",
                extend_schema(**schema)(
                    type(
                        f"{self.record_name}_detail",
                        (RecordDetail,),
                        {**common, "serializer_class": self.serializer},
                    )
                ),
                self.record_name,
            ),
        ]
        if self.history is not None:
            history = type(
                f"{self.record_name}_history",
                (RecordHistory,),
                {**common, "covered": staticmethod(self.history)},
            )
            found.append(
                (
                    f"{self.route}/<int:pk>/history/",
                    extend_schema(**schema)(history),
                    f"{self.record_name}_history",
                )
            )
        return found


# The readers of records beyond the apps' selectors: what each list prefetches.


def _visits(user):
    return trial_selectors.visits_for(user).with_status().select_related("participant__site")


def _adverse_events(user):
    return ae_selectors.adverse_events_for(user).prefetch_related("grades")


def _queries(user):
    messages = QueryMessage.objects.select_related("author").order_by("created_at", "pk")
    return review_selectors.queries_for(user).prefetch_related(Prefetch("messages", queryset=messages))


def _form_records(spec: FormSpec):
    def records(user):
        found = form_selectors.forms_for(user, spec)
        for name in spec.model.child_sets:
            found = found.prefetch_related(name)
        if spec.model is LabPanel:
            found = found.prefetch_related(Prefetch("results", queryset=LabResult.objects.order_by("pk")))
        return found

    return records


def _form_history(record) -> list:
    rows = list(record.results.all()) if isinstance(record, LabPanel) else []
    return [*form_selectors.history_records(record), *rows]


RESOURCES = [
    Resource(
        route="studies",
        list_name="api_studies",
        record_name="api_study",
        tag="study",
        selector=trial_selectors.studies_for,
        serializer=serializers.StudySerializer,
        supports_since=False,
    ),
    Resource(
        route="sites",
        list_name="api_sites",
        record_name="api_site",
        tag="study",
        selector=trial_selectors.sites_for,
        serializer=serializers.SiteSerializer,
    ),
    Resource(
        route="participants",
        list_name="api_participants",
        record_name="api_participant",
        tag="participants",
        selector=trial_selectors.participants_for,
        serializer=serializers.ParticipantSerializer,
        filters=(by_participant("pk"), Filter("site", "site__code", _("Only this site's (site code)."))),
        history=lambda participant: [participant, *participant.visits.all()],
    ),
    Resource(
        route="visits",
        list_name="api_visits",
        record_name="api_visit",
        tag="visits",
        selector=_visits,
        serializer=serializers.VisitSerializer,
        filters=(by_participant(),),
        history=lambda visit: [visit],
    ),
    Resource(
        route="lab-results",
        list_name="api_lab_results",
        record_name="api_lab_result",
        tag="labs",
        selector=lab_selectors.lab_results_for,
        serializer=serializers.LabResultSerializer,
        filters=(
            by_participant("panel__participant_id"),
            Filter("analyte", "analyte", _("Only this analyte (code).")),
        ),
    ),
    Resource(
        route="adverse-events",
        list_name="api_adverse_events",
        record_name="api_adverse_event",
        tag="safety",
        selector=_adverse_events,
        serializer=serializers.AdverseEventSerializer,
        filters=(by_participant(),),
        history=ae_selectors.history_records,
    ),
    Resource(
        route="queries",
        list_name="api_queries",
        record_name="api_query",
        tag="queries",
        selector=_queries,
        serializer=serializers.QuerySerializer,
        filters=(by_participant(), Filter("status", "status", _("Only queries in this status."))),
        history=lambda query: [query, *query.messages.all()],
    ),
    Resource(
        route="verifications",
        list_name="api_verifications",
        record_name="api_verification",
        tag="sdv",
        selector=review_selectors.verifications_for,
        serializer=serializers.VerificationSerializer,
        filters=(by_participant(),),
    ),
    Resource(
        route="signatures",
        list_name="api_signatures",
        record_name="api_signature",
        tag="signatures",
        selector=signature_selectors.signatures_visible_to,
        serializer=serializers.SignatureSerializer,
        filters=(by_participant(),),
    ),
] + [
    Resource(
        route=f"forms/{code}",
        list_name=f"api_form_{code}",
        record_name=f"api_form_{code}_record",
        tag="forms",
        selector=_form_records(spec),
        serializer=serializers.FORM_SERIALIZERS[code],
        filters=(by_participant(),),
        history=_form_history,
        summary=str(spec.title),
    )
    for code, spec in FORMS.items()
]


# Forms and the one write ---------------------------------------------------------------------------------


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


# Laboratory import: upload a file for its preview, then import it -----------------------------------


def _lab_imports(user):
    rows = LabImportRow.objects.order_by("number")
    return lab_selectors.lab_imports_for(user).prefetch_related(Prefetch("rows", queryset=rows))


class LabImports(generics.ListAPIView):
    """The laboratory files uploaded at the token owner's sites; POST uploads one for its preview."""

    serializer_class = serializers.LabImportSerializer

    def get_queryset(self):
        return _lab_imports(self.request.user).order_by("pk")

    @extend_schema(tags=["labs"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=["labs"],
        request={"multipart/form-data": serializers.LabImportUploadSerializer},
        responses={
            201: serializers.LabImportSerializer,
            400: OpenApiResponse(description=_("The file cannot be read (the message says why).")),
            403: OpenApiResponse(description=_("The token's owner may not import laboratory results here.")),
        },
    )
    def post(self, request):
        form = serializers.LabImportUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        site = trial_selectors.sites_for(request.user).filter(code=form.validated_data["site"]).first()
        if site is None:
            raise ApiValidationError({"site": _("Unknown site.")})
        upload = form.validated_data["file"]
        if upload.size > lab_importing.MAX_BYTES:
            raise ApiValidationError({"file": _("The file is larger than 20 MB; split it.")})
        created = lab_importing.upload_file(
            user=request.user,
            site=site,
            file_name=upload.name,
            content=upload.read(),
            file_format=form.validated_data["format"],
        )
        found = _lab_imports(request.user).get(pk=created.pk)
        return Response(serializers.LabImportSerializer(found).data, status=status.HTTP_201_CREATED)


class LabImportDetail(generics.RetrieveAPIView):
    """One uploaded laboratory file with every row's outcome."""

    serializer_class = serializers.LabImportSerializer

    def get_queryset(self):
        return _lab_imports(self.request.user)

    @extend_schema(tags=["labs"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class LabImportCommit(generics.GenericAPIView):
    """Import a previewed file: its new and differing values are written through the lab services."""

    serializer_class = serializers.LabImportCommitSerializer

    @extend_schema(
        tags=["labs"],
        request=serializers.LabImportCommitSerializer,
        responses={
            200: serializers.LabImportSerializer,
            400: OpenApiResponse(
                description=_("Refused (already imported, a visit that cannot be chosen…).")
            ),
            409: OpenApiResponse(
                description=_(
                    "The data changed since the preview: nothing was written; read the refreshed preview."
                )
            ),
        },
    )
    def post(self, request, pk):
        found = get_object_or_404(_lab_imports(request.user), pk=pk)
        form = self.get_serializer(data=request.data)
        form.is_valid(raise_exception=True)
        for number, visit_id in (form.validated_data.get("visits") or {}).items():
            if not str(number).isdigit():
                raise ApiValidationError({"visits": _("Give row numbers as keys.")})
            lab_importing.choose_visit(
                user=request.user, lab_import=found, number=int(number), visit_id=visit_id
            )
        try:
            lab_importing.commit_import(user=request.user, lab_import=found)
        except lab_importing.PreviewChanged as exc:
            body = serializers.LabImportSerializer(_lab_imports(request.user).get(pk=pk)).data
            return Response({"detail": str(exc.message), "lab_import": body}, status=status.HTTP_409_CONFLICT)
        return Response(serializers.LabImportSerializer(_lab_imports(request.user).get(pk=pk)).data)
