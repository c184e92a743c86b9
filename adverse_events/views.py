"""Safety pages. Thin: reads through selectors (site isolation), writes through services (permissions,
audit), refusals shown as field messages by ``edc.views.submit``."""

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.permissions import Action, can, require
from edc.history import history_rows
from edc.views import submit
from exports import deid
from exports import services as export_services
from trials import selectors as trial_selectors

from . import ctcae_terms, forms, selectors, services
from .models import SaeReport


def safety_home(request):
    """Every SAE report the user may see (overdue ones first, in red), and the safety reviews."""
    return render(
        request,
        "adverse_events/safety_home.html",
        {"reports": selectors.sae_reports_for(request.user), "now": timezone.now()},
    )


def participant_safety(request, pk):
    participant = trial_selectors.participant_for(request.user, pk)
    safety = selectors.participant_safety(participant)
    return render(
        request,
        "adverse_events/participant_safety.html",
        {
            "participant": participant,
            "safety": safety,
            "can_enter": can(request.user, Action.ENTER_DATA, participant.site),
            "can_sign": can(request.user, Action.SIGN, participant.site),
            "lab_prompts": selectors.lab_prompts_of(participant),
        },
    )


def adverse_event_create(request, pk):
    """A new event; ``?lab_prompt=<id>`` pre-fills it from a graded lab result and links it to the prompt."""
    participant = trial_selectors.participant_for(request.user, pk)
    if request.method == "POST":
        require(request.user, Action.ENTER_DATA, participant.site)
    prompt = None
    if "lab_prompt" in request.GET:
        prompt_id = request.GET["lab_prompt"]
        prompt = selectors.lab_prompt_for(request.user, int(prompt_id) if prompt_id.isdigit() else 0)
        if prompt.participant_id != participant.pk:
            raise Http404
        initial = services.lab_prompt_initial(prompt)
    else:
        initial = {
            key: request.GET[key] for key in ("term", "onset_date", "grade", "verbatim") if key in request.GET
        }
    form = forms.AdverseEventForm(
        request.POST or None, initial=initial, site_tz=participant.site.timezone, creating=True
    )

    def call(**kw):
        if prompt is not None:  # linked to the prompt in the same transaction
            return services.record_lab_adverse_event(user=request.user, prompt=prompt, **kw)
        return services.record_adverse_event(user=request.user, participant=participant, **kw)

    return submit(
        request,
        form,
        call,
        success_url=reverse("participant_safety", args=[participant.pk]),
        success_message=_("Adverse event recorded."),
        template="adverse_events/adverse_event_form.html",
        context={"participant": participant, "event": None, "terms": ctcae_terms.TERMS, "lab_prompt": prompt},
    )


def lab_prompt_decline(request, pk):
    """Answer "no" to "record as adverse event?" for a graded lab result, with the reason (kept)."""
    prompt = selectors.lab_prompt_for(request.user, pk)
    participant = prompt.participant
    if request.method == "POST":
        require(request.user, Action.ENTER_DATA, participant.site)
    return submit(
        request,
        forms.LabPromptDeclineForm(request.POST or None),
        lambda **kw: services.decline_lab_prompt(user=request.user, prompt=prompt, **kw),
        success_url=reverse("participant_safety", args=[participant.pk]),
        success_message=_("Answer kept: not an adverse event."),
        template="adverse_events/lab_prompt_decline.html",
        context={"participant": participant, "prompt": prompt},
    )


