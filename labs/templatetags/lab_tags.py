"""Presentation of laboratory numbers, units and categorical results."""

from decimal import ROUND_HALF_UP, Decimal

from django import template

from labs.analytes import RESULT_LABELS, reported_decimals
from labs.analytes import unit_label as _unit_label

register = template.Library()

SIGNIFICANT = 4


@register.filter
def lab_number(value):
    """A stored number for reading: 4 significant digits, never rounding the integer part, no
    trailing zeros (``128.907509`` → ``128.9``, ``0.025000`` → ``0.025``, ``12345.6`` → ``12346``)."""
    if value is None or value == "":
        return ""
    value = Decimal(value)
    if value == 0:
        return "0"
    decimals = max(SIGNIFICANT - value.adjusted() - 1, 0)
    return f"{value.quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP).normalize():f}"


@register.filter
def lab_value(value):
    """A value that is a number (``95.000000`` → ``95``) or a categorical result (its label)."""
    if isinstance(value, Decimal | int | float):
        return lab_number(value)
    return result_label(value)


@register.filter
def range_limit(value, result):
    """A reference limit in the unit of ``result`` (a ``LabResult``), to the precision that unit is
    reported with (a range converted from another unit: ``0.4638`` mg/dL → ``0.46``)."""
    if value is None or value == "":
        return ""
    decimals = reported_decimals(getattr(result, "analyte", ""), getattr(result, "unit", ""))
    if decimals is None:
        return lab_number(value)
    rounded = Decimal(value).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)
    return f"{rounded.normalize():f}" if rounded else "0"


@register.filter
def as_entered(value):
    """A stored entered value without the padding of its column (``9.500000`` → ``9.5``)."""
    return "" if value is None else f"{Decimal(value).normalize():f}"


@register.filter
def unit_label(unit):
    return _unit_label(unit or "")


@register.filter
def result_label(code):
    return RESULT_LABELS.get(code, code)
