import os
import subprocess
import sys

from tests.conftest import ROOT

NOT_INHERITED = {"DJANGO_ALLOW_ASYNC_UNSAFE"}
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "edc.settings.production",
    "SECRET_KEY": "x" * 64 + "-production-like-secret-for-the-check",
    "DATABASE_URL": "postgres://edc:pw@db.invalid:5432/edc",
    "REDIS_URL": "redis://redis.invalid:6379/0",
    "ALLOWED_HOSTS": "edc.example.org",
}


def run_manage(env, *args):
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV and k not in NOT_INHERITED}
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**clean, **env},
        timeout=120,
    )


def test_production_settings_pass_check_deploy_with_no_warnings():
    result = run_manage(PRODUCTION_ENV, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_each_required_variable():
    for missing in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS"):
        env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
        # manage.py would start embedded services for missing URLs; import the settings directly instead.
        code = "import django; django.setup()"
        clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV and k not in NOT_INHERITED}
        result = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**clean, **env},
            timeout=60,
        )
        assert result.returncode != 0, missing
        assert missing in result.stderr, (missing, result.stderr[-500:])
