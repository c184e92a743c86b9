"""Every environment variable the code reads is in the README's configuration table, and the table
names no variable that nothing reads any more.

Read from the source: ``env("X")``/``env.bool("X")``… (django-environ), ``os.environ["X"]``,
``os.environ.get("X")``/``setdefault``/``pop``, ``os.getenv("X")``, an ``environ.get("X")`` on a passed
environment, and ``${X}`` in ``docker-compose.yml``. The test suite's own switches (``tests/``) are not
configuration and are left out.
"""

import re
from pathlib import Path

from tests.conftest import ROOT

NAME = r"""["']([A-Z][A-Z0-9_]*)["']"""
READS = [
    re.compile(rf"\benv(?:\.\w+)?\(\s*{NAME}"),
    re.compile(rf"\benviron(?:\.get|\.setdefault|\.pop)?\(\s*{NAME}"),
    re.compile(rf"\benviron\[\s*{NAME}\s*\]"),
    re.compile(rf"\bos\.getenv\(\s*{NAME}"),
]
COMPOSE_VARIABLE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)")
SKIPPED = {".venv", "var", "tests", "node_modules", ".git"}


def python_sources() -> list[Path]:
    return sorted(
        p
        for p in ROOT.rglob("*.py")
        if not SKIPPED.intersection(p.relative_to(ROOT).parts) and "__pycache__" not in p.parts
    )


def variables_read(text: str) -> set[str]:
    return {match for pattern in READS for match in pattern.findall(text)}


def variables_in_code() -> dict[str, str]:
    """Variable -> the first file that reads it."""
    found = {}
    for path in python_sources():
        for name in variables_read(path.read_text()):
            found.setdefault(name, path.relative_to(ROOT).as_posix())
    for name in COMPOSE_VARIABLE.findall((ROOT / "docker-compose.yml").read_text()):
        found.setdefault(name, "docker-compose.yml")
    return found


def documented() -> set[str]:
    """Variables in the first column of the tables of the README's *Configuration* section."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    names = set()
    for line in section.splitlines():
        if line.startswith("|"):
            first = line.split("|")[1]
            names |= set(re.findall(r"`([A-Z][A-Z0-9_]*)`", first))
    return names


def test_every_variable_the_code_reads_is_documented_in_the_readme():
    undocumented = {name: path for name, path in variables_in_code().items() if name not in documented()}
    assert undocumented == {}


def test_the_readme_documents_no_variable_that_nothing_reads():
    assert documented() - set(variables_in_code()) == set()


def test_the_scan_finds_each_way_of_reading_a_variable():
    source = """
SECRET_KEY = env("SECRET_KEY")
DEBUG = env.bool("EDC_DEBUG", default=False)
host = os.environ.get("EDC_HOST", "127.0.0.1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "edc.settings.dev")
url = os.environ["DATABASE_URL"]
port = os.getenv('EDC_PORT')
owner = environ.get("DATABASE_OWNER_URL")
name = "NOT_A_VARIABLE"
"""
    assert variables_read(source) == {
        "SECRET_KEY",
        "EDC_DEBUG",
        "EDC_HOST",
        "DJANGO_SETTINGS_MODULE",
        "DATABASE_URL",
        "EDC_PORT",
        "DATABASE_OWNER_URL",
    }
