"""``make bench``: performance metrics on 10,000 synthetic participants, with targets.

Runs against its own database: ``DATABASE_URL`` and ``REDIS_URL`` when set, otherwise the embedded
servers under ``var/`` (data folder ``pgdata-bench``). A URL whose database name contains "bench" is
used as given; any other name is replaced by ``edc_bench``, so the benchmark never writes into the
application's database. The database is created, migrated, loaded with the protocol and seeded once
(``seed_synthetic``); later runs reuse it.

Each metric is one function registered with :func:`metric`; a later issue adds a metric by adding a
function. Results are printed as a table and written to ``var/bench.json`` with the machine, the
query counts and the plan of the slowest query of each page.

    python -m edc.bench [--participants 10000] [--only name,...] [--repeat 50]
"""

import argparse
import json
import logging
import math
import operator
import os
import platform
import random
import re
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from . import embedded

BENCH_DATABASE = "edc_bench"
BENCH_SITES = 2
DEFAULT_PARTICIPANTS = 10_000
OUTPUT = embedded.VAR_DIR / "bench.json"


# --- the registry -------------------------------------------------------------------------------

_OPERATORS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


@dataclass(frozen=True)
class Measured:
    """A metric's value with what explains it (query counts, plans…), kept in the JSON report."""

    value: float
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    target: str  # "< 100": an operator and a number
    function: Callable

    def meets(self, value: float) -> bool:
        op, threshold = self.target.split()
        return _OPERATORS[op](value, float(threshold))


METRICS: dict[str, Metric] = {}


def metric(name: str, *, unit: str, target: str):
    """Register ``function(bench) -> float | Measured`` as the metric ``name``."""
    op, threshold = target.split()
    if op not in _OPERATORS:
        raise ValueError(f"target of {name} must be like '< 100', got {target!r}")
    float(threshold)

    def register(function):
        METRICS[name] = Metric(name, unit, target, function)
        return function

    return register


def run_metrics(bench: "Bench", names: list[str] | None = None) -> dict[str, dict]:
    """Measure ``names`` (default: all) in registration order; a failing metric is reported, not fatal."""
    results = {}
    for name in names or list(METRICS):
        spec = METRICS[name]
        try:
            outcome = spec.function(bench)
        except Exception as exc:  # noqa: BLE001 - one broken metric must not hide the others
            results[name] = {"value": None, "unit": spec.unit, "target": spec.target, "ok": False}
            results[name]["error"] = f"{exc.__class__.__name__}: {exc}"
            continue
        measured = outcome if isinstance(outcome, Measured) else Measured(float(outcome))
        results[name] = {
            "value": round(measured.value, 3),
            "unit": spec.unit,
            "target": spec.target,
            "ok": spec.meets(measured.value),
            **({"details": measured.details} if measured.details else {}),
        }
    return results


# --- timing pages -------------------------------------------------------------------------------


