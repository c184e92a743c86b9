"""docker-compose: web, worker and beat log in as the app role, a one-shot ``migrate`` service as the
owner, and the postgres container's init script creates both roles (parsed: no Docker engine here)."""

import re
from pathlib import Path
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def database_user(service: str) -> str:
    # Compose substitutes ${VAR:?message} from .env; any value will do to read the user.
    url = re.sub(r"\$\{[^}]*\}", "secret", SERVICES[service]["environment"]["DATABASE_URL"])
    return urlsplit(url).username


def test_web_worker_and_beat_use_the_app_role_and_never_migrate():
    assert {name: database_user(name) for name in ("web", "worker", "beat")} == dict.fromkeys(
        ("web", "worker", "beat"), "edc_app"
    )
    assert all("migrate" not in " ".join(SERVICES[name]["command"]) for name in ("web", "worker", "beat"))


def test_a_one_shot_migrate_service_uses_the_owner_and_runs_first():
    assert database_user("migrate") == "edc_owner"
    assert SERVICES["migrate"]["command"][-3:] == ["manage.py", "migrate", "--no-input"]
    assert SERVICES["migrate"]["restart"] == "no"
    for name in ("web", "worker", "beat"):
        assert SERVICES[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}


def test_the_postgres_init_script_is_mounted_and_creates_both_roles_without_superuser():
    postgres = SERVICES["postgres"]
    mounts = [v.split(":") for v in postgres["volumes"]]
    init = next(source for source, target, *_ in mounts if target == "/docker-entrypoint-initdb.d")
    scripts = sorted((ROOT / init).iterdir())
    text = "\n".join(s.read_text() for s in scripts)
    assert "CREATE ROLE edc_owner LOGIN NOSUPERUSER" in text
    assert "CREATE ROLE edc_app LOGIN NOSUPERUSER" in text
    assert "ALTER DATABASE edc OWNER TO edc_owner" in text
    assert "ALTER DEFAULT PRIVILEGES FOR ROLE edc_owner" in text
    assert postgres["environment"]["POSTGRES_USER"] not in {"edc_app", "edc_owner"}
