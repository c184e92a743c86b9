"""The pieces the endpoints are assembled from: the medication log read as the medications app reads
it, and the SVG builders (the analysis dataset is tests/exports/test_adam.py)."""

from datetime import timedelta

import pytest

from efficacy import svg
from efficacy.endpoints import load, medication_state
from medications.selectors import maintenance_prednisone_equivalent


def test_the_prednisone_equivalent_on_any_day_equals_the_medication_logs_own(hand_participant):
    meds = load([hand_participant]).medications[hand_participant.pk]
    day0 = hand_participant.infusion_date
    for offset in range(-210, 240, 3):
        on = day0 + timedelta(days=offset)
        assert medication_state(meds, on).prednisone_mg_day == maintenance_prednisone_equivalent(
            hand_participant, on
        ), on


def test_a_glucocorticoid_without_a_convertible_dose_makes_the_dose_unknown(coordinator, hand_participant):
    from tests.efficacy.conftest import Writer, glucocorticoid

    w = Writer(coordinator, hand_participant)
    w.medication(glucocorticoid("prednisone", "0.5", w.day(100), w.day(110), dose_unit="mg/kg"), "BL")
    meds = load([hand_participant]).medications[hand_participant.pk]
    state = medication_state(meds, w.day(105))
    assert state.prednisone_mg_day is None and "prednisone equivalent unknown" in state.why


def test_a_line_plot_carries_title_desc_and_escapes_text():
    out = svg.line_plot(
        "A <b> title", "desc & more", [svg.Series("s<1>", [(0, 1), (10, 2)])], x_label="x", y_label="y"
    )
    assert out.startswith("<svg") and out.endswith("</svg>")
    assert (
        "<title id=" in out
        and "A &lt;b&gt; title" in out
        and "desc &amp; more" in out
        and "s&lt;1&gt;" in out
    )


def test_a_log_axis_puts_zero_on_the_floor_as_a_hollow_marker():
    out = svg.line_plot(
        "CD19",
        "d",
        [svg.Series("CD19", [(0, 250.0), (28, 0.0), (180, 35.0)])],
        x_label="x",
        y_label="y",
        log_y=True,
        y_min=0.1,
    )
    assert ">10^-1<" not in out and ">0.1<" in out and ">1000<" in out
    assert 'fill="#fff"' in out  # the 0 sits on the floor, hollow


@pytest.mark.parametrize("p, lower, upper", [(0.5, 0.2366, 0.7634)])
def test_a_proportion_plot_draws_the_interval_as_a_whisker(p, lower, upper):
    out = svg.proportion_plot("t", "d", ["M3"], [("Overall", [(p, lower, upper)])], y_label="proportion")
    assert "Overall M3: 50% (24%–76%)" in out
    assert out.count("<line") >= 3
