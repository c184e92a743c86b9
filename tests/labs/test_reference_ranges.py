"""Reference ranges: versioned by start date, loaded idempotently from YAML, managed by data managers."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import yaml
from django.core.management import call_command
from django.urls import reverse

from edc.errors import DomainError
from labs.analytes import BY_CODE
from labs.models import ReferenceRange
from labs.reference_data import DEFAULT_FILE, ReferenceDataError, load
from labs.selectors import default_unit, local_date, site_units
from labs.services import add_reference_range
from tests.labs.conftest import entry, result, save


def new_hb_range(user, site, *, valid_from, lln):
    return add_reference_range(
        user=user,
        site=site,
        analyte="hb",
        sex="F",
        unit="g/L",
        lln=Decimal(lln),
        uln=Decimal(150),
        valid_from=valid_from,
        source="new analyser",
    )


def test_a_new_range_does_not_change_stored_results(coordinator, data_manager, baseline):
    panel = save(coordinator, baseline, [entry("hb", 118, "g/L")])
    old = result(panel, "hb").reference_range
    collected_on = local_date(baseline.participant, panel.collected_at)
    new_hb_range(data_manager, baseline.participant.site, valid_from=collected_on, lln=120)
    hb = result(panel, "hb")
    assert (hb.flag, hb.lln, hb.reference_range) == ("", Decimal(115), old)


def test_resaving_without_changing_a_result_keeps_its_interpretation(coordinator, data_manager, baseline):
    panel = save(coordinator, baseline, [entry("hb", 118, "g/L")])
    new_hb_range(
        data_manager,
        baseline.participant.site,
        valid_from=local_date(baseline.participant, panel.collected_at),
        lln=120,
    )
    save(coordinator, baseline, [entry("hb", 118, "g/L")], instance=panel, collected_at=panel.collected_at)
    assert result(panel, "hb").flag == ""


def test_a_changed_result_uses_the_range_valid_on_its_collection_date(coordinator, data_manager, baseline):
    panel = save(coordinator, baseline, [entry("hb", 118, "g/L")])
    new = new_hb_range(
        data_manager,
        baseline.participant.site,
        valid_from=local_date(baseline.participant, panel.collected_at),
        lln=120,
    )
    save(coordinator, baseline, [entry("hb", 119, "g/L")], instance=panel, collected_at=panel.collected_at)
    hb = result(panel, "hb")
    assert (hb.flag, hb.lln, hb.reference_range) == ("L", Decimal(120), new)


def test_a_range_starting_after_the_collection_never_applies_to_it(coordinator, data_manager, baseline):
    panel = save(coordinator, baseline, [entry("hb", 118, "g/L")])
    new_hb_range(
        data_manager,
        baseline.participant.site,
        valid_from=local_date(baseline.participant, panel.collected_at) + timedelta(days=1),
        lln=120,
    )
    save(coordinator, baseline, [entry("hb", 119, "g/L")], instance=panel, collected_at=panel.collected_at)
    assert result(panel, "hb").flag == "" and result(panel, "hb").lln == Decimal(115)


def test_old_range_versions_are_kept_and_shown_as_superseded(client, data_manager, baseline):
    site = baseline.participant.site
    new_hb_range(data_manager, site, valid_from=baseline.target_date, lln=120)
    assert ReferenceRange.objects.filter(site=site, analyte="hb", sex="F").count() == 2
    client.force_login(data_manager)
    body = client.get(reverse("reference_ranges"), {"site": site.pk, "analyte": "hb"}).content.decode()
    assert "superseded" in body and "120–150" in body and "115–150" in body


def test_a_data_manager_adds_a_range_on_the_page(client, data_manager, baseline):
    site = baseline.participant.site
    client.force_login(data_manager)
    response = client.post(
        reverse("reference_ranges"),
        {
            "site": site.pk,
            "analyte": "alt",
            "sex": "F",
            "age_min": 18,
            "unit": "U/L",
            "lln": "7",
            "uln": "45",
            "valid_from": "2026-01-01",
            "source": "lab manual 2026",
        },
    )
    assert response.status_code == 302
    added = ReferenceRange.objects.get(site=site, analyte="alt", valid_from="2026-01-01")
    assert (added.uln, added.created_by) == (Decimal(45), data_manager)


def test_the_page_refuses_a_unit_the_test_does_not_accept(client, data_manager, baseline):
    client.force_login(data_manager)
    response = client.post(
        reverse("reference_ranges"),
        {
            "site": baseline.participant.site_id,
            "analyte": "alt",
            "age_min": 0,
            "unit": "g/L",
            "uln": "45",
            "valid_from": "2026-01-01",
        },
    )
    assert response.status_code == 400 and "The unit must be one of" in response.content.decode()


def test_site_staff_see_their_sites_ranges_but_cannot_add_one(client, coordinator, baseline, site_cd):
    client.force_login(coordinator)
    body = client.get(reverse("reference_ranges")).content.decode()
    assert "YC" in body and ">CD<" not in body and "Add a range version" not in body
    response = client.post(reverse("reference_ranges"), {"site": baseline.participant.site_id})
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"lln": Decimal(5), "uln": Decimal(4)}, "lower limit"),
        ({"unit": "mg/dL"}, "unit"),
        ({"lln": None, "uln": None}, "limit"),
        ({"analyte": "hbsag"}, "numeric"),
    ],
)
def test_invalid_ranges_are_refused(data_manager, site_yc, ranges, changes, message):
    kwargs = {"analyte": "alt", "unit": "U/L", "lln": Decimal(7), "uln": Decimal(40), **changes}
    with pytest.raises(DomainError, match=message):
        add_reference_range(user=data_manager, site=site_yc, valid_from="2026-02-01", **kwargs)


def test_a_coordinator_cannot_add_a_range(coordinator, site_yc, ranges):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied, match="does not allow"):
        add_reference_range(
            user=coordinator,
            site=site_yc,
            analyte="alt",
            unit="U/L",
            uln=Decimal(40),
            valid_from="2026-02-01",
        )


def content():
    return yaml.safe_load(DEFAULT_FILE.read_text(encoding="utf-8"))


def test_loading_the_same_file_again_changes_nothing(ranges):
    count = ReferenceRange.objects.count()
    again = load(content())
    assert (again.created, again.updated, again.unchanged) == (0, 0, count)


def test_the_file_gives_each_site_its_ranges_and_overrides(ranges, site_yc, site_cd):
    assert ranges.created == ReferenceRange.objects.count() > 80
    assert ReferenceRange.objects.filter(site=site_yc, analyte="creatinine").count() == 4  # two ages × sexes
    assert ReferenceRange.objects.filter(site=site_cd, analyte="creatinine").count() == 2  # Jaffe, adults


def test_a_changed_limit_in_the_file_updates_the_row_and_the_history_keeps_the_old(ranges, site_yc):
    from pghistory.models import Events

    data = content()
    data["default"]["ranges"][0]["uln"] = 10.0  # WBC
    assert load(data).updated == 2  # both sites
    wbc = ReferenceRange.objects.get(site=site_yc, analyte="wbc")
    assert wbc.uln == Decimal(10)
    assert [e.pgh_diff["uln"] for e in Events.objects.tracks(wbc) if e.pgh_diff] == [[9.5, 10.0]]


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (lambda d: d["default"]["ranges"][0].update(unit="mg/dL"), "default.ranges[0].unit"),
        (lambda d: d["default"]["ranges"][3].update(analyte="haemoglobin"), "default.ranges[3].analyte"),
        (lambda d: d["sites"]["CD"]["units"].update(upcr="mmol"), "sites.CD.units.upcr"),
        (lambda d: d["sites"].update(XX={}), "unknown site codes XX"),
        (lambda d: d["default"]["ranges"][1].update(lln="low"), "default.ranges[1].lln"),
    ],
)
def test_a_bad_file_names_the_place_of_the_problem_and_loads_nothing(study, edit, where):
    data = content()
    edit(data)
    with pytest.raises(ReferenceDataError, match=re.escape(where)):
        load(data)
    assert not ReferenceRange.objects.exists()


def test_the_command_loads_the_default_file(study, capsys):
    call_command("load_reference_ranges")
    assert "created" in capsys.readouterr().out and ReferenceRange.objects.exists()


def test_each_site_has_its_own_default_entry_units(ranges, site_yc, site_cd):
    upcr = BY_CODE["upcr"]
    assert default_unit(upcr, site_units(site_yc)) == "g/g"
    assert default_unit(upcr, site_units(site_cd)) == "mg/mmol"
    assert default_unit(BY_CODE["hb"], {}) == "g/L"  # no site unit: the standard unit
