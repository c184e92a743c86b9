"""Source-data verification and lock pages: the SDV buttons of a form page, SDV progress, the locks list,
and the lock and unlock forms. Thin: the services decide, refusals become messages."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.permissions import Action, can, site_ids
from edc.errors import DomainError
from edc.views import submit
from trials import selectors as trial_selectors

from . import locks, selectors, verification
from .forms import ReasonForm
from .models import LockScope


def _form(request, code, form_pk):
    """The CRF ``code`` number ``form_pk``, or 404 when the user may not see it."""
    from crfs.registry import FORMS

    spec = FORMS.get(code)
    if spec is None:
        raise Http404
    return get_object_or_404(
        spec.model.objects.filter(participant__site_id__in=site_ids(request.user)).select_related(
            "participant__site__study", "visit"
        ),
        pk=form_pk,
    )


def form_url(code, record) -> str:
    if code == "labs":
        return reverse("lab_panel", args=[record.visit_id, record.pk])
    return reverse("form_entry_instance", args=[record.visit_id, code, record.pk])


def _verify(request, code, form_pk, call, success):
    record = _form(request, code, form_pk)
    try:
        call(record)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success)
    return redirect(form_url(code, record))


@require_POST
def verify_form(request, code, form_pk):
    return _verify(
        request,
        code,
        form_pk,
        lambda record: verification.verify_form(user=request.user, record=record),
        _("Form verified against the source."),
    )


@require_POST
def verify_critical(request, code, form_pk):
    return _verify(
        request,
        code,
        form_pk,
        lambda record: verification.verify_critical_fields(user=request.user, record=record),
        _("Critical fields verified against the source."),
    )


@require_POST
def verify_field(request, code, form_pk):
    name = request.POST.get("field_name", "")
    return _verify(
        request,
        code,
        form_pk,
        lambda record: verification.verify_field(user=request.user, record=record, field_name=name),
        _("Field verified against the source."),
    )


def _bulk_message(request, count: int) -> None:
    if count:
        messages.success(request, _("%(n)s critical fields verified against the source.") % {"n": count})
    else:
        messages.info(request, _("Nothing to verify: every critical field is already verified."))


@require_POST
def verify_visit(request, visit_pk):
    """Risk-based SDV of a whole visit in one action: the critical fields of each of its complete forms."""
    visit = trial_selectors.visit_for(request.user, visit_pk)
    try:
        count = verification.verify_critical_fields_in_bulk(
            user=request.user, records=selectors.complete_forms_of_visit(request.user, visit)
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        _bulk_message(request, count)
    return redirect("casebook", visit.participant_id)


def verify_form_across(request, code):
    """One form across participants: the complete ones whose critical fields are not all verified, to
    verify in one action (those ticked)."""
    from crfs.registry import FORMS

    if code not in FORMS:
        raise Http404
    if not can(request.user, Action.VERIFY):
        raise PermissionDenied(_("Your role does not allow this action here."))
    forms = selectors.critical_fields_to_verify(request.user, code)
    if request.method == "POST":
        chosen = set(request.POST.getlist("form"))
        try:
            count = verification.verify_critical_fields_in_bulk(
                user=request.user, records=[f for f in forms if str(f.pk) in chosen]
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            _bulk_message(request, count)
        return redirect("sdv_verify_across", code)
    return render(
        request,
        "monitoring/sdv_across.html",
        {"code": code, "title": FORMS[code].title, "forms": forms},
    )


def sdv_progress(request):
    """SDV progress per site, participant or form, for monitors and data managers."""
    if not (can(request.user, Action.VERIFY) or can(request.user, Action.LOCK)):
        raise PermissionDenied(_("Your role does not allow this action here."))
    by = request.GET.get("by", "site")
    if by not in selectors.PROGRESS_BY:
        by = "site"
    return render(
        request,
        "monitoring/sdv_progress.html",
        {
            "by": by,
            "rows": selectors.sdv_progress(request.user, by=by),
            "groupings": [
                ("site", _("By site")),
                ("participant", _("By participant")),
                ("form", _("By form")),
            ],
        },
    )


# Locks -------------------------------------------------------------------------------------------------


def lock_list(request):
    """Active locks of the user's sites (and their studies), the last lifted ones, the study lock."""
    from trials.models import Study

    all_locks = selectors.locks_for(request.user)
    studies = Study.objects.filter(sites__id__in=site_ids(request.user)).distinct()
    return render(
        request,
        "monitoring/lock_list.html",
        {
            "active": all_locks.filter(unlocked_at=None),
            "lifted": all_locks.exclude(unlocked_at=None).order_by("-unlocked_at")[:50],
            "studies": [
                (study, all_locks.filter(unlocked_at=None, scope=LockScope.STUDY, study=study).first())
                for study in studies
            ],
            "can_lock": can(request.user, Action.LOCK),
        },
    )


def _lock_target(request, code, pk):
    """(scope, target, title, back url) for ``code`` (a form code, "visit", "participant" or "study")."""
    from trials.models import Study

    if code == "study":
        study = get_object_or_404(
            Study.objects.filter(sites__id__in=site_ids(request.user)).distinct(), pk=pk
        )
        return LockScope.STUDY, study, str(study), reverse("lock_list")
    if code == "participant":
        participant = trial_selectors.participant_for(request.user, pk)
        return LockScope.PARTICIPANT, participant, str(participant), reverse("participant_detail", args=[pk])
    if code == "visit":
        visit = trial_selectors.visit_for(request.user, pk)
        title = f"{visit.participant} · {visit.display_name}"
        return LockScope.VISIT, visit, title, reverse("participant_detail", args=[visit.participant_id])
    from crfs.registry import FORMS

    record = _form(request, code, pk)
    title = f"{record.participant} · {FORMS[code].title} · {record.visit.display_name}"
    return LockScope.FORM, record, title, form_url(code, record)


def lock_new(request, code, form_pk):
    scope, target, title, back = _lock_target(request, code, form_pk)
    locks.require_lock(request.user, scope=scope, target=target)
    return submit(
        request,
        ReasonForm(request.POST or None),
        lambda **kwargs: locks.lock(user=request.user, scope=scope, target=target, **kwargs),
        success_url=back,
        success_message=_("Locked: the data can no longer change until a data manager unlocks them."),
        template="monitoring/lock_form.html",
        context={"title": title, "scope": LockScope(scope).label, "back": back, "unlocking": None},
    )


def lock_unlock(request, pk):
    held = selectors.lock_for(request.user, pk)
    locks.require_unlock(request.user, held)
    return submit(
        request,
        ReasonForm(request.POST or None),
        lambda **kwargs: locks.unlock(user=request.user, lock=held, **kwargs),
        success_url=reverse("lock_list"),
        success_message=_("Unlocked."),
        template="monitoring/lock_form.html",
        context={
            "title": str(held),
            "scope": held.get_scope_display(),
            "back": reverse("lock_list"),
            "unlocking": held,
        },
    )
