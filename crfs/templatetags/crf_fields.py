"""Presentation helpers of the CRF entry pages."""

from django import template

register = template.Library()


@register.filter
def missing_of(form, name):
    """The "why is it missing" companion of field ``name`` (``CRFForm.allow_missing``), or None."""
    finder = getattr(form, "missing_for", None)
    return finder(name) if finder is not None else None
