"""The next form to enter, for pages outside the casebook (the participant page's next steps)."""

from django import template

from crfs import selectors

register = template.Library()


@register.simple_tag
def next_form_of(participant):
    """The participant's first form not complete at a visit that took place or is open, or None."""
    return selectors.next_form_of_participant(participant)
