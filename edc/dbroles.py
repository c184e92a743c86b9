"""Least-privilege database roles: migrations run as the owner, the web, worker and beat as the app role.

Two roles per database, named after it (``<database>_owner``, ``<database>_app``), so that test
databases created in parallel on one cluster never share a role:

- the **owner** owns the database, its schema and every table; it runs ``manage.py migrate``;
- the **app** role (``DATABASE_URL``) is not superuser, not owner, cannot ``TRUNCATE``, and has only
  ``SELECT, INSERT`` on the audit tables (every pghistory event table, ``pghistory_context``), ``SELECT``
  on the hash chain, ``SELECT, INSERT, UPDATE`` on clinical and workflow tables (nothing clinical is
  ever deleted: soft retirement only), and ``DELETE`` only where the application or a library
  legitimately deletes (sessions, login-attempt counters, beat schedules, admin's group/permission
  links). See :func:`table_privileges`.

:func:`ensure_roles` creates both roles on a cluster we administer (the embedded server; the
docker-compose init script does the same in SQL). :func:`harden` runs after every ``migrate``
(``auditchain``'s post_migrate): grants, default privileges, and the changes that keep the triggers
binding for the app role (``pgtrigger.ignore`` honoured only for owner and superusers, the context of
pghistory writable only through its function and only by its own transaction).
"""

from urllib.parse import quote, urlsplit, urlunsplit

from psycopg import sql

OWNER_SUFFIX = "_owner"
APP_SUFFIX = "_app"
# Tables where a delete is part of normal operation; every other table keeps its rows.
DELETABLE_PREFIXES = (
    "django_session",  # logout, expiry
    "axes_",  # a successful login resets the failure counter
    "django_celery_beat_",  # schedules are edited in admin
    "auth_user_groups",  # admin removes a user from a group
    "auth_user_user_permissions",
    "auth_group_permissions",
    "otp_static_statictoken",  # a recovery code is deleted when used
)
# Read-only for the app: migration bookkeeping, the chain (written by a SECURITY DEFINER trigger).
READ_ONLY = ("django_migrations", "auditchain_link")


def role_names(database: str) -> tuple[str, str]:
    """(owner role, app role) for ``database``; PostgreSQL truncates names at 63 bytes."""
    base = database[: 63 - len(OWNER_SUFFIX)]
    return base + OWNER_SUFFIX, base + APP_SUFFIX


def _with_user(url: str, user: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{quote(user)}@{host}"))


def create_role(conn, name: str, *, login: bool = True) -> None:
    """Create ``name`` unless it exists (roles are cluster-wide and never dropped here)."""
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name]).fetchone()
    if exists:
        return
    try:
        conn.execute(
            sql.SQL("CREATE ROLE {} {} NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS").format(
                sql.Identifier(name), sql.SQL("LOGIN" if login else "NOLOGIN")
            )
        )
    except Exception as exc:  # another process created it between the check and here
        if "already exists" not in str(exc):
            raise


def ensure_roles(admin_url: str, database: str, database_url: str) -> tuple[str, str]:
    """Create both roles of ``database`` (as a superuser at ``admin_url``), hand the database and
    everything in its ``public`` schema to the owner; return (owner URL, app URL).

    Idempotent; a database created before the roles existed is adopted (its objects change owner).
    """
    import psycopg

    owner, app = role_names(database)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        create_role(conn, owner)
        create_role(conn, app)
        conn.execute(
            sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(database), sql.Identifier(owner))
        )
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(owner)))
        conn.execute(sql.SQL("SELECT set_config('edc.owner', {}, false)").format(sql.Literal(owner)))
        conn.execute(ADOPT_SQL)
    return _with_user(database_url, owner), _with_user(database_url, app)


# Tables, sequences, views and functions of ``public`` created earlier by another role (a superuser's
# migrate before the roles existed) pass to the owner; identity sequences follow their tables.
ADOPT_SQL = """
DO $$
DECLARE r record; _owner text := current_setting('edc.owner');
BEGIN
    FOR r IN SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm')
                AND pg_get_userbyid(c.relowner) <> _owner LOOP
        EXECUTE format('ALTER TABLE public.%I OWNER TO %I', r.relname, _owner);
    END LOOP;
    FOR r IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'public' AND c.relkind = 'S' AND pg_get_userbyid(c.relowner) <> _owner
                AND NOT EXISTS (SELECT 1 FROM pg_depend d
                                 WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')) LOOP
        EXECUTE format('ALTER SEQUENCE public.%I OWNER TO %I', r.relname, _owner);
    END LOOP;
    FOR r IN SELECT p.oid::regprocedure AS sig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
              WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> _owner LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO %I', r.sig, _owner);
    END LOOP;
END $$;
"""


def owner_url_for_migrate(environ) -> None:
    """``manage.py migrate`` runs as the owner: ``DATABASE_OWNER_URL`` replaces ``DATABASE_URL``."""
    owner = environ.get("DATABASE_OWNER_URL")
    if owner:
        environ["DATABASE_URL"] = owner


