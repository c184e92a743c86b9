"""Registry behind :func:`edc.clinical.compute`.

Each calculator module declares its functions with :func:`calculator`; ``compute`` looks them up by
name. The registry is filled when ``edc.clinical`` is imported (its ``__init__`` imports every
module explicitly), never by scanning or at request time.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .errors import CalculatorInputError


@dataclass(frozen=True)
class Calculator:
    name: str
    rule_version: str
    source: str
    title: str
    function: Callable[[Mapping[str, Any]], dict]


CALCULATORS: dict[str, Calculator] = {}


def calculator(name: str, *, rule_version: str, source: str, title: str = ""):
    """Register ``function(inputs) -> dict`` under ``name``."""

    def register(function):
        if name in CALCULATORS:
            raise RuntimeError(f"calculator {name!r} registered twice")
        CALCULATORS[name] = Calculator(
            name=name,
            rule_version=rule_version,
            source=source,
            title=title or (function.__doc__ or name).strip().splitlines()[0],
            function=function,
        )
        return function

    return register


def compute(name: str, inputs: Mapping[str, Any]) -> dict:
    """Run calculator ``name`` on ``inputs``; the result always carries ``rule_version``."""
    if not isinstance(name, str) or name not in CALCULATORS:
        raise CalculatorInputError("name", f"unknown calculator {name!r}")
    if not isinstance(inputs, Mapping):
        raise CalculatorInputError(None, "inputs must be a JSON object")
    calc = CALCULATORS[name]
    result = _jsonable(dict(calc.function(inputs)))
    result["rule_version"] = calc.rule_version
    return result


def _jsonable(value):
    """Decimals become int or float (at the precision already applied), recursively."""
    if isinstance(value, Decimal):
        whole = value == value.to_integral_value() and value.as_tuple().exponent >= 0
        return int(value) if whole else float(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
