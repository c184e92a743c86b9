"""Participant pages. Thin: reads through selectors, writes through services, checks via permissions."""

from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.permissions import Action, can, require, roles
from edc.views import submit

from . import forms, selectors, services
from .home import home_sections
from .models import ParticipantStatus


def home(request):
    user = request.user
    now = timezone.now()
    # The visits due are the sites' and their monitors' work; study-wide roles have their own lists.
    site_work = can(user, Action.ENTER_DATA) or can(user, Action.VERIFY)
    context = {
        "sites": selectors.enrollment_by_site(user),
        "visits_due": selectors.visits_due(user, days=7, now=now)[:50] if site_work else None,
        "worklists": home_sections(user, now=now),  # (template, section) of the registered panels
        "roles": sorted(r.label for r in roles(user)),
        "can_screen": can(user, Action.ENTER_DATA),
        "now": now,
    }
    return render(request, "trials/home.html", context)


def participant_list(request):
    q = request.GET.get("q", "").strip()[:40]
    status = request.GET.get("status", "")
    site = request.GET.get("site", "")
    qs = selectors.search_participants(request.user, q=q, status=status, site=site)
    if q and request.GET.get("go"):  # the header's search box: an exact or single match opens it
        found = selectors.participant_by_id(request.user, q) or qs[:2]
        if len(found) == 1:
            return redirect("participant_detail", found[0].pk)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "q": q,
        "status": status,
        "site": site,
        "statuses": ParticipantStatus.choices,
        "sites": selectors.sites_for(request.user),
        "can_screen": can(request.user, Action.ENTER_DATA),
    }
    return render(request, "trials/participant_list.html", context)


def participant_detail(request, pk):
    participant = selectors.participant_for(request.user, pk)
    visits = list(selectors.schedule_for(participant))
    context = {
        "participant": participant,
        "visits": visits,
        "can_enter": can(request.user, Action.ENTER_DATA, participant.site),
        "actions": available_actions(participant),
    }
    return render(request, "trials/participant_detail.html", context)


def screen(request):
    sites = list(selectors.sites_for(request.user, Action.ENTER_DATA))
    if not sites:
        require(request.user, Action.ENTER_DATA)
    form = forms.ScreeningForm(
        request.POST or None, sites=selectors.sites_for(request.user, Action.ENTER_DATA)
    )
    return submit(
        request,
        form,
        lambda **data: services.screen_participant(user=request.user, **data),
        success_url=lambda participant: reverse("participant_detail", args=[participant.pk]),
        success_message=_("Participant screened."),
        template="trials/participant_action.html",
        context={"title": _("Screen a new participant"), "participant": None},
    )


# action name -> (form, service, title, statuses in which the action is offered)
S = ParticipantStatus
ACTIONS = {
    "consent": (forms.ConsentForm, services.record_consent, gettext_lazy("Record consent"), {S.SCREENING}),
    "eligibility": (
        forms.EligibilityForm,
        services.record_eligibility,
        gettext_lazy("Record eligibility"),
        {S.SCREENING},
    ),
    "enroll": (forms.EnrollmentForm, services.enroll_participant, gettext_lazy("Enroll"), {S.SCREENING}),
    "dose-level": (
        forms.DoseLevelForm,
        services.assign_dose_level,
        gettext_lazy("Assign dose level"),
        {S.ENROLLED, S.LYMPHODEPLETED},
    ),
    "plan-infusion": (
        forms.PlannedInfusionForm,
        services.record_planned_infusion,
        gettext_lazy("Plan the infusion date"),
        {S.ENROLLED, S.LYMPHODEPLETED},
    ),
    "lymphodepletion": (
        forms.LymphodepletionForm,
        services.record_lymphodepletion,
        gettext_lazy("Record lymphodepletion"),
        {S.ENROLLED},
    ),
    "infusion": (
        forms.InfusionForm,
        services.record_infusion,
        gettext_lazy("Record the infusion (Day 0)"),
        {S.ENROLLED, S.LYMPHODEPLETED, S.INFUSED},
    ),
    "follow-up": (forms.FollowUpForm, services.start_follow_up, gettext_lazy("Start follow-up"), {S.INFUSED}),
    "end": (
        forms.EndParticipationForm,
        services.end_participation,
        gettext_lazy("End participation"),
        {S.ENROLLED, S.LYMPHODEPLETED, S.INFUSED, S.IN_FOLLOW_UP},
    ),
    "correct": (
        forms.CorrectionForm,
        services.correct_participant,
        gettext_lazy("Correct screening details"),
        set(S),
    ),
    "entered-in-error": (
        forms.EnteredInErrorForm,
        services.mark_entered_in_error,
        gettext_lazy("Mark entered in error"),
        {S.SCREENING},
    ),
}


def available_actions(participant):
    if participant.entered_in_error:
        return []
    return [(name, spec[2]) for name, spec in ACTIONS.items() if participant.status in spec[3]]


def participant_action(request, pk, action):
    participant = selectors.participant_for(request.user, pk)
    if action not in ACTIONS:
        from django.http import Http404

        raise Http404
    require(request.user, Action.ENTER_DATA, participant.site)
    form_class, service, title, _statuses = ACTIONS[action]
    form = form_class(request.POST or None, participant=participant)
    return submit(
        request,
        form,
        lambda **data: service(user=request.user, participant=participant, **data),
        success_url=reverse("participant_detail", args=[participant.pk]),
        success_message=_("%(action)s: saved.") % {"action": title},
        template="trials/participant_action.html",
        context={"title": title, "participant": participant},
    )


def participant_history(request, pk):
    from edc.history import history_rows

    participant = selectors.participant_for(request.user, pk)
    visits = list(participant.visits.all())
    return render(
        request,
        "trials/history.html",
        {
            "participant": participant,
            "record": participant,
            "rows": history_rows([participant, *visits], tz=participant.site.timezone),
        },
    )
