"""Laboratory pages: a visit's panels, panel entry (with a live preview), history, reference ranges.

The casebook's "labs" cell links to ``/visits/<id>/forms/labs/``, which these URLs serve. Pages show
times in the site's time zone (activated per request) and read participants through the selectors,
so another site's records answer 404.
"""

from django import forms
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from accounts.permissions import Action, can, require
from adverse_events.selectors import lab_prompts_by_result
from crfs import selectors as crf_selectors
from crfs.registry import spec_for
from edc.history import history_rows
from edc.views import submit
from monitoring.services import open_queries_for
from trials import selectors as trial_selectors

from . import selectors, services
from .analytes import BY_CODE, Panel, analytes_of
from .forms import DATETIME_FORMATS, LabPanelForm, ReferenceRangeForm, ResultForm
from .models import LabPanel


def _attach_queries(records):
    """Set ``open_queries`` on each record (one query for all of them)."""
    live = open_queries_for(records)
    for record in records:
        record.open_queries = live.get((ContentType.objects.get_for_model(record).pk, record.pk), [])


@require_safe
def panel_list(request, visit_pk):
    visit = trial_selectors.visit_for(request.user, visit_pk)
    participant = visit.participant
    panels = selectors.panels_of(visit)
    results = [r for p in panels for r in p.ordered_results]
    _attach_queries([*panels, *results])
    prompts = lab_prompts_by_result(results, participant.site.study)  # "record as adverse event?"
    for r in results:
        r.lab_prompt = prompts.get(r.pk)
    entered = {p.panel for p in panels}
    with timezone.override(participant.site.timezone):
        return render(
            request,
            "labs/panel_list.html",
            {
                "spec": spec_for(services.CODE),
                "visit": visit,
                "participant": participant,
                "panels": panels,
                "addable": [(code, label) for code, label in Panel.choices if code not in entered],
                "can_enter": can(request.user, Action.ENTER_DATA, participant.site),
            },
        )


def panel_entry(request, visit_pk, form_pk=None):
    visit = trial_selectors.visit_for(request.user, visit_pk)
    participant = visit.participant
    instance = None
    if form_pk is not None:
        instance = get_object_or_404(LabPanel, pk=form_pk, visit=visit)
        panel = instance.panel
    else:
        panel = request.GET.get("panel", "")
        if panel not in Panel.values:
            raise Http404
        existing = LabPanel.objects.filter(visit=visit, panel=panel, entered_in_error=False).first()
        if existing is not None and request.method != "POST":  # a POST is refused by the service
            return redirect("lab_panel", visit.pk, existing.pk)
    if request.method == "POST":
        require(request.user, Action.ENTER_DATA, participant.site)
    results = list(instance.results.all()) if instance else []
    if instance:
        _attach_queries([instance, *results])
    with timezone.override(participant.site.timezone):
        form = LabPanelForm(
            request.POST or None,
            instance=instance,
            panel=panel,
            units=selectors.site_units(participant.site),
            results=results,
        )
        can_enter = can(request.user, Action.ENTER_DATA, participant.site)
        if not can_enter:
            form.read_only()
        form.complete_requested = "complete" in request.POST
        if instance is None and not form.is_bound:  # the visit's samples are usually drawn together
            form.initial.setdefault("collected_at", selectors.collected_at_of_visit(visit))

        def save(**kwargs):
            return services.save_panel(
                user=request.user, visit=visit, panel=panel, instance=instance, **kwargs
            )

        form.checker = lambda data, entries: services.check_panel(
            visit=visit, panel=panel, data=data, results=entries, instance=instance
        )

        return submit(
            request,
            form,
            save,
            success_url=lambda _saved: _after_save(request, visit, panel),
            success_message=_("%(panel)s saved.") % {"panel": Panel(panel).label},
            template="labs/panel_entry.html",
            context={
                "spec": spec_for(services.CODE),
                "panel_label": Panel(panel).label,
                "next_panel": selectors.next_panel(visit, after=panel),
                "has_values": any(a.quantitative for a in analytes_of(panel)),
                "has_results": any(a.results for a in analytes_of(panel)),
                "visit": visit,
                "participant": participant,
                "instance": instance,
                "queries": getattr(instance, "open_queries", []),
                "can_enter": can_enter,
                "can_query": instance is not None and can(request.user, Action.QUERY, participant.site),
            },
        )