def adverse_event_detail(request, pk):
    event = selectors.adverse_event_for(request.user, pk)
    participant = event.participant
    can_enter = can(request.user, Action.ENTER_DATA, participant.site)
    if request.method == "POST":
        require(request.user, Action.ENTER_DATA, participant.site)
    form = forms.AdverseEventForm(
        request.POST or None, instance=event, site_tz=participant.site.timezone, creating=False
    )
    report = (
        SaeReport.objects.filter(adverse_event=event, entered_in_error=False)
        .select_related("signed_by")
        .first()
    )
    if report is not None:
        report.status = selectors.sae_status(report)
        report.status_label = selectors.SaeStatus.LABELS[report.status]
    return submit(
        request,
        form,
        lambda **kw: services.update_adverse_event(user=request.user, event=event, **kw),
        success_url=reverse("adverse_event_detail", args=[event.pk]),
        success_message=_("Adverse event saved."),
        template="adverse_events/adverse_event_form.html",
        context={
            "participant": participant,
            "event": event,
            "term": event.ctcae_term,
            "grades": event.grades.filter(entered_in_error=False).select_related("recorded_by"),
            "grade_form": forms.GradeForm(),
            "report": report,
            "follow_ups": report.follow_ups.filter(entered_in_error=False) if report else [],
            "dlt": getattr(event, "dlt_adjudication", None),
            "dlt_window": services.dlt_window(participant),
            "can_enter": can_enter,
            "can_sign": can(request.user, Action.SIGN, participant.site),
        },
    )


def _event_action(request, pk, *, form, call, title, success_message, action=Action.ENTER_DATA, extra=None):
    """A small form about one event on its own page (grade change, narrative, signature, …)."""
    event = selectors.adverse_event_for(request.user, pk)
    if request.method == "POST":
        require(request.user, action, event.participant.site)
    return submit(
        request,
        form,
        lambda **kw: call(event, **kw),
        success_url=reverse("adverse_event_detail", args=[event.pk]),
        success_message=success_message,
        template="adverse_events/event_action.html",
        context={"participant": event.participant, "event": event, "title": title, **(extra or {})},
    )


def adverse_event_grade(request, pk):
    return _event_action(
        request,
        pk,
        form=forms.GradeForm(request.POST or None),
        call=lambda event, **kw: services.add_grade(user=request.user, event=event, **kw),
        title=_("Record a change of grade"),
        success_message=_("Grade recorded."),
    )


def _report(request, event):
    report = SaeReport.objects.filter(adverse_event=event, entered_in_error=False).first()
    if report is None:
        from django.http import Http404

        raise Http404
    return report


def sae_narrative(request, pk):
    event = selectors.adverse_event_for(request.user, pk)
    report = _report(request, event)
    form = forms.NarrativeForm(
        request.POST or None, initial={"narrative": report.narrative, "expected_version": report.version}
    )
    return _event_action(
        request,
        pk,
        form=form,
        call=lambda event, **kw: services.update_sae_narrative(user=request.user, report=report, **kw),
        title=_("SAE report narrative"),
        success_message=_("Narrative saved."),
    )


def sae_sign(request, pk):
    event = selectors.adverse_event_for(request.user, pk)
    report = _report(request, event)
    return _event_action(
        request,
        pk,
        form=forms.SignatureForm(request.POST or None),
        call=lambda event, **kw: services.sign_sae_report(
            user=request.user, report=report, request=request, **kw
        ),
        title=_("Sign and submit the SAE report"),
        success_message=_("SAE report signed and submitted to the sponsor."),
        action=Action.SIGN,
        extra={"report": report},
    )


def sae_follow_up(request, pk):
    event = selectors.adverse_event_for(request.user, pk)
    report = _report(request, event)
    return _event_action(
        request,
        pk,
        form=forms.FollowUpForm(request.POST or None),
        call=lambda event, **kw: services.add_sae_follow_up(user=request.user, report=report, **kw),
        title=_("SAE follow-up report"),
        success_message=_("Follow-up recorded."),
    )


def dlt_adjudicate(request, pk):
    event = selectors.adverse_event_for(request.user, pk)
    existing = getattr(event, "dlt_adjudication", None)
    initial = {}
    if existing is not None:
        initial = {
            "is_dlt": "yes" if existing.is_dlt else "no",
            "criterion": existing.criterion,
            "dlt_date": existing.dlt_date,
            "comment": existing.comment,
        }
    form = forms.DltAdjudicationForm(
        request.POST or None,
        initial=initial,
        criteria=services.dlt_criteria(event.participant.site.study),
    )
    return _event_action(
        request,
        pk,
        form=form,
        call=lambda event, **kw: services.adjudicate_dlt(user=request.user, event=event, **kw),
        title=_("DLT adjudication"),
        success_message=_("DLT adjudication recorded."),
        action=Action.SIGN,
        extra={"dlt_window": services.dlt_window(event.participant), "existing": existing},
    )


