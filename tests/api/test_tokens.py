"""Personal API tokens: created on the user's own page and shown once, hashed at rest, scoped, expiring,
revocable; creation and revocation are audited."""

import hashlib
import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from api import services
from api.models import ApiToken, TokenScope
from edc.errors import DomainError

TOKEN = re.compile(r"edc_[0-9a-f]{10}_[A-Za-z0-9_-]{40,}")


def create_on_page(client, **data):
    response = client.post(reverse("api_tokens"), {"name": "lab bridge", "scope": "read", "days": 30, **data})
    return response, TOKEN.search(response.content.decode())


def bearer(raw):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return api


def tables_containing(text: str) -> list[str]:
    """Every table of the database with a row whose text contains ``text``."""
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"SELECT 1 FROM {quoted} t WHERE strpos(t::text, %s) > 0 LIMIT 1", [text])
            if cursor.fetchone():
                found.append(table)
    return found


def test_a_token_is_shown_once_and_stored_only_as_its_hash(client, coordinator):
    client.force_login(coordinator)
    response, shown = create_on_page(client)
    assert response.status_code == 200 and shown is not None
    assert response["Cache-Control"] == "no-store"
    raw = shown.group(0)
    token = ApiToken.objects.get(user=coordinator)
    assert token.digest == hashlib.sha256(raw.encode()).hexdigest() and raw.startswith(f"edc_{token.prefix}_")
    assert tables_containing(raw) == []
    assert tables_containing(raw.split("_", 2)[2][:16]) == []  # no part of the secret either
    assert tables_containing(token.digest) == ["api_apitoken", "api_apitokenevent"]  # the check: scan works
    page = client.get(reverse("api_tokens")).content.decode()
    assert raw not in page and f"edc_{token.prefix}_" in page
    assert bearer(raw).get(reverse("api_participants")).status_code == 200


def test_the_creation_page_sent_twice_creates_one_token(client, coordinator):
    from tests.pageforms import form_data

    client.force_login(coordinator)
    data = form_data(client, reverse("api_tokens"), name="twice", scope="read", days=3)
    assert data.get("submission_key")
    first = client.post(reverse("api_tokens"), data)
    second = client.post(reverse("api_tokens"), data)
    assert first.status_code == 200 and TOKEN.search(first.content.decode())
    assert second.status_code == 302 and second.url == reverse("api_tokens")
    assert ApiToken.objects.filter(user=coordinator).count() == 1


def test_a_wrong_or_malformed_token_is_refused(coordinator):
    created = services.create_token(user=coordinator, name="x", scope=TokenScope.READ, days=1)
    forged = created.raw[:-4] + ("AAAA" if not created.raw.endswith("AAAA") else "BBBB")
    for raw in (forged, "edc_nothing", "not-a-token"):
        response = bearer(raw).get(reverse("api_participants"))
        assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")


def test_a_token_expires(coordinator):
    created = services.create_token(user=coordinator, name="short", scope=TokenScope.READ, days=2)
    assert bearer(created.raw).get(reverse("api_sites")).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=2, seconds=1)):
        response = bearer(created.raw).get(reverse("api_sites"))
    assert response.status_code == 401 and "expired" in response.json()["detail"]


@override_settings(API_TOKEN_MAX_DAYS=7)
def test_no_token_lives_longer_than_the_maximum_lifetime(client, coordinator):
    with pytest.raises(DomainError, match="1 to 7 days") as refused:
        services.create_token(user=coordinator, name="long", scope=TokenScope.READ, days=8)
    assert refused.value.field == "days"
    client.force_login(coordinator)
    response, shown = create_on_page(client, days=8)
    assert response.status_code == 400 and shown is None and not ApiToken.objects.exists()
    created = services.create_token(user=coordinator, name="week", scope=TokenScope.READ, days=7)
    assert created.token.expires_at <= timezone.now() + timedelta(days=7)


def test_a_revoked_token_is_refused_and_only_its_owner_revokes_it(client, coordinator, investigator):
    created = services.create_token(user=coordinator, name="to revoke", scope=TokenScope.READ, days=5)
    client.force_login(investigator)
    assert client.post(reverse("api_token_revoke", args=[created.token.pk])).status_code == 404
    assert "to revoke" not in client.get(reverse("api_tokens")).content.decode()
    assert bearer(created.raw).get(reverse("api_sites")).status_code == 200
    client.force_login(coordinator)
    assert client.post(reverse("api_token_revoke", args=[created.token.pk])).status_code == 302
    response = bearer(created.raw).get(reverse("api_sites"))
    assert response.status_code == 401 and "revoked" in response.json()["detail"]


def test_a_deactivated_users_token_is_refused(coordinator):
    created = services.create_token(user=coordinator, name="x", scope=TokenScope.READ, days=5)
    coordinator.is_active = False
    coordinator.save(update_fields=["is_active"])
    assert bearer(created.raw).get(reverse("api_sites")).status_code == 401


def test_creation_and_revocation_are_audited_with_who_and_why(coordinator):
    from api.models import ApiTokenEvent

    created = services.create_token(user=coordinator, name="nightly sync", scope=TokenScope.READ, days=5)
    bearer(created.raw).get(reverse("api_sites"))  # its use updates the last-used time, not the trail
    services.revoke_token(user=coordinator, token=created.token)
    events = list(ApiTokenEvent.objects.filter(pgh_obj_id=created.token.pk).order_by("pgh_id"))
    assert [e.pgh_label for e in events] == ["created", "updated"]
    assert [e.pgh_context.metadata["action"] for e in events] == ["api_token.create", "api_token.revoke"]
    assert {e.pgh_context.metadata["username"] for e in events} == {coordinator.username}
    assert events[1].revoked_at is not None
    assert ApiToken.objects.get(pk=created.token.pk).last_used_at is not None
    with pytest.raises(DomainError, match="already revoked"):
        services.revoke_token(user=coordinator, token=created.token)


def test_the_token_page_speaks_chinese(client, coordinator):
    client.force_login(coordinator)
    client.post(reverse("preferences"), {"language": "zh-hans"})
    body = create_on_page(client)[0].content.decode()
    assert "API 令牌" in body and "请立即复制新令牌" in body and "只读" in body


def test_using_a_token_keeps_the_audit_trail_intact(coordinator):
    """Its last-use time changes on use without an audit event: the verification must not see that as a
    record changed behind the audit trail's back (it is not an audited column)."""
    from auditchain.chain import verify

    created = services.create_token(user=coordinator, name="x", scope=TokenScope.READ, days=5)
    bearer(created.raw).get(reverse("api_sites"))
    assert ApiToken.objects.get(pk=created.token.pk).last_used_at is not None
    services.revoke_token(user=coordinator, token=created.token)
    report = verify()
    assert [b for b in report.breaks if b["table"].startswith("api_")] == []
    assert report.counts