# --- after every migrate ---------------------------------------------------------------------------

# pgtrigger's triggers skip themselves when their name is in the session setting ``pgtrigger.ignore``,
# which any role can set. Honoured here only for superusers and members of this function's owner (the
# role that migrates, who can drop the trigger anyway); for the app role the audit, append-only,
# no-delete and lock triggers always run. The common case (nothing listed) costs what it cost before.
# pgtrigger re-creates this function with every trigger it installs; post_migrate puts it back.
SHOULD_IGNORE_SQL = """
CREATE OR REPLACE FUNCTION "public"._pgtrigger_should_ignore(trigger_name NAME)
RETURNS BOOLEAN AS $$
    DECLARE
        _pgtrigger_ignore TEXT[];
    BEGIN
        BEGIN
            SELECT INTO _pgtrigger_ignore CURRENT_SETTING('pgtrigger.ignore');
            EXCEPTION WHEN OTHERS THEN
        END;
        IF _pgtrigger_ignore IS NULL OR NOT (trigger_name = ANY(_pgtrigger_ignore)) THEN
            RETURN FALSE;
        END IF;
        RETURN EXISTS (
            SELECT 1 FROM pg_roles r
             WHERE r.rolname = current_user
               AND (r.rolsuper OR pg_has_role(current_user, (
                    SELECT p.proowner FROM pg_proc p
                     WHERE p.oid = '"public"._pgtrigger_should_ignore(name)'::regprocedure), 'MEMBER')));
    END;
$$ LANGUAGE plpgsql;
"""

# pghistory's context (who, why) is upserted by ``_pgh_attach_context()`` from the transaction's
# settings. It runs as its owner, so the app role needs no UPDATE on the table; and a context may only
# be changed by the transaction that created it, so nobody (app, owner, the function itself) can
# rewrite who did an earlier change or delete it. Plain triggers: no setting switches them off.
CONTEXT_SQL = """
ALTER FUNCTION public._pgh_attach_context() SECURITY DEFINER SET search_path = public, pg_temp;
CREATE OR REPLACE FUNCTION public.edc_context_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'pghistory_context is append-only: a context cannot be deleted';
    END IF;
    IF OLD.created_at <> now() OR NEW.id <> OLD.id OR NEW.created_at <> OLD.created_at THEN
        RAISE EXCEPTION 'pghistory_context is append-only: % was recorded by an earlier transaction', OLD.id;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS edc_context_guard ON public.pghistory_context;
CREATE TRIGGER edc_context_guard BEFORE UPDATE OR DELETE ON public.pghistory_context
    FOR EACH ROW EXECUTE FUNCTION public.edc_context_guard();
"""


def table_privileges(table: str, audit_tables: set[str]) -> list[str]:
    """What the app role may do on ``table`` (never TRUNCATE, REFERENCES or TRIGGER)."""
    if table in READ_ONLY:
        return ["SELECT"]
    if table in audit_tables:
        return ["SELECT", "INSERT"]
    if table.startswith(DELETABLE_PREFIXES):
        return ["SELECT", "INSERT", "UPDATE", "DELETE"]
    return ["SELECT", "INSERT", "UPDATE"]


def app_role_of(connection) -> str:
    return role_names(connection.settings_dict["NAME"])[1]


def harden(connection, audit_tables: set[str]) -> str | None:
    """Run after ``migrate``: make the app role's privileges and the triggers' rules what this module
    describes. Creates the app role when the migrating role may (superuser: tests, a bare cluster);
    otherwise it must exist (docker-compose's init script). Returns the app role, or None if absent."""
    app = app_role_of(connection)
    with connection.cursor() as cursor:
        cursor.execute(SHOULD_IGNORE_SQL)
        cursor.execute(CONTEXT_SQL)
        cursor.execute("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user")
        can_create = cursor.fetchone()[0]
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [app])
        if not cursor.fetchone():
            if not can_create:
                return None
            create_role(cursor, app)
        role = sql.Identifier(app)
        statements = [
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(connection.settings_dict["NAME"]), role
            ),
            sql.SQL("REVOKE CREATE ON SCHEMA public FROM PUBLIC"),
            sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(role),
            sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {}").format(role),
            sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(role),
            # Tables of later migrations are usable before the next post_migrate narrows them.
            sql.SQL(
                "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE ON TABLES TO {}"
            ).format(role),
            sql.SQL(
                "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {}"
            ).format(role),
        ]
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v') ORDER BY 1"
        )
        for (table,) in cursor.fetchall():
            privileges = sql.SQL(", ").join(sql.SQL(p) for p in table_privileges(table, audit_tables))
            statements.append(
                sql.SQL("GRANT {} ON TABLE {} TO {}").format(
                    privileges, sql.Identifier("public", table), role
                )
            )
        cursor.execute(sql.SQL(";\n").join(statements).as_string(cursor.connection))
    return app
