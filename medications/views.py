"""The medications of a visit entered as rows of one table, added and removed in the page.

Served at ``/visits/<id>/forms/medications/`` (the casebook's cell) before the generic CRF routes;
an entry's own page (``/visits/<id>/forms/medications/<pk>/``: its history, queries, verification)
stays the generic form page.
"""

from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.permissions import Action, can, require
from crfs import selectors as crf_selectors
from crfs.registry import spec_for
from edc.views import submit
from trials import selectors as trial_selectors

from . import selectors, services
from .forms import MedicationRowsForm


def medication_rows(request, visit_pk):
    visit = trial_selectors.visit_for(request.user, visit_pk)
    participant = visit.participant
    if request.method == "POST":
        require(request.user, Action.ENTER_DATA, participant.site)
    form = MedicationRowsForm(request.POST or None, entries=services.entries_at(visit))
    can_enter = can(request.user, Action.ENTER_DATA, participant.site)
    if not can_enter:
        form.read_only()
    form.complete_requested = "complete" in request.POST
    form.checker = lambda rows: services.check_medication_rows(visit=visit, rows=rows)
    spec = spec_for(services.CODE)
    return submit(
        request,
        form,
        lambda **kwargs: services.save_medication_rows(user=request.user, visit=visit, **kwargs),
        success_url=lambda _saved: crf_selectors.url_after_save(
            request.POST.get("complete", ""),
            visit=visit,
            code=services.CODE,
            default=reverse("casebook", args=[participant.pk]),
        ),
        success_message=_("%(form)s saved.") % {"form": spec.title},
        template="medications/medication_rows.html",
        context={
            "spec": spec,
            "visit": visit,
            "participant": participant,
            "entries": list(selectors.medication_log(participant)),
            "can_enter": can_enter,
            "in_page_rows": True,
        },
    )
