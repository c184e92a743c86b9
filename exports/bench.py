"""Export metrics of ``make bench`` (10,000 synthetic participants, ``trials.synthetic``).

- ``export_all_seconds`` and ``export_peak_rss_mb``: the whole export (every format whose writer is
  installed) run as ``manage.py export`` in a child process: its wall time, and its peak resident
  memory as the kernel reports it for that process (``os.wait4``), so the bench's own memory does
  not count. Both metrics share one run.
- ``export_vs_copy_ratio``: the wide CSV of the largest table (the visits, on synthetic data) as the
  export writes it (joins, labels, formatting) over a plain ``COPY (SELECT its columns) TO STDOUT``
  of the same rows into a file; the median of three runs each.
"""

import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Django and the models are imported inside the functions: edc.bench imports this module before
# it configures Django.

RUNS = 3
_RUN_CACHE: dict[int, dict] = {}


def available_formats() -> list[str]:
    formats = ["csv"]
    formats += [f for f in ("odm", "sdtm") if importlib.util.find_spec(f"exports.{f}") is not None]
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


def export_vs_copy_ratio(bench):
    from django.db import connection

    from edc.bench import Measured

    from . import csv_export
    from .options import ExportOptions

    options = ExportOptions(study_id=bench.study.pk, formats=("csv",))
    tables = csv_export.tables(bench.study, options)
    table = max(tables, key=lambda t: t.queryset.count())
    rows = table.queryset.count()
    columns = csv_export._columns(table, options)
    wide_sql, params = csv_export._wide_sql(table, columns)
    header = [name for name, _ in columns]
    raw = [f.attname for f in table.queryset.model._meta.concrete_fields]
    plain_sql, plain_params = table.queryset.values_list(*raw).query.sql_with_params()

    def plain(path):
        with (
            path.open("wb") as out,
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY ({plain_sql}) TO STDOUT", plain_params or None) as copy,
        ):
            for block in copy:
                out.write(block)

    export_times, copy_times = [], []
    with tempfile.TemporaryDirectory(prefix="edc-export-bench-") as tmp:
        for _ in range(RUNS):
            started = time.perf_counter()
            csv_export.copy_to(Path(tmp) / "wide.csv", header, wide_sql, params)
            export_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            plain(Path(tmp) / "plain.txt")
            copy_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        long_counts = csv_export.write_table(table, options, Path(tmp))
        both_seconds = time.perf_counter() - started
    export_s, copy_s = statistics.median(export_times), statistics.median(copy_times)
    return Measured(
        export_s / copy_s,
        {
            "table": table.name,
            "rows": rows,
            "export_wide_seconds": round(export_s, 4),
            "copy_seconds": round(copy_s, 4),
            "wide_and_long_seconds": round(both_seconds, 4),
            "long_rows": long_counts.get(f"{table.name}_long.csv"),
        },
    )
