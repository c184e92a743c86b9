"""The study dashboard of the demo study equals a count made by hand from the demo definitions
(efficacy/management/commands/seed_demo.py and efficacy/demo.py).

Infused demo participants (index: days since infusion, profile, dose level):
4: 7 d, low_activity, DL2 · 5: 107 d, slow_responder, DL3 · 6: 387 d, complete_response, DL1 (no
lymphodepletion) · 9: 12 d, DL1 · 10: 187 d, low_activity, DL2 · 11: 77 d (withdrawn), slow_responder,
DL3. Visits reached: D28 by 5, 6, 10, 11; M3 by 5, 6, 10; M6 by 6, 10; M9 and M12 by 6.

By hand, from clinical-rules.md (baseline SLEDAI-2K 14, PGA 1.9 for everyone):
- D28: slow 10 (clinical 8), complete 4 (PGA 0.6, prednisone 10), low 6: SRI-4 for all four, nobody
  in DORIS (clinical SLEDAI > 0 or PGA ≥ 0.5) or LLDAS (SLEDAI > 4 or prednisone 10 > 7.5).
- M3: slow 4 (anti-dsDNA new since D28: no LLDAS; PGA 0.8), complete 2 (PGA 0.3, prednisone 5: DORIS
  and LLDAS), low 2 (PGA 0.6, prednisone 7.5: LLDAS only). SRI-4 3/3.
- M6: complete 0 off prednisone on hydroxychloroquine (DORIS, drug-free with antimalarial, not
  strict); low 2, PGA 0.4, prednisone 7.5 (LLDAS, not DORIS). SRI-4 2/2.
- M9, M12: complete, hydroxychloroquine stopped on day 240: every state, 1/1.
"""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from efficacy import dashboard, selectors

EXPECTED_OVERALL = {
    # visit: (SRI-4, DORIS, drug-free DORIS with antimalarial, strict, LLDAS) as (n, N)
    "D28": ((4, 4), (0, 4), (0, 4), (0, 4), (0, 4)),
    "M3": ((3, 3), (1, 3), (0, 3), (0, 3), (2, 3)),
    "M6": ((2, 2), (1, 2), (1, 2), (0, 2), (2, 2)),
    "M9": ((1, 1), (1, 1), (1, 1), (1, 1), (1, 1)),
    "M12": ((1, 1), (1, 1), (1, 1), (1, 1), (1, 1)),
    "M18": ((0, 0),) * 5,
    "M24": ((0, 0),) * 5,
}
FLAGS = ("sri_4", "doris", "drug_free_doris_antimalarial_allowed", "drug_free_doris_strict", "lldas")


@pytest.fixture
def demo(seeded_demo):
    return get_user_model().objects.get(username="datamanager")


def summary_for(user):
    sites = selectors.sites_for(user)
    return dashboard.compute_summary(
        selectors.participants_for(user),
        dose_levels=selectors.dose_levels_for(sites),
        sites=sites,
        columns=dashboard.visit_columns(sites[0].study),
    )


def test_the_demo_study_dashboard_equals_the_hand_count(demo, client):
    summary = summary_for(demo)
    assert summary["n_infused"] == 6 and summary["n_enrolled"] == 9
    for code, expected in EXPECTED_OVERALL.items():
        got = tuple(
            (summary["proportions"][flag]["all"][code]["n"], summary["proportions"][flag]["all"][code]["N"])
            for flag in FLAGS
        )
        assert got == expected, code
    levels = {label: group for group, label in summary["groups"]}
    d28_sri = {
        label: summary["proportions"]["sri_4"][levels[label]]["D28"] for label in ("DL1", "DL2", "DL3")
    }
    assert {k: (v["n"], v["N"]) for k, v in d28_sri.items()} == {"DL1": (1, 1), "DL2": (1, 1), "DL3": (2, 2)}
    m3_lldas = {
        label: summary["proportions"]["lldas"][levels[label]]["M3"] for label in ("DL1", "DL2", "DL3")
    }
    assert {k: (v["n"], v["N"]) for k, v in m3_lldas.items()} == {"DL1": (1, 1), "DL2": (1, 1), "DL3": (0, 1)}
    # The page shows the same numbers.
    client.force_login(demo)
    body = client.get(reverse("efficacy_study")).content.decode()
    lldas = body.split('id="endpoint-lldas"', 1)[1].split("</section>", 1)[0]
    assert "2/3 (67 %)" in lldas


def test_the_demo_participants_have_biomarkers_to_plot(demo, client):
    from trials.models import Participant

    followed = Participant.objects.get(study_id="YC-005")  # index 6: a year after infusion
    client.force_login(demo)
    body = client.get(reverse("efficacy_participant", args=[followed.pk])).content.decode()
    assert "CAR transgene (copies/µg gDNA)" in body and "Cytokine release syndrome" in body
