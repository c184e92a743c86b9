"""Whoever starts an embedded server stops it; a command that only attached leaves it running
(issue 20). Real embedded PostgreSQL and Redis in a temporary var folder."""

import os
import signal
import subprocess
import sys
import time

import pytest

from edc import embedded
from tests.ops.embedded_helpers import ROOT, entry_env, manage, postgres_answers, redis_answers, wait_for

pytestmark = pytest.mark.embedded

HOLDER = """
import signal, sys, time
from edc import embedded
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
with embedded.services(claim={claim}):
    print("up", flush=True)
    time.sleep(600)
"""


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("var")
    yield path
    for name, server in (("pgdata", embedded.EmbeddedPostgres), ("redis.db", embedded.EmbeddedRedis)):
        server(path / name).stop()  # whatever a failed test left running


def hold(var_dir, *, claim=True) -> subprocess.Popen:
    """A process that uses the servers the way ``make run`` does, until SIGTERM."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER.format(claim=claim)],
        cwd=ROOT,
        env=entry_env(var_dir),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "up"
    return holder


def end(process):
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0


def test_commands_beside_the_owner_leave_both_servers_running(var_dir):
    holder = hold(var_dir)
    try:
        manage(var_dir, "check")
        manage(var_dir, "shell", "-c", "pass")
        assert postgres_answers(var_dir) and redis_answers(var_dir)
    finally:
        end(holder)
    assert not postgres_answers(var_dir) and not redis_answers(var_dir)  # the owner stopped them


def test_a_command_alone_starts_the_servers_and_stops_them_at_the_end(var_dir):
    assert not postgres_answers(var_dir) and not redis_answers(var_dir)
    result = manage(var_dir, "shell", "-c", "import os; print(os.environ['REDIS_URL'])")
    assert str(embedded.redis_socket(var_dir / "redis.db")) in result.stdout
    assert not postgres_answers(var_dir) and not redis_answers(var_dir)


def test_an_owner_leaving_first_hands_the_servers_to_a_command_still_using_them(var_dir):
    starter = hold(var_dir, claim=False)  # e.g. a `manage.py shell` opened first
    command = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "shell", "-c", "import time; time.sleep(6)"],
        cwd=ROOT,
        env=entry_env(var_dir),
    )
    time.sleep(3)  # the command has attached
    end(starter)
    assert postgres_answers(var_dir) and redis_answers(var_dir)
    assert command.wait(timeout=60) == 0
    assert not postgres_answers(var_dir) and not redis_answers(var_dir)


def test_servers_whose_owner_died_are_adopted_and_stopped_by_the_next_command(var_dir):
    holder = hold(var_dir)
    holder.kill()  # SIGKILL: no clean-up; the servers are orphans
    holder.wait()
    assert postgres_answers(var_dir) and redis_answers(var_dir)
    manage(var_dir, "check")
    assert not postgres_answers(var_dir) and not redis_answers(var_dir)


def test_a_second_make_run_on_the_same_folder_refuses_with_a_clear_message(tmp_path):
    with embedded.run_lock(tmp_path):
        result = subprocess.run(
            [sys.executable, "-m", "edc.run"],
            cwd=ROOT,
            env=entry_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert "`make run` is already running for" in result.stderr and str(tmp_path) in result.stderr
    assert not (tmp_path / "pgdata").exists()  # refused before touching any server


def test_a_lock_left_by_a_dead_make_run_is_taken_over(tmp_path):
    (tmp_path / "run.lock").write_text("999999\n")
    with embedded.run_lock(tmp_path) as lock:
        assert lock.read_text().strip() == str(os.getpid())
    with embedded.run_lock(tmp_path), pytest.raises(embedded.AlreadyRunning, match=f"pid {os.getpid()}"):
        embedded.run_lock(tmp_path).__enter__()


def test_a_killed_embedded_redis_is_restarted_by_the_supervisor_at_the_same_address(tmp_path):
    from edc.supervisor import Supervisor

    server = embedded.EmbeddedRedis(tmp_path / "redis.db")
    url = server.acquire(claim=True)
    try:
        supervisor = Supervisor([server], initial_delay=0)
        supervisor.start()
        old = server.pid()
        os.kill(old, signal.SIGKILL)
        assert wait_for(lambda: (supervisor.check() or True) and redis_answers(tmp_path), 10, 0.1)
        assert server.pid() != old and server.url() == url
    finally:
        server.release()
    assert not redis_answers(tmp_path)


def test_a_killed_embedded_postgres_is_restarted_by_the_supervisor_at_the_same_address(tmp_path):
    from edc.supervisor import Supervisor

    server = embedded.EmbeddedPostgres(tmp_path / "pgdata")
    url = server.acquire(claim=True)
    try:
        supervisor = Supervisor([server], initial_delay=0.5)
        supervisor.start()
        old = server.pid()
        os.kill(old, signal.SIGKILL)
        # A first start may fail while the killed server's processes linger: the next one succeeds.
        assert wait_for(lambda: (supervisor.check() or True) and postgres_answers(tmp_path), 60, 0.5)
        assert server.pid() != old and server.url() == url
    finally:
        server.release()
    assert not postgres_answers(tmp_path)
