"""Each role's work on the home page: counts per site that link to the filtered lists behind them.

- coordinators and investigators: their sites' open queries, visits open, overdue or opening soon, visits
  whose expected forms are still missing, SAE reports due;
- monitors: the answered queries their role raised (to close), the ones still with the site, and
  source-data verification (``monitoring.selectors.sdv_progress``);
- data managers: the ageing of live queries (0–7, 8–14, 15–30, over 30 days) by site and by form, the
  median time to close, drafts to release and active locks;
- investigators: what awaits their signature.

Each number reuses the one definition the rest of the project uses (``visits_due`` and the visit status,
the ``forms_missing`` reminder's "forms missing", the SAE clock, ``queries_for``) and comes from one
aggregate query per source grouped by site, so the page costs the same whatever the size of the study.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.apps import apps
from django.db.models import Count, F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from accounts.permissions import Action, roles, site_ids
from trials.models import Site

from .models import Query, QueryStatus
from .selectors import LIVE, queries_for

# Whole days since a query was opened: (key, first day, last day or None).
AGE_BUCKETS = [("0-7", 0, 7), ("8-14", 8, 14), ("15-30", 15, 30), ("31+", 31, None)]
AGE_LABELS = {
    "0-7": _("0–7 days"),
    "8-14": _("8–14 days"),
    "15-30": _("15–30 days"),
    "31+": _("over 30 days"),
}


@dataclass(frozen=True)
class Cell:
    value: object
    url: str = ""
    tone: str = ""  # a Bootstrap colour when the number asks for attention ("danger", "warning")


@dataclass
class Table:
    title: object
    columns: list
    rows: list[tuple[object, list[Cell]]] = field(default_factory=list)
    note: object = ""
    first_column: object = _("Site")


@dataclass
class Section:
    key: str
    title: object
    tables: list[Table] = field(default_factory=list)
    facts: list[tuple[object, Cell]] = field(default_factory=list)
    notes: list = field(default_factory=list)


def worklists(user, *, now: datetime | None = None) -> list[Section]:
    """The sections of ``user``'s home page, one per kind of work their roles hold."""
    now = now or timezone.now()
    held = roles(user)
    sections = []
    if held & {Role.COORDINATOR, Role.INVESTIGATOR}:
        sections.append(site_work(user, now=now))
    if Role.INVESTIGATOR in held:
        sections.append(signature_work(user, now=now))
    if Role.MONITOR in held:
        sections.append(monitoring_work(user, now=now))
    if Role.DATA_MANAGER in held:
        sections.append(data_management_work(user, now=now))
    return sections


# Links -------------------------------------------------------------------------------------------


def _url(name: str, **params) -> str:
    params = {k: v for k, v in params.items() if v not in (None, "")}
    return reverse(name) + ("?" + urlencode(params) if params else "")


def _cell(n: int, url: str, tone: str = "") -> Cell:
    return Cell(n, url if n else "", tone if n else "")


def _sites(user, action: Action) -> list[Site]:
    return list(Site.objects.filter(pk__in=site_ids(user, action)).select_related("study").order_by("code"))


def _by_site(rows, key="participant__site_id") -> dict[int, dict]:
    return {row.pop(key): row for row in rows}


# Query filters shared by the worklist's links and the query list ------------------------------------------


def age_bounds(first: int, last: int | None, now: datetime) -> tuple[datetime | None, datetime | None]:
    """Queries ``first``..``last`` whole days old (``last`` None: or older) were opened at or before the
    first instant and after the second (None: no bound)."""
    return (
        now - timedelta(days=first) if first else None,
        now - timedelta(days=last + 1) if last is not None else None,
    )


def opened_between(first: int, last: int | None, now: datetime) -> Q:
    """Queries opened ``first``..``last`` whole days before ``now`` (``last`` None: or earlier)."""
    at_or_before, after = age_bounds(first, last, now)
    condition = Q(opened_at__lte=at_or_before) if at_or_before else Q()
    if after is not None:
        condition &= Q(opened_at__gt=after)
    return condition


