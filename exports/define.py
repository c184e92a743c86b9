"""A define-style metadata file of the SDTM-style export: one row per dataset variable.

``define.csv`` lists, for every dataset written, each variable with its label, SAS type, length
(the longest character value in bytes, 8 for numbers), origin and position, plus one row per
dataset (``VARIABLE`` empty) holding the dataset label and its number of rows. It is plain CSV so
that a reviewer can read it without define.xml tooling; the study-day convention is stated in the
``COMMENT`` column of every ``--DY`` variable, the ASCII rule in that of every character variable.
"""

import csv
from pathlib import Path

from .csvfile import FORMULA_START, PREFIX, CsvFile

DEFINE_FILE = "define.csv"
COLUMNS = ("DATASET", "VARIABLE", "LABEL", "TYPE", "LENGTH", "ORIGIN", "ORDER", "ROWS", "COMMENT")
STUDY_DAY = (
    "SDTMIG study day from RFSTDTC, the CAR-T infusion (protocol Day 0): the infusion day is 1, "
    "the day before -1, no day 0"
)
ASCII_RULE = (
    "ASCII: superscript digits after a digit as ^digits (10^9/L), after a letter as digits (m2); "
    "other characters transliterated by anyascii (Chinese as pinyin)"
)


def _lengths(directory: Path, dataset: str, variables) -> dict[str, int]:
    """Longest character value (bytes) of each character variable, read back from the CSV."""
    lengths = {v.name: 1 for v in variables if v.type == "Char"}
    with (directory / f"{dataset}.csv").open(newline="", encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            for name in lengths:
                value = row[name]
                if value.startswith(PREFIX) and value[len(PREFIX) :].startswith(FORMULA_START):
                    # the CSV writer's formula guard is not in the XPT
                    value = value[len(PREFIX) :]
                lengths[name] = max(lengths[name], len(value.encode("utf-8")))
    return lengths


def write_define(written, directory: Path, *, options) -> dict[str, int]:
    """``written``: (domain, variables, rows[, lengths]) of each dataset, ``lengths`` the longest
    character value (bytes) of each character variable when the writer measured them (else they are
    read back from the dataset's CSV); returns {"define.csv": variable rows}."""
    count = 0
    with CsvFile(directory / DEFINE_FILE, bom=options.bom) as writer:
        writer.header(COLUMNS)
        for domain, variables, rows, *measured in written:
            comment = "De-identified" if options.deidentify else ""
            writer.writerow((domain.code, "", domain.label, "", "", "", "", rows, comment))
            lengths = measured[0] if measured else _lengths(directory, domain.code, variables)
            for order, var in enumerate(variables, start=1):
                note = STUDY_DAY if var.name.endswith("DY") and var.type == "Num" else ""
                if var.type == "Char" and not note:
                    note = ASCII_RULE
                if var.name.endswith("DTC"):
                    note = "ISO 8601" + ("; dates shifted per participant" if options.deidentify else "")
                writer.writerow(
                    (
                        domain.code,
                        var.name,
                        var.label,
                        var.type,
                        lengths.get(var.name, 8),
                        var.origin,
                        order,
                        "",
                        note,
                    )
                )
                count += 1
    return {DEFINE_FILE: count}
