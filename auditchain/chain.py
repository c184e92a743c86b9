"""The hash chain: its trigger, its digest, and the verification that recomputes it.

Design (one chain per audited record): an AFTER INSERT trigger on every pghistory event table appends a
``Link`` with ``sha256(previous link's hash || table || ' ' || to_jsonb(event row))``. The previous link
is found through the (table, record, id) index, so a bulk COPY costs one index probe per row, never a
scan. The trigger function runs as its owner (SECURITY DEFINER): the app role may read the chain but not
write it. Canonical JSON is fixed by the function's own settings (UTC, shortest exact floats), and the
verification uses the same settings.

What a verification proves: every event still has the content it had when it was written (edited →
hash differs), none was removed (a link without its event), none was added behind the triggers (an
event without a link), and every live record equals its newest event (a change made with the triggers
off). What it cannot prove alone: that the chain itself was not rebuilt from scratch by a superuser;
the daily digest of every chain head, written into each export manifest and shown in the audit viewer,
lets a sponsor compare the chain with what was published earlier.
"""

import json
from dataclasses import dataclass, field

import pghistory.models
from django.apps import apps
from django.db import connection as default_connection
from django.utils import timezone

LINK_TABLE = "auditchain_link"
TRIGGER = "auditchain_link_event"
# The text of a row must not depend on the session: the trigger and the verification both use these.
CANONICAL_SETTINGS = {"TimeZone": "UTC", "extra_float_digits": "1", "IntervalStyle": "iso_8601"}
MAX_STORED_BREAKS = 1000

FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION public.auditchain_append(_table text, _row jsonb) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    _record text := coalesce(_row->>'pgh_obj_id', '');
    _prev bytea;
BEGIN
    SELECT l.hash INTO _prev FROM {LINK_TABLE} l
     WHERE l.event_table = _table AND l.record = _record
     ORDER BY l.id DESC LIMIT 1;
    INSERT INTO {LINK_TABLE} (event_table, event_id, record, hash, created_at)
    VALUES (_table, (_row->>'pgh_id')::bigint, _record,
            sha256(coalesce(_prev, '\\x'::bytea) || convert_to(_table || ' ' || _row::text, 'UTF8')),
            now());
END;
$$;
REVOKE ALL ON FUNCTION public.auditchain_append(text, jsonb) FROM PUBLIC;
CREATE OR REPLACE FUNCTION public.auditchain_link_event() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
{" ".join(f"SET {k} = '{v}'" for k, v in CANONICAL_SETTINGS.items())}
AS $$
DECLARE
    -- TG_TABLE_NAME is a ``name``: compared as such, the (table, record, id) index is not used and
    -- every insert scans the chain. As text it is one index probe.
    _table text := TG_TABLE_NAME;
    _row jsonb := to_jsonb(NEW);
    _record text := coalesce(_row->>'pgh_obj_id', '');
    _prev bytea;
BEGIN
    SELECT l.hash INTO _prev FROM {LINK_TABLE} l
     WHERE l.event_table = _table AND l.record = _record
     ORDER BY l.id DESC LIMIT 1;
    INSERT INTO {LINK_TABLE} (event_table, event_id, record, hash, created_at)
    VALUES (_table, (_row->>'pgh_id')::bigint, _record,
            sha256(coalesce(_prev, '\\x'::bytea) || convert_to(_table || ' ' || _row::text, 'UTF8')),
            now());
    RETURN NULL;
END;
$$;
CREATE OR REPLACE FUNCTION public.auditchain_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit hash chain is append-only (% refused)', TG_OP;
END;
$$;
DROP TRIGGER IF EXISTS auditchain_append_only ON public.{LINK_TABLE};
CREATE TRIGGER auditchain_append_only BEFORE UPDATE OR DELETE ON public.{LINK_TABLE}
    FOR EACH ROW EXECUTE FUNCTION public.auditchain_append_only();
