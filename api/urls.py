"""``/api/v1/`` (token-authenticated), the OpenAPI schema at ``/api/schema/`` and its browsable docs.

Each route is listed here once; the schema is generated from these views, and the tests check that
every route is in the schema and walked by every role at every site.
"""

from django.contrib.auth.decorators import login_not_required, login_required
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from crfs.registry import FORMS

from . import views as v
from .views import PARTICIPANT, SITE, UPDATED_SINCE, documented


def api(view):
    """An API view: the token authenticates it, not the login page (``LoginRequiredMiddleware``)."""
    return login_not_required(view.as_view())


def listing(view, tag, *parameters):
    return api(documented(view, tags=[tag], parameters=parameters))


def record(view, tag):
    return api(documented(view, tags=[tag]))


v1 = [
    path("studies/", listing(v.Studies, "study"), name="api_studies"),
    path("studies/<int:pk>/", record(v.Study, "study"), name="api_study"),
    path("sites/", listing(v.Sites, "study", UPDATED_SINCE), name="api_sites"),
    path("sites/<int:pk>/", record(v.Site, "study"), name="api_site"),
    path(
        "participants/", listing(v.Participants, "participants", SITE, UPDATED_SINCE), name="api_participants"
    ),
    path("participants/<int:pk>/", record(v.Participant, "participants"), name="api_participant"),
    path(
        "participants/<int:pk>/history/",
        record(v.ParticipantHistory, "participants"),
        name="api_participant_history",
    ),
    path("visits/", listing(v.Visits, "visits", PARTICIPANT, UPDATED_SINCE), name="api_visits"),
    path("visits/<int:pk>/", record(v.Visit, "visits"), name="api_visit"),
    path("visits/<int:pk>/history/", record(v.VisitHistory, "visits"), name="api_visit_history"),
    path("forms/", record(v.FormDefinitions, "forms"), name="api_forms"),
    path("lab-results/", listing(v.LabResults, "labs", PARTICIPANT, UPDATED_SINCE), name="api_lab_results"),
    path("lab-results/<int:pk>/", record(v.LabResultDetail, "labs"), name="api_lab_result"),
    path(
        "adverse-events/",
        listing(v.AdverseEvents, "safety", PARTICIPANT, UPDATED_SINCE),
        name="api_adverse_events",
    ),
    path("adverse-events/<int:pk>/", record(v.AdverseEvent, "safety"), name="api_adverse_event"),
    path(
        "adverse-events/<int:pk>/history/",
        record(v.AdverseEventHistory, "safety"),
        name="api_adverse_event_history",
    ),
    path("queries/", listing(v.Queries, "queries", PARTICIPANT, UPDATED_SINCE), name="api_queries"),
    path("queries/<int:pk>/", record(v.Query, "queries"), name="api_query"),
    path("queries/<int:pk>/history/", record(v.QueryHistory, "queries"), name="api_query_history"),
    path("queries/<int:pk>/answer/", api(v.QueryAnswer), name="api_query_answer"),
    path(
        "verifications/",
        listing(v.Verifications, "sdv", PARTICIPANT, UPDATED_SINCE),
        name="api_verifications",
    ),
    path("verifications/<int:pk>/", record(v.Verification, "sdv"), name="api_verification"),
    path(
        "signatures/", listing(v.Signatures, "signatures", PARTICIPANT, UPDATED_SINCE), name="api_signatures"
    ),
    path("signatures/<int:pk>/", record(v.Signature, "signatures"), name="api_signature"),
]

for code, spec in FORMS.items():
    records, instance, history = v.form_views(code, spec)
    v1 += [
        path(f"forms/{code}/", api(records), name=f"api_form_{code}"),
        path(f"forms/{code}/<int:pk>/", api(instance), name=f"api_form_{code}_record"),
        path(f"forms/{code}/<int:pk>/history/", api(history), name=f"api_form_{code}_history"),
    ]

# The schema answers a signed-in user or a token; the docs pages are for signed-in users and read
# the schema with their session. Swagger UI comes from drf-spectacular-sidecar's static files (its Redoc
# page is left out: drf-spectacular's template loads web fonts from outside).
docs = [
    path("schema/", login_not_required(SpectacularAPIView.as_view()), name="api_schema"),
    path("docs/", login_required(SpectacularSwaggerView.as_view(url_name="api_schema")), name="api_docs"),
]
