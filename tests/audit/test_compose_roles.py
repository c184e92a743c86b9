"""docker-compose: web, worker and beat log in as the app role, a one-shot ``migrate`` service as the
owner (the only service given the owner's URL), every long-running service waits for healthy
dependencies, and the postgres container's init script creates both roles.

Each check runs on the file as parsed and, where Docker's compose plugin exists, on what
``docker compose config`` resolves (anchors merged, variables substituted).
"""

import json
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

pytestmark = pytest.mark.production

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
APP_SERVICES = ("web", "worker", "beat")
# Values for the variables the file requires (``${VAR:?message}``), as an operator's .env gives them.
DOT_ENV = {
    "SECRET_KEY": "s" * 64,
    "ALLOWED_HOSTS": "edc.example.org",
    "POSTGRES_PASSWORD": "superuser-secret",
    "EDC_OWNER_PASSWORD": "owner-secret",
    "EDC_APP_PASSWORD": "app-secret",
}


def parsed_file() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def docker_compose_config(tmp_path: Path) -> dict:
    if shutil.which("docker") is None:
        pytest.skip("no docker command on this machine")
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("docker has no compose plugin on this machine")
    shutil.copy(COMPOSE_FILE, tmp_path / "docker-compose.yml")
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in DOT_ENV.items()))
    result = subprocess.run(
        ["docker", "compose", "config", "--format", "json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(params=["file", "docker compose config"])
def compose(request, tmp_path) -> dict:
    return parsed_file() if request.param == "file" else docker_compose_config(tmp_path)


def database_user(services: dict, service: str, variable: str = "DATABASE_URL") -> str:
    # Compose substitutes ${VAR:?message} from .env; any value will do to read the user.
    url = re.sub(r"\$\{[^}]*\}", "secret", services[service]["environment"][variable])
    return urlsplit(url).username


def command(services: dict, service: str) -> str:
    value = services[service]["command"]
    return value if isinstance(value, str) else " ".join(value)


def test_the_six_services_with_their_images_and_settings(compose):
    services = compose["services"]
    assert set(services) == {"web", "worker", "beat", "postgres", "redis", "migrate"}
    # gunicorn with its configuration file (threads sized by a rule, edc/gunicorn.conf.py), nothing else
    assert command(services, "web") == "gunicorn -c edc/gunicorn.conf.py edc.wsgi:application"
    assert command(services, "worker").startswith("celery -A edc worker")
    assert command(services, "beat").startswith("celery -A edc beat")
    assert "DatabaseScheduler" in command(services, "beat")
    assert int(services["postgres"]["image"].split(":")[1]) >= 16
    assert services["redis"]["image"].startswith("redis:7")
    assert {"pgdata", "redisdata", "exports"} <= set(compose["volumes"])
    for name in (*APP_SERVICES, "migrate"):
        assert services[name]["environment"]["DJANGO_SETTINGS_MODULE"] == "edc.settings.production"


def test_web_worker_and_beat_use_the_app_role_and_never_migrate(compose):
    services = compose["services"]
    assert {name: database_user(services, name) for name in APP_SERVICES} == dict.fromkeys(
        APP_SERVICES, "edc_app"
    )
    for name in APP_SERVICES:
        assert "migrate" not in command(services, name)
        assert "DATABASE_OWNER_URL" not in services[name]["environment"]


def test_only_the_one_shot_migrate_service_is_given_the_owner_role(compose):
    services = compose["services"]
    with_owner = {
        name for name, service in services.items() if "DATABASE_OWNER_URL" in service.get("environment", {})
    }
    assert with_owner == {"migrate"}
    assert database_user(services, "migrate", "DATABASE_OWNER_URL") == "edc_owner"
    assert database_user(services, "migrate") == "edc_app"
    assert command(services, "migrate").endswith("manage.py migrate --no-input")
    assert services["migrate"]["restart"] == "no"


def test_web_worker_and_beat_start_after_healthy_servers_and_a_finished_migration(compose):
    services = compose["services"]
    for name in APP_SERVICES:
        conditions = {dep: spec["condition"] for dep, spec in services[name]["depends_on"].items()}
        assert conditions == {
            "postgres": "service_healthy",
            "redis": "service_healthy",
            "migrate": "service_completed_successfully",
        }, name
    migrate_after = {dep: spec["condition"] for dep, spec in services["migrate"]["depends_on"].items()}
    assert migrate_after == {"postgres": "service_healthy"}


def test_long_running_services_have_health_checks(compose):
    services = compose["services"]
    # beat has no probe of its own: a stopped beat shows on /health/ as reminders and the audit
    # verification no longer running; migrate is a one-shot.
    for name in ("web", "worker", "postgres", "redis"):
        check = services[name]["healthcheck"]
        assert check["test"] and check["retries"] >= 1 and check["interval"], name
    assert "/health/" in " ".join(services["web"]["healthcheck"]["test"])
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    for name in (*APP_SERVICES, "postgres", "redis"):
        assert services[name]["restart"] == "unless-stopped", name


def test_web_replicas_only_serve_static_files_are_built_into_the_image(compose):
    """Several web replicas must not each migrate or collect static files at start."""
    assert "collectstatic" not in command(compose["services"], "web")
    dockerfile = (ROOT / "Dockerfile").read_text()
    build = next(line for line in dockerfile.split("RUN ") if "collectstatic" in line)
    assert "DJANGO_SETTINGS_MODULE=edc.settings.production" in build


def test_the_postgres_init_script_is_mounted_and_creates_both_roles_without_superuser():
    postgres = parsed_file()["services"]["postgres"]
    mounts = [v.split(":") for v in postgres["volumes"]]
    init = next(source for source, target, *_ in mounts if target == "/docker-entrypoint-initdb.d")
    scripts = sorted((ROOT / init).iterdir())
    text = "\n".join(s.read_text() for s in scripts)
    assert "CREATE ROLE edc_owner LOGIN NOSUPERUSER" in text
    assert "CREATE ROLE edc_app LOGIN NOSUPERUSER" in text
    assert "ALTER DATABASE edc OWNER TO edc_owner" in text
    assert "ALTER DEFAULT PRIVILEGES FOR ROLE edc_owner" in text
    assert postgres["environment"]["POSTGRES_USER"] not in {"edc_app", "edc_owner"}


def test_the_image_has_the_postgres_client_of_the_database_service_for_backups(compose):
    """``manage.py backup``/``restore`` use pg_dump/pg_restore of the server's major version (edc.backup)."""
    major = compose["services"]["postgres"]["image"].split(":")[1].split(".")[0]
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"ARG POSTGRES_MAJOR={major}\n" in dockerfile
    assert "postgresql-client-${POSTGRES_MAJOR}" in dockerfile
    assert "exports:/app/var/exports" in compose_volumes(compose["services"]["migrate"])


def compose_volumes(service: dict) -> list[str]:
    """Volumes as ``source:target`` whatever the form (short in the file, long in compose config)."""
    return [v if isinstance(v, str) else f"{v['source']}:{v['target']}" for v in service.get("volumes", [])]
