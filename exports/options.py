"""What one export contains: formats, scope and de-identification, as one immutable value.

The page, the command line, the Celery task and every format writer receive the same
``ExportOptions``; it is stored on the job as JSON so a finished export says exactly what it held.
"""

from dataclasses import asdict, dataclass, field
from datetime import date

FORMATS = ("csv", "odm", "sdtm", "adam", "audit", "casebook")
# A casebook export (``casebooks``) is PDF casebooks alone, never mixed with the data formats: it has
# its own right (``Action.PRINT_CASEBOOK``) and holds identifiable data by nature.
CASEBOOK = ("casebook",)


@dataclass(frozen=True)
class ExportOptions:
    study_id: int
    formats: tuple[str, ...] = ("csv",)
    site_ids: tuple[int, ...] | None = None  # None: every site of the study
    form_codes: tuple[str, ...] | None = None  # None: every form of the registry
    cutoff: date | None = None  # records of visits on or before this date
    locked_only: bool = False
    deidentify: bool = False
    # De-identified exports replace calendar dates: "shift" moves them by the participant's stored
    # offset, "study_day" drops them and keeps only the study day.
    date_mode: str = field(default="shift")
    # Every CSV file of the zip starts with a UTF-8 byte-order mark: Excel (Chinese Windows) needs it
    # to read UTF-8. On unless turned off; jobs recorded before the option existed had none.
    bom: bool = True
    # The ODM file without the vendor extension (queries, source data verification, the links of broken
    # signatures): pure ODM 1.3.2 that validates against the official schema as it is.
    odm_pure: bool = False
    # Casebooks: the participants printed (None: every participant of the sites) and the language.
    participant_ids: tuple[int, ...] | None = None
    language: str = "en"

    def __post_init__(self):
        unknown = [f for f in self.formats if f not in FORMATS]
        if unknown or not self.formats:
            raise ValueError(f"unknown export formats: {unknown or 'none given'}")
        if self.date_mode not in ("shift", "study_day"):
            raise ValueError(f"unknown date mode: {self.date_mode!r}")
        if "casebook" in self.formats and (self.formats != CASEBOOK or self.deidentify):
            raise ValueError("casebooks are exported alone and identifiable")

    @property
    def casebook(self) -> bool:
        return self.formats == CASEBOOK

    @property
    def identifiable(self) -> bool:
        return not self.deidentify

    def to_json(self) -> dict:
        data = asdict(self)
        data["formats"] = list(self.formats)
        data["site_ids"] = list(self.site_ids) if self.site_ids is not None else None
        data["form_codes"] = list(self.form_codes) if self.form_codes is not None else None
        data["cutoff"] = self.cutoff.isoformat() if self.cutoff else None
        data["participant_ids"] = list(self.participant_ids) if self.participant_ids is not None else None
        return data

    @classmethod
    def from_json(cls, data: dict) -> "ExportOptions":
        return cls(
            study_id=data["study_id"],
            formats=tuple(data["formats"]),
            site_ids=tuple(data["site_ids"]) if data.get("site_ids") is not None else None,
            form_codes=tuple(data["form_codes"]) if data.get("form_codes") is not None else None,
            cutoff=date.fromisoformat(data["cutoff"]) if data.get("cutoff") else None,
            locked_only=bool(data.get("locked_only")),
            deidentify=bool(data.get("deidentify")),
            date_mode=data.get("date_mode") or "shift",
            bom=bool(data.get("bom", False)),
            odm_pure=bool(data.get("odm_pure", False)),
            participant_ids=tuple(data["participant_ids"])
            if data.get("participant_ids") is not None
            else None,
            language=data.get("language") or "en",
        )
