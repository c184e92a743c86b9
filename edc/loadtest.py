"""``make loadtest``: simulated users of every role against gunicorn with the production settings.

1. **Prepare** its own database (``DATABASE_URL`` when its name contains "load", otherwise the same
   server's ``edc_load``; the embedded servers under ``var/`` when unset): migrate, load the protocol,
   ``seed_demo`` (one user per role, password ``DEMO_PASSWORD``) and ``seed_synthetic`` up to 1,000
   participants. Later runs reuse it.
2. **Build** the static files and **serve** with ``edc.settings.production`` under gunicorn
   (``edc/gunicorn.conf.py``, a free port on 127.0.0.1); the client sends ``X-Forwarded-Proto: https``
   as the TLS proxy in front of it would.
3. **Busy users**: ``--users`` (20) Locust users across the roles (``edc/locustfile.py``) for
   ``--seconds`` (60, or ``LOADTEST_SECONDS``), each waiting 1–3 s between actions.
4. **Saturation**: the same users without waiting, more of them at each step (``--steps``, each
   ``--step-seconds``); ``load_max_rps`` is the highest throughput of a step whose p95 stays below 1 s.

The figures go into ``var/bench.json`` beside those of ``make bench`` (merged, nothing else changed):
``load_p95_ms``, ``load_rps``, ``load_errors``, ``load_max_rps``, and ``load`` with each action's p95,
each saturation step and the machine's load average (timings on a shared machine follow its load).

    python -m edc.loadtest [--participants 1000] [--users 20] [--seconds 60] [--steps 2,4,8,16,32]
"""

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from . import embedded

ROOT = Path(__file__).resolve().parent.parent
LOAD_DATABASE = "edc_load"
DEFAULT_PARTICIPANTS = 1_000
DEFAULT_USERS = 20
DEFAULT_SECONDS = 60
DEFAULT_STEPS = (2, 4, 8, 16, 32)
DEFAULT_STEP_SECONDS = 20
SATURATION_P95_MS = 1000
OUTPUT = embedded.VAR_DIR / "bench.json"
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
# The actions with a target (p95 < 300 ms at 1,000 participants), as the locustfile names them.
TARGET_ACTIONS = ("list", "participant", "form GET", "form save")
# Sign-in is once per session, not a busy user's action: counted for errors, not for the timings.
# Nor is anything before the last sign-in of a phase or step: a password check (Argon2, 100 MiB) costs
# a CPU for a good part of a second, and a burst of them is not a busy morning's steady state.
NOT_TIMED = ("login",)
# Busy users arrive two a second, as a team signing in, not all in the same instant.
ARRIVALS_PER_SECOND = 2


# --- the database and the plan of what users do -------------------------------------------------


def load_database_url(url: str) -> str:
    """``url`` itself when its database is a load-test one, else the same server's ``edc_load``."""
    parts = urlsplit(url)
    if "load" in parts.path.lstrip("/"):
        return url
    return urlunsplit(parts._replace(path="/" + LOAD_DATABASE))


def prepare(participants: int, password: str) -> dict:
    """Migrate, load the protocol, the demo users and up to ``participants``; return the plan: who
    signs in, which participants each one sees and the visits whose vital signs site staff save."""
    import io

    from django.core.management import call_command
    from django.db import connection

    from trials.models import Participant
    from trials.synthetic import seed_synthetic, study_from_settings

    if _unapplied_migrations():
        call_command("migrate", interactive=False, verbosity=0)
    study = study_from_settings()
    os.environ["DEMO_PASSWORD"] = password
    call_command("seed_demo", stdout=io.StringIO())
    existing = Participant.objects.filter(site__study=study).count()
    if existing < participants:
        print(f"Seeding {participants - existing} synthetic participants…", flush=True)
        seed_synthetic(participants=participants - existing, sites=2, append=True, seed=existing)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE)")
    return plan(study, password)


