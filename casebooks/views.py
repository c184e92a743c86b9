"""Casebook pages: request a participant's or a site's PDF casebook, follow its progress, download it;
download the blank and the annotated CRF."""

import zipfile

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import Action, can, site_ids
from edc.errors import DomainError
from exports import services as export_services
from exports.models import ACTIVE_STATUSES, ExportStatus
from trials import selectors as trial_selectors
from trials.models import Site, Study

from . import render as pdf
from . import selectors, services


def _annotate(jobs, user):
    for job in jobs:
        job.may_download = job.status == ExportStatus.DONE
        job.active = job.status in ACTIVE_STATUSES
        job.participants = ", ".join(map(str, _participants(job)))
    return jobs


def _participants(job):
    from trials.models import Participant

    ids = job.options.get("participant_ids")
    if ids is None:
        return [_("every participant of the site")]
    return list(Participant.objects.filter(pk__in=ids).order_by("screening_number"))


def _require_printer(user):
    if not site_ids(user, Action.PRINT_CASEBOOK):
        raise PermissionDenied(_("Only investigators and data managers print casebooks."))


@require_GET
def casebook_jobs(request):
    _require_printer(request.user)
    jobs = _annotate(selectors.casebook_jobs_for(request.user), request.user)
    return render(
        request,
        "casebooks/casebook_jobs.html",
        {"jobs": jobs, "sites": selectors.printable_sites(request.user)},
    )


def _queued(request, job):
    if job.status == ExportStatus.FAILED:
        messages.error(
            request,
            _(
                "Casebook %(id)s could not be queued: the task queue is unavailable (%(error)s). It is "
                "recorded as failed; request it again once the service is back."
            )
            % {"id": job.pk, "error": job.error},
        )
    else:
        messages.success(
            request, _("Casebook %(id)s requested: its progress is shown below.") % {"id": job.pk}
        )


@require_POST
def casebook_pdf_participant(request, pk):
    participant = trial_selectors.participant_for(request.user, pk)
    if not can(request.user, Action.PRINT_CASEBOOK, participant.site):
        raise PermissionDenied(_("Only investigators and data managers print casebooks."))
    job = services.request_casebook(user=request.user, participant=participant, language=get_language())
    job.refresh_from_db()
    _queued(request, job)
    return redirect("casebook_jobs")


@require_POST
def casebook_pdf_site(request):
    _require_printer(request.user)
    site = get_object_or_404(selectors.printable_sites(request.user), pk=request.POST.get("site") or 0)
    job = services.request_casebook(user=request.user, site=site, language=get_language())
    job.refresh_from_db()
    _queued(request, job)
    return redirect("casebook_jobs")


def _job(request, pk):
    job = selectors.casebook_job_for(request.user, pk)
    if job is None:
        raise Http404
    return job


@require_GET
def casebook_progress(request, pk):
    job = _job(request, pk)
    return render(request, "casebooks/_job_row.html", {"job": _annotate([job], request.user)[0]})


@require_GET
def casebook_download(request, pk):
    """The casebook's PDF (a participant's), or the zip of the site's PDFs with their manifest."""
    job = _job(request, pk)
    try:
        export_services.record_download(
            user=request.user, job=job, ip_address=request.META.get("REMOTE_ADDR")
        )
    except DomainError as exc:
        raise Http404(exc.message) from exc
    with zipfile.ZipFile(job.zip_path) as archive:
        pdfs = [name for name in archive.namelist() if name.endswith(".pdf")]
        if len(pdfs) == 1:
            response = HttpResponse(archive.read(pdfs[0]), content_type="application/pdf")
            response["Content-Disposition"] = f'attachment; filename="{pdfs[0].rsplit("/", 1)[-1]}"'
            return response
    with open(job.zip_path, "rb") as handle:
        response = HttpResponse(handle.read(), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{job.zip_path.rsplit("/", 1)[-1]}"'
    return response


@require_GET
def crf_pdf(request, kind):
    """The blank CRF, or the annotated one (SDTM), of the study the user works in."""
    if kind not in ("blank", "annotated"):
        raise Http404
    study = (
        Study.objects.filter(sites__in=Site.objects.filter(pk__in=site_ids(request.user))).distinct().first()
    )
    if study is None:
        raise PermissionDenied(_("You have no study."))
    content = pdf.crf_pdf(study, annotated=kind == "annotated")
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{study.code}-{kind}-crf.pdf"'
    return response