def filter_queries(queries, *, site="", raised_by="", form="", age="", now=None):
    """The query list's filters: site code, the opener's role, the form (``app_label.model``), age."""
    if site:
        queries = queries.filter(participant__site__code=site)
    if raised_by in Role.values:
        queries = queries.filter(opened_by_role=raised_by)
    if form and "." in form:
        app_label, model = form.split(".", 1)
        queries = queries.filter(content_type__app_label=app_label, content_type__model=model.lower())
    buckets = {key: (first, last) for key, first, last in AGE_BUCKETS}
    if age in buckets:
        queries = queries.filter(opened_between(*buckets[age], now or timezone.now()))
    return queries


def form_label(app_label: str, model: str) -> str:
    """The form title of a query's record type (``crfs.registry``), else the model's verbose name."""
    from crfs.registry import FORMS

    try:
        model_class = apps.get_model(app_label, model)
    except LookupError:
        return f"{app_label}.{model}"
    for spec in FORMS.values():
        if spec.model is model_class:
            return str(spec.title)
    return capfirst(model_class._meta.verbose_name)


# Coordinators and investigators -------------------------------------------------------------------------


def site_work(user, *, now: datetime) -> Section:
    """Per site where the user enters data: queries, visits, forms missing, SAE reports due (4 queries)."""
    from adverse_events.selectors import SaeStatus, sae_reports_for

    sites = _sites(user, Action.ENTER_DATA)
    ids = [s.pk for s in sites]
    queries = _by_site(
        queries_for(user)
        .filter(participant__site_id__in=ids, participant__entered_in_error=False)
        .values("participant__site_id")
        .annotate(
            open=Count("pk", filter=Q(status=QueryStatus.OPEN)),
            answered=Count("pk", filter=Q(status=QueryStatus.ANSWERED)),
        )
        .order_by()
    )
    visits = defaultdict(dict)
    for row in visit_counts(user, ids, now=now):
        visits[row["participant__site_id"]][row["status"]] = row["n"]
    missing = {row["participant__site_id"]: row["n"] for row in forms_missing_counts(sites, now=now)}
    sae = defaultdict(lambda: defaultdict(int))
    for report in sae_reports_for(user, now=now):
        sae[report.participant.site_id][report.status] += 1
    table = Table(
        title=_("Your sites"),
        columns=[
            _("Open queries"),
            _("Answered, with the monitor"),
            _("Visits: window open"),
            _("Visits overdue"),
            _("Windows opening within 7 days"),
            _("Visits with forms missing"),
            _("SAE reports due"),
            _("SAE reports overdue"),
        ],
        note=_(
            "Forms are missing when a visit done some days ago (the study's reminder delay) lacks a "
            "complete expected form."
        ),
    )
    for site in sites:
        q, v, s = queries.get(site.pk, {}), visits[site.pk], sae[site.pk]
        code = site.code
        table.rows.append(
            (
                site,
                [
                    _cell(q.get("open", 0), _url("query_list", status="open", site=code), "warning"),
                    _cell(q.get("answered", 0), _url("query_list", status="answered", site=code)),
                    _cell(v.get("open", 0), _url("visit_worklist", kind="open", site=code)),
                    _cell(v.get("overdue", 0), _url("visit_worklist", kind="overdue", site=code), "danger"),
                    _cell(v.get("upcoming", 0), _url("visit_worklist", kind="upcoming", site=code)),
                    _cell(
                        missing.get(site.pk, 0),
                        _url("visit_worklist", kind="forms_missing", site=code),
                        "warning",
                    ),
                    _cell(s[SaeStatus.DUE], reverse("safety_home"), "warning"),
                    _cell(s[SaeStatus.OVERDUE], reverse("safety_home"), "danger"),
                ],
            )
        )
    return Section("site", _("Your work at your sites"), tables=[table])


VISIT_KINDS = {
    "open": _("Visits whose window is open"),
    "overdue": _("Overdue visits"),
    "upcoming": _("Visit windows opening within 7 days"),
    "forms_missing": _("Visits with expected forms missing"),
    "to_sign": _("Visits awaiting your signature"),
    "casebooks_to_sign": _("Casebooks awaiting your signature"),
}


