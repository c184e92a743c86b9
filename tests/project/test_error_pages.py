"""``make run`` (the ``edc.settings.dev`` settings) with nothing set: debug off, so a 404 names no URL
pattern and a 500 shows no setting; both pages are friendly and translated; static files are still
served. Checked in a separate process with the environment of a terminal (no ``EDC_DEBUG``), whose
database and Redis are unreachable: the 404 of an anonymous visitor and the 500 page need neither.
"""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

DB_SECRET = "db-secret-4711"
REDIS_SECRET = "redis-secret-4711"

# Runs under edc.settings.dev; a view that fails is added in front of the project's URLs.
SCRIPT = r"""
import json
import django
from django.test.utils import setup_test_environment

django.setup()
setup_test_environment()
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.test import Client, override_settings
from django.urls import path

import edc.urls


@login_not_required
def fails(request):
    raise RuntimeError("a bug")


class Urls:
    urlpatterns = [path("fails/", fails), *edc.urls.urlpatterns]
    handler404 = edc.urls.handler404
    handler500 = edc.urls.handler500


client = Client(raise_request_exception=False)
pages = {"debug": settings.DEBUG}
with override_settings(ROOT_URLCONF=Urls):
    for language in ("en", "zh-hans"):
        for name, url in (("404", "/no/such/page/"), ("500", "/fails/")):
            response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
            pages[f"{name} {language}"] = [response.status_code, response.content.decode()]
    pages["static"] = client.get("/static/vendor/bootstrap/bootstrap.min.css").status_code
print(json.dumps(pages))
"""


@pytest.fixture(scope="module")
def pages() -> dict:
    terminal = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "EDC_DEBUG", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env = {
        **terminal,
        "DJANGO_SETTINGS_MODULE": "edc.settings.dev",
        "DATABASE_URL": f"postgres://leakcheck:{DB_SECRET}@127.0.0.1:1/unreachable",
        "REDIS_URL": f"redis://:{REDIS_SECRET}@127.0.0.1:1/0",
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_debug_is_off_by_default_in_the_settings_make_run_uses(pages):
    assert pages["debug"] is False


def test_debug_is_on_only_when_edc_debug_is_set():
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "edc.settings.dev", "EDC_DEBUG": "1"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.stdout.strip() == "True", result.stderr[-2000:]


def test_the_404_page_is_friendly_and_lists_no_url_pattern(pages):
    status, body = pages["404 en"]
    assert status == 404
    assert "This page does not exist" in body
    assert "participants/&lt;int:pk&gt;" not in body and "URLconf" not in body and "admin/" not in body


def test_the_500_page_shows_no_setting_and_needs_no_database(pages):
    status, body = pages["500 en"]
    assert status == 500
    assert "Something went wrong" in body
    for leak in (DB_SECRET, REDIS_SECRET, "leakcheck", "Traceback", "RuntimeError", "SECRET_KEY"):
        assert leak not in body, leak


def test_the_error_pages_are_translated_into_chinese(pages):
    status_404, body_404 = pages["404 zh-hans"]
    status_500, body_500 = pages["500 zh-hans"]
    assert (status_404, status_500) == (404, 500)
    assert "此页面不存在" in body_404
    assert "出错了" in body_500 and 'lang="zh-hans"' in body_500


def test_static_files_are_served_with_debug_off(pages):
    assert pages["static"] == 200
