"""The analyte table is consistent with the clinical core it relies on."""

from decimal import Decimal

import pytest

from edc.clinical.ctcae import TERMS
from edc.clinical.units import CONVERSIONS, convert
from labs.analytes import ANALYTES, RESULT_LABELS, Panel, analytes_of


def test_every_panel_has_its_tests():
    assert all(analytes_of(panel) for panel in Panel.values)
    assert [a.code for a in analytes_of("haematology")] == ["wbc", "anc", "alc", "hb", "platelets"]


@pytest.mark.parametrize("spec", [a for a in ANALYTES if len(a.units) > 1], ids=lambda a: a.code)
def test_every_accepted_unit_converts_to_the_standard_unit_and_back(spec):
    assert spec.conversion in CONVERSIONS
    for unit in spec.units:
        there = convert(spec.conversion, Decimal("12.5"), unit, spec.standard_unit)
        assert convert(spec.conversion, there, spec.standard_unit, unit).quantize(
            Decimal("0.0001")
        ) == Decimal("12.5000")


@pytest.mark.parametrize("spec", [a for a in ANALYTES if a.ctcae], ids=lambda a: a.code)
def test_every_graded_test_names_a_ctcae_term_that_accepts_its_standard_unit(spec):
    assert spec.standard_unit in TERMS[spec.ctcae].units


def test_every_categorical_result_has_a_label():
    assert all(r in RESULT_LABELS for a in ANALYTES for r in a.results)
    assert all(a.units or a.results for a in ANALYTES)
