"""The base apps import nothing from the workflow apps built on them.

The base is the record every app stores (``edc``: the clinical-record base, the audit context, record
integrity; ``accounts``, ``trials``, ``visits``, ``notifications``). The workflow apps add forms,
locks, SDV, signatures, safety and analyses on top, and register what they add with the base
(``edc.integrity``, ``notifications.kinds.register_kind``, ``trials.home``, ``trials.eligibility``,
``trials.protocol.register_setting_validator``, ``visits.catalogue``) from their ``AppConfig.ready()``.

The project's wiring is not the base: the settings (``INSTALLED_APPS``), the root URLconf that includes
every app's URLs, the bench that times every app's pages, the dev runner, the Celery app, the WSGI entry
point and the test plugin may name any app. Migrations are checked too: a base migration that depended
on a workflow app would make the base unmigratable on its own.

Imports are read from the syntax tree, so an import inside a function counts as much as one at the top.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

BASE_APPS = ("edc", "accounts", "trials", "visits", "notifications")
WORKFLOW_APPS = frozenset(
    {
        "crfs",
        "labs",
        "disease_activity",
        "medications",
        "adverse_events",
        "monitoring",
        "signatures",
        "efficacy",
        "exports",
        "api",
        "casebooks",
    }
)
# The project's wiring inside ``edc/`` (paths relative to the repository).
WIRING = (
    "edc/settings",
    "edc/urls.py",
    "edc/bench.py",
    "edc/run.py",
    "edc/celery.py",
    "edc/wsgi.py",
    "edc/testing",
)


def is_wiring(path: Path) -> bool:
    relative = path.relative_to(ROOT).as_posix()
    return any(relative == w or relative.startswith(f"{w}/") for w in WIRING)


def base_modules() -> list[Path]:
    return sorted(
        path
        for app in BASE_APPS
        for path in (ROOT / app).rglob("*.py")
        if not is_wiring(path) and "__pycache__" not in path.parts
    )


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) of every absolute import in ``tree``, at any depth (relative ones stay in the app)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def workflow_imports(path: Path, root: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        f"{path.relative_to(root).as_posix()}:{line}: imports {module}"
        for line, module in imported_modules(tree)
        if module.split(".")[0] in WORKFLOW_APPS
    ]


def test_no_base_module_imports_a_workflow_app():
    offending = [problem for path in base_modules() for problem in workflow_imports(path)]
    assert offending == [], "the base apps import workflow apps:\n" + "\n".join(offending)


def test_the_check_sees_function_level_imports_and_names_file_line_and_module(tmp_path):
    module = tmp_path / "trials" / "probe.py"
    module.parent.mkdir()
    module.write_text(
        "import os\nimport signatures.services\nfrom . import models\n\n\n"
        "def f():\n    from monitoring.locks import refuse_if_locked\n"
    )
    assert workflow_imports(module, tmp_path) == [
        "trials/probe.py:2: imports signatures.services",
        "trials/probe.py:7: imports monitoring.locks",
    ]


def test_every_base_app_is_read_and_the_wiring_is_left_out():
    read = {path.relative_to(ROOT).as_posix() for path in base_modules()}
    assert {"edc/models.py", "trials/services.py", "visits/models.py", "notifications/kinds.py"} <= read
    assert {"accounts/models.py", "trials/migrations/0001_initial.py"} <= read
    assert not {"edc/urls.py", "edc/bench.py", "edc/settings/base.py"} & read
