"""Casebook jobs a user may see: those of the sites where they print casebooks."""

from accounts.permissions import Action, site_ids
from exports.models import ExportJob
from exports.options import ExportOptions
from trials.models import Site


def casebook_jobs_for(user, *, limit: int = 50) -> list[ExportJob]:
    """The latest casebook jobs of the sites where ``user`` prints casebooks, newest first."""
    sites = site_ids(user, Action.PRINT_CASEBOOK)
    if not sites:
        return []
    jobs = (
        ExportJob.objects.filter(options__formats=["casebook"], study__sites__in=sites)
        .distinct()
        .select_related("requested_by", "study")
        .order_by("-requested_at", "-pk")
    )
    found = []
    for job in jobs[: limit * 4]:
        if set(ExportOptions.from_json(job.options).site_ids or ()) <= sites:
            found.append(job)
        if len(found) == limit:
            break
    return found


def casebook_job_for(user, pk) -> ExportJob | None:
    """The casebook job ``pk`` when ``user`` may see it (the export rule for casebooks), else None."""
    from exports.services import may_export

    job = (
        ExportJob.objects.filter(pk=pk, options__formats=["casebook"])
        .select_related("requested_by", "study")
        .first()
    )
    if job is None or not may_export(user, ExportOptions.from_json(job.options)):
        return None
    return job


def printable_sites(user):
    return (
        Site.objects.filter(pk__in=site_ids(user, Action.PRINT_CASEBOOK))
        .select_related("study")
        .order_by("code")
    )
