"""Reads for the laboratory pages and for interpreting results: panels, site units, reference ranges."""

from collections import defaultdict
from datetime import date, datetime

from django.db.models import Prefetch

from accounts.permissions import Action, site_ids
from edc.localtime import site_time

from .analytes import ANALYTES, Panel, analytes_of
from .models import LabPanel, LabResult, OtherLabTest, ReferenceRange, SiteUnit

PANEL_ORDER = {code: i for i, code in enumerate(Panel.values)}
ANALYTE_ORDER = {a.code: i for i, a in enumerate(ANALYTES)}


def in_table_order(results):
    return sorted(results, key=lambda r: ANALYTE_ORDER.get(r.analyte, len(ANALYTE_ORDER)))


def panels_of(visit) -> list[LabPanel]:
    """The visit's live panels in panel order, each with ``ordered_results`` and ``live_other_tests``
    (three queries)."""
    panels = LabPanel.objects.filter(visit=visit, entered_in_error=False).prefetch_related(
        Prefetch("results", queryset=LabResult.objects.order_by("id")),
        Prefetch(
            "other_tests",
            queryset=OtherLabTest.objects.filter(entered_in_error=False).order_by("id"),
            to_attr="live_other_tests",
        ),
    )
    panels = sorted(panels, key=lambda p: PANEL_ORDER.get(p.panel, 99))
    for panel in panels:
        panel.ordered_results = in_table_order(panel.results.all())
    return panels


def site_units(site) -> dict[str, str]:
    return dict(SiteUnit.objects.filter(site=site).values_list("analyte", "unit"))


def default_unit(spec, units: dict[str, str]) -> str:
    """The site's reporting unit of ``spec`` when it is an accepted one, else the standard unit."""
    unit = units.get(spec.code)
    return unit if unit in spec.units else spec.standard_unit


def local_date(participant, instant: datetime | None) -> date | None:
    return site_time(instant, participant.site.timezone).date() if instant else None


def age_on(participant, on: date) -> int:
    """Age in years at ``on``. Only the year of birth is collected, so this is the calendar-year age."""
    return on.year - participant.year_of_birth


def pick_range(candidates, *, sex: str, age: int, on: date):
    """The range that applies: valid on ``on`` and matching sex and age; the latest version wins, then
    the more specific one (sex-specific over any sex, the narrower age band)."""
    matching = [r for r in candidates if r.valid_from <= on and r.applies_to(sex=sex, age=age)]
    if not matching:
        return None

    def key(r):
        width = (r.age_max if r.age_max is not None else 1000) - r.age_min
        return (r.valid_from, r.sex != "", -width, r.pk or 0)

    return max(matching, key=key)


def applicable_ranges(participant, codes, collected_at: datetime | None) -> dict[str, ReferenceRange | None]:
    """For each analyte code, the reference range applying to ``participant`` at ``collected_at``."""
    on = local_date(participant, collected_at)
    if on is None:
        return dict.fromkeys(codes)
    ranges = ReferenceRange.objects.filter(
        site_id=participant.site_id, analyte__in=list(codes), valid_from__lte=on
    )
    return ranges_for(site_ranges(ranges), participant, codes, collected_at)


def site_ranges(ranges) -> dict[str, list[ReferenceRange]]:
    """Range versions by analyte: what :func:`ranges_for` picks from (one query for many participants)."""
    by_analyte = defaultdict(list)
    for r in ranges:
        by_analyte[r.analyte].append(r)
    return by_analyte


def ranges_for(by_analyte, participant, codes, collected_at) -> dict[str, ReferenceRange | None]:
    """For each analyte code, the range of ``by_analyte`` (``site_ranges``) applying to ``participant``
    at ``collected_at``: the one rule of :func:`applicable_ranges`."""
    on = local_date(participant, collected_at)
    if on is None:
        return dict.fromkeys(codes)
    age = age_on(participant, on)
    return {code: pick_range(by_analyte.get(code, []), sex=participant.sex, age=age, on=on) for code in codes}


def panel_codes(panel: str) -> list[str]:
    return [a.code for a in analytes_of(panel)]


def reference_ranges_for(user, *, site_id=None, analyte: str = ""):
    """Ranges of the sites ``user`` may see, each marked current or superseded."""
    rows = ReferenceRange.objects.filter(site_id__in=site_ids(user, Action.VIEW)).select_related(
        "site", "created_by"
    )
    if site_id:
        rows = rows.filter(site_id=site_id)
    if analyte:
        rows = rows.filter(analyte=analyte)
    rows = list(rows.order_by("site__code", "analyte", "sex", "age_min", "-valid_from", "-id"))
    seen = set()
    for r in rows:
        key = (r.site_id, r.analyte, r.sex, r.age_min, r.age_max)
        r.superseded = key in seen
        seen.add(key)
    return rows


def next_panel(visit, after: str = "") -> str | None:
    """The next panel kind after ``after`` (panel order) not yet entered at ``visit``."""
    entered = set(
        LabPanel.objects.filter(visit=visit, entered_in_error=False).values_list("panel", flat=True)
    )
    later = Panel.values[Panel.values.index(after) + 1 :] if after in Panel.values else Panel.values
    return next((code for code in later if code not in entered), None)


def next_panel_url(visit) -> str:
    """Where a visit's laboratory data are entered next: a panel in progress, else the first one missing."""
    from django.urls import reverse

    draft = (
        LabPanel.objects.filter(visit=visit, entered_in_error=False)
        .exclude(status="complete")
        .values_list("pk", flat=True)
        .first()
    )
    if draft is not None:
        return reverse("lab_panel", args=[visit.pk, draft])
    panel = next_panel(visit)
    if panel is None:
        return reverse("lab_panels", args=[visit.pk])
    return reverse("lab_panel_new", args=[visit.pk]) + f"?panel={panel}"


def collected_at_of_visit(visit):
    """When the visit's last entered panel was collected (the default of its next panel), or None."""
    return (
        LabPanel.objects.filter(visit=visit, entered_in_error=False, collected_at__isnull=False)
        .order_by("-collected_at")
        .values_list("collected_at", flat=True)
        .first()
    )


def lab_results_for(user):
    """Every laboratory result at the user's sites, with its panel."""
    return LabResult.objects.filter(panel__participant__site_id__in=site_ids(user)).select_related(
        "panel__participant__site", "panel__visit"
    )


def lab_imports_for(user):
    """The laboratory files uploaded at the sites where ``user`` may import (newest first)."""
    from .models import LabImport

    return (
        LabImport.objects.filter(site_id__in=site_ids(user, Action.IMPORT_LABS))
        .select_related("site", "uploaded_by", "imported_by")
        .defer("content")
    )