def iec_hs(request, pk):
    event = selectors.adverse_event_for(request.user, pk)
    instance = getattr(event, "iec_hs", None)
    return _event_action(
        request,
        pk,
        form=forms.IecHsForm(request.POST or None, instance=instance),
        call=lambda event, **kw: services.record_iec_hs(user=request.user, event=event, **kw),
        title=_("IEC-HS event"),
        success_message=_("IEC-HS event saved."),
        extra={"iec_hs": instance},
    )


def adverse_event_history(request, pk):
    event = selectors.adverse_event_for(request.user, pk)
    participant = event.participant
    records = selectors.history_records(event)
    return render(
        request,
        "trials/history.html",
        {
            "participant": participant,
            "record": str(event),
            "rows": history_rows(records, tz=participant.site.timezone),
        },
    )


def ctcae_terms_page(request):
    """The shipped term list with every grade definition, searchable (also the htmx term picker)."""
    form = forms.TermSearchForm(request.GET or None)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    terms = ctcae_terms.search(query) if query else list(ctcae_terms.TERMS)
    template = "adverse_events/_terms.html" if request.htmx else "adverse_events/ctcae_terms.html"
    return render(request, template, {"form": form, "terms": terms, "query": query})


def uncoded_terms(request):
    """Adverse events at the user's sites whose term CTCAE v5.0 does not code to MedDRA, for the data
    manager to code (the SDTM export leaves them uncoded and lists them in ``uncoded_terms.csv``)."""
    from . import coding

    return render(
        request,
        "adverse_events/uncoded_terms.html",
        {
            "rows": selectors.uncoded_events_for(request.user),
            "ctcae_version": coding.CTCAE_VERSION,
            "meddra_version": coding.MEDDRA_VERSION,
        },
    )


def term_definitions(request):
    """The grade definitions of one term (htmx partial of the adverse-event form)."""
    term = ctcae_terms.term(request.GET.get("term", ""))
    return render(request, "adverse_events/_term_definitions.html", {"term": term})


def dose_level_review(request):
    studies = selectors.dose_level_review(request.user)
    return render(
        request,
        "adverse_events/dose_level_review.html",
        {"studies": studies, "all_sites": _sees_all_sites(request.user)},
    )


def _sees_all_sites(user) -> bool:
    from accounts.permissions import site_ids
    from trials.models import Site

    visible = site_ids(user)
    return (
        bool(visible)
        and not Site.objects.exclude(pk__in=visible).filter(study__sites__id__in=visible).exists()
    )


CSV_TABLES = ("listing", "by_term", "crs_icans", "cytopenias_infections")


def safety_summary(request):
    levels = list(selectors.study_dose_levels(request.user))
    sites = list(trial_selectors.sites_for(request.user))
    form = forms.SafetyFilterForm(request.GET or None, levels=levels, sites=sites)
    filters = selectors.SafetyFilters()
    if form.is_valid():
        data = form.cleaned_data
        filters = selectors.SafetyFilters(
            dose_level=data["dose_level"], site=data["site"], term=data["term"], min_grade=data["min_grade"]
        )
    summary = selectors.safety_summary(request.user, filters)
    covered = [site.pk for site in sites if not filters.site or site.code == filters.site]
    table = request.GET.get("csv")
    if table in CSV_TABLES:
        return _csv_download(request, summary, table, sites, covered, filters)
    study_id = sites[0].study_id if sites else None
    return render(
        request,
        "adverse_events/safety_summary.html",
        {
            "form": form,
            "summary": summary,
            "grades": range(1, 6),
            "query": request.GET.urlencode(),
            "all_sites": _sees_all_sites(request.user),
            "last_day": selectors.PRIMARY_ENDPOINT_LAST_DAY,
            # Downloads are exports: offered to those who may export these sites.
            "may_download": study_id is not None
            and export_services.may_export_listing(
                request.user, study_id=study_id, site_ids_covered=covered, identifiable=False
            ),
        },
    )


