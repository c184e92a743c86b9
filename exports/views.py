"""Export pages: the list of jobs with the new-export form, the progress partial, the download."""

from functools import partial

from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render
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
from .models import ExportStatus
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


def _page_context(request, study):
    jobs = list(selectors.jobs_for(request.user)[:50])
    check = services.export_checker(request.user, study.pk)
    for job in jobs:
        job.may_download = job.status == ExportStatus.DONE and check(ExportOptions.from_json(job.options))
    return {
        "study": study,
        "jobs": jobs,
        "may_identifiable": services.can_export_identifiable(request.user),
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
    return submit(
        request,
        form,
        partial(services.request_export, user=request.user),
        success_url=reverse("export_list"),
        success_message=_("Export queued: it will be ready to download below."),
        template="exports/export_list.html",
        context=_page_context(request, study),
    )


@require_GET
def export_progress(request, pk):
    _study(request)
    job = get_object_or_404(selectors.jobs_for(request.user), pk=pk)
    job.may_download = job.status == ExportStatus.DONE and services.may_export(
        request.user, ExportOptions.from_json(job.options)
    )
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
