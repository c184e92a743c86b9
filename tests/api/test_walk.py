"""Walk every API endpoint as every role at every site: each role reads its sites' records and nothing
else (404 for another site's, as in the pages), writes only where its role allows (403 otherwise), and
an endpoint the walk does not know fails the walk."""

import pytest
from django.urls import reverse

from accounts.models import Role
from crfs.registry import FORMS
from tests.api.records import records_at
from tests.api.routes import api_routes
from tests.conftest import make_participant

# Route name → the kind of record its ``pk`` names (lists: the kind of their rows).
LISTS = {
    "api_studies": "study",
    "api_sites": "site",
    "api_participants": "participant",
    "api_visits": "visit",
    "api_lab_results": "lab_result",
    "api_adverse_events": "adverse_event",
    "api_queries": "query",
    "api_verifications": "verification",
    "api_signatures": "signature",
}
RECORDS = {
    "api_study": "study",
    "api_site": "site",
    "api_participant": "participant",
    "api_participant_history": "participant",
    "api_visit": "visit",
    "api_visit_history": "visit",
    "api_lab_result": "lab_result",
    "api_adverse_event": "adverse_event",
    "api_adverse_event_history": "adverse_event",
    "api_query": "query",
    "api_query_history": "query",
    "api_verification": "verification",
    "api_signature": "signature",
}
# The form routes, per form code.
for _code in FORMS:
    LISTS[f"api_form_{_code}"] = f"form:{_code}"
    RECORDS[f"api_form_{_code}_record"] = f"form:{_code}"
    RECORDS[f"api_form_{_code}_record_history"] = f"form:{_code}"
STATIC = {"api_forms"}  # the same for everyone: the form definitions
WRITES = {"api_query_answer": ("query", Role.COORDINATOR, Role.INVESTIGATOR)}  # kind, roles that may
# Laboratory imports: seen and written by the roles that import, at their sites (another role's or
# another site's import is not in their list and answers 404).
IMPORTERS = (Role.COORDINATOR, Role.INVESTIGATOR, Role.DATA_MANAGER)
LAB_IMPORTS = {"api_lab_imports", "api_lab_import", "api_lab_import_commit"}


def test_the_walk_covers_every_api_route():
    known = set(LISTS) | set(RECORDS) | STATIC | set(WRITES) | LAB_IMPORTS
    assert set(api_routes()) - known == set(), "add the new endpoint to the walk"
    assert known - set(api_routes()) == set()


def pk_of(records, kind):
    if kind.startswith("form:"):
        return records.forms[kind.removeprefix("form:")]
    return getattr(records, kind)


@pytest.fixture
def two_sites(coordinator, coordinator_cd, site_yc, site_cd):
    yc = make_participant(coordinator, site_yc, initials="AA")
    cd = make_participant(coordinator_cd, site_cd, initials="ZZ")
    return {
        site_yc.code: records_at(yc, staff=coordinator),
        site_cd.code: records_at(cd, staff=coordinator_cd),
    }


ROLES = [
    (Role.COORDINATOR, "YC"),
    (Role.INVESTIGATOR, "YC"),
    (Role.MONITOR, "YC"),
    (Role.COORDINATOR, "CD"),
    (Role.INVESTIGATOR, "CD"),
    (Role.MONITOR, "CD"),
    (Role.DATA_MANAGER, None),
    (Role.SPONSOR_ADMIN, None),
    (Role.AUDITOR, None),
]


@pytest.mark.parametrize(("role", "site_code"), ROLES, ids=[f"{r}-{s or 'all'}" for r, s in ROLES])
def test_each_role_reads_its_sites_records_and_nothing_else(
    token_client, make_user, study, two_sites, role, site_code
):
    site = study.sites.get(code=site_code) if site_code else None
    user = make_user(role, site)
    client = token_client(user)
    visible = {code: site_code in (None, code) for code in two_sites}
    walked = set()

    for name, kind in LISTS.items():
        response = client.get(reverse(name) + "?page_size=1000")
        assert response.status_code == 200, (name, response.content[:300])
        ids = {row["id"] for row in response.json()["results"]}
        for code, records in two_sites.items():
            pk = pk_of(records, kind)
            shared = kind == "study"  # both sites belong to the one study
            assert (pk in ids) == (visible[code] or shared), f"{role}@{site_code}: {name} and {code}'s {kind}"
        walked.add(name)

    for name, kind in RECORDS.items():
        for code, records in two_sites.items():
            response = client.get(reverse(name, args=[pk_of(records, kind)]))
            expected = 200 if visible[code] or kind == "study" else 404
            assert response.status_code == expected, (
                f"{role}@{site_code}: {name} of {code}: {response.status_code}"
            )
        walked.add(name)

    for name in STATIC:
        assert client.get(reverse(name)).status_code == 200
        walked.add(name)

    for name, (kind, *allowed) in WRITES.items():
        for code, records in two_sites.items():
            pk = pk_of(records, kind)
            etag = client.get(reverse("api_query", args=[pk])).get("ETag") or '"unseen"'
            response = client.post(reverse(name, args=[pk]), {"text": "Checked."}, HTTP_IF_MATCH=etag)
            expected = 404 if not visible[code] else 200 if role in allowed else 403
            assert response.status_code == expected, (
                f"{role}@{site_code}: {name} of {code}: {response.content}"
            )
        walked.add(name)

    walked |= walk_lab_imports(client, two_sites, role, visible)
    assert walked == set(api_routes())


def walk_lab_imports(client, two_sites, role, visible) -> set[str]:
    """List, read, upload and commit laboratory imports at both sites as ``role``."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.labs.lab_files import bundle

    imports = role in IMPORTERS
    listed = {row["id"] for row in client.get(reverse("api_lab_imports")).json()["results"]}
    for code, records in two_sites.items():
        allowed = visible[code] and imports
        assert (records.lab_import in listed) == allowed, f"{role}: lab imports of {code}"
        answer = client.get(reverse("api_lab_import", args=[records.lab_import]))
        assert answer.status_code == (200 if allowed else 404), (role, code)
        upload = client.post(
            reverse("api_lab_imports"),
            {"site": code, "format": "fhir", "file": SimpleUploadedFile("b.json", bundle())},
            format="multipart",
        )
        # An empty bundle is refused with a message (400) once the role may import at the site.
        expected = 400 if allowed else 403 if visible[code] else 400
        assert upload.status_code == expected, (role, code, upload.content[:200])
        if not allowed and visible[code]:
            assert "role does not allow" in upload.json()["detail"]
        commit = client.post(reverse("api_lab_import_commit", args=[records.lab_import]), {}, format="json")
        assert commit.status_code == (200 if allowed else 404), (role, code, commit.content[:200])
    return LAB_IMPORTS


def test_every_api_route_refuses_a_request_without_a_token(client, two_sites):
    records = two_sites["YC"]
    for name in api_routes():
        kind = LISTS.get(name) or RECORDS.get(name) or (WRITES[name][0] if name in WRITES else None)
        args = [pk_of(records, kind)] if name in RECORDS or name in WRITES else []
        if name in LAB_IMPORTS:
            args = [records.lab_import] if name != "api_lab_imports" else []
        response = (
            client.post(reverse(name, args=args)) if name in WRITES else client.get(reverse(name, args=args))
        )
        assert response.status_code == 401, name
        if name in ("api_lab_imports", "api_lab_import_commit"):
            assert client.post(reverse(name, args=args)).status_code == 401, name
