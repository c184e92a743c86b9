"""Typed readers for calculator inputs.

Every reader names the key in its error, rejects bools where numbers are expected (``True`` is an
``int`` in Python) and returns ``Decimal`` for numbers so thresholds never compare floats.
"""

import math
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from .errors import CalculatorInputError

_MISSING = object()


def _get(inputs: Mapping[str, Any], key: str, *, optional: bool):
    if key not in inputs:
        if optional:
            return _MISSING
        raise CalculatorInputError(key, "is required")
    return inputs[key]


def number(inputs, key, *, optional=False, allow_none=False, minimum=0, maximum=None, default=None):
    """A finite number as ``Decimal`` (``minimum`` 0 unless told otherwise)."""
    value = _get(inputs, key, optional=optional)
    if value is _MISSING or (value is None and allow_none):
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
        raise CalculatorInputError(key, f"must be a number, not {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise CalculatorInputError(key, "must be a finite number")
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise CalculatorInputError(key, f"must be a number, not {value!r}") from None
    if not result.is_finite():
        raise CalculatorInputError(key, "must be a finite number")
    if minimum is not None and result < Decimal(str(minimum)):
        raise CalculatorInputError(key, f"must be at least {minimum}, got {value}")
    if maximum is not None and result > Decimal(str(maximum)):
        raise CalculatorInputError(key, f"must be at most {maximum}, got {value}")
    return result


def integer(inputs, key, *, optional=False, allow_none=False, minimum=0, maximum=None, default=None):
    value = _get(inputs, key, optional=optional)
    if value is _MISSING or (value is None and allow_none):
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise CalculatorInputError(key, f"must be a whole number, not {value!r}")
    if minimum is not None and value < minimum:
        raise CalculatorInputError(key, f"must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise CalculatorInputError(key, f"must be at most {maximum}, got {value}")
    return value


def boolean(inputs, key, *, optional=False, default=None, allow_none=False):
    value = _get(inputs, key, optional=optional)
    if value is _MISSING or (value is None and allow_none):
        return default
    if not isinstance(value, bool):
        raise CalculatorInputError(key, f"must be true or false, not {value!r}")
    return value


def choice(inputs, key, allowed: Iterable[str], *, optional=False, default=None, allow_none=False):
    value = _get(inputs, key, optional=optional)
    if value is _MISSING or (value is None and allow_none):
        return default
    allowed = tuple(allowed)
    if not isinstance(value, str) or value not in allowed:
        raise CalculatorInputError(key, f"must be one of {', '.join(allowed)}; got {value!r}")
    return value


def string_list(inputs, key, *, allowed: Iterable[str] | None = None, optional=False, default=None):
    value = _get(inputs, key, optional=optional)
    if value is _MISSING:
        return default
    if not isinstance(value, (list, tuple)):
        raise CalculatorInputError(key, f"must be a list, not {type(value).__name__}")
    allowed_set = set(allowed) if allowed is not None else None
    for item in value:
        if not isinstance(item, str):
            raise CalculatorInputError(key, f"items must be strings, got {item!r}")
        if allowed_set is not None and item not in allowed_set:
            raise CalculatorInputError(key, f"unknown value {item!r}")
    return list(value)


def mapping(inputs, key, *, optional=False, default=None):
    value = _get(inputs, key, optional=optional)
    if value is _MISSING:
        return default
    if not isinstance(value, Mapping):
        raise CalculatorInputError(key, f"must be an object, not {type(value).__name__}")
    return value


def round_half_up(value: Decimal, places: str) -> Decimal:
    """Round a Decimal half-up to ``places`` (for example ``"0.1"``)."""
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)
