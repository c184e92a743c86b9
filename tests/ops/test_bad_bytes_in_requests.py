"""NUL and other control characters, or bytes that are not UTF-8, in any list filter or form are refused
with a 400 page, never a 500 (issue 14): one middleware, every view."""

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from tests.conftest import make_participant
from trials.models import Participant

# Every list page and the GET parameters its view reads (the filters of its forms are added from the
# page itself below, so a new filter is walked too).
LIST_PAGES = {
    "participant_list": ["q", "status", "site", "page"],
    "visit_worklist": ["kind", "site", "page"],
    "query_list": ["status", "site", "raised_by", "form", "age"],
    "sdv_progress": ["by"],
    "lock_list": [],
    "safety_home": ["dose_level", "site", "term", "min_grade"],
    "safety_summary": ["dose_level", "site", "term", "min_grade", "csv"],
    "dose_level_review": [],
    "ctcae_terms": ["q"],
    "ctcae_term_definitions": ["term"],
    "uncoded_terms": [],
    "reference_ranges": ["site", "analyte"],
    "notification_list": ["page"],
    "audit_trail": ["user", "participant", "kind", "action", "date_from", "date_to", "page"],
    "efficacy_study": ["csv"],
    "export_list": [],
    "home": [],
}


class GetFormFields(HTMLParser):
    """The names of the fields of the page's GET forms (its filters)."""

    def __init__(self):
        super().__init__()
        self.names, self.in_get_form = set(), False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.in_get_form = (attrs.get("method") or "get").lower() == "get"
        elif self.in_get_form and tag in ("input", "select", "textarea") and attrs.get("name"):
            self.names.add(attrs["name"])

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_get_form = False


def filters_of(response):
    parser = GetFormFields()
    parser.feed(response.content.decode())
    return parser.names - {"csrfmiddlewaretoken"}


@pytest.fixture
def users(sponsor_admin, data_manager, auditor, monitor, coordinator, site_yc):
    make_participant(coordinator, site_yc)
    return [sponsor_admin, data_manager, auditor, monitor, coordinator]


def log_in_someone_who_sees(client, users, url):
    """Log in the first user the page is open to; return its response."""
    for user in users:
        client.force_login(user)
        response = client.get(url)
        if response.status_code == 200:
            return response
    raise AssertionError(f"no user may open {url}")


@pytest.fixture
def logged_in(client, users):
    client.force_login(users[0])
    return client


@pytest.mark.parametrize("name", sorted(LIST_PAGES))
def test_a_nul_byte_in_any_filter_of_a_list_page_is_refused_with_400(client, users, name):
    url = reverse(name)
    parameters = set(LIST_PAGES[name]) | filters_of(log_in_someone_who_sees(client, users, url))
    logged_in = client
    for parameter in sorted(parameters):
        for value in ("%00", "YC%00", "%01", "%7F"):
            response = logged_in.get(f"{url}?{parameter}={value}")
            assert response.status_code == 400, (url, parameter, value, response.status_code)
            assert "Invalid characters" in response.content.decode()


@pytest.mark.parametrize("query", ["q=%FF", "q=%C3%28", "%00=1", "site=%ED%A0%80"])
def test_bytes_that_are_not_utf8_or_a_nul_in_a_name_are_refused(logged_in, query):
    response = logged_in.get(f"{reverse('participant_list')}?{query}")
    assert response.status_code == 400


def test_ordinary_and_non_ascii_filters_still_work(logged_in):
    for query in ("q=AB", "q=%E5%BC%A0%E4%B8%89", "q=a+b%09c", "status=enrolled&site=YC"):
        assert logged_in.get(f"{reverse('participant_list')}?{query}").status_code == 200, query


def test_a_nul_byte_in_a_posted_form_is_refused_and_nothing_is_saved(client, coordinator, site_yc):
    client.force_login(coordinator)
    before = Participant.objects.count()
    response = client.post(
        reverse("participant_screen"),
        "initials=A%00B&year_of_birth=1985&sex=F&screening_date=2026-01-05",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert "Invalid characters" in response.content.decode()
    assert Participant.objects.count() == before


def test_a_nul_byte_in_the_login_form_is_refused(client, db):
    response = client.post(
        reverse("login"), "username=a%00&password=x", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
