"""Run the app's entry points against a temporary var folder, as a user's terminal would."""

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import redis

from edc import embedded

ROOT = Path(__file__).resolve().parent.parent.parent


def entry_env(var_dir: Path, **extra) -> dict:
    """The environment of a terminal without DATABASE_URL/REDIS_URL: the embedded servers are used."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(EDC_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="edc.settings.dev", **extra)
    return env


def manage(var_dir: Path, *args, timeout=180) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=entry_env(var_dir),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, (args, result.stdout[-2000:], result.stderr[-2000:])
    return result


def postgres_answers(var_dir: Path) -> bool:
    pid = embedded.postgres_pid(var_dir / "pgdata")
    if not embedded.pid_alive(pid):
        return False
    lines = (var_dir / "pgdata" / "postmaster.pid").read_text().splitlines()
    try:
        with psycopg.connect(
            host=lines[4], port=lines[3], user="postgres", dbname="postgres", connect_timeout=3
        ):
            return True
    except psycopg.Error:
        return False


def redis_answers(var_dir: Path) -> bool:
    try:
        client = redis.Redis(
            unix_socket_path=str(embedded.redis_socket(var_dir / "redis.db")), socket_timeout=2
        )
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False


def wait_for(condition, timeout: float, interval: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()
