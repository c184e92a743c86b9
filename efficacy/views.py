"""The efficacy dashboards. Thin: site-scoped reads through ``selectors``, numbers from ``dashboard``
(derived by ``endpoints``), figures from ``plots``."""

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.views.decorators.http import require_GET

from accounts.permissions import Action, can
from exports import services as export_services

from . import dashboard, plots, selectors


@require_GET
def study_dashboard(request):
    """Proportions achieving SRI-4, DORIS, drug-free DORIS and LLDAS per visit (overall and by dose
    level), the swimmer plot, the mean SLEDAI-2K change and enrollment, for the user's sites."""
    user = request.user
    table = request.GET.get("csv")
    sites = selectors.sites_for(user)
    site_ids = [site.pk for site in sites]
    key = dashboard.summary_key(site_ids)

    def summary():
        return dashboard.study_summary(
            selectors.participants_for(user),
            site_ids=site_ids,
            dose_levels=selectors.dose_levels_for(sites),
            sites=sites,
            key=key,
        )

    study_id = sites[0].study_id if sites else None
    may_download = study_id is not None and export_services.may_export_listing(
        user, study_id=study_id, site_ids_covered=site_ids, identifiable=False
    )
    if table == "proportions":
        if not sites:
            raise PermissionDenied
        return _proportions_csv(request, summary(), sites, site_ids)
    # The figures and tables depend on the data and the language only: rendered once per version.
    body_key = f"{key}:body:{get_language()}"
    body = cache.get(body_key)
    if body is None:
        data = summary()
        body = render_to_string(
            "efficacy/_study_body.html",
            {
                "summary": data,
                "figures": plots.proportion_figures(data),
                "change_svg": plots.sledai_change_figure(data),
                "swimmer_svg": plots.swimmer_figure(data),
                "enrollment_svg": plots.enrollment_figure(data),
            },
        )
        cache.set(body_key, body, dashboard.CACHE_SECONDS)
    return render(
        request,
        "efficacy/study_dashboard.html",
        {
            "body": mark_safe(body),  # rendered by our own template, autoescaped
            "all_sites": len(sites) == len(selectors.all_sites_of(sites)),
            "can_export": can(user, Action.EXPORT),
            "may_download": may_download,
        },
    )


@require_GET
def participant_dashboard(request, pk):
    participant = selectors.participant_for(request.user, pk)
    data = dashboard.participant_dashboard(participant)
    return render(
        request,
        "efficacy/participant_dashboard.html",
        {
            "participant": participant,
            "data": data,
            "result": data["endpoints"],
            "figures": plots.participant_figures(data),
            "flags": dashboard.ENDPOINT_LABELS,
        },
    )


def _proportions_csv(request, summary, sites, site_ids) -> HttpResponse:
    """The proportions table as CSV, through the export path (permission, record, neutral cells)."""
    header = ["endpoint", "group", "visit", "n", "N", "proportion", "lower_95", "upper_95", "not_evaluable"]
    rows = []
    for flag, label in dashboard.ENDPOINT_LABELS.items():
        for group, group_label in summary["groups"]:
            for code, _day in summary["columns"]:
                cell = summary["proportions"][flag][group][code]
                rows.append(
                    [label, group_label, code, cell["n"], cell["N"], cell["p"], cell["lower"], cell["upper"],
                     cell["not_evaluable"]]
                )  # fmt: skip
    content, _record = export_services.export_listing(
        user=request.user,
        study=sites[0].study,
        name="efficacy-proportions",
        site_ids_covered=site_ids,
        identifiable=False,
        header=header,
        rows=rows,
        ip_address=request.META.get("REMOTE_ADDR"),
    )
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="efficacy-proportions.csv"'
    return response