def visits_of_kind(user, kind: str, *, site: str = "", now: datetime | None = None):
    """The visits behind a worklist count: ``kind`` is a visit status of ``visits_due``,
    ``forms_missing`` or ``to_sign`` (``casebooks_to_sign``: participants); limited to the user's sites
    (and to ``site``, a site code, when given)."""
    from trials.selectors import visits_due

    now = now or timezone.now()
    if kind in ("to_sign", "casebooks_to_sign"):
        from signatures.selectors import awaiting_signature

        awaiting = awaiting_signature(user, now=now)
        if kind == "to_sign":
            return awaiting.visits.filter(participant__site__code=site) if site else awaiting.visits
        return awaiting.casebooks.filter(site__code=site) if site else awaiting.casebooks
    if kind == "forms_missing":
        sites = _sites(user, Action.VIEW)
        if site:
            sites = [s for s in sites if s.code == site]
        visits = _forms_missing(sites, now=now).select_related("participant__site", "definition")
        return visits.order_by("visit_date", "pk")
    visits = visits_due(user, days=7, now=now).filter(status=kind)
    if site:
        visits = visits.filter(participant__site__code=site)
    return visits


def missing_form_titles(visit) -> list[tuple[str, str]]:
    """(title, page) of the expected forms not complete on a visit of ``visits_of_kind("forms_missing")``:
    each links to the exact form to enter."""
    from crfs.registry import FORMS
    from crfs.selectors import form_url

    return [
        (str(FORMS[code].title), form_url(visit, code))
        for code in (visit.definition.forms if visit.definition else [])
        if code in FORMS and getattr(visit, f"complete_{code}", True) is False
    ]


