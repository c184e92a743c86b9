"""Laboratory pages: a visit's panels, panel entry (with a live preview), history, reference ranges.

The casebook's "labs" cell links to ``/visits/<id>/forms/labs/``, which these URLs serve. Pages show
times in the site's time zone (activated per request) and read participants through the selectors,
so another site's records answer 404.
"""

from django import forms
from django.contrib import messages
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
from edc.errors import DomainError
from edc.history import history_rows
from edc.views import submit
from monitoring.services import open_queries_for
from trials import selectors as trial_selectors

from . import importing, selectors, services
from .analytes import BY_CODE, Panel, analytes_of
from .forms import (
    DATETIME_FORMATS,
    LabImportForm,
    LabImportMappingForm,
    LabPanelForm,
    ReferenceRangeForm,
    ResultForm,
)
from .models import WRITTEN_OUTCOMES, ImportStatus, LabImportMapping, LabPanel, RowOutcome


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


# --- laboratory import ----------------------------------------------------------------------------


def lab_imports(request):
    """Upload a FHIR bundle or CSV for its preview; the files uploaded at the user's sites."""
    sites = [s for s in trial_selectors.sites_for(request.user) if can(request.user, Action.IMPORT_LABS, s)]
    if not sites:
        raise PermissionDenied(_("Your role does not allow this action here."))
    form = LabImportForm(request.POST or None, request.FILES or None, sites=sites)
    mappings = set(LabImportMapping.objects.filter(site__in=sites).values_list("site_id", flat=True))
    return submit(
        request,
        form,
        lambda **kwargs: importing.upload_file(user=request.user, **kwargs),
        success_url=lambda created: reverse("lab_import", args=[created.pk]),
        success_message=_("File read: check the preview, then import."),
        template="labs/lab_imports.html",
        context={
            "imports": selectors.lab_imports_for(request.user)[:50],
            "sites": [(s, s.pk in mappings, can(request.user, Action.MANAGE_RANGES, s)) for s in sites],
        },
    )


def lab_import(request, pk):
    """The preview of an uploaded file: every row's outcome; pick visits, then import."""
    found = get_object_or_404(selectors.lab_imports_for(request.user).defer(None), pk=pk)
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "commit":
                done = importing.commit_import(user=request.user, lab_import=found)
                messages.success(request, _("%(count)d value(s) imported.") % {"count": done.written})
            elif action == "choose":
                number = request.POST.get("row", "")
                visit = request.POST.get("visit", "")
                if not number.isdigit() or (visit and not visit.isdigit()):
                    raise Http404
                importing.choose_visit(
                    user=request.user,
                    lab_import=found,
                    number=int(number),
                    visit_id=int(visit) if visit else None,
                )
                messages.success(request, _("Visit chosen; the preview was updated."))
            elif action == "refresh":
                importing.refresh_preview(user=request.user, lab_import=found)
                messages.success(request, _("The preview was updated."))
            else:
                raise Http404
        except importing.PreviewChanged as exc:
            messages.warning(request, exc.message)
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect("lab_import", found.pk)
    rows = importing.rows_for_display(found)
    choices = importing.visit_choices(found)
    for row in rows:
        row.choices = choices.get(row.participant_id, []) if row.participant_id else []
    with timezone.override(found.site.timezone):
        return render(
            request,
            "labs/lab_import.html",
            {
                "lab_import": found,
                "rows": rows,
                "counts": [(RowOutcome(k).label, k, v) for k, v in found.counts.items() if v],
                "writable": sum(found.counts.get(k, 0) for k in WRITTEN_OUTCOMES),
                "previewed": found.status == ImportStatus.PREVIEWED,
            },
        )


def lab_import_mapping(request, pk):
    """A data manager names the columns of the site laboratory's CSV export, once per site."""
    site = get_object_or_404(trial_selectors.sites_for(request.user), pk=pk)
    require(request.user, Action.MANAGE_RANGES, site)
    instance = LabImportMapping.objects.filter(site=site).first()
    form = LabImportMappingForm(request.POST or None, instance=instance)
    return submit(
        request,
        form,
        lambda **kwargs: importing.save_mapping(user=request.user, site=site, **kwargs),
        success_url=reverse("lab_imports"),
        success_message=_("Column mapping saved."),
        template="labs/lab_import_mapping.html",
        context={"site": site},
    )