def _unapplied_migrations() -> bool:
    """Whether ``migrate`` has work to do (a migrated database skips its post-migrate steps' seconds)."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def plan(study, password: str) -> dict:
    from accounts.models import Membership
    from trials.models import Participant
    from visits.models import Visit

    def participants(site_ids):
        rows = Participant.objects.filter(site__study=study, site_id__in=site_ids, entered_in_error=False)
        return list(rows.order_by("pk").values_list("pk", flat=True))

    def form_visits(site_ids):
        """Done visits that expect vital signs: where site staff enter and correct data."""
        rows = (
            Visit.objects.filter(
                participant__site_id__in=site_ids,
                participant__entered_in_error=False,
                entered_in_error=False,
                visit_date__isnull=False,
                missed=False,
                definition__forms__contains=["vital_signs"],
            )
            .order_by("pk")
            .values_list("pk", "visit_date")
        )
        return [[pk, day.isoformat()] for pk, day in rows[:400]]

    all_sites = list(study.sites.values_list("pk", flat=True))
    users = {}
    for membership in Membership.objects.filter(study=study, active=True).select_related("user"):
        name = membership.user.username
        entry = users.setdefault(name, {"role": membership.role, "sites": set()})
        entry["sites"] |= {membership.site_id} if membership.site_id else set(all_sites)
    demo = {
        "coordinator",
        "coordinator2",
        "investigator",
        "monitor",
        "datamanager",
        "sponsoradmin",
        "auditor",
    }
    return {
        "password": password,
        "users": {
            name: {
                "role": entry["role"],
                "participants": participants(entry["sites"]),
                "form_visits": form_visits(entry["sites"]),
            }
            for name, entry in users.items()
            if name in demo
        },
    }


# --- static files, gunicorn, Locust --------------------------------------------------------------


def production_env(port: int) -> dict:
    """The production settings with what a test deployment needs: a random key, this host, no 2FA."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "edc.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        # Sign-in by password only: simulated users have no phone (two-factor sign-in is tested apart).
        "EDC_REQUIRE_2FA": "0",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_ACCESS_LOG": "",
        "PYTHONPATH": str(ROOT),
    }


def build_static(env: dict) -> bool:
    """``collectstatic`` with the production settings, unless the sources have not changed since the
    last build (compressing them takes seconds); return whether it ran."""
    from django.conf import settings

    sources = sorted(
        (str(path), path.stat().st_size, path.stat().st_mtime_ns)
        for folder in settings.STATICFILES_DIRS
        for path in Path(folder).rglob("*")
        if path.is_file()
    )
    fingerprint = json.dumps(sources)
    root = Path(env.get("STATIC_ROOT") or settings.STATIC_ROOT)
    stamp = root / ".sources.json"
    if (root / "staticfiles.json").exists() and stamp.exists() and stamp.read_text() == fingerprint:
        return False
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    stamp.write_text(fingerprint)
    return True


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gunicorn_sizes(env: dict) -> dict:
    """The workers and threads ``edc/gunicorn.conf.py`` gives with ``env``."""
    import runpy
    from unittest import mock

    with mock.patch.dict(os.environ, env):
        conf = runpy.run_path(str(ROOT / "edc" / "gunicorn.conf.py"))
    return {"workers": conf["workers"], "threads": conf["threads"], "worker_class": conf["worker_class"]}


