import json

from django import template

register = template.Library()


@register.filter
def lookup(mapping, key):
    if mapping is None:
        return None
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def as_json(value) -> str:
    """Calculator inputs as shown beside a derived value."""
    return json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)


@register.filter
def percent(value) -> str:
    return "" if value is None else f"{value * 100:.0f} %"


@register.filter
def bilag_grades(grades) -> list[tuple[str, str]]:
    """BILAG-2004 grades as (system name, letter), in system order: never "DDDDDDDDD"."""
    from django.utils.text import capfirst

    from disease_activity.models import BilagAssessment
    from edc.clinical.response import BILAG_SYSTEMS

    grades = grades or {}
    return [
        (capfirst(BilagAssessment._meta.get_field(system).verbose_name), grades[system])
        for system in BILAG_SYSTEMS
        if grades.get(system)
    ]
