"""Pure clinical rules of the trial: scores, grades, windows and unit conversions.

No Django, no database, no I/O (a test enforces it). Everything is reachable through
``compute(name, inputs)``; see ``shared/domain/calculators.md`` for the interface.
"""

from . import astct, ctcae, dosing, eligibility, gvhd, icaht, proportions, renal, response, sledai, units  # noqa: F401  (registers)
from .errors import CalculatorInputError
from .registry import CALCULATORS, compute

__all__ = ["CALCULATORS", "CalculatorInputError", "compute"]
