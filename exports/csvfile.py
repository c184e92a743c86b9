"""The one CSV writer: every CSV file the project writes (export bundle, ``sdtm/*.csv``, ADEFF, the
audit trail, ``define.csv``, the data dictionary, the safety and efficacy downloads) goes through it.

What it guarantees, for rows written from Python (:meth:`CsvFile.writerow`) and for rows streamed
from PostgreSQL (:meth:`CsvFile.copy`, whose SQL formats its columns with :func:`neutral_sql`,
:func:`iso_instant_sql` and :func:`number_sql`):

- **No formula runs in a spreadsheet.** A text value that begins with ``=``, ``+``, ``-``, ``@``, a
  tab or a carriage return is written with a leading single quote (``'=1+1``), which spreadsheets
  show as text (OWASP "CSV injection"). The decision is made by the value's *type*, not its content:
  a number (``int``, ``float``, ``Decimal``, or a numeric SQL column) is written as it is, so
  ``-1.5`` stays the number -1.5, while the *text* "-1.5" (a character SDTM result, a free-text
  answer) is written ``'-1.5``.
- **Time stamps in ISO 8601**, in UTC with microseconds: ``2026-12-04T17:33:55.595269Z``; dates
  ``2026-12-04``.
- **Numbers without padding**: decimals are written with the digits they hold, trailing zeros of
  the stored scale removed (``0.500000`` → ``0.5``, never rounded); floats as Python's shortest
  round-trip text.
- **UTF-8**, with a byte-order mark when asked (``bom=True``): Excel on Chinese Windows reads the
  file as UTF-8 only with it.
"""

import csv
import io
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

from django.db import connection, models
from django.db.models import Func

# First characters a spreadsheet reads as the start of a formula (and tab / CR, which some strip first).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PREFIX = "'"
BOM = "\ufeff".encode()


def neutralise(text: str) -> str:
    """``text`` as a spreadsheet shows it verbatim: prefixed when it begins like a formula."""
    return PREFIX + text if text and text.startswith(FORMULA_START) else text


def iso_instant(value: datetime) -> str:
    """A time stamp in ISO 8601, UTC, with microseconds (the form :func:`iso_instant_sql` writes)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def number(value) -> str:
    """A number as written: integers plainly, decimals without trailing zeros (no exponent, no
    rounding), floats as their shortest round-trip text."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            return ""
        text = format(value, "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def cell(value) -> str:
    """The CSV text of a Python value, decided by its type (see the module documentation)."""
    if type(value) is str:  # the common case first: SDTM domains write millions of cells
        return PREFIX + value if value.startswith(FORMULA_START) else value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return number(value)
    if isinstance(value, datetime):
        return iso_instant(value)
    if isinstance(value, date | time):
        return value.isoformat()
    return neutralise(str(value))


class CsvFile:
    """A CSV file written row by row (``writerow``) and/or from ``COPY … TO STDOUT`` (``copy``).

    ``target`` is a path, or a binary file object (e.g. ``io.BytesIO``) that stays open.
    ``rows`` counts the data rows (the header excluded).
    """

    def __init__(self, target: Path | str | io.BufferedIOBase, *, bom: bool = False):
        self._owned = isinstance(target, str | Path)
        self.handle = open(target, "wb") if self._owned else target  # noqa: SIM115 - closed in close()
        self.text = io.TextIOWrapper(self.handle, encoding="utf-8", newline="", write_through=True)
        self.writer = csv.writer(self.text)
        self.rows = 0
        if bom:
            self.handle.write(BOM)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.text.flush()
        self.text.detach()
        if self._owned:
            self.handle.close()

    def header(self, names) -> None:
        self.writer.writerow([neutralise(str(n)) for n in names])

    def writerow(self, values) -> None:
        self.writer.writerow([cell(v) for v in values])
        self.rows += 1

    def writerows(self, rows) -> None:
        for values in rows:
            self.writerow(values)

    def copy(self, sql: str, params=()) -> int:
        """Append the rows of ``COPY (sql) TO STDOUT`` as CSV; their number.

        ``sql`` must format its own columns (``neutral_sql`` on text, ``iso_instant_sql`` on time
        stamps, ``number_sql`` on decimals): PostgreSQL writes them straight to the file.
        """
        if not sql:
            return 0
        self.text.flush()
        with connection.cursor() as cursor:
            # The psycopg cursor itself: Django's debug wrapper passes no parameters to copy().
            with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params or None) as copy:
                for block in copy:
                    self.handle.write(block)
            count = cursor.cursor.rowcount
        self.rows += count
        return count


# --- The same rules in SQL, for files streamed by COPY ----------------------------------------------

_PREFIX_SQL = "'" + PREFIX.replace("'", "''") + "'"
_STARTS = ", ".join(f"'{c}'" for c in ("=", "+", "-", "@")) + ", chr(9), chr(13)"


def neutral_sql(expression: str) -> str:
    """SQL text of ``expression`` (any type, cast to text) neutralised like :func:`neutralise`."""
    return (
        f"(CASE WHEN left(({expression})::text, 1) IN ({_STARTS}) "
        f"THEN {_PREFIX_SQL} || ({expression})::text ELSE ({expression})::text END)"
    )


def iso_instant_sql(expression: str) -> str:
    """SQL text of a ``timestamptz`` as :func:`iso_instant` writes it."""
    return f"""to_char(({expression}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


def number_sql(expression: str) -> str:
    """SQL text of a ``numeric`` without the trailing zeros of its scale (exact, never rounded)."""
    return f"trim_scale({expression})::text"


class Neutral(Func):
    """Django expression of :func:`neutral_sql`."""

    output_field = models.TextField()

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return neutral_sql(sql), (*params, *params, *params)  # the expression appears three times


class IsoInstant(Func):
    """Django expression of :func:`iso_instant_sql`."""

    output_field = models.TextField()

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return iso_instant_sql(sql), params


class PlainNumber(Func):
    """Django expression of :func:`number_sql`."""

    output_field = models.TextField()

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return number_sql(sql), params
