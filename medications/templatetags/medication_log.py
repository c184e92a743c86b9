from django import template

from .. import selectors

register = template.Library()


@register.simple_tag
def medication_log(participant):
    """The participant's medication log, listed above the entry form."""
    return list(selectors.medication_log(participant))