"""


def event_models() -> list[type]:
    """Every concrete pghistory event model with a tracked record, in a stable order."""
    found = [
        m
        for m in apps.get_models()
        if issubclass(m, pghistory.models.Event) and getattr(m, "pgh_tracked_model", None) is not None
    ]
    return sorted(found, key=lambda m: m._meta.db_table)


def audit_tables() -> set[str]:
    """Tables the app role may only read and append to."""
    return {m._meta.db_table for m in event_models()} | {"pghistory_context", "auditchain_verification"}


def install(connection) -> None:
    """(Re)install the chain trigger on every event table; link the events of a table whose chain is
    still empty (a database that had events before the chain existed), in event order."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(FUNCTION_SQL)
        for model in event_models():
            table = quote(model._meta.db_table)
            cursor.execute(
                f"CREATE OR REPLACE TRIGGER {TRIGGER} AFTER INSERT ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION public.auditchain_link_event()"
            )
            cursor.execute(
                f"SELECT 1 FROM {LINK_TABLE} WHERE event_table = %s LIMIT 1", [model._meta.db_table]
            )
            if cursor.fetchone() is None:
                _link_existing(cursor, model._meta.db_table, quote)


def _link_existing(cursor, table: str, quote) -> None:
    """Chain the rows already in ``table`` in ``pgh_id`` order, as the trigger would have."""
    _canonical(cursor)
    cursor.execute(
        f"SELECT auditchain_append(%s, to_jsonb(e)) FROM (SELECT * FROM {quote(table)} ORDER BY pgh_id) e",
        [table],
    )


def _canonical(cursor) -> None:
    for name, value in CANONICAL_SETTINGS.items():
        cursor.execute("SELECT set_config(%s, %s, true)", [name, value])


def heads_digest(cursor=None) -> tuple[str, int]:
    """(SHA-256 over every record's newest link, in table/record order; number of chains)."""
    own = cursor is None
    cursor = cursor or default_connection.cursor()
    try:
        cursor.execute(
            f"""
            SELECT encode(sha256(coalesce(string_agg(h.hash, ''::bytea ORDER BY h.event_table, h.record),
                                          ''::bytea)), 'hex'), count(*)
              FROM (SELECT DISTINCT ON (event_table, record) event_table, record, hash
                      FROM {LINK_TABLE} ORDER BY event_table, record, id DESC) h
            """
        )
        digest, chains = cursor.fetchone()
        return digest, chains
    finally:
        if own:
            cursor.close()


def day_head() -> dict:
    """The chain head a sponsor can compare later: the last verification's, else computed now."""
    from .models import Verification

    last = Verification.objects.order_by("-started_at").first()
    if last is not None:
        return {
            "digest": last.chain_head,
            "chains": last.counts.get("chains"),
            "verified_at": last.finished_at.isoformat(),
            "intact": last.ok,
        }
    digest, chains = heads_digest()
    return {"digest": digest, "chains": chains, "verified_at": None, "intact": None}


# --- verification ----------------------------------------------------------------------------------


@dataclass
class Report:
    breaks: list[dict] = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    chain_head: str = ""

    @property
    def ok(self) -> bool:
        return not self.breaks


def verify(connection=default_connection) -> Report:
    """Recompute every chain and compare every live record with its newest event (read-only, one
    snapshot so that writes during the run cannot look like breaks)."""
    from django.db import transaction

    report = Report()
    quote = connection.ops.quote_name
    events = links = records = 0
    models = event_models()
    outermost = not connection.in_atomic_block
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        if outermost:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        _canonical(cursor)
        for model in models:
            n_events, n_links = _verify_table(cursor, model, quote, report)
            events += n_events
            links += n_links
            records += _verify_live(cursor, model, quote, report)
        report.chain_head, chains = heads_digest(cursor)
    report.counts = {
        "tables": len(models),
        "events": events,
        "links": links,
        "chains": chains,
        "records": records,
        "breaks": len(report.breaks),
    }
    return report