def _after_save(request, visit, panel) -> str:
    """The visit's panels, or the next panel, form of the visit or of the participant the button asked for."""
    then = request.POST.get("complete", "")
    if then == "panel":
        following = selectors.next_panel(visit, after=panel)
        if following is not None:
            return reverse("lab_panel_new", args=[visit.pk]) + f"?panel={following}"
        then = crf_selectors.NEXT_OF_VISIT
    return crf_selectors.url_after_save(
        then, visit=visit, code=services.CODE, default=reverse("lab_panels", args=[visit.pk])
    )


@require_POST
def preview(request, visit_pk):
    """htmx: the standard value, range, flag and CTCAE grade of one row as it is typed (no write)."""
    visit = trial_selectors.visit_for(request.user, visit_pk)
    participant = visit.participant
    spec = BY_CODE.get(request.GET.get("analyte", ""))
    if spec is None or not spec.quantitative:
        raise Http404
    with timezone.override(participant.site.timezone):
        row = ResultForm(
            request.POST,
            spec=spec,
            unit=selectors.default_unit(spec, selectors.site_units(participant.site)),
            prefix=f"r-{spec.code}",
        )
        collected_at = _collected_at(request.POST.get("collected_at", ""))
        meaning, error, warnings = None, "", []
        if row.is_valid():
            # The same derivation and checks as the save (``services.assess_result``): never disagree.
            assessed = services.preview_result(
                participant=participant, entry=row.entry(), collected_at=collected_at
            )
            if assessed.hard:
                error = assessed.hard[0].message
            else:
                meaning, warnings = assessed.row, [c.message for c in assessed.soft]
        else:
            error = next(iter(row.errors.values()))[0]
        return render(
            request,
            "labs/_derived.html",
            {"code": spec.code, "meaning": meaning, "error": error, "warnings": warnings, "preview": True},
        )


def _collected_at(text):
    try:
        return forms.DateTimeField(input_formats=DATETIME_FORMATS, required=False).clean(text)
    except forms.ValidationError:
        return None


@require_safe
def panel_history(request, form_pk):
    panel = get_object_or_404(LabPanel, pk=form_pk)
    participant = trial_selectors.participant_for(request.user, panel.participant_id)
    return render(
        request,
        "trials/history.html",
        {
            "participant": participant,
            "record": f"{panel} · {panel.visit.display_name}",
            "rows": history_rows(
                [panel, *panel.results.all(), *panel.other_tests.all()], tz=participant.site.timezone
            ),
        },
    )


def reference_ranges(request):
    """Every site's ranges (current and superseded); data managers add new versions here."""
    sites = list(trial_selectors.sites_for(request.user))
    manageable = [s for s in sites if can(request.user, Action.MANAGE_RANGES, s)]
    if request.method == "POST" and not manageable:
        raise PermissionDenied(_("Only data managers change reference ranges."))
    site_id = request.GET.get("site", "")
    analyte = request.GET.get("analyte", "")
    form = ReferenceRangeForm(request.POST or None, sites=manageable)
    return submit(
        request,
        form,
        lambda **kwargs: services.add_reference_range(user=request.user, **kwargs),
        success_url=reverse("reference_ranges"),
        success_message=_("Reference range added."),
        template="labs/reference_ranges.html",
        context={
            "rows": selectors.reference_ranges_for(
                request.user,
                site_id=int(site_id) if site_id.isdigit() else None,
                analyte=analyte if analyte in BY_CODE else "",
            ),
            "sites": sites,
            "analytes": [a for a in BY_CODE.values() if a.quantitative],
            "selected_site": site_id,
            "selected_analyte": analyte,
            "can_manage": bool(manageable),
        },
    )
