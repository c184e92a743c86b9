"""``make run``: one owner process for the demo.

Starts the embedded PostgreSQL and Redis when their URLs are unset, migrates, loads the protocol,
creates demo users and participants, then runs the web server, a Celery worker and Celery beat.
Ctrl-C (or SIGTERM) stops every process it started, then the embedded servers. Data stay in var/.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import embedded

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def manage(*args):
    subprocess.run([PY, str(ROOT / "manage.py"), *args], check=True, cwd=ROOT)


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "edc.settings.dev")
    host = os.environ.get("EDC_HOST", "127.0.0.1")
    port = os.environ.get("EDC_PORT", "8000")
    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True

    # Handle SIGINT explicitly too: a process started in the background inherits an ignored SIGINT.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with embedded.services():
        manage("migrate", "--no-input", "-v", "0")
        manage(
            "load_protocol", os.environ.get("EDC_PROTOCOL_FILE", str(ROOT / "protocols" / "nct07274059.yaml"))
        )
        manage("load_reference_ranges")
        manage("seed_demo")
        celery = [PY, "-m", "celery", "-A", "edc"]
        commands = {
            "web": [PY, str(ROOT / "manage.py"), "runserver", "--noreload", f"{host}:{port}"],
            "worker": [*celery, "worker", "--loglevel", "INFO", "--concurrency", "2", "-n", "worker@%h"],
            "beat": [
                *celery,
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(embedded.VAR_DIR / "celerybeat"),
            ],
        }
        processes = {name: subprocess.Popen(cmd, cwd=ROOT) for name, cmd in commands.items()}
        print(
            f"\nEDC running on http://{host}:{port}/ (web, worker, beat). Ctrl-C stops everything.\n",
            flush=True,
        )
        try:
            while not stopping:
                for name, proc in processes.items():
                    if proc.poll() is not None:
                        print(f"{name} exited with {proc.returncode}; stopping.", flush=True)
                        stopping = True
                time.sleep(0.5)
        finally:
            for proc in processes.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            deadline = time.time() + 15
            for proc in processes.values():
                try:
                    proc.wait(timeout=max(0.1, deadline - time.time()))
                except subprocess.TimeoutExpired:
                    proc.kill()
            print("Stopped web, worker and beat.", flush=True)


if __name__ == "__main__":
    main()
