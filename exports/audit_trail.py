"""The study's whole audit trail as CSV: every pghistory event of its records, then access events.

``audit_trail.csv`` has one row per event (insert or update) of every tracked model that belongs to
the study, oldest first per model: who (from the audit context), when (UTC), what action and why,
and the changed fields as JSON ``{"field": [old, new]}`` (on creation, the values entered).
``access_events.csv`` lists logins, logouts and failed logins of the study's users, every download
of an export and every listing downloaded as an export (``ListingExport``). Both are written by the
one CSV writer (``exports.csvfile``): time stamps in ISO 8601 (UTC), text neutralised against
formulas. Each model's events are one ``COPY … TO STDOUT`` streamed to the file; PostgreSQL
computes the differences between consecutive versions (``LAG``), so memory stays flat.
"""

from collections import deque
from pathlib import Path

import pghistory.models
from django.apps import apps
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, Concat

from accounts.models import AccessEvent, Membership

from .csvfile import CsvFile, iso_instant_sql, neutral_sql, neutralise, number_sql
from .models import ExportDownload, ListingExport
from .options import ExportOptions

CHUNK = 2000
HIDDEN = {"version", "updated_at", "created_at"}
AUDIT_COLUMNS = [
    "event_id",
    "at_utc",
    "model",
    "object_id",
    "site",
    "study_id",
    "event",
    "user",
    "action",
    "reason",
    "url",
    "changes",
]
ACCESS_COLUMNS = ["at_utc", "event", "username", "ip_address", "export_id"]


def event_models() -> list[type[models.Model]]:
    return [
        m
        for m in apps.get_models()
        if issubclass(m, pghistory.models.Event) and hasattr(m, "pgh_tracked_model")
    ]


def study_path(model, depth: int = 4) -> list[str] | None:
    """The chain of foreign keys from ``model`` to ``trials.Study`` (shortest), or None."""
    queue = deque([(model, [])])
    seen = {model}
    while queue:
        current, chain = queue.popleft()
        if current._meta.label == "trials.Study":
            return chain
        if len(chain) >= depth:
            continue
        for f in current._meta.concrete_fields:
            if (
                isinstance(f, models.ForeignKey)
                and f.related_model not in seen
                and not f.name.startswith("pgh_")
            ):
                seen.add(f.related_model)
                queue.append((f.related_model, [*chain, f.name]))
    return None


def _events(event_model, study, options: ExportOptions):
    tracked = event_model.pgh_tracked_model
    chain = study_path(tracked)
    if not chain:
        return None, None
    prefix = "pgh_obj__"
    qs = event_model.objects.filter(**{prefix + "__".join(chain): study})
    if options.site_ids is not None and "site" in chain:
        site_path = "__".join(chain[: chain.index("site") + 1])
        qs = qs.filter(**{f"{prefix}{site_path}__in": options.site_ids})
    if options.cutoff is not None:
        qs = qs.filter(pgh_created_at__date__lte=options.cutoff)
    site_path = "__".join(chain[: chain.index("site") + 1]) + "__code" if "site" in chain else None
    participant_path = None
    if "participant" in chain:
        participant_path = "__".join(chain[: chain.index("participant") + 1])
    elif tracked._meta.label == "trials.Participant":
        participant_path = ""
    return qs, (site_path, participant_path)