def _csv_download(request, summary, table, sites, covered, filters) -> HttpResponse:
    """A table of the summary as CSV, through the export path (permission, record, neutral cells).

    The listing holds verbatim terms and real dates: it is identifiable for those who may export
    identifiable data, de-identified (no verbatim, participant keys, shifted onset dates) for the others.
    """
    if not sites:
        raise PermissionDenied(_("Your role does not allow exports of these sites."))
    identifiable = table == "listing" and export_services.can_export_identifiable(request.user)
    header, rows = _csv_table(summary, table, deidentified=not identifiable)
    content, _record = export_services.export_listing(
        user=request.user,
        study=sites[0].study,
        name=f"safety-{table}",
        site_ids_covered=covered,
        identifiable=identifiable,
        header=header,
        rows=rows,
        parameters={key: value for key, value in vars(filters).items() if value},
        ip_address=request.META.get("REMOTE_ADDR"),
    )
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="safety-{table}.csv"'
    return response


def _listing_rows(summary, *, deidentified: bool):
    offsets = deid.offsets([row.participant.pk for row in summary.listing]) if deidentified else {}
    for row in summary.listing:
        e, p = row.event, row.participant
        onset = deid.shift(p.pk, e.onset_date, offsets.get(p.pk)) if deidentified else e.onset_date
        yield [
            deid.subject_key(p, deidentify=deidentified), p.site.code, str(p.dose_level or ""), e.number,
            e.soc, e.term_label, *([] if deidentified else [e.verbatim]), onset, row.study_day,
            row.max_grade, "Y" if e.serious else "N", e.relationship_car_t, e.outcome,
        ]  # fmt: skip


def _csv_table(summary, table, *, deidentified: bool) -> tuple[list[str], list[list]]:
    """(header, rows) of one table of the safety summary."""
    levels = summary.levels
    if table == "listing":
        header = ["participant", "site", "dose_level", "ae_number", "soc", "term",
                  *([] if deidentified else ["verbatim"]), "onset_date", "study_day", "max_grade", "serious",
                  "relationship_car_t", "outcome"]  # fmt: skip
        return header, list(_listing_rows(summary, deidentified=deidentified))
    writer = _Rows()
    if table == "by_term":
        header = ["soc", "term"]
        for level in levels:
            header += [f"{level.code}_n", f"{level.code}_grade_3_plus"]
        writer.writerow([*header, "total_n", *(f"total_grade_{g}" for g in range(1, 6))])
        for soc, label, cells, total in summary.by_term:
            row = [soc, label]
            for level in levels:
                cell = cells.get(level.pk)
                row += [cell.n() if cell else 0, cell.n_grade_3_plus if cell else 0]
            writer.writerow([*row, total.n(), *(total.n(g) for g in range(1, 6))])
    elif table == "crs_icans":
        writer.writerow(
            ["toxicity", "dose_level", "treated", "participants", "incidence_pct",
             *(f"max_grade_{g}" for g in range(1, 6)), "onset_day_median_range", "duration_days_median_range"]
        )  # fmt: skip
        for name, rows in (("CRS", summary.crs), ("ICANS", summary.icans)):
            for level in levels:
                row = rows.get(level.pk) or selectors.ToxicityByLevel(
                    treated=summary.treated.get(level.pk, 0)
                )
                writer.writerow(
                    [name, level.code, row.treated, row.participants, row.incidence_pct,
                     *(row.max_grades.get(g, 0) for g in range(1, 6)), row.onset, row.duration]
                )  # fmt: skip
    else:
        writer.writerow(
            ["category", "term", "dose_level", "participants", *(f"grade_{g}" for g in range(1, 6))]
        )
        for category, label, cells in summary.cytopenias_infections:
            for level in levels:
                cell = cells.get(level.pk)
                if cell:
                    writer.writerow(
                        [category, label, level.code, cell.n(), *(cell.n(g) for g in range(1, 6))]
                    )
    return writer.header, writer.rows


class _Rows:
    """Collects a table's header (the first row) and rows, for ``export_listing``."""

    def __init__(self):
        self.header, self.rows = None, []

    def writerow(self, values):
        if self.header is None:
            self.header = list(values)
        else:
            self.rows.append(list(values))
