import os
import subprocess
import sys
import time

import pytest
from django.test import override_settings
from django.urls import reverse

from tests.conftest import ROOT


def test_health_is_503_when_no_celery_worker_answers(client, db):
    response = client.get(reverse("health"))
    data = response.json()
    assert data["database"] == "ok" and data["redis"] == "ok"
    if data["celery_workers"] == 0:
        assert response.status_code == 503 and data["status"] == "degraded"


def test_health_is_503_when_redis_is_down(client, db):
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
        response = client.get(reverse("health"))
    assert response.status_code == 503
    assert response.json()["redis"].startswith("error")


@pytest.mark.worker
def test_health_is_200_with_database_redis_and_a_running_worker(client, db):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "edc.settings.test"}
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "edc",
            "worker",
            "--pool",
            "solo",
            "-n",
            f"health{os.getpid()}@%h",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 40
        while time.time() < deadline:
            response = client.get(reverse("health"))
            if response.status_code == 200:
                break
            time.sleep(1)
        assert response.status_code == 200, response.json()
        assert response.json()["celery"] == "ok"
    finally:
        worker.terminate()
        worker.wait(timeout=20)
