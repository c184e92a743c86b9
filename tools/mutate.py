"""Mutation testing of the pure clinical core (``make mutate``).

Each mutant is one small change to one module of ``edc/clinical``: a comparison flipped (``<`` and
``<=``, ``>`` and ``>=``, ``==`` and ``!=``, ``is``/``is not``, ``in``/``not in``), a numeric constant
moved by one step (integers by 1; decimals, also when written as a string such as ``Decimal("0.95")``,
by one unit of their last digit; a float written to full precision by one unit in the last place),
``and``/``or`` swapped, a ``not`` dropped, a ``return True``/``False`` inverted. A mutant is *killed*
when a test fails (or the run times out), *survives* otherwise.

How it runs, and why it is safe and fast:

- the tree is copied to a temporary directory, one copy per worker; mutants are written there only,
  so an interrupted run never leaves a mutant in the working tree;
- one run of ``tests/clinical`` under coverage with per-test contexts maps every line of every
  module to the tests that execute it; each mutant runs only those tests (for lines that run only at
  import, such as the CTCAE band tables, the module's whole test file and every test that touches
  the module, those of the functions that read the table first), with ``-x``;
- the runner imports pytest and Hypothesis once, then forks one child per mutant, two at a time;
  pytest runs without the Django plugin and the suite's database fixtures (the clinical core has no
  Django), Hypothesis derandomized and without its example database, so results are reproducible.

Equivalent mutants (no test can tell them from the original) are listed with the reason in
``tests/clinical/mutants-equivalent.yaml``, matched by module, function, source line and mutation
(not by line number). The score is killed / (all - equivalent). The run writes ``mutation_score``
and the surviving mutants into ``var/bench.json`` (merged into what ``make bench`` wrote) and exits 1
when the score is below the target or a survivor is not explained.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "edc/clinical"
TESTS = "tests/clinical"
EQUIVALENT_FILE = ROOT / TESTS / "mutants-equivalent.yaml"
TARGET = 98.0
TIMEOUT_S = 60

# Options that run tests/clinical alone: no Django plugin, no suite conftest (database fixtures), no
# addopts (which would start the embedded PostgreSQL), no cache, a fixed Hypothesis profile.
PYTEST_OPTIONS = [
    "-p", "no:django", "-p", "no:cacheprovider", "-p", "no:randomly", "--noconftest",
    "-o", "addopts=", "--import-mode=importlib", "-q", "--no-header", "-W", "ignore",
    "--hypothesis-profile=mutate",
]  # fmt: skip

# Per mutant, also without the plugins the clinical tests do not use (a quarter of the start-up time).
CHILD_OPTIONS = ["-p", "no:pytest_cov", "-p", "no:time_machine", "-p", "no:platformdirs"]
_PROFILE = (
    "import hypothesis; "
    "hypothesis.settings.register_profile('mutate', derandomize=True, database=None, deadline=None)"
)
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
# Quantum arguments: only their exponent matters, so moving the digit is always equivalent.
_QUANTUM_CALLS = {"round_half_up", "quantize"}
_LIMIT_KEYWORDS = {"maximum", "minimum"}
_NOT_RULE_CALLS = {"round", "range", "comb", "Fraction"}
_COMPARE_SWAP = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
    ast.In: ast.NotIn, ast.NotIn: ast.In,
}  # fmt: skip
_SYMBOL = {
    ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
    ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in",
}  # fmt: skip


@dataclass
class Mutant:
    module: str  # path relative to the root, e.g. edc/clinical/ctcae.py
    index: int  # position of the node in ast.walk order of the module
    slot: int  # which comparator / which alternative on that node
    line: int
    function: str
    source_line: str
    operator: str
    change: str
    readers: tuple[int, ...] = ()  # for code run at import: lines of the functions that read it
    status: str = ""
    tests: int = 0
    seconds: float = 0.0
    reason: str = ""

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (Path(self.module).name, self.function, self.source_line, self.change)

    def describe(self) -> str:
        where = f"{self.module}:{self.line} ({self.function})"
        return f"{where} {self.operator} {self.change}: {self.source_line}"


@dataclass
class Report:
    mutants: list[Mutant] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------------
# Mutant generation


def _step(text: str, delta: int) -> str:
    """Move a decimal literal by one unit of its last digit: '3.0' -> '2.9'/'3.1', '40' -> '39'/'41'."""
    value = Decimal(text)
    unit = Decimal(1).scaleb(value.as_tuple().exponent)
    return str(value + delta * unit)


def _float_step(text: str, delta: int) -> str:
    """As ``_step`` for a float literal; when the literal is written to full precision (17 digits), one
    unit of its last digit can round back to the same float (a mutant that changes nothing), so the
    float moves to its neighbour instead (one unit in the last place)."""
    moved = _step(text, delta)
    if float(moved) == float(text):
        moved = repr(math.nextafter(float(text), math.inf if delta > 0 else -math.inf))
    return moved


def _docstring_nodes(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _skipped_constants(tree: ast.AST) -> set[int]:
    """Constants that are not rules: docstrings, decorator metadata, quanta, annotations, __all__."""
    skipped = _docstring_nodes(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            for decorator in node.decorator_list:
                skipped.update(id(n) for n in ast.walk(decorator))
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in _QUANTUM_CALLS:
                for arg in node.args[1:] if name == "round_half_up" else node.args[:1]:
                    skipped.update(id(n) for n in ast.walk(arg))
        if isinstance(node, ast.AnnAssign | ast.arg) and getattr(node, "annotation", None) is not None:
            skipped.update(id(n) for n in ast.walk(node.annotation))
        if isinstance(node, ast.FunctionDef) and node.returns is not None:
            skipped.update(id(n) for n in ast.walk(node.returns))
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in node.targets):
            skipped.update(id(n) for n in ast.walk(node.value))
        # Formula constants (x / 100, 1 - phi, n + 1), indices, round()/range() arguments and the
        # plausibility limits of inputs (maximum=, minimum=) are not rule thresholds: not mutated.
        if isinstance(node, ast.BinOp):
            skipped.update(id(n) for n in (node.left, node.right) if isinstance(n, ast.Constant))
        if isinstance(node, ast.Subscript):
            skipped.update(id(n) for n in ast.walk(node.slice))
        if isinstance(node, ast.keyword) and node.arg in _LIMIT_KEYWORDS:
            skipped.update(id(n) for n in ast.walk(node.value))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in _NOT_RULE_CALLS:
            for arg in node.args:
                skipped.update(id(n) for n in ast.walk(arg))
    return skipped


def _functions_by_line(tree: ast.AST) -> dict[int, str]:
    names: dict[int, str] = {}

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                qualname = f"{prefix}{child.name}"
                for line in range(child.lineno, (child.end_lineno or child.lineno) + 1):
                    names[line] = qualname
                visit(child, qualname + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return names


def alternatives(node: ast.AST, skipped: set[int]) -> list[tuple[str, str]]:
    """(operator, change) for each mutant of ``node``; the order is the slot number."""
    if isinstance(node, ast.Compare):
        return [
            ("compare", f"{_SYMBOL[type(op)]} -> {_SYMBOL[_COMPARE_SWAP[type(op)]]}")
            for op in node.ops
            if type(op) in _COMPARE_SWAP
        ]
    if isinstance(node, ast.BoolOp):
        return [("boolean", "and -> or" if isinstance(node.op, ast.And) else "or -> and")]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return [("not", "not x -> x")]
    if (
        isinstance(node, ast.Return)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, bool)
    ):
        return [("return", f"return {node.value.value} -> return {not node.value.value}")]
    if isinstance(node, ast.Constant) and id(node) not in skipped:
        value = node.value
        if isinstance(value, bool) or value is None:
            return []
        if isinstance(value, int):
            return [("number", f"{value} -> {value - 1}"), ("number", f"{value} -> {value + 1}")]
        if isinstance(value, float):
            text = repr(value)
            if "e" in text or "inf" in text or "nan" in text:
                return []
            return [
                ("number", f"{text} -> {_float_step(text, -1)}"),
                ("number", f"{text} -> {_float_step(text, 1)}"),
            ]
        if isinstance(value, str) and _NUMBER.match(value):
            return [
                ("number", f"{value!r} -> {_step(value, -1)!r}"),
                ("number", f"{value!r} -> {_step(value, 1)!r}"),
            ]
    return []


def apply(node: ast.AST, slot: int) -> ast.AST | None:
    """Mutate ``node`` in place for mutant ``slot``; returns a replacement node when one is needed."""
    if isinstance(node, ast.Compare):
        positions = [i for i, op in enumerate(node.ops) if type(op) in _COMPARE_SWAP]
        i = positions[slot]
        node.ops[i] = _COMPARE_SWAP[type(node.ops[i])]()
        return None
    if isinstance(node, ast.BoolOp):
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        return None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return node.operand
    if isinstance(node, ast.Return):
        node.value = ast.Constant(not node.value.value)
        return None
    if isinstance(node, ast.Constant):
        delta = -1 if slot == 0 else 1
        value = node.value
        if isinstance(value, int):
            node.value = value + delta
        elif isinstance(value, float):
            node.value = float(_float_step(repr(value), delta))
        else:
            node.value = _step(value, delta)
        return None
    raise AssertionError(f"no mutation for {node!r}")


def _readers(tree: ast.Module) -> dict[int, tuple[int, ...]]:
    """Line of a module-level statement or ``def`` -> lines of the functions that read what it defines.

    Tables and defaults run only at import, so no test context covers them; the tests that execute the
    functions reading them (directly or through another table) are the ones that can kill their mutants.
    """
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    reads = {
        f: {n.id for n in ast.walk(f) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        for f in functions
    }
    statements = [s for s in tree.body if isinstance(s, ast.Assign | ast.AnnAssign)]

    def names(statement):
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}

    def span(node):
        return range(node.lineno, (node.end_lineno or node.lineno) + 1)

    result: dict[int, tuple[int, ...]] = {}
    for statement in statements:
        wanted, seen = names(statement), set()
        while wanted - seen:  # tables built from tables: follow them to the functions
            seen |= wanted
            for other in statements:
                used = (
                    {n.id for n in ast.walk(other.value) if isinstance(n, ast.Name)} if other.value else set()
                )
                if used & seen:
                    wanted = wanted | names(other)
        lines = sorted({line for f in functions if reads[f] & seen for line in span(f)})
        for line in span(statement):
            result[line] = tuple(lines)
    for f in functions:  # default values and decorators run at import; the function's body reads them
        body = tuple(line for line in span(f) if line > f.body[0].lineno - 1)
        for line in range(min([f.lineno, *(d.lineno for d in f.decorator_list)]), f.body[0].lineno):
            result.setdefault(line, body)
    return result


def generate(module: str) -> list[Mutant]:
    source = (ROOT / module).read_text()
    tree = ast.parse(source)
    lines = source.splitlines()
    skipped = _skipped_constants(tree)
    functions = _functions_by_line(tree)
    readers = _readers(tree)
    mutants = []
    for index, node in enumerate(ast.walk(tree)):
        for slot, (operator, change) in enumerate(alternatives(node, skipped)):
            line = node.lineno
            mutants.append(
                Mutant(
                    module=module,
                    index=index,
                    slot=slot,
                    line=line,
                    function=functions.get(line, "<module>"),
                    source_line=lines[line - 1].strip(),
                    operator=operator,
                    change=change,
                    readers=readers.get(line, ()),
                )
            )
    return mutants


class _Replace(ast.NodeTransformer):
    def __init__(self, target: ast.AST, replacement: ast.AST):
        self.target, self.replacement = target, replacement

    def generic_visit(self, node):
        if node is self.target:
            return self.replacement
        return super().generic_visit(node)

    def visit(self, node):
        if node is self.target:
            return self.replacement
        return super().visit(node)


def mutated_source(mutant: Mutant) -> str:
    tree = ast.parse((ROOT / mutant.module).read_text())
    node = list(ast.walk(tree))[mutant.index]
    replacement = apply(node, mutant.slot)
    if replacement is not None:
        tree = _Replace(node, replacement).visit(tree)
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


# ---------------------------------------------------------------------------------------------------
# Which tests run which line


def _copy_tree(destination: Path) -> None:
    for part in ("edc", "tests", "pyproject.toml"):
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, destination / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, destination / part)


def line_map(workdir: Path) -> dict[str, dict[int, list[str]]]:
    """module path -> line -> test node ids that executed it (from coverage per-test contexts)."""
    data_file = workdir / ".coverage"
    arguments = [
        TESTS, *PYTEST_OPTIONS, f"--cov={PACKAGE}", "--cov-context=test", "--cov-report=", "-x",
    ]  # fmt: skip
    command = [sys.executable, "-c", f"{_PROFILE}; import pytest, sys; sys.exit(pytest.main({arguments!r}))"]
    env = {**os.environ, "COVERAGE_FILE": str(data_file), "PYTHONDONTWRITEBYTECODE": "1"}
    env["PYTHONPATH"] = str(workdir)
    started = time.monotonic()
    done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stdout.write(done.stdout[-5000:] + done.stderr[-3000:])
        raise SystemExit("the clinical tests fail without any mutant: fix them first")
    print(f"  mapped lines to tests in {time.monotonic() - started:.0f} s")
    from coverage import CoverageData

    data = CoverageData(basename=str(data_file))
    data.read()
    result: dict[str, dict[int, list[str]]] = {}
    for path in data.measured_files():
        module = str(Path(path).resolve().relative_to(workdir.resolve()))
        by_line = result.setdefault(module, {})
        for line, contexts in data.contexts_by_lineno(path).items():
            ids = {c.rsplit("|", 1)[0] for c in contexts if c}
            if ids:
                by_line[line] = sorted(ids)
    return result


def tests_for(mutant: Mutant, lines: dict[str, dict[int, list[str]]], order: dict[str, int]) -> list[str]:
    by_line = lines.get(mutant.module, {})
    tests = by_line.get(mutant.line)
    own = f"test_{Path(mutant.module).stem}"  # the module's own test file first: it kills soonest
    own_file = f"{TESTS}/{own}.py"
    readers: set[str] = set()
    if not tests:
        # Runs only at import (tables, defaults): every test that touches the module, since a test may
        # read a table directly (its band edges, say) without calling the functions that read it; the
        # tests of those functions run first, as they kill soonest. And the module's whole test file:
        # a test that only reads a table or constant (the Z quantiles, say) executes no line of the
        # module, so coverage never ties it to the module.
        readers = {t for line in mutant.readers for t in by_line.get(line, ())}
        tests = readers | {t for ids in by_line.values() for t in ids}
        if (ROOT / own_file).exists():
            tests = {t for t in tests if not t.startswith(f"{own_file}::")} | {own_file}

    def rank(test: str):
        first = test.split("::")[0]
        return (Path(first).stem != own, bool(readers) and first != own_file and test not in readers,
                order.get(test, 0))  # fmt: skip

    return sorted(set(tests), key=rank)


# ---------------------------------------------------------------------------------------------------
# Running


def _child(workdir: Path, mutant: Mutant, tests: list[str]) -> None:
    """In the forked child: load the mutant from the worker's copy and run its tests."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    import pytest

    os.chdir(workdir)
    sys.path.insert(0, str(workdir))
    for name in list(sys.modules):
        if name == "edc" or name.startswith(("edc.", "tests.")):
            del sys.modules[name]
    try:  # a mutant that breaks the import of the package fails every test of it
        importlib.import_module(mutant.module.removesuffix(".py").replace("/", "."))
    except Exception:  # noqa: BLE001 - whatever the mutant raises at import
        os._exit(1)
    options = [*PYTEST_OPTIONS, *CHILD_OPTIONS, "-x", "-c", str(workdir / "pyproject.toml")]
    code = pytest.main([*tests, *options])
    os._exit(int(code))


