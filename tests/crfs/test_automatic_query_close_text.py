"""The text the system writes when it closes an automatic query is stored in English (the catalogue's
message id) and shown in the reader's language, like the query's own text."""

from decimal import Decimal

from django.urls import reverse

from crfs.registry import FORMS
from crfs.services import save_form
from monitoring.models import AUTOMATIC_CLOSE, Query, QueryStatus, QueryType
from monitoring.services import sync_automatic_queries


class HeartRateCheck:
    id, field, message = "hr_high", "heart_rate", "Heart rate high?"


def closed_automatic_query(coordinator, baseline):
    vitals = save_form(
        user=coordinator,
        spec=FORMS["vital_signs"],
        visit=baseline,
        data={"heart_rate": 72, "temperature_c": Decimal("36.8")},
    )
    sync_automatic_queries(record=vitals, participant=vitals.participant, firing=[HeartRateCheck], quiet=[])
    sync_automatic_queries(record=vitals, participant=vitals.participant, firing=[], quiet=[HeartRateCheck])
    query = Query.objects.get(query_type=QueryType.AUTOMATIC)
    assert query.status == QueryStatus.CLOSED
    return query


def test_the_automatic_close_text_is_stored_in_english(coordinator, baseline):
    query = closed_automatic_query(coordinator, baseline)
    assert query.resolution == "Closed automatically: the data no longer fire the check."
    assert str(AUTOMATIC_CLOSE) == query.resolution  # the tests run in English


def test_the_automatic_close_text_is_shown_in_chinese_to_a_chinese_reader(client, coordinator, baseline):
    query = closed_automatic_query(coordinator, baseline)
    coordinator.profile.language = "zh-hans"
    coordinator.profile.save()
    client.force_login(coordinator)
    page = client.get(reverse("query_detail", args=[query.pk])).content.decode()
    assert "已自动关闭：数据不再触发该核查。" in page
    assert "Closed automatically" not in page
