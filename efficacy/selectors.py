"""Role-scoped reads for the efficacy dashboards: a user sees the participants of their sites only.

The study dashboard of a site-scoped user (coordinator, investigator, assigned monitor) counts only
the participants of the sites they belong to; study-wide roles see every site.
"""

from accounts.permissions import Action
from accounts.permissions import site_ids as permitted_site_ids
from trials import selectors as trial_selectors
from trials.models import DoseLevel, Site


def site_ids(user) -> set[int]:
    return permitted_site_ids(user, Action.VIEW)


def participants_for(user):
    return trial_selectors.participants_for(user).select_related("site__study", "dose_level")


def participant_for(user, pk):
    """The participant, or 404 for another site's (or an unknown) participant."""
    return trial_selectors.participant_for(user, pk)


def sites_for(user) -> list[Site]:
    return list(Site.objects.filter(pk__in=site_ids(user)).order_by("code"))


def dose_levels_for(sites) -> list[DoseLevel]:
    studies = {site.study_id for site in sites}
    return list(DoseLevel.objects.filter(study_id__in=studies).order_by("study_id", "order", "code"))


def all_sites_of(sites) -> list[Site]:
    """Every site of the studies of ``sites``: to say whether the user sees the whole study."""
    return list(Site.objects.filter(study_id__in={site.study_id for site in sites}))
