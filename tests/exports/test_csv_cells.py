"""The one CSV writer's cell rules (``exports.csvfile``), in Python and in the SQL of streamed files."""

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection

from exports.csvfile import CsvFile, cell, iso_instant, iso_instant_sql, neutral_sql, neutralise, number_sql


@pytest.mark.parametrize("text", ["=1+1", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("x")'])
def test_text_that_begins_like_a_formula_is_quoted(text):
    assert cell(text) == "'" + text


@pytest.mark.parametrize("text", ["fever", "1-2", "a=b", "", "'already"])
def test_other_text_is_written_as_it_is(text):
    assert cell(text) == text


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (-1.5, "-1.5"),
        (Decimal("-1.5"), "-1.5"),
        (-3, "-3"),
        (Decimal("0.500000"), "0.5"),
        (Decimal("120.000000"), "120"),
        (Decimal("0.000001"), "0.000001"),
        (Decimal("12345678901234.123456"), "12345678901234.123456"),
        (Decimal("1E+3"), "1000"),
        (1.0, "1"),
        (0.1, "0.1"),
    ],
)
def test_numbers_are_decided_by_type_never_quoted_and_never_padded(value, written):
    assert cell(value) == written


def test_dates_and_time_stamps_are_iso_8601():
    assert cell(date(2026, 12, 4)) == "2026-12-04"
    assert cell(datetime(2026, 12, 4, 17, 33, 55, 595269, tzinfo=UTC)) == "2026-12-04T17:33:55.595269Z"
    assert cell(None) == "" and cell(True) == "true"


def test_a_bom_is_written_only_when_asked():
    for bom in (True, False):
        buffer = io.BytesIO()
        with CsvFile(buffer, bom=bom) as out:
            out.header(["a", "=b"])
            out.writerow(["é", -1])
        assert buffer.getvalue() == ("\ufeff" if bom else "").encode() + "a,'=b\r\né,-1\r\n".encode()
        assert out.rows == 1


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["=1+1", "+1", "-x", "@x", "\tx", "\rx", "fever", "", "it's"])
def test_sql_neutralises_text_exactly_as_python_does(text):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {neutral_sql('%s::text')}", [text, text, text])
        assert cursor.fetchone()[0] == neutralise(text)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "value", ["0.500000", "-1.500000", "120.000000", "0.000001", "12345678901234.123456"]
)
def test_sql_writes_decimals_exactly_as_python_does(value):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {number_sql('%s::numeric')}", [value])
        assert cursor.fetchone()[0] == cell(Decimal(value))


@pytest.mark.django_db
def test_sql_writes_time_stamps_exactly_as_python_does():
    moment = datetime(2026, 12, 4, 17, 33, 55, 595269, tzinfo=UTC)
    with connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'Asia/Shanghai'")
        cursor.execute(f"SELECT {iso_instant_sql('%s::timestamptz')}", [moment])
        assert cursor.fetchone()[0] == iso_instant(moment)