args_verbose = [False]


def _terminate(signum, frame):
    raise KeyboardInterrupt  # leaves the with-blocks: the temporary copies are removed


def run(mutants: list[Mutant], lines, order, workers: int, workdirs: list[Path]) -> None:
    import hypothesis
    import pytest  # noqa: F401  (imported once, before the forks)

    exec(_PROFILE, {"hypothesis": hypothesis})
    sys.dont_write_bytecode = True

    signal.signal(signal.SIGTERM, _terminate)
    running: dict[int, tuple[Mutant, int, float, Path, str]] = {}
    try:
        _loop(list(mutants), running, lines, order, workers, workdirs)
    finally:
        for pid in running:  # interrupted: no child outlives the run
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


def _loop(pending, running, lines, order, workers, workdirs) -> None:
    total = len(pending)
    free = list(workdirs[:workers])
    done = 0
    while pending or running:
        while pending and free:
            mutant = pending.pop(0)
            workdir = free.pop()
            tests = tests_for(mutant, lines, order)
            mutant.tests = len(tests)
            if not tests:
                mutant.status = "survived"
                mutant.reason = "no test runs this line"
                free.append(workdir)
                done += 1
                continue
            target = workdir / mutant.module
            original = target.read_text()
            target.write_text(mutated_source(mutant))
            pid = os.fork()
            if pid == 0:
                try:
                    _child(workdir, mutant, tests)
                finally:
                    os._exit(70)
            running[pid] = (mutant, pid, time.monotonic(), workdir, original)
        if not running:
            continue
        pid, status = _wait(running)
        mutant, _, started, workdir, original = running.pop(pid)
        (workdir / mutant.module).write_text(original)
        free.append(workdir)
        mutant.seconds = round(time.monotonic() - started, 2)
        if status is None:
            mutant.status, mutant.reason = "killed", "timeout"
        else:
            code = os.waitstatus_to_exitcode(status)
            if code == 0:
                mutant.status = "survived"
            elif code in (1, 2):  # a test failed, or the mutant broke the import of the tests
                mutant.status = "killed"
            else:
                mutant.status, mutant.reason = "error", f"pytest exit code {code}"
        done += 1
        if mutant.status != "killed" and args_verbose[0]:
            print(f"  {mutant.status.upper()} {mutant.describe()} {mutant.reason}", flush=True)
        if done % 50 == 0:
            print(f"  {done}/{total} mutants", flush=True)


