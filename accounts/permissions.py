"""The one permission layer: which user may do which action at which site.

Every view, export, task and selector asks here. Objects of sites a user does not belong to are
simply not in their querysets (404); an action their role does not allow is a PermissionDenied (403).
"""

from enum import StrEnum

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from .models import Membership, Role


class Action(StrEnum):
    VIEW = "view"
    ENTER_DATA = "enter_data"  # screen, consent, enroll, visits, CRFs
    SIGN = "sign"
    QUERY = "query"  # raise and close queries
    VERIFY = "verify"  # source-data verification
    LOCK = "lock"
    EXPORT = "export"
    EXPORT_IDENTIFIABLE = "export_identifiable"  # initials, year of birth, real dates, free text
    SETUP = "setup"  # protocol, sites, users
    MANAGE_RANGES = "manage_ranges"  # laboratory reference ranges and site units
    VIEW_AUDIT = "view_audit"  # the whole study's audit trail
    # The PDF casebook of a participant or a site (ICH E6: the investigator keeps a copy of the data).
    PRINT_CASEBOOK = "print_casebook"
    # Upload a laboratory file (FHIR bundle or CSV), preview it and write its values through the lab
    # services: the site staff who would otherwise type them. Data managers never change clinical values
    # themselves; saving a site's CSV column mapping is theirs (MANAGE_RANGES, lab set-up).
    IMPORT_LABS = "import_labs"


ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.COORDINATOR: frozenset({Action.VIEW, Action.ENTER_DATA, Action.IMPORT_LABS}),
    Role.INVESTIGATOR: frozenset(
        {Action.VIEW, Action.ENTER_DATA, Action.SIGN, Action.PRINT_CASEBOOK, Action.IMPORT_LABS}
    ),
    Role.MONITOR: frozenset({Action.VIEW, Action.QUERY, Action.VERIFY}),
    Role.DATA_MANAGER: frozenset(
        {
            Action.VIEW,
            Action.QUERY,
            Action.LOCK,
            Action.EXPORT,
            Action.MANAGE_RANGES,
            Action.VIEW_AUDIT,
            Action.PRINT_CASEBOOK,
        }
    ),
    Role.SPONSOR_ADMIN: frozenset({Action.VIEW, Action.EXPORT, Action.EXPORT_IDENTIFIABLE, Action.SETUP}),
    Role.AUDITOR: frozenset({Action.VIEW, Action.VIEW_AUDIT}),
}

_CACHE = "_edc_memberships"


def memberships(user) -> list[Membership]:
    """The user's active memberships, read once per user object (i.e. once per request)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return []
    cached = getattr(user, _CACHE, None)
    if cached is None:
        cached = list(Membership.objects.filter(user=user, active=True).only("study_id", "site_id", "role"))
        setattr(user, _CACHE, cached)
    return cached


def roles(user) -> set[Role]:
    return {Role(m.role) for m in memberships(user)}


def site_ids(user, action: Action = Action.VIEW):
    """IDs of the sites where ``user`` may do ``action``, as a list or ``ALL`` per study."""
    from trials.models import Site

    studies, sites = set(), set()
    for m in memberships(user):
        if action in ROLE_ACTIONS[Role(m.role)]:
            if m.site_id is None:
                studies.add(m.study_id)
            else:
                sites.add(m.site_id)
    if studies:
        sites |= set(Site.objects.filter(study_id__in=studies).values_list("id", flat=True))
    return sites


def can(user, action: Action, site=None) -> bool:
    """May ``user`` do ``action`` at ``site`` (a Site or its id)? Without a site: anywhere?"""
    site_id = getattr(site, "pk", site)
    for m in memberships(user):
        if action not in ROLE_ACTIONS[Role(m.role)]:
            continue
        if site_id is None or m.site_id == site_id:
            return True
        if m.site_id is None:
            study_id = getattr(site, "study_id", None)
            if study_id is None:
                from trials.models import Site

                study_id = Site.objects.filter(pk=site_id).values_list("study_id", flat=True).first()
            if study_id == m.study_id:
                return True
    return False


def require(user, action: Action, site=None) -> None:
    if not can(user, action, site):
        raise PermissionDenied(_("Your role does not allow this action here."))
