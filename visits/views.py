from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.permissions import Action, require
from edc.history import history_rows
from edc.views import submit
from trials import selectors

from . import forms, services


def _visit_context(visit, title):
    return {"title": title, "visit": visit, "participant": visit.participant}


def record_visit(request, pk):
    visit = selectors.visit_for(request.user, pk)
    require(request.user, Action.ENTER_DATA, visit.participant.site)
    form = forms.VisitDateForm(request.POST or None, visit=visit, initial={"visit_date": visit.visit_date})
    return submit(
        request,
        form,
        lambda **data: services.record_visit(user=request.user, visit=visit, **data),
        success_url=reverse("participant_detail", args=[visit.participant_id]),
        success_message=_("Visit %(code)s recorded.") % {"code": visit.code},
        template="visits/visit_action.html",
        context=_visit_context(visit, _("Record visit date")),
    )


def visit_outcome(request, pk):
    visit = selectors.visit_for(request.user, pk)
    require(request.user, Action.ENTER_DATA, visit.participant.site)
    form = forms.VisitOutcomeForm(request.POST or None, visit=visit)
    return submit(
        request,
        form,
        lambda **data: services.mark_visit(user=request.user, visit=visit, **data),
        success_url=reverse("participant_detail", args=[visit.participant_id]),
        success_message=_("Visit %(code)s updated.") % {"code": visit.code},
        template="visits/visit_action.html",
        context=_visit_context(visit, _("Missed or not applicable")),
    )


def add_unscheduled(request, pk):
    participant = selectors.participant_for(request.user, pk)
    require(request.user, Action.ENTER_DATA, participant.site)
    form = forms.UnscheduledVisitForm(request.POST or None)
    return submit(
        request,
        form,
        lambda **data: services.add_unscheduled_visit(user=request.user, participant=participant, **data),
        success_url=reverse("participant_detail", args=[participant.pk]),
        success_message=_("Unscheduled visit added."),
        template="visits/visit_action.html",
        context={"title": _("Add an unscheduled visit"), "visit": None, "participant": participant},
    )


def visit_history(request, pk):
    visit = selectors.visit_for(request.user, pk)
    return render(
        request,
        "trials/history.html",
        {
            "participant": visit.participant,
            "record": visit,
            "rows": history_rows([visit], tz=visit.participant.site.timezone),
        },
    )
