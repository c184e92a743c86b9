"""Assembles the SLEDAI entry table: the form's rows with the proposals from labs and vital signs."""

from dataclasses import dataclass

from django import template

from ..selectors import look_back_for, proposed_descriptors

register = template.Library()


@dataclass
class SledaiEntry:
    rows: list
    default_look_back: int
    proposals: dict


@register.simple_tag
def sledai_entry(form, visit, queries=()):
    instance = form.instance
    on = instance.assessed_on if instance.pk else None
    look_back = instance.look_back_days if instance.pk else None
    proposals = proposed_descriptors(visit, on=on, look_back_days=look_back)
    return SledaiEntry(
        rows=form.descriptor_rows(proposals, queries),
        default_look_back=look_back_for(visit.participant),
        proposals=proposals,
    )
