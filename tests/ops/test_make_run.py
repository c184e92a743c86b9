"""The real ``python -m edc.run`` (``make run``) in a temporary var folder (issues 14 and 20).

Slow (it migrates and seeds, about a minute): select with ``-m embedded``, leave out with
``-m "not embedded"``. The tests share one running instance and run in file order; the last one
stops it with Ctrl-C.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import psutil
import pytest

from edc import embedded
from tests.ops.embedded_helpers import ROOT, entry_env, manage, postgres_answers, redis_answers, wait_for

pytestmark = pytest.mark.embedded


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MakeRun:
    def __init__(self, var_dir):
        self.var_dir = var_dir
        self.port = free_port()
        self.log_path = var_dir.parent / "make-run.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "edc.run"],
            cwd=ROOT,
            env=entry_env(var_dir, EDC_PORT=str(self.port), PYTHONUNBUFFERED="1"),
            stdout=self.log_path.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def health(self) -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health/", timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")
        except (OSError, ValueError):
            return 0, {}

    def healthy(self) -> bool:
        return self.health()[0] == 200

    def child(self, *words) -> psutil.Process:
        for child in psutil.Process(self.process.pid).children():
            if all(word in " ".join(child.cmdline()) for word in words):
                return child
        raise LookupError(words)


@pytest.fixture(scope="module")
def make_run(tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("makerun") / "var"
    running = MakeRun(var_dir)
    try:
        assert wait_for(lambda: running.healthy() or running.process.poll() is not None, 600, 2)
        assert running.healthy(), (running.health(), running.log()[-3000:])
        yield running
    finally:
        if running.process.poll() is None:
            running.process.send_signal(signal.SIGINT)
            try:
                running.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(running.process.pid, signal.SIGKILL)
        for name, server in (("pgdata", embedded.EmbeddedPostgres), ("redis.db", embedded.EmbeddedRedis)):
            server(var_dir / name).stop()


def test_commands_run_beside_make_run_leave_its_servers_running(make_run):
    manage(make_run.var_dir, "check")
    manage(make_run.var_dir, "reminders", "--dry-run")
    manage(make_run.var_dir, "shell", "-c", "pass")
    assert postgres_answers(make_run.var_dir) and redis_answers(make_run.var_dir)
    assert wait_for(make_run.healthy, 30), make_run.health()


def test_a_killed_worker_is_restarted_and_the_web_server_stays_up(make_run):
    worker = make_run.child("celery", "worker")
    web = make_run.child("runserver")
    worker.kill()
    assert wait_for(lambda: "worker was killed by SIGKILL" in make_run.log(), 10)
    assert wait_for(make_run.healthy, 90), (make_run.health(), make_run.log()[-3000:])
    assert make_run.child("celery", "worker").pid != worker.pid
    assert make_run.child("runserver").pid == web.pid


def test_a_killed_embedded_redis_is_back_with_health_200_within_30_seconds(make_run):
    pid = embedded.redis_pid(make_run.var_dir / "redis.db")
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: make_run.health()[0] == 503, 10)  # noticed as down first
    assert wait_for(make_run.healthy, 30), (make_run.health(), make_run.log()[-3000:])
    assert embedded.redis_pid(make_run.var_dir / "redis.db") != pid
    assert "Redis is not running; restarting it" in make_run.log()


def test_a_second_make_run_on_the_same_folder_refuses(make_run):
    second = subprocess.run(
        [sys.executable, "-m", "edc.run"],
        cwd=ROOT,
        env=entry_env(make_run.var_dir, EDC_PORT=str(free_port())),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 1
    assert (
        f"`make run` is already running for {make_run.var_dir} (pid {make_run.process.pid}" in second.stderr
    )
    assert make_run.healthy()


def test_ctrl_c_stops_the_processes_and_the_servers(make_run):
    children = psutil.Process(make_run.process.pid).children(recursive=True)
    make_run.process.send_signal(signal.SIGINT)
    assert make_run.process.wait(timeout=60) == 0
    psutil.wait_procs(children, timeout=20)
    assert not [child for child in children if child.is_running() and child.status() != "zombie"]
    assert not postgres_answers(make_run.var_dir) and not redis_answers(make_run.var_dir)
