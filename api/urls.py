"""``/api/v1/`` (token-authenticated), the OpenAPI schema at ``/api/schema/`` and its browsable docs.

The routes come from the table of resources (``api.views.RESOURCES``) and the form definitions and
query answers beside it; the schema is generated from these views, and the tests check that every
route is in the schema and walked by every role at every site.
"""

from django.contrib.auth.decorators import login_not_required, login_required
from django.urls import path
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import views


def api(view):
    """An API view: the token authenticates it, not the login page (``LoginRequiredMiddleware``)."""
    return login_not_required(view.as_view())


v1 = [
    path(route, api(view), name=name)
    for resource in views.RESOURCES
    for route, view, name in resource.views()
] + [
    path("forms/", api(extend_schema(tags=["forms"])(views.FormDefinitions)), name="api_forms"),
    path("queries/<int:pk>/answer/", api(views.QueryAnswer), name="api_query_answer"),
    path("lab-imports/", api(views.LabImports), name="api_lab_imports"),
    path("lab-imports/<int:pk>/", api(views.LabImportDetail), name="api_lab_import"),
    path("lab-imports/<int:pk>/commit/", api(views.LabImportCommit), name="api_lab_import_commit"),
]

# The schema answers a signed-in user or a token; the docs page is for signed-in users and reads the
# schema with their session. Swagger UI comes from drf-spectacular-sidecar's static files (its Redoc
# page is left out: drf-spectacular's template loads web fonts from outside).
docs = [
    path("schema/", login_not_required(SpectacularAPIView.as_view()), name="api_schema"),
    path(
        "docs/", login_required(SpectacularSwaggerSplitView.as_view(url_name="api_schema")), name="api_docs"
    ),
]