@contextmanager
def gunicorn(env: dict, log: Path, *, timeout: float = 60):
    """gunicorn with ``edc/gunicorn.conf.py``, until the sign-in page answers; stopped at the end."""
    bind = env["GUNICORN_BIND"]
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "edc" / "gunicorn.conf.py"), "edc.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                request = urllib.request.Request(
                    f"http://{bind}/accounts/login/", headers={"X-Forwarded-Proto": "https"}
                )
                with urllib.request.urlopen(request, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer within {timeout} s:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield f"http://{bind}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_locust(host: str, plan_path: Path, samples: Path, *, users: int, seconds: float, steps=(), wait=True):
    """One headless Locust run; return when it started (Unix seconds, after Locust's own start-up) and
    its samples (one per request: action, ms, error, end time)."""
    env = {
        **os.environ,
        "LOADTEST_PLAN": str(plan_path),
        "LOADTEST_SAMPLES": str(samples),
        "LOADTEST_WAIT": "1" if wait else "0",
        "LOADTEST_STEPS": ",".join(str(n) for n in steps),
        "LOADTEST_STEP_SECONDS": str(seconds),
    }
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", host]
    command += ["--only-summary", "--loglevel", "WARNING", "--exit-code-on-error", "0"]
    if not steps:  # the steps' shape sets users and duration itself
        run_time = f"{round(arrival_seconds(users) + seconds)}s"
        command += ["--users", str(users), "--spawn-rate", str(ARRIVALS_PER_SECOND), "--run-time", run_time]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0 or not samples.exists():
        raise RuntimeError(f"Locust failed ({done.returncode}):\n{done.stderr[-3000:]}")
    recorded = json.loads(samples.read_text())
    return recorded["started"], recorded["samples"]


# --- the figures -----------------------------------------------------------------------------------


def p95(values: list[float]) -> float:
    from .bench import p95 as nearest_rank

    return nearest_rank(values) if values else 0.0


def summarise(samples: list[dict], start: float, end: float, *, errors_since: float | None = None) -> dict:
    """p95 and throughput of the requests that ended between ``start`` and ``end`` (Unix seconds),
    sign-in left out; errors of every request that ended between ``errors_since`` (default ``start``)
    and ``end``, sign-in included."""
    window = [s for s in samples if start <= s["end"] <= end]
    timed = [s for s in window if s["action"] not in NOT_TIMED]
    since = start if errors_since is None else errors_since
    failed = [s for s in samples if since <= s["end"] <= end and s["error"]]
    actions = sorted({s["action"] for s in timed} | {s["action"] for s in failed})
    return {
        "p95_ms": round(p95([s["ms"] for s in timed]), 1),
        "rps": round(len(timed) / max(end - start, 1e-9), 2),
        "requests": len(timed),
        "errors": len(failed),
        "error_examples": sorted({s["error"] for s in failed})[:5],
        "actions": {
            name: {
                "p95_ms": round(p95([s["ms"] for s in timed if s["action"] == name]), 1),
                "requests": sum(1 for s in timed if s["action"] == name),
                "errors": sum(1 for s in failed if s["action"] == name),
            }
            for name in actions
        },
    }


def arrival_seconds(users: int) -> float:
    return users / ARRIVALS_PER_SECOND


def signed_in(samples: list[dict], start: float, end: float) -> float:
    """When the last sign-in between ``start`` and ``end`` ended (``start`` when there was none)."""
    return max([start, *(s["end"] for s in samples if s["action"] == "login" and start <= s["end"] <= end)])


def busy_users(samples: list[dict], started: float, users: int, seconds: float) -> dict:
    """The busy-users phase once everyone has signed in, to its end (the requests still running then
    included); every error of the run counts, sign-in included."""
    ended = started + arrival_seconds(users) + seconds
    settled = signed_in(samples, started, ended)
    last = max([ended, *(s["end"] for s in samples)])
    summary = summarise(samples, settled, last, errors_since=0)
    summary["rps"] = round(summary["requests"] / max(ended - settled, 1e-9), 2)
    summary["timed_seconds"] = round(ended - settled, 1)
    return summary


def saturation(samples: list[dict], started: float, steps, step_seconds: float) -> tuple[float, list]:
    """Each step's figures once its new users have signed in, and the best throughput of a step whose
    p95 stays below 1 s."""
    rows, best = [], 0.0
    for i, users in enumerate(steps):
        begin, end = started + i * step_seconds, started + (i + 1) * step_seconds
        settled = min(signed_in(samples, begin, end) + 0.5, end - 1)
        figures = summarise(samples, settled, end)
        rows.append(
            {
                "users": users,
                "rps": figures["rps"],
                "p95_ms": figures["p95_ms"],
                "errors": figures["errors"],
                "timed_seconds": round(end - settled, 1),
            }
        )
        if figures["p95_ms"] < SATURATION_P95_MS and figures["requests"]:
            best = max(best, figures["rps"])
    return best, rows


def merge_bench(path: Path, summary: dict) -> None:
    """Write the load figures into ``path`` beside whatever ``make bench`` and others wrote there."""
    from .bench import write_report

    busy = summary["busy"]
    write_report(
        path,
        {
            "load_p95_ms": busy["p95_ms"],
            "load_rps": busy["rps"],
            "load_errors": busy["errors"],
            "load_max_rps": summary["max_rps"],
            "load": summary,
        },
    )


# --- the command -----------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edc.loadtest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=DEFAULT_PARTICIPANTS)
    parser.add_argument("--users", type=int, default=DEFAULT_USERS)
    seconds = float(os.environ.get("LOADTEST_SECONDS") or DEFAULT_SECONDS)
    parser.add_argument("--seconds", type=float, default=seconds, help="busy-users phase (LOADTEST_SECONDS)")
    parser.add_argument(
        "--steps", default=",".join(map(str, DEFAULT_STEPS)), help="saturation users per step"
    )
    parser.add_argument(
        "--step-seconds", type=float, default=min(DEFAULT_STEP_SECONDS, max(5.0, seconds / 3))
    )
    parser.add_argument("--no-saturation", action="store_true")
    parser.add_argument(
        "--extra-page",
        action="append",
        default=[],
        help="a path every simulated user also opens (a page being tuned), timed as 'extra'",
    )
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    steps = [] if args.no_saturation else [int(n) for n in args.steps.split(",") if n.strip()]
    began = time.monotonic()

    def say(message):
        print(f"[{time.monotonic() - began:5.1f} s] {message}", flush=True)

    from .bench import own_database

    with own_database(load_database_url):
        from django.test.utils import override_settings

        password = secrets.token_urlsafe(16)
        with override_settings(DEMO_MODE=True):
            the_plan = prepare(args.participants, password)
        the_plan["extra_pages"] = args.extra_page
        from django.db import connections

        connections.close_all()
        with tempfile.TemporaryDirectory(prefix="edc-loadtest-") as tmp:
            tmp = Path(tmp)
            plan_path = tmp / "plan.json"
            plan_path.write_text(json.dumps(the_plan))
            env = production_env(free_port())
            say("database ready; static files (production settings)")
            if not build_static(env):
                say("static files up to date")
            with gunicorn(env, tmp / "gunicorn.log") as host:
                load_before = os.getloadavg()
                say(f"gunicorn serves {host}; {args.users} busy users for {args.seconds:g} s")
                started, samples = run_locust(
                    host, plan_path, tmp / "busy.json", users=args.users, seconds=args.seconds
                )
                busy = busy_users(samples, started, args.users, args.seconds)
                max_rps, rows = 0.0, []
                if steps:
                    say(f"saturation: {steps} users without waiting, {args.step_seconds:g} s each")
                    started, samples = run_locust(
                        host, plan_path, tmp / "steps.json", users=0, seconds=args.step_seconds,
                        steps=steps, wait=False,
                    )  # fmt: skip
                    max_rps, rows = saturation(samples, started, steps, args.step_seconds)
                load_after = os.getloadavg()
    summary = {
        "busy": busy,
        "max_rps": max_rps,
        "saturation": rows,
        "settings": {
            "participants": args.participants,
            "users": args.users,
            "seconds": args.seconds,
            "steps": steps,
            "step_seconds": args.step_seconds,
            "gunicorn": gunicorn_sizes(env),
        },
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in load_after],
        },
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    merge_bench(args.output, summary)
    say("done")
    print_summary(summary)
    print(f"\nWritten {args.output}")
    missed = [a for a in TARGET_ACTIONS if busy["actions"].get(a, {}).get("p95_ms", 0) >= 300]
    return 1 if args.strict and (missed or busy["errors"]) else 0


def print_summary(summary: dict) -> None:
    busy = summary["busy"]
    print(f"\n{'action':<14} {'requests':>8} {'p95 ms':>8} {'errors':>6}")
    for name, figures in busy["actions"].items():
        target = " (target < 300)" if name in TARGET_ACTIONS else ""
        print(f"{name:<14} {figures['requests']:>8} {figures['p95_ms']:>8.0f} {figures['errors']:>6}{target}")
    print(
        f"all: p95 {busy['p95_ms']:.0f} ms, {busy['rps']:.1f} requests/s, {busy['errors']} errors "
        f"(timed: the {busy['timed_seconds']:g} s after the last sign-in)"
    )
    for example in busy["error_examples"]:
        print(f"  error: {example}")
    for row in summary["saturation"]:
        print(f"saturation {row['users']:>3} users: {row['rps']:6.1f} requests/s, p95 {row['p95_ms']:.0f} ms")
    print(f"load_max_rps {summary['max_rps']:.1f} (p95 < {SATURATION_P95_MS} ms)")
    machine = summary["machine"]
    before, after = machine["load_average_before"], machine["load_average_after"]
    print(f"(load average over 1, 5, 15 min: {before} before, {after} after)")


if __name__ == "__main__":
    sys.exit(main())
