"""MedDRA coding of adverse-event terms from the codes CTCAE v5.0 publishes for each of its terms.

``data/ctcae_v5_meddra.csv`` is NCI's CTCAE v5.0 table (its header names the source file and
versions): every CTCAE term is a MedDRA 20.1 Lowest Level Term with its code and its primary System
Organ Class. A term the site records from CTCAE is coded from it, by its English CTCAE name; a term
outside CTCAE (an "Other, specify" text, or an event graded by a consensus scale that CTCAE v5.0
does not list: ICANS, IEC-HS, acute GvHD) is left uncoded and listed for the data manager
(``selectors.uncoded_events_for``). Nothing is guessed: a name that is not in the table stays uncoded.
"""

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.utils import translation

from . import ctcae_terms

TABLE = Path(__file__).with_name("data") / "ctcae_v5_meddra.csv"
CTCAE_VERSION = "5.0"
MEDDRA_VERSION = "20.1"


@dataclass(frozen=True)
class Coding:
    """A CTCAE term's MedDRA codes: the term is the LLT; its primary SOC."""

    llt: str
    llt_code: str
    soc: str
    soc_code: str


@cache
def table() -> dict[str, Coding]:
    """CTCAE term (lower case) -> its coding, read once from the shipped table."""
    with TABLE.open(encoding="utf-8", newline="") as handle:
        lines = (line for line in handle if not line.startswith("#"))
        return {
            row["ctcae_term"].lower(): Coding(row["ctcae_term"], row["llt_code"], row["soc"], row["soc_code"])
            for row in csv.DictReader(lines)
        }


@cache
def coding_of(term_key: str) -> Coding | None:
    """The coding of the project's term ``term_key`` (``ctcae_terms``), or None when it is outside
    CTCAE v5.0 (an "Other, specify" term's text, a consensus-scale term, an unknown key)."""
    term = ctcae_terms.term(term_key)
    if term is None or term.other_specify:
        return None
    with translation.override("en"):
        name = str(term.name)
    return table().get(name.lower())


def why_uncoded(term_key: str) -> str:
    """Why an event under ``term_key`` has no code (empty when it has one)."""
    term = ctcae_terms.term(term_key)
    if term is None:
        return "term not in this EDC's CTCAE list"
    if term.other_specify:
        return "Other, specify: the site's text is outside CTCAE"
    if coding_of(term_key) is None:
        if term.scale != ctcae_terms.CTCAE:
            return f"not a CTCAE v{CTCAE_VERSION} term (graded by {term.scale})"
        return f"name not found in the CTCAE v{CTCAE_VERSION} table"
    return ""
