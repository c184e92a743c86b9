"""``lookup``: a dictionary's value for a key in templates (tables keyed by dose level and grade)."""

from django import template

register = template.Library()


@register.filter
def lookup(mapping, key):
    getter = getattr(mapping, "get", None)
    return getter(key) if callable(getter) else None
