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
