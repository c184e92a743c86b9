"""Signature manifestations wherever signed data are shown (21 CFR 11.50(b)): one query per page."""

from django import template

from accounts.permissions import Action, can

from .. import selectors

register = template.Library()


@register.simple_tag
def signatures_shown(participant) -> selectors.Shown:
    """The participant's signatures to show (``selectors.shown_for``); read once per page."""
    return selectors.shown_for(participant)


@register.filter
def visit_signature(shown: selectors.Shown, visit_id):
    return shown.visits.get(visit_id) if shown else None


@register.inclusion_tag("signatures/_banner.html", takes_context=True)
def signature_banner(context, participant, visit=None):
    """The visit's and the casebook's signatures (or only the casebook's without a visit), with the
    "Sign" button for the site's investigator when there is no valid signature."""
    shown = selectors.shown_for(participant)
    if visit is not None:
        signatures = shown.for_visit(visit.pk)
        unsigned = not any(s.valid and s.scope == "visit" for s in signatures)
    else:
        signatures = [shown.casebook] if shown.casebook else []
        unsigned = not (shown.casebook and shown.casebook.valid)
    user = context["request"].user
    return {
        "participant": participant,
        "visit": visit,
        "signatures": signatures,
        "offer_signing": unsigned
        and (visit is None or visit.visit_date is not None)
        and can(user, Action.SIGN, participant.site),
    }


@register.simple_tag(takes_context=True)
def can_sign(context, participant) -> bool:
    """Whether the requesting user signs for ``participant``'s site (the site's investigator)."""
    return can(context["request"].user, Action.SIGN, participant.site)
