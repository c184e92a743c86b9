"""Strict browser security: every response carries a Content-Security-Policy that runs only this origin's
script and style files (no inline code, no eval, nothing from elsewhere, no framing), a Permissions-Policy,
and the other headers; no template or page holds code the policy would refuse.

The browser side (no violation on the pages the Playwright journeys visit) is tests/browser: the ``page``
fixture fails a journey on any violation, and test_browser_security.py shows the policy at work.
"""

import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404

from tests.conftest import ROOT
from tests.project.test_deployment import NOT_INHERITED, PRODUCTION_ENV

# The demo users whose pages differ (the auditor's pages are the data manager's, read-only).
ROLES = ["coordinator", "investigator", "monitor", "datamanager", "sponsoradmin"]
DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}


def policy(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.request['PATH_INFO']} ({response.status_code})"
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def security_header_problems(response) -> list[str]:
    """What is missing or too open in a response's browser-security headers."""
    csp = policy(response)
    script = csp.get("script-src", csp.get("default-src", []))
    style = csp.get("style-src", csp.get("default-src", []))
    problems = [
        *(
            f"script-src allows {s}"
            for s in script
            if s in ("'unsafe-inline'", "'unsafe-eval'", "*", "data:")
        ),
        *(f"style-src allows {s}" for s in style if s in ("'unsafe-inline'", "*")),
    ]
    if csp.get("frame-ancestors") != ["'none'"]:
        problems.append(f"frame-ancestors is {csp.get('frame-ancestors')}")
    if csp.get("object-src") != ["'none'"]:
        problems.append(f"object-src is {csp.get('object-src')}")
    permissions = response.headers.get("Permissions-Policy", "")
    problems += [
        f"Permissions-Policy lacks {f}=()"
        for f in ("camera", "microphone", "geolocation")
        if f"{f}=()" not in permissions
    ]
    expected = {"Referrer-Policy": "same-origin", "X-Content-Type-Options": "nosniff"}
    if response["Content-Type"].startswith("text/html"):  # for browsers that predate frame-ancestors
        expected["X-Frame-Options"] = "DENY"
    problems += [
        f"{name}: {response.headers.get(name)!r}"
        for name, value in expected.items()
        if response.headers.get(name) != value
    ]
    return problems


class InlineCodeFinder(HTMLParser):
    """Collects what a policy without 'unsafe-inline' (and without 'unsafe-eval') refuses: a <script>
    with a body, a <style> element, a style="" attribute, an on*= event handler, a javascript: address,
    and htmx's evaluated attributes (hx-on, js: values, trigger filters). The policy names no nonce (no
    page needs one), so a <script nonce> with a body counts as inline too."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._script: tuple[int, bool] | None = None

    def handle_starttag(self, tag, attrs):
        line = self.getpos()[0]
        attributes = dict(attrs)
        for name, value in attrs:
            value = value or ""
            plain = name.removeprefix("data-")
            if name.startswith("on") or plain.startswith("hx-on"):
                self.found.append(f"line {line}: <{tag} {name}=…> (event handler)")
            elif name == "style":
                self.found.append(f"line {line}: <{tag} style=…>")
            elif name in ("href", "src", "action", "formaction") and value.strip().lower().startswith(
                "javascript:"
            ):
                self.found.append(f"line {line}: <{tag} {name}=javascript:…>")
            elif plain in ("hx-vals", "hx-vars") and value.strip().startswith(("js:", "javascript:")):
                self.found.append(f"line {line}: <{tag} {name}=js:…>")
            elif plain == "hx-trigger" and "[" in value:
                self.found.append(f"line {line}: <{tag} hx-trigger with an evaluated filter>")
        if tag == "style":
            self.found.append(f"line {line}: <style> element")
        if tag == "script":
            inline = "src" not in attributes
            inline = inline and (attributes.get("type") or "").lower() not in DATA_SCRIPT_TYPES
            self._script = (line, inline)

    def handle_data(self, data):
        if self._script and self._script[1] and data.strip():
            self.found.append(f"line {self._script[0]}: inline <script>")
            self._script = (self._script[0], False)

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = None


def inline_code(html: str) -> list[str]:
    finder = InlineCodeFinder()
    finder.feed(html)
    finder.close()
    return finder.found


TEMPLATE_LANGUAGE = [
    (re.compile(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", re.S), lambda m: "\n" * m.group().count("\n")),
    (re.compile(r"{#.*?#}", re.S), lambda m: ""),
    (re.compile(r"{%.*?%}", re.S), lambda m: " "),
    (re.compile(r"{{.*?}}", re.S), lambda m: "x"),
]


def template_as_html(text: str) -> str:
    """A template with its tags and variables blanked: every branch's markup stays, to be scanned."""
    for pattern, replacement in TEMPLATE_LANGUAGE:
        text = pattern.sub(replacement, text)
    return text


# Rendered to PDF by WeasyPrint on the server, never sent to a browser: their <style> is print CSS.
PRINT_ONLY = ("templates/casebooks/casebook.html", "templates/casebooks/crf.html")


def project_templates() -> list[Path]:
    roots = [ROOT / "templates", *(p for p in ROOT.glob("*/templates") if p.parent.name != ".venv")]
    return sorted(
        path
        for root in roots
        for path in root.rglob("*.html")
        if str(path.relative_to(ROOT)) not in PRINT_ONLY
    )


