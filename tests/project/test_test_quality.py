"""The suite's own hygiene: tests that can only fail for the right reason, and never skip silently.

- ``pytest.raises(...)`` names the reason: a ``match=`` or a check of the caught exception afterwards
  (``with pytest.raises(X) as caught:`` then ``caught.value`` used). A bare ``pytest.raises(DomainError)``
  is satisfied by any other refusal, so it passes when the feature under test is deleted.
- ``pytest.importorskip`` of the project's own modules turns a broken import into a skip.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
TESTS = ROOT / "tests"
PROJECT_PACKAGES = {
    p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists() and p.name != "tests"
} | {"tests"}


def _test_files():
    return sorted(p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts)


def _is_pytest_call(node, name):
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == name
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "pytest"
    )


def bare_raises(source: str) -> list[int]:
    """Lines of ``pytest.raises`` calls with neither ``match=`` nor a later use of the caught exception."""
    tree = ast.parse(source)
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        names_used = {
            n.id for n in ast.walk(function) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
        }
        for node in ast.walk(function):
            if not isinstance(node, ast.With | ast.AsyncWith):
                continue
            for item in node.items:
                call = item.context_expr
                if not _is_pytest_call(call, "raises") or any(k.arg == "match" for k in call.keywords):
                    continue
                caught = item.optional_vars
                if isinstance(caught, ast.Name) and caught.id in names_used:
                    continue  # the reason is checked on the caught exception
                found.append(call.lineno)
        for node in ast.walk(function):  # pytest.raises(X, f, ...) and bare pytest.raises(X) outside with
            if (
                _is_pytest_call(node, "raises")
                and node.args[1:]
                and not any(k.arg == "match" for k in node.keywords)
            ):
                found.append(node.lineno)
    return sorted(set(found))


def own_importorskips(source: str) -> list[int]:
    tree = ast.parse(source)
    return [
        node.lineno
        for node in ast.walk(tree)
        if _is_pytest_call(node, "importorskip")
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and str(node.args[0].value).split(".")[0] in PROJECT_PACKAGES
    ]


def test_every_pytest_raises_names_the_reason():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}" for path in _test_files() for line in bare_raises(path.read_text())
    ]
    assert not offenders, "pytest.raises without match= or a check of the caught exception:\n" + "\n".join(
        offenders
    )


def test_no_test_skips_when_a_module_of_the_project_fails_to_import():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in _test_files()
        for line in own_importorskips(path.read_text())
    ]
    assert not offenders, "importorskip of the project's own modules hides a broken import:\n" + "\n".join(
        offenders
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def test():\n    with pytest.raises(DomainError):\n        f()\n", [2]),
        ("def test():\n    with pytest.raises(Exception):\n        f()\n", [2]),
        ("def test():\n    with pytest.raises(DomainError, match='another study'):\n        f()\n", []),
        (
            "def test():\n    with pytest.raises(E) as caught:\n        f()\n"
            "    assert caught.value.field == 'x'\n",
            [],
        ),
        ("def test():\n    with pytest.raises(E) as caught:\n        f()\n", [2]),
        ("def test():\n    with transaction.atomic(), pytest.raises(E):\n        f()\n", [2]),
    ],
)
def test_the_raises_rule_tells_a_bare_raises_from_a_checked_one(source, expected):
    assert bare_raises(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("labs = pytest.importorskip('labs.models')\n", [1]),
        ("x = pytest.importorskip('edc.clinical')\n", [1]),
        ("yaml = pytest.importorskip('yaml')\n", []),
    ],
)
def test_the_importorskip_rule_refuses_only_the_projects_own_modules(source, expected):
    assert own_importorskips(source) == expected
