"""Pages that use the cache answer 200 within seconds when Redis is stopped or frozen (issue 14)."""

import time

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings

from tests.efficacy.conftest import hand_participant  # noqa: F401 - fixture


def caches_at(url):
    """The project's own cache settings, pointed at ``url``."""
    return {"default": {**settings.CACHES["default"], "LOCATION": url}}


@pytest.fixture(params=["stopped", "frozen"])
def broken_redis_url(request):
    return request.getfixturevalue(f"{request.param}_redis_url")


@pytest.mark.parametrize("page", ["/efficacy/", "/efficacy/?csv=proportions"])
def test_cache_using_pages_answer_200_within_seconds_without_redis(
    client,
    data_manager,
    hand_participant,  # noqa: F811
    broken_redis_url,
    page,
):
    client.force_login(data_manager)
    with override_settings(CACHES=caches_at(broken_redis_url)):
        started = time.monotonic()
        first = client.get(page)
        second = client.get(page)
        elapsed = time.monotonic() - started
    assert first.status_code == second.status_code == 200
    assert elapsed < 4, elapsed
    if "csv" not in page:
        assert b'id="endpoint-sri_4"' in second.content


def test_a_redis_error_is_a_logged_miss_and_writes_are_dropped(frozen_redis_url, caplog):
    with override_settings(CACHES=caches_at(frozen_redis_url)):
        assert cache.get("key", "fallback") == "fallback"
        cache.set("key", "value")
        assert cache.get_many(["key"]) == {}
    assert "Cache unavailable (TimeoutError" in caplog.text


def test_after_a_failure_redis_is_not_asked_again_for_a_while(frozen_redis_url):
    with override_settings(CACHES=caches_at(frozen_redis_url)):
        cache.get("key")  # one socket timeout
        started = time.monotonic()
        for _ in range(20):
            cache.get("key")
            cache.set("key", "value")
        assert time.monotonic() - started < 0.5


def test_a_working_redis_is_used():
    cache.set("ops-key", "value", 30)
    assert cache.get("ops-key") == "value"
    cache.delete("ops-key")
