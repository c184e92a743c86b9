"""Request PDF casebooks: an export job (``exports``) of the format "casebook", run by the worker like
every export (progress, heartbeat, retries, cancel) and recorded as an export with its downloads.

Who may: investigators and data managers (``Action.PRINT_CASEBOOK``), for the participants of the
sites where they hold that right; ``exports.services`` checks it on request, download, cancel and retry.
"""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from accounts.permissions import Action, can
from exports import services as export_services
from exports.models import ACTIVE_STATUSES, ExportJob
from exports.options import CASEBOOK, ExportOptions


def casebook_options(*, study, site_ids, participant_ids=None, language="en") -> ExportOptions:
    return ExportOptions(
        study_id=study.pk,
        formats=CASEBOOK,
        site_ids=tuple(sorted(site_ids)),
        participant_ids=tuple(sorted(participant_ids)) if participant_ids is not None else None,
        language=language,
    )


def request_casebook(
    *, user, participant=None, site=None, language="en", via="web", enqueue=True
) -> ExportJob:
    """Queue the casebook of ``participant``, or of every participant of ``site``.

    A request repeated while the same user's identical request is still queued or running returns that
    job (a double click prints once)."""
    if (participant is None) == (site is None):
        raise ValueError("a participant or a site")
    site = site or participant.site
    if user is not None and not can(user, Action.PRINT_CASEBOOK, site):
        raise PermissionDenied(_("Your role does not allow printing casebooks here."))
    options = casebook_options(
        study=site.study,
        site_ids=[site.pk],
        participant_ids=[participant.pk] if participant is not None else None,
        language=language,
    )
    if user is not None:
        pending = (
            ExportJob.objects.filter(requested_by=user, status__in=ACTIVE_STATUSES, options=options.to_json())
            .order_by("-pk")
            .first()
        )
        if pending is not None:
            return pending
    return export_services.request_export(user=user, options=options, via=via, enqueue=enqueue)
