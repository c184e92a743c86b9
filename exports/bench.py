"""Export metrics of ``make bench`` (10,000 synthetic participants, ``trials.synthetic``).

- ``export_all_seconds`` and ``export_peak_rss_mb``: the whole export (every format whose writer is
  installed) run as ``manage.py export`` in a child process: its wall time, and its peak resident
  memory as the kernel reports it for that process (``os.wait4``), so the bench's own memory does
  not count. Both metrics share one run.
- ``export_vs_copy_ratio``: the whole export (the same formats, run in the bench's process) over the
  physical floor measured in the same run: ``COPY table TO STDOUT`` into files of every table the
  export's queries read. The tables are found from the statements the export runs (Django's execute
  wrapper, and psycopg's ``copy()`` for the files streamed by COPY), not from a list kept by hand.
"""

import importlib.util
import io
import os
import re
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

# Django and the models are imported inside the functions: edc.bench imports this module before
# it configures Django.

_RUN_CACHE: dict[int, dict] = {}


def available_formats() -> list[str]:
    formats = ["csv"]
    formats += [f for f in ("odm", "sdtm", "adam") if importlib.util.find_spec(f"exports.{f}") is not None]
    return [*formats, "audit"]


def _run_export(bench) -> dict:
    """Run the whole export once in a child process; wall seconds and peak RSS (MB)."""
    key = id(bench)
    if key in _RUN_CACHE:
        return _RUN_CACHE[key]
    from django.conf import settings

    formats = available_formats()
    with tempfile.TemporaryDirectory(prefix="edc-export-bench-") as tmp:
        env = {
            **os.environ,
            "EXPORT_ROOT": str(Path(tmp) / "root"),
            "DJANGO_SETTINGS_MODULE": "edc.settings.dev",
        }
        command = [
            sys.executable,
            str(Path(settings.BASE_DIR) / "manage.py"),
            "export",
            "--format",
            ",".join(formats),
            "--out",
            str(Path(tmp) / "out"),
            "--study",
            bench.study.nct_id,
        ]
        log = Path(tmp) / "export.log"
        started = time.perf_counter()
        with log.open("wb") as output:
            child = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603
            _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage, not the bench's
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        stdout = log.read_bytes()
        if child.returncode != 0:
            raise RuntimeError(f"manage.py export failed: {stdout.decode()[-2000:]}")
        zips = list((Path(tmp) / "out").glob("*.zip"))
        result = {
            "seconds": seconds,
            "peak_rss_mb": usage.ru_maxrss / 1024,  # kilobytes on Linux
            "formats": formats,
            "zip_mb": round(zips[0].stat().st_size / 2**20, 1) if zips else None,
            "output": stdout.decode().strip()[-500:],
        }
    _RUN_CACHE[key] = result
    return result


def export_all_seconds(bench):
    from edc.bench import Measured

    run = _run_export(bench)
    return Measured(run["seconds"], {k: v for k, v in run.items() if k != "seconds"})


def export_peak_rss_mb(bench):
    from edc.bench import Measured

    run = _run_export(bench)
    return Measured(run["peak_rss_mb"], {"formats": run["formats"], "seconds": round(run["seconds"], 2)})


@contextmanager
def _statements():
    """Every SQL statement run on this thread's connection meanwhile, ``COPY`` ones included (the CSV
    writer streams through psycopg's ``copy()``, which Django's execute wrappers do not see)."""
    import psycopg
    from django.db import connection

    seen: list[str] = []

    def wrapper(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    original = psycopg.Cursor.copy

    def copy(cursor, statement, *args, **kwargs):
        seen.append(statement if isinstance(statement, str) else statement.as_string(cursor.connection))
        return original(cursor, statement, *args, **kwargs)

    psycopg.Cursor.copy = copy
    try:
        with connection.execute_wrapper(wrapper):
            yield seen
    finally:
        psycopg.Cursor.copy = original


def tables_read(statements: list[str]) -> list[str]:
    """The database tables that ``statements`` name (every table the export's queries touch)."""
    from django.db import connection

    known = set(connection.introspection.table_names())
    named = set()
    for sql in statements:
        named |= {word for word in re.findall(r"[a-z_][a-z0-9_]*", sql.lower()) if word in known}
    return sorted(named)


def export_vs_copy_ratio(bench):
    """The whole export (every format, in this process) over ``COPY table TO STDOUT`` of every table its
    queries read, into files: what the export adds to the physical floor of reading its data."""
    from django.core.management import call_command
    from django.db import connection

    from edc.bench import Measured

    formats = available_formats()
    with tempfile.TemporaryDirectory(prefix="edc-export-bench-") as tmp:
        out = Path(tmp) / "out"
        with _statements() as statements:
            started = time.perf_counter()
            call_command(
                "export",
                format=",".join(formats),
                out=str(out),
                study=bench.study.nct_id,
                stdout=io.StringIO(),
            )
            export_seconds = time.perf_counter() - started
        tables = tables_read(statements)
        sizes = {}
        started = time.perf_counter()
        for table in tables:
            path = Path(tmp) / f"{table}.copy"
            with (
                path.open("wb") as handle,
                connection.cursor() as cursor,
                cursor.cursor.copy(f"COPY {connection.ops.quote_name(table)} TO STDOUT") as copy,
            ):
                for block in copy:
                    handle.write(block)
            sizes[table] = path.stat().st_size
        copy_seconds = time.perf_counter() - started
    return Measured(
        export_seconds / copy_seconds,
        {
            "formats": formats,
            "export_seconds": round(export_seconds, 2),
            "copy_seconds": round(copy_seconds, 2),
            "statements": len(statements),
            "tables": len(tables),
            "copied_mb": round(sum(sizes.values()) / 2**20, 1),
            "largest_tables_mb": {
                t: round(n / 2**20, 1) for t, n in sorted(sizes.items(), key=lambda kv: -kv[1])[:8]
            },
        },
    )
