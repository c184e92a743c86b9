"""``make run``: one owner process for the demo.

Starts the embedded PostgreSQL and Redis when their URLs are unset (or takes over the ones a
``manage.py`` command started), migrates, loads the protocol, creates demo users and participants,
then runs the web server, a Celery worker and Celery beat under a supervisor: a process or embedded
server that dies is restarted (with back-off, logged) while the others keep running. Only Ctrl-C
(or SIGTERM) stops everything: the processes first, then the embedded servers. Data stay in var/.
One ``make run`` per var folder (``var/run.lock``).
"""

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

from . import embedded
from .supervisor import Program, Supervisor

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
logger = logging.getLogger("edc.run")


def manage(*args):
    subprocess.run([PY, str(ROOT / "manage.py"), *args], check=True, cwd=ROOT)


def programs(host: str, port: str) -> list[Program]:
    celery = [PY, "-m", "celery", "-A", "edc"]
    return [
        Program("web", [PY, str(ROOT / "manage.py"), "runserver", "--noreload", f"{host}:{port}"], cwd=ROOT),
        Program(
            "worker",
            [*celery, "worker", "--loglevel", "INFO", "--concurrency", "2", "-n", "worker@%h"],
            cwd=ROOT,
        ),
        Program(
            "beat",
            [*celery, "beat", "--loglevel", "INFO", "--schedule", str(embedded.VAR_DIR / "celerybeat")],
            cwd=ROOT,
        ),
    ]


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "edc.settings.dev")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s [%(name)s] %(levelname)s %(message)s")
    host = os.environ.get("EDC_HOST", "127.0.0.1")
    port = os.environ.get("EDC_PORT", "8000")
    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True

    # Handle SIGINT explicitly too: a process started in the background inherits an ignored SIGINT.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        lock = embedded.run_lock(embedded.VAR_DIR)
        lock.__enter__()
    except embedded.AlreadyRunning as exc:
        print(f"Refusing to start: {exc}", file=sys.stderr, flush=True)
        sys.exit(1)
    try:
        with embedded.services(claim=True) as servers:
            manage("migrate", "--no-input", "-v", "0")
            manage(
                "load_protocol",
                os.environ.get("EDC_PROTOCOL_FILE", str(ROOT / "protocols" / "nct07274059.yaml")),
            )
            manage("load_reference_ranges")
            manage("seed_demo")
            # The embedded servers first: a dead one is started again before the processes need it.
            supervisor = Supervisor([*servers.values(), *programs(host, port)])
            supervisor.start()
            print(
                f"\nEDC running on http://{host}:{port}/ (web, worker, beat). Ctrl-C stops everything.\n",
                flush=True,
            )
            try:
                supervisor.run(lambda: stopping)
            finally:
                supervisor.stop()
                print("Stopped web, worker and beat.", flush=True)
    finally:
        lock.__exit__(None, None, None)


if __name__ == "__main__":
    main()