def _event_sql(event_model, qs, paths) -> tuple[str, tuple]:
    """One model's events as audit-trail rows, the changes computed by PostgreSQL.

    Each event's tracked values become one JSON object; ``LAG`` over the object's events gives the
    previous version, and the changes are the keys whose value differs (on creation: the non-empty
    values entered).
    """
    site_path, participant_path = paths
    tracked = [
        f.attname
        for f in event_model._meta.concrete_fields
        if not f.name.startswith("pgh_") and f.attname not in HIDDEN
    ]
    text = models.CharField()
    empty = Value("", output_field=text)
    annotations = {
        "audit_site": F(f"pgh_obj__{site_path}") if site_path else empty,
        "audit_subject": empty,
        "audit_user": Coalesce(
            KeyTextTransform("username", "pgh_context__metadata"), Value("system"), output_field=text
        ),
        "audit_action": Coalesce(
            KeyTextTransform("action", "pgh_context__metadata"), empty, output_field=text
        ),
        "audit_reason": Coalesce(
            KeyTextTransform("reason", "pgh_context__metadata"), empty, output_field=text
        ),
        "audit_url": Coalesce(KeyTextTransform("url", "pgh_context__metadata"), empty, output_field=text),
    }
    if participant_path is not None:
        p = f"pgh_obj__{participant_path}__" if participant_path else "pgh_obj__"
        annotations["audit_subject"] = Coalesce(F(f"{p}study_id"), F(f"{p}screening_number"))
    head = ["pgh_id", "pgh_created_at", "pgh_obj_id", "pgh_label", *annotations]
    sql, params = qs.annotate(**annotations).values_list(*head, *tracked).query.sql_with_params()
    data = "jsonb_build_object()" if not tracked else "to_jsonb(w) - " + _array(head)
    decimals = [
        f.attname
        for f in event_model._meta.concrete_fields
        if f.attname in tracked and isinstance(f, models.DecimalField)
    ]
    if decimals:  # decimals as entered, without the padding of their scale (0.500000 → 0.5)
        data = f"({data} || {_decimals_object(decimals)})"
    label = neutralise(event_model.pgh_tracked_model._meta.label.replace("'", ""))
    text = ", ".join(
        neutral_sql(f"e.{name}")
        for name in ("audit_site", "audit_subject", "pgh_label", "audit_user", "audit_action", "audit_reason",
                     "audit_url")
    )  # fmt: skip
    return (
        f"SELECT e.pgh_id, {iso_instant_sql('e.pgh_created_at')}, '{label}', e.pgh_obj_id, {text}, "
        "(SELECT COALESCE(jsonb_object_agg(n.key, jsonb_build_array(e.prev -> n.key, n.value)), '{}'::jsonb) "
        " FROM jsonb_each(e.data) n WHERE CASE WHEN e.prev IS NULL "
        "   THEN n.value NOT IN ('null'::jsonb, '\"\"'::jsonb, 'false'::jsonb) "
        "   ELSE (e.prev -> n.key) IS DISTINCT FROM n.value END) "
        f"FROM (SELECT w.*, {data} AS data, LAG({data}) OVER (PARTITION BY w.pgh_obj_id ORDER BY w.pgh_id) "
        f"AS prev FROM ({sql}) w) e ORDER BY e.pgh_obj_id, e.pgh_id",
        params,
    )


def _decimals_object(names) -> str:
    """SQL of a JSON object of the row's decimals without trailing zeros (40 keys per call: PostgreSQL
    functions take at most 100 arguments)."""
    parts = []
    for start in range(0, len(names), 40):
        pairs = ", ".join(f"'{n}', {number_sql(f'w.{n}')}::numeric" for n in names[start : start + 40])
        parts.append(f"jsonb_build_object({pairs})")
    return " || ".join(parts)


def _array(names) -> str:
    return "ARRAY[" + ", ".join("'" + n.replace("'", "") + "'" for n in names) + "]::text[]"


def write_audit_trail(*, study, options: ExportOptions, directory: Path) -> dict[str, int]:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "audit_trail.csv"
    with CsvFile(path, bom=options.bom) as out:
        out.header(AUDIT_COLUMNS)
        for event_model in event_models():
            qs, paths = _events(event_model, study, options)
            if qs is None:
                continue
            out.copy(*_event_sql(event_model, qs, paths))
    counts = {path.name: out.rows}
    counts.update(_write_access_events(study, options, directory))
    return counts


def _write_access_events(study, options: ExportOptions, directory: Path) -> dict[str, int]:
    path = directory / "access_events.csv"
    users = Membership.objects.filter(study=study).values("user_id")
    # (queryset, its columns at/event/username/ip/export id): sign-ins, export downloads, listing exports.
    sources = [
        (
            AccessEvent.objects.filter(Q(user_id__in=users) | Q(username__in=users.values("user__username"))),
            ("at", "kind", "username", "ip_address", Value("")),
        ),
        (
            ExportDownload.objects.filter(job__study=study),
            ("at", Value("export_download"), "user__username", "ip_address", "job_id"),
        ),
        (
            ListingExport.objects.filter(study=study),
            ("at", Concat(Value("listing_export:"), "name"), "user__username", "ip_address", Value("")),
        ),
    ]
    with CsvFile(path, bom=options.bom) as writer:
        writer.header(ACCESS_COLUMNS)
        for queryset, columns in sources:
            if options.cutoff is not None:
                queryset = queryset.filter(at__date__lte=options.cutoff)
            names = [f"c{i}" for i in range(len(columns))]
            expressions = [F(c) if isinstance(c, str) else c for c in columns]
            values = queryset.annotate(**dict(zip(names, expressions, strict=True)))
            for at, event, username, ip, export_id in (
                values.order_by("at", "pk").values_list(*names).iterator(chunk_size=CHUNK)
            ):
                writer.writerow([at, event, username, ip or "", export_id])
    return {path.name: writer.rows}
