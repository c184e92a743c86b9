"""A real Celery worker (prefork, real Redis, the test database) killed with SIGKILL in the middle of an
export: the stale check finds the silent job, removes the dead attempt's files and runs it again on
another worker; the final zip is complete and its manifest's hashes match its files."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

from exports import services
from exports.models import ExportJob, ExportStatus
from exports.options import ExportOptions
from tests.conftest import ROOT
from tests.exports.factories import history_in_english, infused_participant
from tests.notifications.factories import database_url

pytestmark = pytest.mark.worker

HEARTBEAT_SECONDS = 0.5
STALE_SECONDS = 4


class Worker:
    def __init__(self, name: str, log_dir: Path, *, queue: str, export_root: Path, linger: float = 0):
        self.log_path = log_dir / f"{name}.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "edc.settings.dev",
            "DATABASE_URL": database_url(connection),
            "REDIS_URL": settings.REDIS_URL,
            "EXPORT_ROOT": str(export_root),
            "EXPORT_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS),
            "PYTHONPATH": str(ROOT),
            "EDC_TEST_EXPORT_LINGER": str(linger),
        }
        entry = [str(ROOT / "tests" / "exports" / "slow_worker.py")] if linger else ["-m", "celery"]
        command = [
            sys.executable, *entry, "-A", "edc", "worker", "--pool", "prefork", "-c", "1", "-Q", queue,
            "-n", f"{name}-{os.getpid()}@%h", "--loglevel", "INFO",
            "--without-heartbeat", "--without-gossip", "--without-mingle",
        ]  # fmt: skip
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def log(self) -> str:
        return self.log_path.read_text()

    def wait_for_log(self, text: str, timeout: float = 60):
        wait_until(lambda: text in self.log(), timeout, f"no {text!r} in the log:\n{self.log()}", self)

    def kill(self):
        """SIGKILL the whole worker, pool children included: no shutdown, no acknowledgement."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_until(condition, timeout: float, message: str, worker: Worker | None = None):
    deadline = time.monotonic() + timeout
    while not condition():
        if worker is not None:
            assert worker.process.poll() is None, worker.log()
        assert time.monotonic() < deadline, message
        time.sleep(0.2)


@pytest.fixture
def queue(settings):
    """A queue of this test's own on this test run's Redis database, emptied afterwards."""
    name = f"exports-test-{os.getpid()}"
    settings.EXPORT_CELERY_QUEUE = name
    client = redis.Redis.from_url(settings.REDIS_URL)
    yield name
    client.flushdb()  # the killed worker's unacknowledged message included


@pytest.fixture
def workers(tmp_path):
    started = []

    def start(name, **options) -> Worker:
        worker = Worker(name, tmp_path, **options)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def test_an_export_whose_worker_was_killed_is_run_again_and_its_zip_is_complete(
    transactional_db, settings, export_root, queue, workers, sponsor_admin, study, coordinator, site_yc
):
    settings.EXPORT_STALE_SECONDS = STALE_SECONDS
    infused_participant(coordinator, site_yc)
    first = workers("slow", queue=queue, export_root=export_root, linger=120)
    first.wait_for_log("ready.")

    job = services.request_export(
        user=sponsor_admin, options=ExportOptions(study_id=study.pk, formats=("csv", "audit"))
    )
    attempt_1 = services.export_directory(job) / "attempt-1"
    wait_until(lambda: any(attempt_1.glob("files/csv/*.csv")), 60, "the worker wrote no file", first)
    partial = [p for p in attempt_1.rglob("*") if p.is_file()]
    assert ExportJob.objects.get(pk=job.pk).status == ExportStatus.RUNNING
    first.kill()

    second = workers("second", queue=queue, export_root=export_root)
    second.wait_for_log("ready.")
    killed_at = time.monotonic()
    outcomes = []

    def beat_until_done():  # beat's every-minute check, compressed to a few seconds
        outcomes.append(services.recover_stale_exports())
        return ExportJob.objects.get(pk=job.pk).status not in (ExportStatus.QUEUED, ExportStatus.RUNNING)

    wait_until(beat_until_done, 90, "the killed export never ended", second)
    assert time.monotonic() - killed_at < 60

    job.refresh_from_db()
    assert (job.status, job.attempt) == (ExportStatus.DONE, 2), job.error
    assert sum(o["rerun"] for o in outcomes) == 1 and sum(o["failed"] for o in outcomes) == 0
    assert not any(p.exists() for p in partial)
    # The worker removes its working folder right after the commit that marks the job done.
    wait_until(
        lambda: [p.name for p in services.export_directory(job).iterdir()] == [Path(job.zip_path).name],
        15,
        "the attempt's working folder was left behind",
        second,
    )

    with zipfile.ZipFile(job.zip_path) as archive:
        assert archive.testzip() is None
        listed = json.loads(archive.read("manifest.json"))["files"]
        assert {f["name"] for f in listed} | {"manifest.json", "manifest.txt"} == set(archive.namelist())
        for entry in listed:
            content = archive.read(entry["name"])
            assert (hashlib.sha256(content).hexdigest(), len(content)) == (entry["sha256"], entry["bytes"])
    assert listed == job.files and "csv/participants_wide.csv" in {f["name"] for f in listed}
    assert hashlib.sha256(Path(job.zip_path).read_bytes()).hexdigest() == job.zip_sha256

    history = [(e["username"], e["label"]) for e in history_in_english([job])[job.pk]]
    assert history == [
        ("sponsoradmin", "Queued"),
        ("sponsoradmin", "Running (attempt 1)"),
        ("system", "Worker stopped giving signs of life: queued again as attempt 2"),
        ("sponsoradmin", "Running (attempt 2)"),
        ("sponsoradmin", "Succeeded"),
    ]
