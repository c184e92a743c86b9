"""The efficacy dashboards in Simplified Chinese: visit rows carry the protocol's Chinese visit names and
the timeline and swimmer texts are translated, not left in English."""

import re

from django.urls import reverse


def chinese_reader(user):
    user.profile.language = "zh-hans"
    user.profile.save()
    return user


def page(client, user, url) -> str:
    client.force_login(chinese_reader(user))
    response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def test_the_participant_dashboard_names_the_visits_of_its_rows_in_chinese(
    client, coordinator, hand_participant
):
    body = page(client, coordinator, reverse("efficacy_participant", args=[hand_participant.pk]))
    table = body.split('id="endpoint-table"')[1].split("</table>")[0]
    headers = re.findall(r'<th scope="row">(.*?)</th>', table, flags=re.S)
    assert any("第28天" in h for h in headers) and not any("Day 28" in h for h in headers)
    timeline = re.search(r"<svg[^>]*>.*?</svg>", body, flags=re.S).group(0)
    assert "第28天 (已完成)" in timeline and "(done)" not in timeline and "Day 28" not in timeline


def test_the_swimmer_plot_of_the_study_dashboard_is_in_chinese(client, data_manager, hand_participant):
    body = page(client, data_manager, reverse("efficacy_study"))
    assert "day 0 to" not in body and " (day " not in body
    assert "第0天至第" in body