def _verify_table(cursor, model, quote, report) -> tuple[int, int]:
    table = model._meta.db_table
    cursor.execute(
        f"SELECT (SELECT count(*) FROM {quote(table)}), "
        f"(SELECT count(*) FROM {LINK_TABLE} WHERE event_table = %s)",
        [table],
    )
    n_events, n_links = cursor.fetchone()
    if n_events == 0 and n_links > 0:
        cursor.execute(
            f"SELECT min(record), count(DISTINCT record) FROM {LINK_TABLE} WHERE event_table = %s", [table]
        )
        first, count = cursor.fetchone()
        report.breaks.append(
            {
                "kind": "events_truncated",
                "table": table,
                "record": first,
                "records": count,
                "missing_events": n_links,
            }
        )
        return n_events, n_links
    # Every link against its event and the link before it in the same record's chain.
    cursor.execute(
        f"""
        SELECT l.record, l.event_id, e.pgh_id IS NULL AS missing
          FROM (SELECT l.*, lag(l.hash) OVER (PARTITION BY l.record ORDER BY l.id) AS prev
                  FROM {LINK_TABLE} l WHERE l.event_table = %s) l
          LEFT JOIN {quote(table)} e ON e.pgh_id = l.event_id
         WHERE e.pgh_id IS NULL
            OR l.hash <> sha256(coalesce(l.prev, '\\x'::bytea)
                                || convert_to(%s || ' ' || to_jsonb(e)::text, 'UTF8'))
         ORDER BY l.record, l.id
        """,
        [table, table],
    )
    grouped = {}
    for record, event_id, missing in cursor.fetchall():
        kind = "event_deleted" if missing else "event_edited"
        grouped.setdefault((kind, record), []).append(event_id)
    for (kind, record), ids in grouped.items():
        report.breaks.append({"kind": kind, "table": table, "record": record, "events": ids})
    # Events nobody linked: inserted with the triggers off.
    cursor.execute(
        f"""
        SELECT coalesce(e.pgh_obj_id::text, ''), array_agg(e.pgh_id ORDER BY e.pgh_id)
          FROM {quote(table)} e
         WHERE NOT EXISTS (SELECT 1 FROM {LINK_TABLE} l WHERE l.event_table = %s AND l.event_id = e.pgh_id)
         GROUP BY 1 ORDER BY 1
        """,
        [table],
    )
    for record, ids in cursor.fetchall():
        report.breaks.append({"kind": "chain_link_missing", "table": table, "record": record, "events": ids})
    return n_events, n_links


def _verify_live(cursor, model, quote, report) -> int:
    """Live rows against their newest event, on the columns the event records."""
    tracked = model.pgh_tracked_model
    live_table = tracked._meta.db_table
    pk = tracked._meta.pk.column
    live_columns = {f.column for f in tracked._meta.concrete_fields}
    columns = sorted(
        f.column
        for f in model._meta.concrete_fields
        if not f.column.startswith("pgh_") and f.column in live_columns
    )
    if not columns:
        return 0
    t_row = ", ".join(f"t.{quote(c)}" for c in columns)
    e_row = ", ".join(f"e.{quote(c)}" for c in columns)
    cursor.execute(
        f"""
        SELECT coalesce(t.{quote(pk)}::text, e.pgh_obj_id::text), t.{quote(pk)} IS NULL, e.pgh_obj_id IS NULL,
               CASE WHEN t.{quote(pk)} IS NOT NULL AND e.pgh_obj_id IS NOT NULL
                    THEN to_jsonb(t) END, to_jsonb(e), e.pgh_id
          FROM {quote(live_table)} t
          FULL JOIN (SELECT DISTINCT ON (pgh_obj_id) * FROM {quote(model._meta.db_table)}
                      ORDER BY pgh_obj_id, pgh_id DESC) e ON e.pgh_obj_id = t.{quote(pk)}
         WHERE t.{quote(pk)} IS NULL OR e.pgh_obj_id IS NULL OR ({t_row}) IS DISTINCT FROM ({e_row})
        """
    )
    for record, live_missing, event_missing, live, event, event_id in cursor.fetchall():
        base = {"table": live_table, "events_table": model._meta.db_table, "record": record}
        if live_missing:
            report.breaks.append({"kind": "record_deleted", **base, "newest_event": event_id})
        elif event_missing:
            report.breaks.append({"kind": "record_without_event", **base})
        else:
            live, event = _json(live), _json(event)
            differs = {
                c: {"live": live.get(c), "event": event.get(c)}
                for c in columns
                if live.get(c) != event.get(c)
            }
            report.breaks.append(
                {"kind": "record_differs", **base, "newest_event": event_id, "fields": differs}
            )
    cursor.execute(f"SELECT count(*) FROM {quote(live_table)}")
    return cursor.fetchone()[0]


def _json(value):
    # Django's psycopg adapter hands jsonb over as text (its JSONField decodes it).
    return json.loads(value) if isinstance(value, str) else value


def run_and_record():
    """Verify, store the result, and return the stored ``Verification``."""
    from .models import Verification

    started = timezone.now()
    report = verify()
    return Verification.objects.create(
        started_at=started,
        finished_at=timezone.now(),
        ok=report.ok,
        counts=report.counts,
        break_count=len(report.breaks),
        breaks=report.breaks[:MAX_STORED_BREAKS],
        chain_head=report.chain_head,
    )


def dumps(item: dict) -> str:
    return json.dumps(item, sort_keys=True, default=str)