def _wait(running) -> tuple[int, int | None]:
    """Wait for one child; kill the ones past the timeout (status None)."""
    while True:
        for pid, (_, _, started, _, _) in running.items():
            if time.monotonic() - started > TIMEOUT_S:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return pid, None
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid:
            return pid, status
        time.sleep(0.02)


# ---------------------------------------------------------------------------------------------------
# Equivalent mutants and the report


def load_equivalent(path: Path) -> dict[tuple[str, str, str, str], str]:
    import yaml

    entries = yaml.safe_load(path.read_text()) if path.exists() else None
    known = {}
    for entry in entries or []:
        reason = (entry.get("reason") or "").strip()
        if not reason:
            raise SystemExit(f"{path}: every equivalent mutant needs a reason: {entry}")
        key = (entry["module"], entry["function"], entry["line"].strip(), entry["change"])
        known[key] = reason
    return known


_INTERNAL = ("index", "slot", "status", "seconds", "readers")


def merge_bench(path: Path, summary: dict) -> None:
    report = {}
    if path.exists():
        try:
            report = json.loads(path.read_text())
        except json.JSONDecodeError:
            report = {}
    report["mutation_score"] = summary["mutation_score"]
    report["mutation"] = summary
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="modules of edc/clinical (default: all)")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--target", type=float, default=TARGET)
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--line", type=int, help="only the mutants on this line (with one module)")
    parser.add_argument("--no-bench", action="store_true", help="do not write var/bench.json")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each survivor as it is found")
    var = Path(os.environ.get("EDC_VAR_DIR", ROOT / "var"))
    parser.add_argument("--output", type=Path, default=var / "bench.json")
    args = parser.parse_args(argv)

    wanted = [Path(name).stem for name in args.modules]
    modules = sorted(
        (str(p.relative_to(ROOT)) for p in (ROOT / PACKAGE).glob("*.py") if not wanted or p.stem in wanted),
        key=lambda path: (wanted.index(Path(path).stem) if wanted else 0, path),
    )
    mutants = [m for module in modules for m in generate(module)]
    if args.line is not None:
        mutants = [m for m in mutants if m.line == args.line]
    if args.list:
        for m in mutants:
            print(m.describe())
        print(f"{len(mutants)} mutants")
        return 0
    equivalent = load_equivalent(EQUIVALENT_FILE)
    args_verbose[0] = args.verbose

    started = time.monotonic()
    print(f"Mutation testing of {PACKAGE}: {len(mutants)} mutants in {len(modules)} modules")
    with tempfile.TemporaryDirectory(prefix="edc-mutate-") as temp:
        workdirs = []
        for n in range(max(1, args.workers)):
            workdir = Path(temp) / f"w{n}"
            workdir.mkdir()
            _copy_tree(workdir)
            workdirs.append(workdir)
        lines = line_map(workdirs[0])
        order = {}
        for by_line in lines.values():
            for ids in by_line.values():
                for t in ids:
                    order.setdefault(t, len(order))
        run(mutants, lines, order, args.workers, workdirs)
    elapsed = time.monotonic() - started

    killed = [m for m in mutants if m.status == "killed"]
    survivors = [m for m in mutants if m.status != "killed"]
    explained = [m for m in survivors if m.key in equivalent]
    unexplained = [m for m in survivors if m.key not in equivalent]
    for m in explained:
        m.reason = equivalent[m.key]
    used = {m.key for m in explained}
    stale = [k for k in equivalent if k not in used and any(Path(m.module).name == k[0] for m in mutants)]
    denominator = len(mutants) - len(explained)
    score = round(100.0 * len(killed) / denominator, 2) if denominator else 100.0

    print(f"\n{len(killed)} killed, {len(explained)} equivalent, {len(unexplained)} unexplained survivors")
    for m in unexplained:
        print(f"  SURVIVED {m.describe()}" + (f" [{m.reason}]" if m.reason else ""))
    for key in stale:
        print(f"  (equivalent entry no longer matches a surviving mutant: {key})")
    print(f"mutation_score {score} % (target {args.target} %) in {elapsed:.0f} s")

    summary = {
        "mutation_score": score,
        "package": PACKAGE,
        "target": args.target,
        "mutants": len(mutants),
        "killed": len(killed),
        "equivalent": len(explained),
        "survivors": [
            {**{k: v for k, v in asdict(m).items() if k not in _INTERNAL},
             "equivalent": m.key in equivalent}
            for m in survivors
        ],
        "seconds": round(elapsed),
        "workers": args.workers,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }  # fmt: skip
    if not args.no_bench and not args.modules and args.line is None:
        merge_bench(args.output, summary)
        print(f"Written {args.output}")
    return 0 if score >= args.target and not unexplained else 1


if __name__ == "__main__":
    sys.exit(main())
