"""Reads that depend on who is asking. Every view and export reads participants through here."""

from datetime import timedelta

from django.db.models import Count, Q
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.permissions import Action, site_ids
from visits.models import Visit, VisitStatus

from .models import Participant, ParticipantStatus, Site, Study


def sites_for(user, action: Action = Action.VIEW):
    return Site.objects.filter(pk__in=site_ids(user, action)).select_related("study")


def studies_for(user):
    """The studies of the sites the user may see."""
    return Study.objects.filter(pk__in=Site.objects.filter(pk__in=site_ids(user)).values("study_id"))


def participants_for(user):
    return Participant.objects.filter(site_id__in=site_ids(user), entered_in_error=False).select_related(
        "site", "dose_level"
    )


def participant_for(user, pk) -> Participant:
    """The participant, or 404 when it does not exist for this user (other sites included)."""
    return get_object_or_404(
        Participant.objects.filter(site_id__in=site_ids(user)).select_related("site__study", "dose_level"),
        pk=pk,
    )


def visits_for(user):
    return Visit.objects.filter(participant__site_id__in=site_ids(user), participant__entered_in_error=False)


def visit_for(user, pk) -> Visit:
    return get_object_or_404(visits_for(user).select_related("participant__site__study", "definition"), pk=pk)


def search_participants(user, *, q: str = "", status: str = "", site: str = ""):
    qs = participants_for(user)
    if q:
        qs = qs.filter(Q(screening_number__icontains=q) | Q(study_id__icontains=q) | Q(initials__iexact=q))
    if status:
        qs = qs.filter(status=status)
    if site:
        qs = qs.filter(site__code=site)
    return qs.order_by("site__code", "screening_number")


def participant_by_id(user, q: str) -> list[Participant]:
    """The participants the user may see whose study ID or screening number is exactly ``q``."""
    return list(participants_for(user).filter(Q(study_id__iexact=q) | Q(screening_number__iexact=q))[:2])


def schedule_for(participant, now=None):
    """The participant's visits with their computed status, in date order."""
    return (
        participant.visits.filter(entered_in_error=False)
        .with_status(now)
        .select_related("definition")
        .order_by("target_date", "sequence")
    )


def enrollment_by_site(user):
    """Per visible site: screened, enrolled (ever), infused, screen failures."""
    enrolled = ~Q(participants__status__in=[ParticipantStatus.SCREENING, ParticipantStatus.SCREEN_FAILED])
    live = Q(participants__entered_in_error=False)
    return (
        sites_for(user)
        .annotate(
            screened=Count("participants", filter=live),
            enrolled=Count("participants", filter=live & enrolled),
            infused=Count("participants", filter=live & Q(participants__infusion_date__isnull=False)),
            screen_failed=Count(
                "participants", filter=live & Q(participants__status=ParticipantStatus.SCREEN_FAILED)
            ),
        )
        .order_by("code")
    )


def visits_due(user, *, days: int = 7, now=None):
    """Pending visits whose window is open, overdue, or opens within ``days`` days."""
    now = now or timezone.now()
    horizon = (now + timedelta(days=days + 1)).date()
    return (
        visits_for(user)
        .pending()
        .filter(window_start__lte=horizon)
        .with_status(now)
        .filter(
            status__in=[VisitStatus.OPEN, VisitStatus.OVERDUE, VisitStatus.UPCOMING], days_to_open__lte=days
        )
        .select_related("participant__site", "definition")  # display_name reads the definition
        .order_by("window_end", "participant__study_id")
    )