def p95(values: list[float]) -> float:
    """The 95th percentile, nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


@dataclass
class PageTiming:
    """One page timed through the full request stack, and the same page's SQL alone."""

    url: str
    request_ms: list[float]
    sql_ms: list[float]
    queries: int
    slowest_query: str
    slowest_query_ms: float
    explain: str

    @property
    def p95_ms(self) -> float:
        return p95(self.request_ms)

    @property
    def sql_p95_ms(self) -> float:
        return p95(self.sql_ms)

    @property
    def ratio(self) -> float:
        return self.p95_ms / self.sql_p95_ms

    def details(self) -> dict:
        return {
            "url": self.url,
            "requests": len(self.request_ms),
            "p50_ms": round(sorted(self.request_ms)[len(self.request_ms) // 2], 3),
            "p95_ms": round(self.p95_ms, 3),
            "sql_p50_ms": round(sorted(self.sql_ms)[len(self.sql_ms) // 2], 3),
            "sql_p95_ms": round(self.sql_p95_ms, 3),
            "queries_per_request": self.queries,
            "slowest_query_ms": round(self.slowest_query_ms, 3),
            "slowest_query": self.slowest_query,
            "explain": self.explain,
        }


def time_page(client, urls: list[str], *, warmup: int, repeat: int) -> PageTiming:
    """Time ``repeat`` GETs (cycling through ``urls``) against the same page's SQL alone.

    One request's queries are captured, then each timed request is followed by one timed run of
    those statements on a plain cursor: interleaved, both see the same load on a shared machine, so
    the ratio does not drift with whatever else runs there. ``warmup`` of each are discarded first.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def get(url):
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}")

    for i in range(warmup):
        get(urls[i % len(urls)])
    with CaptureQueriesContext(connection) as captured:
        get(urls[0])
    statements = [q["sql"] for q in captured.captured_queries]
    refuse_writes(statements)
    request_ms, sql_ms, per_statement = [], [], [0.0] * len(statements)
    with connection.cursor() as wrapper:
        cursor = wrapper.cursor  # the driver's cursor: no Django wrapper in the way
        for _ in range(warmup):
            replay(cursor, statements)
        for i in range(repeat):
            started = time.perf_counter()
            get(urls[(warmup + i) % len(urls)])
            request_ms.append((time.perf_counter() - started) * 1000)
            each = replay(cursor, statements)
            sql_ms.append(sum(each))
            per_statement = [total + ms for total, ms in zip(per_statement, each, strict=True)]
    slowest = max(range(len(statements)), key=lambda i: per_statement[i])
    return PageTiming(
        url=urls[0],
        request_ms=request_ms,
        sql_ms=sql_ms,
        queries=len(statements),
        slowest_query=statements[slowest],
        slowest_query_ms=per_statement[slowest] / repeat,
        explain=explain(statements[slowest]),
    )


def replay(cursor, statements: list[str]) -> list[float]:
    """Run the captured statements in order, as the request sent them (its BEGIN and COMMIT
    included), fetching every row; return each statement's milliseconds."""
    timings = []
    for sql in statements:
        started = time.perf_counter()
        cursor.execute(sql)
        while True:  # a statement may carry several results (pghistory's context prefix)
            if cursor.description is not None:
                cursor.fetchall()
            if not cursor.nextset():
                break
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def refuse_writes(statements: list[str]) -> None:
    """Re-running a read, or the session's UPDATE, changes nothing; an insert or a delete would
    write twice, so such a page is refused rather than replayed."""
    writes = [sql for sql in statements if _verb(sql) in ("insert", "delete", "copy", "truncate")]
    if writes:
        raise RuntimeError(f"the page writes, its SQL cannot be replayed: {writes[0][:200]}")


# What pghistory puts before each write sent inside its context (see pghistory.runtime).
_CONTEXT_PREFIX = re.compile(
    r"^SELECT set_config\('pghistory\.context_id', '[^']*', true\), "
    r"set_config\('pghistory\.context_metadata', '(?:[^']|'')*', true\);\s*",
    re.IGNORECASE,
)


def _verb(sql: str) -> str:
    """The statement's command (``select``, ``update``…), after pghistory's context prefix."""
    words = _CONTEXT_PREFIX.sub("", sql.strip(), count=1).split(None, 1)
    return words[0].lower() if words else ""


def explain(sql: str) -> str:
    """The executed plan of a read, with buffers; writes are not explained (ANALYZE would run them)."""
    from django.db import connection

    if not sql.lstrip().lower().startswith("select"):
        return ""
    with connection.cursor() as wrapper:
        cursor = wrapper.cursor
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


# --- the benchmark context ----------------------------------------------------------------------


class Bench:
    """What metrics measure: the seeded study, its first site, a coordinator of that site signed in
    with a test client, and page timings measured once and shared by the metrics that read them."""

    USERNAME = "bench-coordinator"

    def __init__(self, study, *, repeat: int = 50, warmup: int = 5):
        from django.test import Client

        from trials.models import Site

        self.study = study
        self.repeat, self.warmup = repeat, warmup
        first_code = study.current_protocol.content["sites"][0]["code"]
        self.site = Site.objects.get(study=study, code=first_code)
        self.coordinator = self._coordinator()
        self.client = Client()
        self.client.force_login(self.coordinator)
        self.pages: dict[str, PageTiming] = {}  # measured so far, by name

    def _coordinator(self):
        from django.contrib.auth import get_user_model

        from accounts.models import Role
        from accounts.services import create_user, grant_membership

        user = get_user_model().objects.filter(username=self.USERNAME).first()
        if user is None:
            user = create_user(username=self.USERNAME, password=None, email="bench@example.invalid")
        grant_membership(by=None, user=user, study=self.study, role=Role.COORDINATOR, site=self.site)
        return user

    def page(self, name: str, urls: Callable[[], list[str]]) -> PageTiming:
        if name not in self.pages:
            self.pages[name] = time_page(self.client, urls(), warmup=self.warmup, repeat=self.repeat)
        return self.pages[name]

    def participant_list(self) -> PageTiming:
        from django.urls import reverse

        return self.page("participant_list", lambda: [reverse("participant_list")])

    def participant_page(self) -> PageTiming:
        from django.urls import reverse

        from trials.models import Participant

        def urls():
            at_site = Participant.objects.filter(site=self.site, entered_in_error=False)
            pks = list(at_site.filter(study_id__isnull=False).values_list("pk", flat=True))
            pks = pks or list(at_site.values_list("pk", flat=True))
            chosen = random.Random(0).sample(pks, min(len(pks), self.warmup + self.repeat))
            return [reverse("participant_detail", args=[pk]) for pk in chosen]

        return self.page("participant_page", urls)

    def floor(self) -> PageTiming:
        """A page with no study data (the user's preferences): what any page costs over its SQL."""
        from django.urls import reverse

        return self.page("floor", lambda: [reverse("preferences")])

    def ratio_details(self, timing: PageTiming) -> dict:
        floor = self.floor()
        return {
            "p95_ms": round(timing.p95_ms, 3),
            "sql_p95_ms": round(timing.sql_p95_ms, 3),
            "floor_url": floor.url,
            "floor_p95_ms": round(floor.p95_ms, 3),
            "floor_sql_p95_ms": round(floor.sql_p95_ms, 3),
            "floor_ratio": round(floor.ratio, 3),
        }


# --- the metrics --------------------------------------------------------------------------------


@metric("participant_list_p95_ms", unit="ms", target="< 100")
def participant_list_p95_ms(bench: Bench):
    """A coordinator's participant list (their site, first page of 50)."""
    timing = bench.participant_list()
    return Measured(timing.p95_ms, timing.details())


@metric("participant_list_vs_sql_ratio", unit="×", target="< 4")
def participant_list_vs_sql_ratio(bench: Bench):
    """The list's p95 over the p95 of its SQL alone: the cost of Python, templates and middleware."""
    timing = bench.participant_list()
    return Measured(timing.ratio, bench.ratio_details(timing))


@metric("participant_page_p95_ms", unit="ms", target="< 100")
def participant_page_p95_ms(bench: Bench):
    """One participant's page with the visit schedule, a different participant each request."""
    timing = bench.participant_page()
    return Measured(timing.p95_ms, timing.details())


@metric("participant_page_vs_sql_ratio", unit="×", target="< 4")
def participant_page_vs_sql_ratio(bench: Bench):
    """As for the list; ``floor_ratio`` in the details is the same ratio for a page without data."""
    timing = bench.participant_page()
    return Measured(timing.ratio, bench.ratio_details(timing))


def _reminder_scan_seconds(bench: Bench):
    from notifications.bench import reminder_scan_seconds

    return reminder_scan_seconds(bench)


metric("reminder_scan_seconds", unit="s", target="< 1")(_reminder_scan_seconds)


def _export(name):
    def measure(bench: Bench):
        from exports import bench as export_bench

        return getattr(export_bench, name)(bench)

    return measure


# The whole export of 10,000 participants in a child process, and the CSV writer against plain COPY.
metric("export_all_seconds", unit="s", target="< 120")(_export("export_all_seconds"))
metric("export_peak_rss_mb", unit="MB", target="< 300")(_export("export_peak_rss_mb"))
metric("export_vs_copy_ratio", unit="×", target="< 3")(_export("export_vs_copy_ratio"))


def _study_dashboard_p95_ms(bench: Bench):
    from efficacy.bench import study_dashboard_p95_ms

    return study_dashboard_p95_ms(bench)


metric("study_dashboard_p95_ms", unit="ms", target="< 500")(_study_dashboard_p95_ms)


def _query_worklist_p95_ms(bench: Bench):
    from monitoring.bench import query_worklist_p95_ms

    return query_worklist_p95_ms(bench)


metric("query_worklist_p95_ms", unit="ms", target="< 150")(_query_worklist_p95_ms)


def _auditchain(name):
    def measure(bench: Bench):
        from auditchain import bench as auditchain_bench

        return getattr(auditchain_bench, name)(bench)

    return measure


# The audit trail's hash chain: its whole verification, and what it adds to a form save.
metric("verify_audit_seconds", unit="s", target="< 60")(_auditchain("verify_audit_seconds"))
metric("audit_write_overhead_ratio", unit="×", target="< 1.3")(_auditchain("audit_write_overhead_ratio"))


def _casebook_pdf_seconds(bench: Bench):
    from casebooks.bench import casebook_pdf_seconds

    return casebook_pdf_seconds(bench)


# The PDF casebook of a participant with 24 months of data (issue 18).
metric("casebook_pdf_seconds", unit="s", target="< 10")(_casebook_pdf_seconds)


def _lab_import_rows_per_second(bench: Bench):
    from labs.bench import lab_import_rows_per_second

    return lab_import_rows_per_second(bench)


# A 10,000-observation FHIR bundle read, previewed and imported through the lab services (labs/bench.py).
metric("lab_import_rows_per_second", unit="rows/s", target="> 500")(_lab_import_rows_per_second)


def _day28(bench: Bench):
    """A coordinator enters a whole Day 28 visit in chromium (``crfs.bench``), once per run: its page
    loads and its time are two metrics."""
    if "day28" not in bench.pages:
        from crfs.bench import run_day28_entry

        bench.pages["day28"] = run_day28_entry(bench.site)
    return bench.pages["day28"]


# At most one page per form plus two (the casebook, the page after the last form); the time is the
# baseline quoted in the README.
metric("d28_visit_page_loads", unit="", target="<= 12")(
    lambda bench: Measured(_day28(bench).page_loads, {"forms": _day28(bench).forms})
)
metric("d28_visit_seconds", unit="s", target="< 120")(
    lambda bench: Measured(round(_day28(bench).seconds, 2), {"page_loads": _day28(bench).page_loads})
)


# --- the command --------------------------------------------------------------------------------


def bench_database_url(url: str) -> str:
    """``url`` itself when its database is a benchmark one, else the same server's ``edc_bench``."""
    parts = urlsplit(url)
    if "bench" in parts.path.lstrip("/"):
        return url
    return urlunsplit(parts._replace(path="/" + BENCH_DATABASE))


def ensure_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


@contextmanager
def own_database(choose: Callable[[str], str]):
    """``DATABASE_URL`` and ``REDIS_URL`` (the embedded servers' under ``var/`` when unset), the database
    replaced by ``choose(url)`` and created if needed, Django set up with the dev settings; yields the
    embedded servers started (``embedded.services``). Shared by ``make bench`` and ``make loadtest``."""
    with embedded.services(
        embedded.VAR_DIR, pgdata_name="pgdata-bench", redis_name="redis-bench.db", roles=False
    ) as started:
        url = choose(os.environ["DATABASE_URL"])
        ensure_database(url)
        os.environ["DATABASE_URL"] = url
        os.environ["DJANGO_SETTINGS_MODULE"] = "edc.settings.dev"
        import django

        django.setup()
        yield started


def machine(started: dict) -> dict:
    import django
    from django.db import connection

    info = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "cpus": os.cpu_count(),
        "cpu": _proc_value("/proc/cpuinfo", "model name"),
        "memory": _proc_value("/proc/meminfo", "MemTotal"),
        "services": "embedded" if "DATABASE_URL" in started else "external",
        # Timings on a shared machine follow its load: read them with it.
        "load_average_1_5_15_min": [round(x, 2) for x in os.getloadavg()],
    }
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        info["postgresql"] = cursor.fetchone()[0]
    return info


def _proc_value(path: str, key: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def prepare(participants: int) -> dict:
    """Migrate, load the protocol and seed up to ``participants``; return what the database holds."""
    from django.core.management import call_command
    from django.db import connection, transaction

    from trials.models import Participant
    from trials.synthetic import seed_synthetic, study_from_settings
    from visits.models import Visit

    call_command("migrate", interactive=False, verbosity=0)
    study = study_from_settings()
    existing = Participant.objects.filter(site__study=study).count()
    seeded = None
    if existing < participants:
        print(f"Seeding {participants - existing} synthetic participants…", flush=True)
        result = seed_synthetic(
            participants=participants - existing, sites=BENCH_SITES, append=existing > 0, seed=existing
        )
        with connection.cursor() as cursor:
            # The steady state autovacuum reaches: statistics and visibility maps (index-only scans).
            cursor.execute("VACUUM (ANALYZE)")
        seeded = {"participants": result.participants, "visits": result.visits, "seconds": result.seconds}
        print(f"  {result.participants} participants, {result.visits} visits in {result.seconds:.1f} s")
    # Their case report forms (efficacy.synthetic): the export metrics time a study with its full data.
    from efficacy.synthetic import seed_synthetic_crfs

    with transaction.atomic():
        forms = seed_synthetic_crfs(study=study, seed=existing)
    if forms["participants"]:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE)")
        seeded = {**(seeded or {}), "case_report_forms": forms}
        print(f"  case report forms of {forms['participants']} participants in {forms['seconds']:.1f} s")
    return {
        "study": study,
        "participants": Participant.objects.filter(site__study=study).count(),
        "visits": Visit.objects.filter(participant__site__study=study).count(),
        "seeded": seeded,
    }


def merged(path: Path, report: dict) -> dict:
    """``report`` over what ``path`` already holds: metrics measured earlier (another ``--only``, the
    mutation score of ``make mutate``) stay unless measured again."""
    try:
        previous = json.loads(path.read_text())
    except (OSError, ValueError):
        previous = {}
    if not isinstance(previous, dict):
        previous = {}
    metrics = {**(previous.get("metrics") or {}), **(report.get("metrics") or {})}
    return {**previous, **report, "metrics": metrics}


def write_report(path: Path, report: dict) -> None:
    """Write ``report`` into ``path`` over what it holds (``merged``: the keys of ``make loadtest`` and
    ``make mutate`` stay)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(merged(path, report), indent=2, ensure_ascii=False, default=str) + "\n")


def print_table(results: dict[str, dict]) -> None:
    width = max([len("metric"), *map(len, results)])
    print(f"\n{'metric':<{width}}  {'value':>10}  {'unit':<4}  {'target':<8}  ok")
    for name, r in results.items():
        value = "error" if r["value"] is None else f"{r['value']:.2f}"
        print(f"{name:<{width}}  {value:>10}  {r['unit']:<4}  {r['target']:<8}  {'yes' if r['ok'] else 'NO'}")
        if "error" in r:
            print(f"  {r['error']}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edc.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=DEFAULT_PARTICIPANTS)
    parser.add_argument("--only", default="", help="comma-separated metric names (default: all)")
    parser.add_argument("--repeat", type=int, default=50, help="timed requests per page (default 50)")
    parser.add_argument("--warmup", type=int, default=5, help="discarded requests first (default 5)")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a metric misses its target")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(METRICS)
    unknown = sorted(set(names) - set(METRICS))
    if unknown:
        parser.error(f"unknown metric(s) {', '.join(unknown)}; known: {', '.join(METRICS)}")

    with own_database(bench_database_url) as started:
        logging.getLogger("axes").setLevel(logging.WARNING)  # the bench user's sign-in is not news
        from django.conf import settings
        from django.test.utils import override_settings

        # Timed as in production: no debug (no query log, no debug pages); the test client's host.
        with override_settings(
            DEBUG=False, DEMO_MODE=True, ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]
        ):
            database = prepare(args.participants)
            print(f"Measuring on {database['participants']} participants, {database['visits']} visits…")
            bench = Bench(database.pop("study"), repeat=args.repeat, warmup=args.warmup)
            results = run_metrics(bench, names)
            report = {
                "metrics": results,
                "machine": machine(started),
                "database": database,
                "settings": {"repeat": args.repeat, "warmup": args.warmup, "site": bench.site.code},
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
            }
    print_table(results)
    print(f"(load average over 1, 5, 15 min: {report['machine']['load_average_1_5_15_min']})")
    if "floor" in bench.pages:
        floor = bench.floor()
        print(
            f"(floor: {floor.url}, a page without study data, p95 {floor.p95_ms:.1f} ms, "
            f"{floor.ratio:.2f} × its SQL)"
        )
    write_report(args.output, report)
    print(f"\nWritten {args.output}")
    missed = [name for name, r in results.items() if not r["ok"]]
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    # Run the importable module, not this __main__ copy: metric modules (notifications.bench) import
    # edc.bench, and its Measured and registry must be the ones main() uses.
    from edc import bench

    sys.exit(bench.main())
