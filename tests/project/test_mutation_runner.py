"""tools/mutate.py (``make mutate``): which mutants it makes, how it keeps var/bench.json and the
equivalent-mutants file honest. The run itself is slow and lives outside ``make test``."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
_spec = importlib.util.spec_from_file_location("mutate", ROOT / "tools" / "mutate.py")
mutate = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("mutate", mutate)  # dataclasses look their module up
_spec.loader.exec_module(mutate)

SOURCE = '''"""Docstring 1.5 is not mutated."""
from decimal import Decimal

LIMIT = Decimal("0.95")
TABLE = {"none": 0}


@calculator("x", rule_version="x/2", source="y")
def rule(value, flag, cutoff=LIMIT):
    """Docstring."""
    check = number(value, maximum=400)
    if not flag and value <= cutoff:
        return True
    return TABLE["none"] + round_half_up(value / 100, "0.1")
'''


@pytest.fixture
def module(tmp_path, monkeypatch):
    (tmp_path / "rules.py").write_text(SOURCE)
    monkeypatch.setattr(mutate, "ROOT", tmp_path)
    return "rules.py"


def test_the_operators_cover_comparisons_thresholds_booleans_not_and_returns(module):
    changes = {(m.line, m.change) for m in mutate.generate(module)}
    assert changes == {
        (4, "'0.95' -> '0.94'"),
        (4, "'0.95' -> '0.96'"),
        (5, "0 -> -1"),
        (5, "0 -> 1"),
        (12, "and -> or"),
        (12, "not x -> x"),
        (12, "<= -> <"),
        (13, "return True -> return False"),
    }  # not: docstrings, decorator metadata, maximum=, formula constants (/ 100), quanta ("0.1")


@pytest.mark.parametrize(
    ("text", "delta", "expected"), [("3.0", -1, "2.9"), ("0.95", 1, "0.96"), ("40", 1, "41")]
)
def test_a_threshold_moves_by_one_unit_of_its_last_digit(text, delta, expected):
    assert mutate._step(text, delta) == expected


def test_each_mutant_changes_only_its_own_node(module):
    mutants = mutate.generate(module)
    sources = {mutate.mutated_source(m) for m in mutants}
    assert len(sources) == len(mutants)
    flipped = next(m for m in mutants if m.change == "<= -> <")
    assert "value < cutoff" in mutate.mutated_source(flipped)


def test_a_table_is_tested_through_the_functions_that_read_it(module):
    table = next(m for m in mutate.generate(module) if m.line == 5)
    assert set(table.readers) == set(range(9, 15))


def test_an_equivalent_mutant_needs_a_reason(tmp_path):
    path = tmp_path / "equivalent.yaml"
    path.write_text("- {module: a.py, function: f, line: 'x < 1', change: '< -> <=', reason: ''}\n")
    with pytest.raises(SystemExit, match="needs a reason"):
        mutate.load_equivalent(path)


def test_the_score_is_merged_into_bench_json_without_losing_other_metrics(tmp_path):
    path = tmp_path / "bench.json"
    path.write_text(json.dumps({"metrics": {"participant_list_p95_ms": 12}}))
    mutate.merge_bench(path, {"mutation_score": 98.5, "survivors": []})
    report = json.loads(path.read_text())
    assert report["metrics"] == {"participant_list_p95_ms": 12}
    assert report["mutation_score"] == 98.5 and report["mutation"]["survivors"] == []


def test_the_equivalent_mutants_file_of_the_clinical_core_is_valid():
    known = mutate.load_equivalent(mutate.EQUIVALENT_FILE)
    assert all(module.endswith(".py") and change for module, _f, _line, change in known)
