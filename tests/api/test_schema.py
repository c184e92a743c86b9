"""The OpenAPI 3 schema validates and documents exactly the API's routes; its docs are served from the
project's static files."""

import re

from django.contrib.staticfiles import finders
from django.urls import reverse
from openapi_spec_validator import validate

from tests.api.routes import api_routes


def api_paths() -> set[str]:
    """Every route under /api/v1/ in OpenAPI's notation (``/api/v1/visits/{pk}/``)."""
    return {"/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route) for route in api_routes().values()}


def schema_of(client):
    response = client.get(reverse("api_schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_the_schema_is_a_valid_openapi_3_document(token_client, coordinator):
    schema = schema_of(token_client(coordinator))
    assert schema["openapi"].startswith("3.")
    validate(schema)  # raises OpenAPIValidationError on any fault


def test_the_schema_documents_every_route_and_no_other(token_client, coordinator):
    documented = set(schema_of(token_client(coordinator))["paths"])
    routes = api_paths()
    assert len(routes) > 70
    assert routes - documented == set(), "undocumented endpoints"
    assert documented - routes == set(), "documented endpoints that do not exist"


def test_the_schema_names_the_token_scheme_and_the_write_precondition(token_client, coordinator):
    schema = schema_of(token_client(coordinator))
    assert schema["components"]["securitySchemes"]["personalToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A personal API token, created on the account's API tokens page.",
    }
    answer = schema["paths"]["/api/v1/queries/{pk}/answer/"]["post"]
    assert {"412", "428"} <= set(answer["responses"])
    assert any(
        p["name"] == "If-Match" and p["in"] == "header" and p["required"] for p in answer["parameters"]
    )
    listed = schema["paths"]["/api/v1/forms/vital_signs/"]["get"]["parameters"]
    assert {"updated_since", "participant", "page", "page_size"} <= {p["name"] for p in listed}
    for path, name in (("/api/v1/queries/", "status"), ("/api/v1/lab-results/", "analyte")):
        assert name in {p["name"] for p in schema["paths"][path]["get"]["parameters"]}, path


def test_a_signed_in_user_reads_the_docs_served_from_the_projects_static_files(client, coordinator):
    client.force_login(coordinator)
    body = client.get(reverse("api_docs")).content.decode()
    for asset in ("swagger-ui-dist/swagger-ui-bundle.js", "swagger-ui-dist/swagger-ui.css"):
        assert f"/static/drf_spectacular_sidecar/{asset}" in body and finders.find(
            f"drf_spectacular_sidecar/{asset}"
        )
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", body), "the docs load something from outside"
    assert schema_of(client)["info"]["title"] == "UDCAR EDC API"


def test_the_schema_and_docs_are_not_public(client, db):
    assert client.get(reverse("api_schema")).status_code == 401
    response = client.get(reverse("api_docs"))
    assert response.status_code == 302 and reverse("login") in response["Location"]
