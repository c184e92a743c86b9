"""The SDTM trial design datasets: TE (elements), TA (arms), TV (visits), TI (inclusion/exclusion
criteria) and TS (trial summary).

They describe the protocol, not the participants, so they are built from the protocol as data: the
dose levels and the visit schedule of the study's current protocol version, the eligibility checklist
(``crfs.criteria``) and the trial summary parameters in ``<protocol file>-trial-summary.yaml`` beside
the protocol file. The elements and epochs here are the ones ``exports.sdtm.epoch`` assigns to every
record, so TA/TE and the EPOCH of the observation datasets agree.
"""

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml
from django.conf import settings


@dataclass(frozen=True)
class Element:
    code: str
    name: str
    start_rule: str
    end_rule: str
    duration: str
    epoch: str


ELEMENTS = (
    Element(
        "SCRN",
        "Screening",
        "Informed consent",
        "First dose of lymphodepletion, or the CAR-T infusion when none is given",
        "P28D",
        "SCREENING",
    ),
    Element(
        "LD",
        "Lymphodepletion (fludarabine and cyclophosphamide)",
        "First dose of lymphodepletion",
        "Start of the CAR-T infusion",
        "P5D",
        "TREATMENT",
    ),
    Element(
        "CART",
        "CAR-T infusion",
        "Start of the CAR-T infusion (Day 0)",
        "End of Day 0",
        "P1D",
        "TREATMENT",
    ),
    Element(
        "FU",
        "Follow-up",
        "Day 1 after the infusion",
        "Month 24 visit or end of study",
        "P24M",
        "FOLLOW-UP",
    ),
)
CT_PACKAGE_FILE = Path(__file__).resolve().parent / "ct" / "sdtm-ct.yaml"


def controlled_terminology() -> dict:
    """The CDISC CT subsets the export uses (``exports/ct/sdtm-ct.yaml``): package and codelists."""
    return yaml.safe_load(CT_PACKAGE_FILE.read_text(encoding="utf-8"))


def trial_summary_file() -> Path:
    protocol = Path(settings.EDC_PROTOCOL_FILE)
    return protocol.with_name(f"{protocol.stem}-trial-summary.yaml")


def current_protocol(study):
    return study.protocol_versions.order_by("-number").first()


def te_rows(ctx):
    for element in ELEMENTS:
        yield {
            "STUDYID": ctx.study_code,
            "DOMAIN": "TE",
            "ETCD": element.code,
            "ELEMENT": element.name,
            "TESTRL": element.start_rule,
            "TEENRL": element.end_rule,
            "TEDUR": element.duration,
        }


def ta_rows(ctx):
    from .sdtm import char

    for level in ctx.study.dose_levels.order_by("order", "code"):
        for order, element in enumerate(ELEMENTS, start=1):
            yield {
                "STUDYID": ctx.study_code,
                "DOMAIN": "TA",
                "ARMCD": level.code,
                "ARM": char(level.label),
                "TAETORD": order,
                "ETCD": element.code,
                "ELEMENT": element.name,
                "TABRANCH": f"Assigned to {level.code} at enrollment" if element.code == "SCRN" else "",
                "TATRANS": "",
                "EPOCH": element.epoch,
            }


def visit_number(index: int) -> int:
    """VISITNUM of the protocol's ``index``-th visit (from 1): ``visits.services.create_schedule``."""
    return index * 10


def tv_rows(ctx):
    from .sdtm import char, planned_day

    protocol = current_protocol(ctx.study)
    if protocol is None:
        return
    for index, definition in enumerate(protocol.visit_definitions.order_by("order"), start=1):
        window = f"-{definition.window_before}/+{definition.window_after} days"
        yield {
            "STUDYID": ctx.study_code,
            "DOMAIN": "TV",
            "VISITNUM": visit_number(index),
            "VISIT": char(definition.name),
            "VISITDY": planned_day(definition.target_day),
            "ARMCD": "",
            "TVSTRL": char(
                f"Protocol day {definition.target_day} from the CAR-T infusion (Day 0), window {window}"
                + (", optional" if definition.optional else "")
            ),
            "TVENRL": "",
        }


def criterion_codes() -> dict[str, str]:
    """IETESTCD of each eligibility item: IN01… and EX01… in checklist order (IE and TI agree)."""
    from crfs.criteria import CRITERIA

    codes = {}
    for kind, prefix in (("inclusion", "IN"), ("exclusion", "EX")):
        members = [c for c in CRITERIA if c.kind == kind]
        for i, criterion in enumerate(members, start=1):
            codes[criterion.key] = f"{prefix}{i:02d}"
    return codes


def ti_rows(ctx):
    from crfs.criteria import CRITERIA

    from .sdtm import char

    protocol = current_protocol(ctx.study)
    codes = criterion_codes()
    for criterion in CRITERIA:
        yield {
            "STUDYID": ctx.study_code,
            "DOMAIN": "TI",
            "IETESTCD": codes[criterion.key],
            "IETEST": char(criterion.label),
            "IECAT": criterion.kind.upper(),
            "TIVERS": protocol.label if protocol else "",
        }


def ts_rows(ctx):
    """The trial summary: the parameters of the protocol's file, then those known at export time."""
    from . import scope
    from .sdtm import char, country_code

    package = controlled_terminology()["package"]
    parameters = list(yaml.safe_load(trial_summary_file().read_text(encoding="utf-8"))["parameters"])
    enrolled = scope.participants(ctx.study, ctx.options).filter(enrollment_date__isnull=False).count()
    parameters.append({"parmcd": "ACTSUB", "parm": "Actual Number of Subjects", "val": str(enrolled)})
    countries = sorted({country_code(site.country) for site in ctx.study.sites.all()} - {""})
    for code in countries:
        parameters.append(
            {
                "parmcd": "FCNTRY",
                "parm": "Planned Country of Investigational Sites",
                "val": code,
                "valcd": code,
                "cdref": "ISO 3166-1 alpha-3",
            }  # fmt: skip
        )
    cutoff = ctx.options.cutoff or date.today()
    parameters.append(
        {"parmcd": "DCUTDTC", "parm": "Data Cutoff Date", "val": cutoff.isoformat(), "cdref": "ISO 8601"}
    )
    parameters.append(
        {
            "parmcd": "DCUTDESC",
            "parm": "Data Cutoff Description",
            "val": "EXPORT CUT-OFF DATE" if ctx.options.cutoff else "DATE OF EXPORT",
        }  # fmt: skip
    )
    sequence: dict[str, int] = {}
    for parameter in parameters:
        code = parameter["parmcd"]
        sequence[code] = sequence.get(code, 0) + 1
        reference = parameter.get("cdref", "")
        yield {
            "STUDYID": ctx.study_code,
            "DOMAIN": "TS",
            "TSSEQ": sequence[code],
            "TSGRPID": "",
            "TSPARMCD": code,
            "TSPARM": parameter["parm"],
            "TSVAL": char(parameter.get("val", "")),
            "TSVALNF": parameter.get("valnf", ""),
            "TSVALCD": str(parameter.get("valcd", "")),
            "TSVCDREF": reference,
            "TSVCDVER": package if reference == "CDISC CT" else "",
        }
