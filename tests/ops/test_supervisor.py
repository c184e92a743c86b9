"""The supervisor of ``make run`` restarts a process that dies, with back-off, and keeps the others up
(issue 14): real child processes, killed with SIGKILL."""

import logging
import os
import signal
import sys
import time

import pytest

from edc.supervisor import Program, Supervisor

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]
CRASHER = [sys.executable, "-c", "raise SystemExit(3)"]


def wait_until(condition, timeout=10.0, *, tick=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if tick:
            tick()
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def supervise():
    started = []

    def make(*programs, **options):
        supervisor = Supervisor(list(programs), **options)
        supervisor.start()
        started.append(supervisor)
        return supervisor

    yield make
    for supervisor in started:
        supervisor.stop(grace=5)


def test_a_killed_worker_is_restarted_and_the_web_server_keeps_running(supervise, caplog):
    caplog.set_level(logging.WARNING, logger="edc.run")
    web, worker = Program("web", SLEEPER), Program("worker", SLEEPER)
    supervisor = supervise(web, worker, initial_delay=0.1)
    web_pid, worker_pid = web.pid, worker.pid
    os.kill(worker_pid, signal.SIGKILL)
    assert wait_until(lambda: worker.alive() and worker.pid != worker_pid, tick=supervisor.check)
    assert web.alive() and web.pid == web_pid
    assert "worker was killed by SIGKILL; restarting it in 0.1 s" in caplog.text
    assert "worker restarted" in caplog.text


def test_a_process_that_keeps_crashing_is_restarted_with_growing_delays(supervise, caplog):
    caplog.set_level(logging.WARNING, logger="edc.run")
    crasher = Program("beat", CRASHER)
    supervisor = supervise(crasher, initial_delay=0.1, max_delay=0.4)
    starts = []
    deadline = time.monotonic() + 10
    last_pid = None
    while len(starts) < 5 and time.monotonic() < deadline:
        supervisor.check()
        if crasher.pid != last_pid:
            starts.append(time.monotonic())
            last_pid = crasher.pid
        time.sleep(0.01)
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert len(gaps) == 4, gaps
    assert gaps[0] >= 0.1 and gaps[1] >= 0.2 and gaps[2] >= 0.4 and gaps[3] >= 0.4
    assert gaps[3] < 0.4 + 0.5  # capped at max_delay (plus the time the child takes to crash)
    assert "beat exited with code 3; restarting it in 0.4 s (failure 4 in a row)" in caplog.text


def test_a_process_that_stayed_up_long_enough_restarts_after_the_shortest_delay(supervise, caplog):
    caplog.set_level(logging.WARNING, logger="edc.run")
    worker = Program("worker", SLEEPER)
    supervisor = supervise(worker, initial_delay=0.1, max_delay=5, stable_after=0.5)
    for _ in range(2):
        time.sleep(0.6)
        pid = worker.pid
        os.kill(pid, signal.SIGKILL)
        assert wait_until(lambda pid=pid: worker.alive() and worker.pid != pid, tick=supervisor.check)
    assert "failure 2 in a row" not in caplog.text


def test_no_restart_once_stopping(supervise):
    worker = Program("worker", SLEEPER)
    supervisor = supervise(worker, initial_delay=0)
    supervisor.should_stop = lambda: True
    os.kill(worker.pid, signal.SIGKILL)
    worker.process.wait()
    supervisor.check()
    assert not worker.alive()


def test_stop_ends_every_process(supervise):
    programs = [Program(name, SLEEPER) for name in ("web", "worker", "beat")]
    supervisor = supervise(*programs)
    supervisor.stop(grace=5)
    assert not any(program.alive() for program in programs)
    assert all(program.process.returncode == -signal.SIGTERM for program in programs)


class FakeServer:
    """Stands for an embedded server: ``alive`` is its probe, ``restart`` starts it again."""

    name = "Redis"

    def __init__(self):
        self.up, self.restarts = True, 0

    def alive(self):
        return self.up

    def start(self):
        raise AssertionError("a running server is not started again")

    def restart(self):
        self.up, self.restarts = True, self.restarts + 1

    def describe_exit(self):
        return "Redis is not running"


def test_a_dead_embedded_server_is_restarted_and_a_live_one_left_alone(supervise, caplog):
    caplog.set_level(logging.WARNING, logger="edc.run")
    server = FakeServer()
    supervisor = supervise(server, initial_delay=0)
    supervisor.check()
    assert server.restarts == 0
    server.up = False
    supervisor.check()
    assert server.restarts == 1 and "Redis is not running; restarting it" in caplog.text