def visit_counts(user, site_ids_, *, now: datetime):
    """``visits_due`` (open, overdue, opening within 7 days) counted per site and status: one query."""
    from trials.selectors import visits_due

    return (
        visits_due(user, days=7, now=now)
        .filter(participant__site_id__in=site_ids_)
        .values("participant__site_id", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )


def _forms_missing(sites: list[Site], *, now: datetime):
    """Visits done at least the study's ``forms_missing`` reminder delay ago whose expected forms are not
    all complete (``notifications.kinds.with_missing_forms``), at ``sites``."""
    from notifications.kinds import ACTIVE_PARTICIPANT_STATUSES, FORMS_MISSING, with_missing_forms
    from visits.models import DaysBetween, Visit

    late_enough = Q(pk__in=[])
    for study in {site.study_id: site.study for site in sites}.values():
        late_enough |= Q(
            participant__site__study_id=study.pk, days_since_visit__gte=FORMS_MISSING.lead_days(study)
        )
    visits = Visit.objects.filter(
        participant__site_id__in=[site.pk for site in sites],
        participant__status__in=ACTIVE_PARTICIPANT_STATUSES,
        participant__entered_in_error=False,
        visit_date__isnull=False,
        entered_in_error=False,
    )
    return (
        with_missing_forms(visits)
        .with_status(now)
        .annotate(days_since_visit=DaysBetween(F("local_today"), F("visit_date")))
        .filter(late_enough)
    )


def forms_missing_counts(sites: list[Site], *, now: datetime):
    return _forms_missing(sites, now=now).values("participant__site_id").annotate(n=Count("pk")).order_by()


# Investigators --------------------------------------------------------------------------------------------


def signature_work(user, *, now: datetime) -> Section:
    """What awaits the investigator's signature: SAE reports (the signature submits them) and the items
    of ``signatures.selectors.awaiting_signature`` (visits, casebooks)."""
    from adverse_events.models import SaeReport

    sites = _sites(user, Action.SIGN)
    sae = {
        row["participant__site_id"]: row["n"]
        for row in SaeReport.objects.filter(
            participant__site_id__in=[s.pk for s in sites],
            participant__entered_in_error=False,
            entered_in_error=False,
            adverse_event__entered_in_error=False,
            signed_at__isnull=True,
        )
        .values("participant__site_id")
        .annotate(n=Count("pk"))
        .order_by()
    }
    awaiting = awaiting_signature_counts(user, now=now)
    table = Table(
        title=_("Awaiting your signature"),
        columns=[_("SAE reports to sign"), _("Visits to sign"), _("Casebooks to sign")],
    )
    for site in sites:
        cells = [
            _cell(sae.get(site.pk, 0), reverse("safety_home"), "danger"),
            _cell(
                awaiting["visits"].get(site.pk, 0),
                _url("visit_worklist", kind="to_sign", site=site.code),
                "warning",
            ),
            _cell(
                awaiting["casebooks"].get(site.pk, 0),
                _url("visit_worklist", kind="casebooks_to_sign", site=site.code),
                "warning",
            ),
        ]
        table.rows.append((site, cells))
    return Section("signatures", _("Signatures"), tables=[table])


def awaiting_signature_counts(user, *, now: datetime) -> dict:
    """``{"visits": {site id: n}, "casebooks": {site id: n}}`` of
    ``signatures.selectors.awaiting_signature`` (two queries)."""
    from signatures.selectors import awaiting_signature

    awaiting = awaiting_signature(user, now=now)
    visits = awaiting.visits.values("participant__site_id").annotate(n=Count("pk")).order_by()
    casebooks = awaiting.casebooks.values("site_id").annotate(n=Count("pk")).order_by()
    return {
        "visits": {row["participant__site_id"]: row["n"] for row in visits},
        "casebooks": {row["site_id"]: row["n"] for row in casebooks},
    }


# Monitors -------------------------------------------------------------------------------------------------


def monitoring_work(user, *, now: datetime) -> Section:
    """Per site the user monitors: answered queries their role raised (to close), those still with the
    site, drafts awaiting release, and source-data verification (1 query, plus SDV)."""
    sites = _sites(user, Action.VERIFY)
    ids = [s.pk for s in sites]
    mine = Q(opened_by_role=Role.MONITOR)
    # "With the site" counts every open query, automatic (edit-check) ones and the data managers' too:
    # the site answers them all, and a monitor reviews the site's whole backlog.
    queries = _by_site(
        queries_for(user)
        .filter(participant__site_id__in=ids, participant__entered_in_error=False)
        .values("participant__site_id")
        .annotate(
            answered=Count("pk", filter=mine & Q(status=QueryStatus.ANSWERED)),
            open=Count("pk", filter=Q(status=QueryStatus.OPEN)),
            draft=Count("pk", filter=mine & Q(status=QueryStatus.DRAFT)),
        )
        .order_by()
    )
    sdv = sdv_by_site(user)
    columns = [
        _("Answered: to close"),
        _("Open, with the site (all, automatic included)"),
        _("Drafts awaiting release"),
        _("Complete forms to verify"),
        _("Forms verified"),
        _("Critical fields verified"),
    ]
    table = Table(title=_("Your sites"), columns=columns)
    sdv_url = _url("sdv_progress", by="site")
    for site in sites:
        q, code = queries.get(site.pk, {}), site.code
        progress = sdv.get(site.pk)
        to_verify = progress.forms_total - progress.forms_verified if progress else 0
        cells = [
            _cell(
                q.get("answered", 0),
                _url("query_list", status="answered", site=code, raised_by=Role.MONITOR),
                "warning",
            ),
            _cell(q.get("open", 0), _url("query_list", status="open", site=code)),
            _cell(q.get("draft", 0), _url("query_list", status="draft", site=code, raised_by=Role.MONITOR)),
            _cell(to_verify, sdv_url),
            Cell(_percent(progress.forms_pct if progress else None)),
            Cell(_percent(progress.critical_pct if progress else None)),
        ]
        table.rows.append((site, cells))
    return Section("monitoring", _("Monitoring"), tables=[table])


def sdv_by_site(user) -> dict:
    """``{site id: Progress}`` of ``monitoring.selectors.sdv_progress`` (complete forms verified, critical
    fields verified), a constant number of queries."""
    from .selectors import sdv_progress

    return {progress.key: progress for progress in sdv_progress(user, by="site")}


# Data managers --------------------------------------------------------------------------------------------


def query_statistics(site_ids_, *, now: datetime) -> dict:
    """Live queries per age bucket and drafts per site, per form and overall (one query grouped by site
    and form, summed here), with the median time to close per site and overall (one query):
    ``{("site", id) | ("form", (app_label, model)) | ("all", None): row}``."""
    from django.db import connection

    from trials.models import Participant

    buckets = [f"age_{key}" for key, _first, _last in AGE_BUCKETS]
    result = defaultdict(lambda: dict.fromkeys([*buckets, "draft"], 0) | {"median": None})
    counts = (
        Query.objects.filter(
            participant__site_id__in=site_ids_, participant__entered_in_error=False, status__in=LIVE
        )
        .values("participant__site_id", "content_type__app_label", "content_type__model")
        .annotate(
            **{
                f"age_{key}": Count("pk", filter=opened_between(first, last, now))
                for key, first, last in AGE_BUCKETS
            },
            draft=Count("pk", filter=Q(status=QueryStatus.DRAFT)),
        )
        .order_by()
    )
    for row in counts:
        form = (row["content_type__app_label"], row["content_type__model"])
        for key in (("site", row["participant__site_id"]), ("form", form), ("all", None)):
            for name in [*buckets, "draft"]:
                result[key][name] += row[name]
    # The ORM has no GROUPING SETS: one scan gives the per-site and the overall median.
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT p.site_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY q.closed_at - q.opened_at)
            FROM {Query._meta.db_table} q JOIN {Participant._meta.db_table} p ON p.id = q.participant_id
            WHERE p.site_id = ANY(%s) AND NOT p.entered_in_error AND q.status = %s AND q.closed_at IS NOT NULL
            GROUP BY GROUPING SETS ((p.site_id), ())
            """,
            [list(site_ids_), QueryStatus.CLOSED],
        )
        for site_id, median in cursor.fetchall():
            result[("all", None) if site_id is None else ("site", site_id)]["median"] = median
    return result


def data_management_work(user, *, now: datetime) -> Section:
    """Live queries' ageing by site and by form, the median time to close, drafts (two queries, above)
    and active locks."""
    sites = _sites(user, Action.QUERY)
    # Where the user raises queries they see every query, drafts included (``queries_for``).
    statistics = query_statistics([s.pk for s in sites], now=now)
    buckets = [key for key, _first, _last in AGE_BUCKETS]
    columns = [AGE_LABELS[key] for key in buckets]
    tone = {"15-30": "warning", "31+": "danger"}

    site_table = Table(
        title=_("Live queries by age, per site"),
        columns=[*columns, _("Drafts to release"), _("Median time to close")],
        note=_("Age in whole days since the query was opened; drafts, open and answered queries."),
    )
    for site in sites:
        row = statistics[("site", site.pk)]
        cells = [
            _cell(
                row[f"age_{key}"],
                _url("query_list", status="live", site=site.code, age=key),
                tone.get(key, ""),
            )
            for key in buckets
        ]
        cells.append(_cell(row["draft"], _url("query_list", status="draft", site=site.code)))
        cells.append(Cell(format_days(row["median"])))
        site_table.rows.append((site, cells))

    form_table = Table(
        title=_("Live queries by age, per form"),
        columns=columns,
        first_column=_("Form"),
    )
    forms = sorted(
        ((form_label(*key[1]), key[1], row) for key, row in list(statistics.items()) if key[0] == "form"),
        key=lambda item: item[0],
    )
    for label, (app_label, model), row in forms:
        if not any(row[f"age_{key}"] for key in buckets):
            continue
        cells = [
            _cell(
                row[f"age_{key}"],
                _url("query_list", status="live", form=f"{app_label}.{model}", age=key),
                tone.get(key, ""),
            )
            for key in buckets
        ]
        form_table.rows.append((label, cells))

    overall = statistics[("all", None)]
    facts = [
        (
            _("Live queries"),
            Cell(sum(overall[f"age_{key}"] for key in buckets), _url("query_list", status="live")),
        ),
        (_("Median time to close"), Cell(format_days(overall["median"]))),
    ]
    facts += [
        (_("Active locks: %(scope)s") % {"scope": label}, _cell(n, reverse("lock_list")))
        for label, n in lock_counts(user)
    ]
    return Section("data_management", _("Data management"), tables=[site_table, form_table], facts=facts)


def _percent(value) -> str:
    return "—" if value is None else f"{value} %"


def format_days(value: timedelta | None) -> str:
    if value is None:
        return "—"
    return _("%(days).1f days") % {"days": value.total_seconds() / 86400}


def lock_counts(user) -> list[tuple[object, int]]:
    """Active locks over the user's sites per scope (``monitoring.selectors.locks_for``): one query."""
    from .models import LockScope
    from .selectors import locks_for

    counts = locks_for(user, active_only=True).values("scope").annotate(n=Count("pk")).order_by()
    by_scope = {row["scope"]: row["n"] for row in counts}
    return [(label, by_scope.get(value, 0)) for value, label in LockScope.choices]
