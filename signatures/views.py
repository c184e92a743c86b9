"""The signing pages of a visit and of a casebook: what is signed, the signatures and whether each
still verifies, why signing is not possible yet, and (for the site's investigator) the form."""

from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.permissions import Action, can, require
from crfs.registry import FORMS
from edc.views import submit
from trials import selectors as trial_selectors

from . import selectors, services
from .content import Snapshot
from .forms import SignForm
from .models import Scope


def _page(request, *, participant, visit, scope, call, success_url):
    if request.method == "POST":
        require(request.user, Action.SIGN, participant.site)
    snapshot = Snapshot.of(participant.pk)
    signatures = [
        (s, selectors.verify(s, snapshot))
        for s in selectors.signatures_for(participant)
        if s.scope == scope and (visit is None or s.visit_id == visit.pk)
    ]
    problems = selectors.unsigned_reasons(participant, scope=scope, visit=visit, snapshot=snapshot)
    signed = any(s.valid for s, _ok in signatures)
    can_sign = can(request.user, Action.SIGN, participant.site) and not participant.entered_in_error
    return submit(
        request,
        SignForm(request.POST or None, scope=scope),
        call,
        success_url=success_url,
        success_message=_("Signed."),
        template="signatures/sign.html",
        context={
            "participant": participant,
            "visit": visit,
            "scope": scope,
            "signatures": signatures,
            "problems": problems,
            "signed": signed,
            "can_sign": can_sign,
            "show_form": can_sign and not signed and not problems,
            "contents": _contents(participant, visit, snapshot),
            "adverse_events": sum(
                1 for r in snapshot.participant_records if r["model"] == "adverse_events.AdverseEvent"
            ),
            "printed_name": request.user.get_full_name().strip() or request.user.get_username(),
        },
    )


def _contents(participant, visit, snapshot):
    """(visit name, [(form title, status, url)]) of what the signature covers."""
    from trials.selectors import schedule_for

    visits = [visit] if visit is not None else list(schedule_for(participant))
    rows = []
    for v in visits:
        forms = [
            (FORMS[f.code].title, f.status, reverse("form_entry_instance", args=[v.pk, f.code, f.pk]))
            for f in snapshot.forms.get(v.pk, [])
        ]
        if forms or visit is not None:
            rows.append((v.name, forms))
    return rows


def sign_visit(request, visit_pk):
    visit = trial_selectors.visit_for(request.user, visit_pk)
    participant = visit.participant
    return _page(
        request,
        participant=participant,
        visit=visit,
        scope=Scope.VISIT,
        call=lambda **kw: services.sign_visit(user=request.user, visit=visit, request=request, **kw),
        success_url=reverse("sign_visit", args=[visit.pk]),
    )


def sign_casebook(request, pk):
    participant = trial_selectors.participant_for(request.user, pk)
    return _page(
        request,
        participant=participant,
        visit=None,
        scope=Scope.CASEBOOK,
        call=lambda **kw: services.sign_casebook(
            user=request.user, participant=participant, request=request, **kw
        ),
        success_url=reverse("sign_casebook", args=[participant.pk]),
    )
