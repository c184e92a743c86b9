"""The two dashboards: rendered with their figures and tables, site-scoped, in a fixed number of queries."""

import re
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.conftest import make_participant, today_at


def get(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def test_the_participant_dashboard_shows_each_value_with_inputs_and_rule_version(
    client, coordinator, hand_participant
):
    client.force_login(coordinator)
    body = get(client, reverse("efficacy_participant", args=[hand_participant.pk]))
    assert "sri_4/1" in body and "doris_2021/1" in body and "lldas_2016/1" in body
    assert "PGA form not complete" in body  # Month 9
    assert "not evaluable" in body
    assert "&quot;sledai_baseline&quot;: 14" in body  # the SRI-4 inputs behind the click


def test_every_participant_plot_is_an_svg_with_a_title_and_a_table_beside_it(
    client, coordinator, hand_participant
):
    client.force_login(coordinator)
    body = get(client, reverse("efficacy_participant", args=[hand_participant.pk]))
    svgs = re.findall(r"<svg[^>]*>.*?</svg>", body, flags=re.S)
    assert len(svgs) == 9  # timeline, SLEDAI, PGA, prednisone, C3/C4, anti-dsDNA, CD19, CAR-T, IgG
    for svg in svgs:
        assert 'role="img"' in svg and "<title id=" in svg and "<desc id=" in svg
        assert "<script" not in svg and "http://" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "CD19⁺ B cells: depletion and reconstitution (log scale)" in body
    assert body.count("<table") >= 8
    assert '<script src="http' not in body


def test_the_study_dashboard_shows_the_plots_and_their_tables(client, data_manager, hand_participant):
    client.force_login(data_manager)
    body = get(client, reverse("efficacy_study"))
    svgs = re.findall(r"<svg[^>]*>.*?</svg>", body, flags=re.S)
    assert len(svgs) == 8  # five endpoints, SLEDAI change, swimmer, enrollment
    assert all("<title id=" in svg for svg in svgs)
    assert "SRI-4: n/N (%), 95 % Wilson interval" in body
    # The hand participant is an SRI-4 responder at D28, M3 and M6: 1/1 (100 %), interval 21 %-100 %.
    assert "1/1 (100 %)" in body and "21 %–100 %" in body


def test_another_sites_coordinator_gets_404_on_the_participant_dashboard(
    client, coordinator_cd, hand_participant
):
    client.force_login(coordinator_cd)
    assert client.get(reverse("efficacy_participant", args=[hand_participant.pk])).status_code == 404


def test_the_study_dashboard_counts_only_the_users_sites(client, coordinator_cd, hand_participant):
    client.force_login(coordinator_cd)
    body = get(client, reverse("efficacy_study"))
    assert hand_participant.study_id not in body
    assert "only the sites you can see" in body
    assert "1/1" not in body


def test_the_dashboard_offers_the_analysis_dataset_through_the_logged_export_only(
    client, coordinator, data_manager, hand_participant
):
    client.force_login(coordinator)
    assert reverse("export_list") not in get(client, reverse("efficacy_study"))
    assert client.get(reverse("efficacy_study") + "?csv=analysis")["Content-Type"].startswith("text/html")
    client.force_login(data_manager)
    assert reverse("export_list") in get(client, reverse("efficacy_study"))


def test_the_proportions_csv_lists_every_endpoint_group_and_visit(client, data_manager, hand_participant):
    client.force_login(data_manager)
    response = client.get(reverse("efficacy_study") + "?csv=proportions")
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("endpoint,group,visit,n,N")
    # 5 endpoints x (overall + 3 dose levels) x 7 visits (D28 to M24)
    assert len(lines) == 1 + 5 * 4 * 7
    assert "SRI-4,Overall,M3,1,1,1,0.2065,1,0" in lines  # numbers as numbers: 1.0 is written 1


def test_the_proportions_csv_is_an_export_refused_to_roles_that_do_not_export(
    client, coordinator, hand_participant
):
    from exports.models import ListingExport

    client.force_login(coordinator)
    assert client.get(reverse("efficacy_study") + "?csv=proportions").status_code == 403
    assert "?csv=proportions" not in client.get(reverse("efficacy_study")).content.decode()
    assert not ListingExport.objects.exists()


def test_the_proportions_csv_is_recorded_as_an_export(client, data_manager, hand_participant):
    import hashlib

    from exports.models import ListingExport

    client.force_login(data_manager)
    content = client.get(reverse("efficacy_study") + "?csv=proportions").content
    record = ListingExport.objects.get()
    assert (record.user, record.name, record.sha256) == (
        data_manager,
        "efficacy-proportions",
        hashlib.sha256(content).hexdigest(),
    )


def _clone(coordinator, site, n, today):
    for i in range(n):
        make_participant(
            coordinator,
            site,
            screened=today - timedelta(days=80),
            infused=today - timedelta(days=60),
            initials=f"Q{chr(65 + i)}",
        )


def queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


def test_the_study_dashboard_runs_the_same_queries_for_2_and_10_participants(
    client, data_manager, site_yc, coordinator
):
    from django.core.cache import cache

    today = today_at(site_yc)
    _clone(coordinator, site_yc, 2, today)
    client.force_login(data_manager)
    client.get(reverse("efficacy_study"))
    cache.clear()
    small = queries(client, reverse("efficacy_study"))
    _clone(coordinator, site_yc, 8, today)
    cache.clear()
    assert queries(client, reverse("efficacy_study")) == small


def test_the_participant_dashboard_runs_the_same_queries_with_more_data(
    client, coordinator, hand_participant, site_yc
):
    client.force_login(coordinator)
    url = reverse("efficacy_participant", args=[hand_participant.pk])
    client.get(url)
    before = queries(client, url)
    from tests.efficacy.conftest import Writer, glucocorticoid

    w = Writer(coordinator, hand_participant)
    w.medication(glucocorticoid("prednisolone", "2", w.day(200), w.day(210)))
    w.medication(glucocorticoid("prednisolone", "1", w.day(211), w.day(220)))
    assert queries(client, url) == before


def test_a_participant_not_infused_yet_has_a_dashboard_without_follow_up(client, coordinator, participant):
    client.force_login(coordinator)
    body = get(client, reverse("efficacy_participant", args=[participant.pk]))
    assert "No lymphodepletion or infusion yet" in body


def test_a_user_without_sites_sees_an_empty_study_dashboard(client, make_user, study):
    from accounts.services import create_user

    user = create_user(username="nobody", password="x-very-long-pass-1", email="n@example.invalid")
    client.force_login(user)
    body = get(client, reverse("efficacy_study"))
    assert "0 participants enrolled, 0 infused" in body


def test_the_participant_page_and_the_menu_link_to_the_dashboards(client, coordinator, participant):
    client.force_login(coordinator)
    body = get(client, reverse("participant_detail", args=[participant.pk]))
    assert reverse("efficacy_participant", args=[participant.pk]) in body
    assert reverse("efficacy_study") in body
