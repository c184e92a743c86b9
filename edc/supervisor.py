"""Keep ``make run``'s processes and servers up: restart what dies, with back-off, and say so.

A crashed worker used to stop the web server too (one process gone, everything stopped). Here each
supervised item is restarted on its own; the others keep running. Restarts back off (1 s, 2 s, 4 s …
up to a ceiling) while an item keeps dying, and start again from the shortest delay once it has
stayed up for a while. Only ``stop()`` (Ctrl-C or SIGTERM in ``edc.run``) ends everything.

An item is anything with ``name``, ``alive()``, ``start()``, ``restart()`` and ``describe_exit()``: a
child process (``Program``) or an embedded server (``edc.embedded.EmbeddedServer``, probed by its pid,
started already when supervision begins).
"""

import logging
import signal
import subprocess
import time
from dataclasses import dataclass, field

logger = logging.getLogger("edc.run")


class Program:
    """A child process started from ``command``."""

    def __init__(self, name: str, command: list[str], *, cwd=None, env=None):
        self.name, self.command, self.cwd, self.env = name, command, cwd, env
        self.process: subprocess.Popen | None = None

    def start(self):
        self.process = subprocess.Popen(self.command, cwd=self.cwd, env=self.env)

    restart = start

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def describe_exit(self) -> str:
        code = self.process.returncode if self.process else None
        if code is not None and code < 0:
            try:
                return f"{self.name} was killed by {signal.Signals(-code).name}"
            except ValueError:
                pass
        return f"{self.name} exited with code {code}"

    def terminate(self):
        if self.alive():
            self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float):
        if self.process is None:
            return
        try:
            self.process.wait(timeout=max(0.1, timeout))
        except subprocess.TimeoutExpired:
            logger.warning("%s did not stop within the grace period; killing it", self.name)
            self.process.kill()
            self.process.wait()


@dataclass
class _State:
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None


@dataclass
class Supervisor:
    items: list
    initial_delay: float = 1.0
    max_delay: float = 30.0
    stable_after: float = 60.0  # up this long: the next crash restarts after initial_delay again
    interval: float = 0.5
    should_stop: object = staticmethod(lambda: False)
    _states: dict = field(default_factory=dict)

    def start(self):
        for item in self.items:
            if not item.alive():
                item.start()
            self._states[item.name] = _State(started_at=time.monotonic())

    def check(self, now: float | None = None) -> None:
        """One round: schedule a restart for each item found dead, restart those that are due."""
        now = time.monotonic() if now is None else now
        for item in self.items:
            state = self._states.setdefault(item.name, _State(started_at=now))
            if state.restart_at is None:
                if item.alive():
                    continue
                if now - state.started_at >= self.stable_after:
                    state.failures = 0
                state.failures += 1
                delay = min(self.max_delay, self.initial_delay * 2 ** (state.failures - 1))
                state.restart_at = now + delay
                logger.warning(
                    "%s; restarting it in %.1f s (failure %d in a row)",
                    item.describe_exit(),
                    delay,
                    state.failures,
                )
            if now >= state.restart_at:
                if self.should_stop():  # Ctrl-C reached the children too: they are not to come back
                    return
                try:
                    item.restart()
                except Exception:  # a failed start is one more failure: try again later
                    logger.exception("%s could not be restarted", item.name)
                    state.started_at, state.restart_at = now, None
                    continue
                state.started_at, state.restart_at = time.monotonic(), None
                logger.warning("%s restarted", item.name)

    def run(self, should_stop) -> None:
        self.should_stop = should_stop
        while not should_stop():
            self.check()
            time.sleep(self.interval)

    def stop(self, grace: float = 15.0) -> None:
        programs = [item for item in self.items if isinstance(item, Program)]
        for program in programs:
            program.terminate()
        deadline = time.monotonic() + grace
        for program in programs:
            program.wait(deadline - time.monotonic())
