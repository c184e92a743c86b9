from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.permissions import Action, can, require
from edc.history import history_rows
from edc.views import submit
from monitoring import selectors as query_selectors
from trials import selectors as trial_selectors

from . import missing, selectors, services
from .registry import FORMS


def casebook(request, pk):
    participant = trial_selectors.participant_for(request.user, pk)
    visits, codes, grid = selectors.casebook(
        participant,
        query_counts=query_selectors.live_counts_by_record(request.user, participant),
        review=query_selectors.casebook_review(request.user, participant),
    )
    rows = [(visit, [grid[visit.pk][code] for code in codes]) for visit in visits]
    return render(
        request,
        "crfs/casebook.html",
        {
            "participant": participant,
            "codes": codes,
            "rows": rows,
            "forms": FORMS,
            "titles": {code: (FORMS[code].title if code in FORMS else code) for code in codes},
            "can_enter": can(request.user, Action.ENTER_DATA, participant.site),
            "can_verify": can(request.user, Action.VERIFY, participant.site),
            "can_print": can(request.user, Action.PRINT_CASEBOOK, participant.site),
        },
    )


def _spec(code):
    spec = FORMS.get(code)
    if spec is None:
        raise Http404
    return spec


def form_entry(request, visit_pk, code, form_pk=None):
    spec = _spec(code)
    visit = trial_selectors.visit_for(request.user, visit_pk)
    instance = None
    if form_pk is not None:
        instance = get_object_or_404(spec.model, pk=form_pk, visit=visit)
    elif not spec.repeating:
        instance = spec.model.objects.filter(visit=visit, entered_in_error=False).first()
    if request.method == "POST":
        require(request.user, Action.ENTER_DATA, visit.participant.site)
    prefilled = {}
    if request.method == "GET" and request.GET.get("prefill") and spec.prefill:
        prefilled = {
            k: v for k, v in import_string(spec.prefill)(visit.participant, visit).items() if v is not None
        }
    initial = {**(selectors.visit_defaults(spec, visit) if instance is None else {}), **prefilled}
    form = spec.form_class(request.POST or None, instance=instance, initial=initial)
    form.allow_missing(missing.allowed(visit.participant.site.study, code), missing.reasons_of(instance))
    if instance is not None and not form.is_bound:
        form.initial["expected_version"] = instance.version
    if prefilled:
        labels = [str(spec.model._meta.get_field(name).verbose_name) for name in prefilled]
        messages.info(
            request,
            _("Filled from this participant's data, not saved yet: %(fields)s. Check them, then save.")
            % {"fields": ", ".join(labels)},
        )
    elif request.method == "GET" and request.GET.get("prefill"):
        messages.info(request, _("Nothing to fill from this participant's data yet."))

    can_enter = can(request.user, Action.ENTER_DATA, visit.participant.site)
    if not can_enter:
        form.read_only()
    form.complete_requested = "complete" in request.POST
    form.checker = lambda data: services.check_form(spec=spec, visit=visit, instance=instance, data=data)
    by_field = query_selectors.live_by_field(request.user, instance)
    live = [q for field_queries in by_field.values() for q in field_queries]
    can_query = instance is not None and can(request.user, Action.QUERY, visit.participant.site)
    queryable = {f.name for f in spec.model._meta.concrete_fields}
    query_fields = [
        (name, field.label, len(by_field.get(name, [])))
        for name, field in form.fields.items()
        if name in queryable and (can_query or name in by_field)
    ]

    def save(**kwargs):
        if instance is not None and kwargs.get("expected_version") is None:
            # The page was opened before the form existed (or lost its version): someone else's
            # first save must not be overwritten silently.
            kwargs["expected_version"] = 0
        return services.save_form(user=request.user, spec=spec, visit=visit, instance=instance, **kwargs)

    return submit(
        request,
        form,
        save,
        success_url=lambda _saved: selectors.url_after_save(
            request.POST.get("complete", ""),
            visit=visit,
            code=code,
            default=reverse("casebook", args=[visit.participant_id]),
        ),
        success_message=_("%(form)s saved.") % {"form": spec.title},
        template="crfs/form_entry.html",
        context={
            "spec": spec,
            "visit": visit,
            "participant": visit.participant,
            "instance": instance,
            "queries": live,
            "queries_by_field": by_field,
            "query_fields": query_fields,
            "can_query": can_query,
            "can_enter": can_enter,
            "check_url": (
                reverse("form_check", args=[visit.pk, code])
                + (f"?form={instance.pk}" if instance is not None else "")
            )
            if getattr(form, "live_checks", True)
            else None,
            "history_url": reverse("form_history", args=[code, instance.pk]) if instance else None,
            "derived": instance.derived_rows() if instance else [],
        },
    )


@require_POST
def form_check(request, visit_pk, code):
    """htmx: the messages beside each field as it is typed (unreadable input, hard and soft checks).

    The same path as a save (``services.check_form``), so what the page says while typing is what a
    save would answer; nothing is written.
    """
    spec = _spec(code)
    if not getattr(spec.form_class, "live_checks", True):
        raise Http404
    visit = trial_selectors.visit_for(request.user, visit_pk)
    require(request.user, Action.ENTER_DATA, visit.participant.site)
    form_pk = request.GET.get("form", "")
    instance = get_object_or_404(spec.model, pk=form_pk, visit=visit) if form_pk.isdigit() else None
    form = spec.form_class(request.POST, instance=instance)
    form.allow_missing(missing.allowed(visit.participant.site.study, code), missing.reasons_of(instance))
    form.is_valid()
    hard, soft = services.check_form(spec=spec, visit=visit, instance=instance, data=form.readable_data())
    checks = {name: [] for name in form.fields if not form[name].is_hidden}
    for name in checks:
        checks[name] += [("error", message) for message in form.errors.get(name, [])]
    for severity, fired in (("error", hard), ("warning", soft)):
        for check in fired:
            if check.field in checks and check.field not in form.errors:
                checks[check.field].append((severity, check.message))
    return render(request, "crfs/_checks.html", {"checks": checks})


def form_history(request, code, form_pk):
    spec = _spec(code)
    instance = get_object_or_404(spec.model, pk=form_pk)
    participant = trial_selectors.participant_for(request.user, instance.participant_id)
    return render(
        request,
        "trials/history.html",
        {
            "participant": participant,
            "record": f"{spec.title} · {instance.visit.display_name}",
            "rows": history_rows(selectors.history_records(instance), tz=participant.site.timezone),
        },
    )
