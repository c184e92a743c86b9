"""The efficacy analysis dataset ADEFF (``efficacy.analysis``: one row per participant and visit,
ADaM-style, with rule versions) as CSV and SAS transport v5.

De-identified exports key participants as the SDTM and ODM files do, shift the analysis date by the
participant's stored offset (or leave it empty in "study day" mode) and keep the study day.
"""

from datetime import date
from pathlib import Path

from . import deid, scope
from .csvfile import CsvFile
from .odm import subject_key

NAME = "ADEFF"


def _deidentified(participant, row: dict, options, shifts: dict[int, int]) -> dict:
    row = {**row, "USUBJID": f"{row['STUDYID']}-{subject_key(participant, options)}"}
    if row["ADT"]:
        if options.date_mode == "study_day":
            row["ADT"] = ""
        else:
            day = date.fromisoformat(row["ADT"])
            row["ADT"] = deid.shift(participant.pk, day, shifts.get(participant.pk)).isoformat()
    return row


def _typed(value, numeric: bool):
    """A numeric column's value as a number, whatever type the row holds it in."""
    if numeric and isinstance(value, str):
        return float(value) if value else None
    return value


def write_adam(*, study, options, directory: Path) -> dict[str, int]:
    """Write ADEFF.csv and ADEFF.xpt for the participants in scope; {file name: rows}."""
    import pandas as pd
    import pyreadstat

    from efficacy import analysis

    directory.mkdir(parents=True, exist_ok=True)
    participants = scope.participants(study, options)
    shifts = deid.offsets(participants.values_list("pk", flat=True)) if options.deidentify else {}
    numeric = {name for name, _label, kind in analysis.COLUMNS if kind == "Num"}
    columns: dict[str, list] = {name: [] for name in analysis.NAMES}
    count = 0
    with CsvFile(directory / f"{NAME}.csv", bom=options.bom) as writer:
        writer.header(analysis.NAMES)
        for participant, row in analysis.rows_with_participant(participants):
            if options.deidentify:
                row = _deidentified(participant, row, options, shifts)
            # Numbers are written as numbers (never formula-guarded), whatever type the row holds them in.
            writer.writerow([_typed(row[name], name in numeric) for name in analysis.NAMES])
            for name in analysis.NAMES:
                value = row[name]
                columns[name].append(
                    (float("nan") if value is None else float(value)) if name in numeric else str(value or "")
                )
            count += 1
    frame = pd.DataFrame(
        {
            name: pd.Series(values, dtype="float64" if name in numeric else object)
            for name, values in columns.items()
        }
    )
    pyreadstat.write_xport(
        frame,
        str(directory / f"{NAME}.xpt"),
        file_label="Efficacy Analysis Dataset",
        column_labels=[label for _name, label, _kind in analysis.COLUMNS],
        table_name=NAME,
        file_format_version=5,
    )
    return {f"{NAME}.csv": count, f"{NAME}.xpt": count}
