"""Production serves its own static files: ``collectstatic`` with the production settings (WhiteNoise's
hashed, compressed manifest) succeeds, and gunicorn with those settings serves the login page and every
asset it references, down to the files the style sheets point at.

A reference to a file that is not shipped (a vendored ``bootstrap.min.css`` still naming its
``.map``) makes ``collectstatic`` fail, and then every production page is a 500.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from django.conf import settings

from tests.conftest import ROOT
from tests.notifications.factories import database_url

# The references ManifestStaticFilesStorage follows when it hashes file names (Django's patterns).
REFERENCES = {
    ".css": [
        re.compile(r"""url\(\s*(?P<quote>['"]?)(?P<url>.*?)(?P=quote)\s*\)""", re.IGNORECASE),
        re.compile(r"""@import\s*(?P<quote>['"])(?P<url>.*?)(?P=quote)""", re.IGNORECASE),
        re.compile(r"/\*#\s*sourceMappingURL=(?P<url>[^\s*]+)\s*\*/"),
    ],
    ".js": [re.compile(r"(?m)^//#\s*sourceMappingURL=(?P<url>\S+)\s*$")],
}


def local_references(path: Path) -> list[str]:
    """The files ``path`` refers to by a relative address (data URIs, absolute URLs and fragments aside)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    found = []
    for pattern in REFERENCES.get(path.suffix, []):
        for match in pattern.finditer(text):
            url = match.group("url").strip()
            if not url or url.startswith(("data:", "#", "http:", "https:", "//", "/")):
                continue
            found.append(url.split("#", 1)[0].split("?", 1)[0])
    return found


def test_every_file_a_shipped_style_sheet_or_script_refers_to_is_shipped():
    dangling = [
        f"{path.relative_to(ROOT)} -> {url}"
        for folder in settings.STATICFILES_DIRS
        for path in sorted(Path(folder).rglob("*"))
        if path.suffix in REFERENCES
        for url in local_references(path)
        if url and not (path.parent / url).is_file()
    ]
    assert dangling == [], "vendor the referenced files or remove the references"


def test_the_reference_scanner_finds_a_source_map_comment(tmp_path):
    script = tmp_path / "lib.min.js"
    script.write_text("var a=1;\n//# sourceMappingURL=lib.min.js.map\n")
    sheet = tmp_path / "lib.min.css"
    sheet.write_text(
        'a{background:url("img/x.png")}b{c:url(data:image/png;base64,AA)}\n'
        "/*# sourceMappingURL=lib.css.map */"
    )
    assert local_references(script) == ["lib.min.js.map"]
    assert local_references(sheet) == ["img/x.png", "lib.css.map"]


# --- the production build served by gunicorn -------------------------------------------------------

HOST = "127.0.0.1"


def production_env(**extra) -> dict:
    inherited = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DJANGO_SETTINGS_MODULE", "DEBUG", "EDC_DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "edc.settings.production",
        "SECRET_KEY": "p" * 64 + "-smoke-test-secret",
        "ALLOWED_HOSTS": HOST,
        **extra,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Assets(HTMLParser):
    """The addresses of the scripts, style sheets and icons a page loads."""

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.urls.append(attrs["src"])
        elif tag == "link" and attrs.get("href") and attrs.get("rel") in {"stylesheet", "icon", "preload"}:
            self.urls.append(attrs["href"])
        elif tag == "img" and attrs.get("src"):
            self.urls.append(attrs["src"])


def get(url: str) -> tuple[int, bytes, str]:
    # Behind the TLS proxy every request carries X-Forwarded-Proto (SECURE_PROXY_SSL_HEADER).
    request = urllib.request.Request(url, headers={"X-Forwarded-Proto": "https"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers.get("Content-Type", "")


@pytest.fixture(scope="module")
def static_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("static")
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "collectstatic", "--no-input", "-v", "1"],
        cwd=ROOT,
        env=production_env(
            STATIC_ROOT=str(root),
            DATABASE_URL="postgres://nobody@db.invalid:5432/none",
            REDIS_URL="redis://redis.invalid:6379/0",
        ),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert (root / "staticfiles.json").is_file()
    return root


@pytest.fixture
def gunicorn(static_root, django_db_setup, django_db_blocker):
    from django.db import connection

    port = free_port()
    env = production_env(STATIC_ROOT=str(static_root), DATABASE_URL=database_url(connection))
    gunicorn = ["gunicorn", "edc.wsgi:application", "--bind", f"{HOST}:{port}", "--workers", "1"]
    process = subprocess.Popen(
        [sys.executable, "-m", *gunicorn],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stdout.read().decode(errors="replace")[-4000:]
            try:
                get(f"{base}/accounts/login/")
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not answer within 60 s"
                time.sleep(0.3)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def css_references(base_url: str, css: str) -> list[str]:
    urls = []
    for pattern in REFERENCES[".css"]:
        for match in pattern.finditer(css):
            url = match.group("url").strip()
            if url and not url.startswith(("data:", "#")):
                urls.append(urljoin(base_url, url))
    return urls


@pytest.mark.production
def test_gunicorn_with_production_settings_serves_the_login_page_and_every_asset_it_references(gunicorn):
    status, body, _ = get(f"{gunicorn}/accounts/login/")
    assert status == 200, body[-2000:]
    parser = Assets()
    parser.feed(body.decode())
    assets = [urljoin(f"{gunicorn}/accounts/login/", url) for url in parser.urls]
    assert any(urlsplit(u).path.endswith(".css") for u in assets)
    assert any(urlsplit(u).path.endswith(".js") for u in assets)
    # Hashed names from the manifest: the files can be cached for ever.
    assert all(re.search(r"\.[0-9a-f]{12}\.(css|js)$", urlsplit(u).path) for u in assets), assets

    answers = {}
    pending = list(assets)
    while pending:
        url = pending.pop()
        if url in answers:
            continue
        status, content, content_type = get(url)
        answers[url] = status
        if status == 200 and urlsplit(url).path.endswith(".css"):
            pending += css_references(url, content.decode("utf-8", errors="replace"))
    assert {url: status for url, status in answers.items() if status != 200} == {}
    assert len(answers) >= len(assets)
