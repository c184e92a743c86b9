"""Partial dates: a start date known to the year or the month only ("2019", "2019-03").

History and medication start dates are often known only so far. A record keeps the date column as the
first day of the period (what comparisons and sorting use) and, beside it, the precision the site gave;
pages and exports write the date to that precision, as ISO 8601 does ("2019", "2019-03", "2019-03-15").
"""

import re
from datetime import date

from django.db import models
from django.utils.translation import gettext_lazy as _


class Precision(models.TextChoices):
    DAY = "day", _("to the day")
    MONTH = "month", _("to the month")
    YEAR = "year", _("to the year")


PARTIAL = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


class PartialDate(date):
    """A date (the first day of its period, so that a model's date field takes it) with its precision."""

    def __new__(cls, value: date, precision: str = Precision.DAY):
        obj = super().__new__(cls, value.year, value.month, value.day)
        obj.precision = precision
        return obj

    @classmethod
    def parse(cls, text: str) -> "PartialDate":
        """``2019``, ``2019-03`` or ``2019-03-15``; ValueError for anything else (or no such day)."""
        match = PARTIAL.match(text.strip())
        if match is None:
            raise ValueError(text)
        year, month, day = (int(part) if part else None for part in match.groups())
        if month is None:
            return cls(date(year, 1, 1), Precision.YEAR)
        if day is None:
            return cls(date(year, month, 1), Precision.MONTH)
        return cls(date(year, month, day), Precision.DAY)

    @property
    def date(self) -> date:
        return date(self.year, self.month, self.day)

    def iso(self) -> str:
        return iso(self, self.precision)


def iso(value: date | None, precision: str = Precision.DAY) -> str:
    """ISO 8601 text of ``value`` to ``precision`` ("" for no date)."""
    if value is None:
        return ""
    text = value.isoformat()
    if precision == Precision.YEAR:
        return text[:4]
    if precision == Precision.MONTH:
        return text[:7]
    return text


def precision_field(label) -> models.CharField:
    """The precision column beside a partial date (``<date>_precision``)."""
    return models.CharField(label, max_length=5, choices=Precision.choices, default=Precision.DAY, blank=True)


# ISO 8601 text length of a partial date: "2019", "2019-03".
PARTIAL_LENGTH = {Precision.YEAR: 4, Precision.MONTH: 7}


def to_precision(text: str, precision: str) -> str:
    """An ISO 8601 date text (a shifted one too) cut to ``precision``."""
    return text[: PARTIAL_LENGTH.get(precision, len(text))]
