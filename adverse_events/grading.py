"""Grades from the consensus scales, and CRS and ICANS episodes derived from the daily grades.

``grade`` runs an ``edc.clinical`` calculator on a record's stored inputs and turns a refusal into a
message on the form field that caused it. ``episodes`` is a pure function: an episode is a run of
assessments graded 1 or more, ended by an assessment graded 0; days without an assessment inside a run
do not end it.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext as _

from edc.clinical import CalculatorInputError, compute
from edc.errors import DomainError


def grade(name: str, inputs: dict | None, field_of_input: dict[str, str]) -> dict | None:
    """``compute(name, inputs)``, or None while the inputs are incomplete (a draft)."""
    if inputs is None:
        return None
    try:
        return compute(name, inputs)
    except CalculatorInputError as exc:
        raise DomainError(
            _("These values cannot be graded: %(problem)s") % {"problem": exc},
            field=field_of_input.get(exc.key or ""),
        ) from exc


@dataclass(frozen=True)
class Episode:
    onset: date
    last_day: date  # the last assessment graded 1 or more
    resolved_on: date | None  # the first assessment graded 0 after it; None while ongoing
    max_grade: int
    onset_day: int | None  # study day of onset (Day 0 = infusion)
    grades: tuple[tuple[date, int], ...]

    @property
    def duration_days(self) -> int:
        """Days from onset to the last graded day, both counted."""
        return (self.last_day - self.onset).days + 1

    @property
    def ongoing(self) -> bool:
        return self.resolved_on is None


def episodes(daily: Iterable[tuple[date, int | None]], day0: date | None) -> list[Episode]:
    """Episodes from (date, grade) pairs; ungraded (draft) assessments are ignored."""
    graded = sorted((d, g) for d, g in daily if d is not None and g is not None)
    found, run = [], []

    def close(resolved_on):
        onset = run[0][0]
        found.append(
            Episode(
                onset=onset,
                last_day=run[-1][0],
                resolved_on=resolved_on,
                max_grade=max(g for _d, g in run),
                onset_day=(onset - day0).days if day0 else None,
                grades=tuple(run),
            )
        )

    for day, value in graded:
        if value >= 1:
            run.append((day, value))
        elif run:
            close(day)
            run = []
    if run:
        close(None)
    return found