# --- the scanners themselves -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "markup",
    [
        "<script>alert(1)</script>",
        '<script nonce="abc">let a = 1;</script>',
        '<button onclick="window.print()">',
        '<select name="s" onchange="this.form.submit()">',
        '<div style="width: 10%">',
        "<style>p { color: red }</style>",
        '<a href="javascript:void(0)">',
        '<div hx-on:click="go()">',
        '<div hx-vals="js:{a: 1}">',
        "<input hx-trigger=\"keyup[key=='Enter']\">",
    ],
)
def test_the_scanner_finds_each_kind_of_inline_code(markup):
    assert inline_code(markup)


@pytest.mark.parametrize(
    "markup",
    [
        '<script src="/static/edc/behaviours.js"></script>',
        '<script id="data" type="application/json">{"a": 1}</script>',
        '<button data-print type="button">Print</button>',
        "<p>The episode from 2026-01-01 (onset=…) has no record.</p>",
    ],
)
def test_the_scanner_lets_files_data_and_text_through(markup):
    assert not inline_code(markup)


def test_template_tags_are_blanked_so_every_branch_is_scanned():
    text = '{% if x %}<div style="{{ s }}">{% else %}<div class="{% if y %}a{% endif %}">{% endif %}'
    assert inline_code(template_as_html(text)) == ["line 1: <div style=…>"]
    assert not inline_code(
        template_as_html("{% blocktranslate with onset=d %}From {{ onset }}{% endblocktranslate %}")
    )


# --- templates ----------------------------------------------------------------------------------------


def test_no_template_holds_inline_script_style_or_event_handlers():
    templates = project_templates()
    assert len(templates) > 50
    found = {
        str(path.relative_to(ROOT)): problems
        for path in templates
        if (problems := inline_code(template_as_html(path.read_text(encoding="utf-8"))))
    }
    assert not found, found


# --- responses ----------------------------------------------------------------------------------------


def test_the_policy_runs_only_this_origins_files_and_forbids_framing(client, db):
    csp = policy(client.get("/accounts/login/"))
    assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"]
    assert csp["default-src"] == ["'self'"] and csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"] and csp["form-action"] == ["'self'"]


def test_an_error_page_and_a_static_file_carry_the_headers_too(client, db):
    for response in (client.get("/no/such/page/"), client.get("/static/edc/behaviours.js")):
        assert not security_header_problems(response), response.request["PATH_INFO"]


PROBE = """
import json, django
django.setup()
from django.test import Client
r = Client().get("/accounts/login/", HTTP_HOST="edc.example.org")
print(json.dumps({"status": r.status_code, **r.headers}))
"""


@pytest.mark.parametrize("module", ["edc.settings.dev", "edc.settings.production"])
def test_every_mode_sends_the_policy(module):
    """``make run`` (dev) and production alike; production answers plain HTTP with its HTTPS redirect,
    which carries the headers too (the middleware comes before SecurityMiddleware)."""
    env = {**PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": module}
    clean = {k: v for k, v in os.environ.items() if k not in env and k not in NOT_INHERITED}
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", PROBE],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**clean, **env},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    headers = json.loads(result.stdout.strip().splitlines()[-1])
    assert headers["status"] == (301 if module.endswith("production") else 200)
    script_src = re.search(r"script-src ([^;]*)", headers["Content-Security-Policy"]).group(1)
    assert script_src == "'self'"
    assert "camera=()" in headers["Permissions-Policy"]


def all_routes(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            namespace = f"{entry.namespace}:" if entry.namespace else ""
            for route, name in all_routes(entry, prefix + str(entry.pattern)):
                yield route, namespace + name if name else name
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.name


class LinkFinder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value and name in ("href", "hx-get", "data-hx-get") and value.startswith("/"):
                self.links.append(value)


def route_name(url: str) -> str | None:
    try:
        return resolve(urlsplit(url).path).view_name
    except Resolver404:
        return None


def walk(client) -> dict[str, object]:
    """One response per route a user can reach: the pages linked (and htmx-fetched) from the pages
    without parameters, followed to the end, then every route not reached yet, filled in with id 1."""
    project_routes = {name: route for route, name in all_routes() if name and not name.startswith("admin:")}
    queue = [f"/{route}" for route in project_routes.values() if "<" not in route] + ["/admin/"]
    responses: dict[str, object] = {}
    while queue:
        url = queue.pop(0)
        name = route_name(url)
        if name is None or name in responses or name in ("logout", "admin:logout"):
            continue
        response = client.get(url)
        responses[name] = response
        if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            finder = LinkFinder()
            finder.feed(response.content.decode())
            queue += [link for link in finder.links if not link.startswith("/static/")]
    for name, route in project_routes.items():
        if name not in responses and name != "logout":
            responses[name] = client.get("/" + re.sub(r"<(?:\w+:)?(\w+)>", _fill, route))
    return responses


def _fill(match):
    return {"code": "vital_signs", "action": "consent"}.get(match.group(1), "1")


@pytest.mark.parametrize("username", ROLES)
def test_every_page_a_role_reaches_sends_the_policy_and_holds_no_inline_code(client, seeded_demo, username):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username=username))
    responses = walk(client)
    assert len(responses) > 60
    headers = {name: p for name, r in responses.items() if (p := security_header_problems(r))}
    assert not headers, headers
    pages = {
        name: problems
        for name, r in responses.items()
        if r.status_code == 200
        and r["Content-Type"].startswith("text/html")
        and (problems := inline_code(r.content.decode()))
    }
    assert not pages, pages
