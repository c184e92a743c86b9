"""Window arithmetic: a pure function from Day 0 and a visit definition to dates."""

from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class VisitWindow:
    target: date
    start: date
    end: date

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


def window(day0: date, target_day: int, before: int, after: int) -> VisitWindow:
    """The window of a visit at study day ``target_day`` when Day 0 is ``day0``."""
    target = day0 + timedelta(days=target_day)
    return VisitWindow(target, target - timedelta(days=before), target + timedelta(days=after))
