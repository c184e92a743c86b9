"""A Celery worker whose CSV step lingers after writing its files, so a test can kill it mid-export.

Run as ``python tests/exports/slow_worker.py -A edc worker ...`` with ``EDC_TEST_EXPORT_LINGER`` (seconds)
in the environment; the prefork children inherit the slowed step. Test code only, never imported by the
project.
"""

import os
import sys
import time


def main():
    import django

    django.setup()
    from exports import csv_export

    write_csv, linger = csv_export.write_csv, float(os.environ["EDC_TEST_EXPORT_LINGER"])

    def lingering_write_csv(*, progress, **kwargs):
        counts = write_csv(progress=progress, **kwargs)
        deadline = time.monotonic() + linger
        while time.monotonic() < deadline:
            progress(0.5)
            time.sleep(0.1)
        return counts

    csv_export.write_csv = lingering_write_csv
    from celery.__main__ import main as celery

    sys.argv = ["celery", *sys.argv[1:]]
    celery()


if __name__ == "__main__":
    main()
