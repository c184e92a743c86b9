"""Export pages: the list of jobs with the new-export form, the progress partial, the download,
cancel and retry."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import Action, site_ids
from edc.errors import DomainError
from edc.idempotency import add_key_field
from edc.views import submit
from trials.models import Site

from . import selectors, services
from .forms import ExportForm
from .models import ACTIVE_STATUSES, ExportStatus
from .options import ExportOptions


def _study(request):
    study = selectors.export_study_for(request.user)
    if study is None:
        raise PermissionDenied(_("Only sponsor admins and data managers export data."))
    return study


def _form(request, study, data=None):
    sites = Site.objects.filter(study=study, pk__in=site_ids(request.user, Action.EXPORT))
    form = ExportForm(data, study=study, sites=sites)
    add_key_field(form)  # the list page renders the form itself (``submit`` handles the POST)
    return form


def _annotate(jobs, check):
    """What the user may do with each job, and each job's transitions (one query for all)."""
    history = services.job_history(jobs)
    for job in jobs:
        allowed = check(ExportOptions.from_json(job.options))
        job.may_download = job.status == ExportStatus.DONE and allowed
        job.may_cancel = job.status in ACTIVE_STATUSES and allowed and job.cancel_requested_at is None
        job.may_retry = job.status in (ExportStatus.FAILED, ExportStatus.CANCELLED) and allowed
        job.history = history[job.pk]
    return jobs


def _page_context(request, study):
    jobs = _annotate(
        list(selectors.jobs_for(request.user)[:50]), services.export_checker(request.user, study.pk)
    )
    return {
        "study": study,
        "jobs": jobs,
        "may_identifiable": services.can_export_identifiable(request.user),
        "listings": selectors.listing_exports_for(request.user)[:20],
    }


@require_GET
def export_list(request):
    study = _study(request)
    return render(
        request, "exports/export_list.html", {**_page_context(request, study), "form": _form(request, study)}
    )


@require_POST
def export_new(request):
    study = _study(request)
    form = _form(request, study, request.POST)
    started = []

    def start(**kwargs):
        started.append(services.request_export(user=request.user, **kwargs))

    response = submit(
        request,
        form,
        start,
        success_url=reverse("export_list"),
        success_message=_("Export requested: its status is shown below."),
        template="exports/export_list.html",
        context=_page_context(request, study),
    )
    if started:
        started[0].refresh_from_db()  # the enqueue ran on commit, after the service returned
        if started[0].status == ExportStatus.FAILED:
            messages.error(request, _not_queued(started[0]))
    return response


def _not_queued(job) -> str:
    return _(
        "Export %(id)s could not be queued: the task queue is unavailable (%(error)s). It is recorded "
        "as failed; retry it below once the service is back."
    ) % {"id": job.pk, "error": job.error}


@require_POST
def export_cancel(request, pk):
    _study(request)
    job = get_object_or_404(selectors.jobs_for(request.user), pk=pk)
    try:
        job = services.cancel_export(user=request.user, job_id=job.pk)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if job.status == ExportStatus.CANCELLED:
            messages.success(request, _("Export %(id)s cancelled.") % {"id": job.pk})
        else:
            messages.success(
                request,
                _("Export %(id)s stops at its next step; its partial files are removed.") % {"id": job.pk},
            )
    return redirect("export_list")


@require_POST
def export_retry(request, pk):
    _study(request)
    old = get_object_or_404(selectors.jobs_for(request.user), pk=pk)
    try:
        job = services.retry_export(user=request.user, job_id=old.pk)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if job.status == ExportStatus.FAILED:
            messages.error(request, _not_queued(job))
        else:
            messages.success(
                request, _("Export %(old)s retried as export %(id)s.") % {"old": old.pk, "id": job.pk}
            )
    return redirect("export_list")


@require_GET
def export_progress(request, pk):
    _study(request)
    job = get_object_or_404(selectors.jobs_for(request.user), pk=pk)
    _annotate([job], lambda options: services.may_export(request.user, options))
    return render(request, "exports/_job_row.html", {"job": job})


@require_GET
def export_download(request, pk):
    _study(request)
    job = get_object_or_404(selectors.jobs_for(request.user), pk=pk)
    try:
        services.record_download(user=request.user, job=job, ip_address=request.META.get("REMOTE_ADDR"))
    except DomainError as exc:
        raise Http404(exc.message) from exc
    handle = open(job.zip_path, "rb")  # noqa: SIM115 - FileResponse closes it once streamed
    return FileResponse(handle, as_attachment=True, filename=job.zip_path.rsplit("/", 1)[-1])
