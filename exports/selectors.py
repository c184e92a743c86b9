"""Export jobs a user may see: those of the studies where they export."""

from django.db.models import QuerySet

from accounts.permissions import Action, site_ids
from trials.models import Study

from .models import ExportJob, ListingExport


def export_study_for(user) -> Study | None:
    """The study ``user`` exports from (the first, should they export from several)."""
    return Study.objects.filter(sites__id__in=site_ids(user, Action.EXPORT)).distinct().order_by("pk").first()


def jobs_for(user) -> QuerySet:
    studies = Study.objects.filter(sites__id__in=site_ids(user, Action.EXPORT)).values("pk")
    return ExportJob.objects.filter(study__in=studies).select_related("requested_by", "study", "cancelled_by")


def listing_exports_for(user) -> QuerySet:
    """Listings downloaded from pages (``ListingExport``) in the studies where ``user`` exports."""
    studies = Study.objects.filter(sites__id__in=site_ids(user, Action.EXPORT)).values("pk")
    return ListingExport.objects.filter(study__in=studies).select_related("user")
