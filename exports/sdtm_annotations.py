"""Which SDTM domain and variable each CRF field becomes: the annotations of the annotated CRF (aCRF).

Read-only, beside the SDTM writer (``exports.sdtm``) and from its own tables wherever the writer keeps
one: vital signs (``VITAL_TESTS``), CRS and ICANS findings (``CRS_TESTS``, ``ICANS_TESTS``), the
response scores (``RESPONSE_TESTS``), the laboratory test codes (``lab_test_code``), the eligibility
test codes (``trial_design.criterion_codes``). The fields the writer reads one by one in its row
builders are listed in ``FIELDS`` below, next to the builder that reads them. A test runs the SDTM
export and checks that every variable named here is one the export writes, so the two cannot drift.

A field without annotation is "NOT SUBMITTED" on the aCRF (the CDISC convention).
"""

from dataclasses import dataclass

from . import sdtm


@dataclass(frozen=True)
class Annotation:
    domain: str
    variable: str
    where: str = ""  # the test or category that selects the rows: "VSTESTCD = TEMP"

    @property
    def label(self) -> str:
        text = f"{self.domain}.{self.variable}"
        return f"{text} when {self.where}" if self.where else text


def A(domain, variable, where=""):  # noqa: N802 - the tables below read as an aCRF
    return Annotation(domain, variable, where)


# Fields read one by one by the row builders of ``exports.sdtm`` (form code -> field -> annotations);
# child rows as "relation.field".
FIELDS: dict[str, dict[str, tuple[Annotation, ...]]] = {
    "demographics": {  # dm_rows, suppdm_rows, mh_rows, cm_rows
        "ethnicity": (A("DM", "RACE"), A("DM", "ETHNIC"), A("SUPPDM", "QVAL", "QNAM = ETHGRP")),
        "ethnicity_other": (A("SUPPDM", "QVAL", "QNAM = ETHGRP"),),
        "diagnosis_date": (A("MH", "MHSTDTC", "MHCAT = PRIMARY DIAGNOSIS"),),
        "assessed_on": (A("MH", "MHDTC", "MHCAT = PRIMARY DIAGNOSIS"),),
        "prior_treatments.agent": (A("CM", "CMTRT", "CMCAT = PRIOR SLE TREATMENT"),),
        "prior_treatments.agent_other": (A("CM", "CMTRT", "CMCAT = PRIOR SLE TREATMENT"),),
        "prior_treatments.start_date": (A("CM", "CMSTDTC", "CMCAT = PRIOR SLE TREATMENT"),),
        "prior_treatments.stop_date": (A("CM", "CMENDTC", "CMCAT = PRIOR SLE TREATMENT"),),
        "prior_treatments.reason_stopped": (A("CM", "CMENRF", "CMCAT = PRIOR SLE TREATMENT"),),
    },
    "medical_history": {  # mh_rows
        "assessed_on": (A("MH", "MHDTC", "MHCAT = GENERAL MEDICAL HISTORY"),),
        "conditions.condition": (A("MH", "MHTERM", "MHCAT = GENERAL MEDICAL HISTORY"),),
        "conditions.start_date": (A("MH", "MHSTDTC", "MHCAT = GENERAL MEDICAL HISTORY"),),
        "conditions.end_date": (A("MH", "MHENDTC", "MHCAT = GENERAL MEDICAL HISTORY"),),
        "conditions.ongoing": (A("MH", "MHENRF", "MHCAT = GENERAL MEDICAL HISTORY"),),
    },
    "medications": {  # cm_rows
        "agent": (A("CM", "CMTRT"),),
        "period": (A("CM", "CMCAT"),),
        "drug_class": (A("CM", "CMCLAS"),),
        "indication": (A("CM", "CMINDC"),),
        "dose": (A("CM", "CMDOSE"),),
        "dose_unit": (A("CM", "CMDOSU"),),
        "frequency": (A("CM", "CMDOSFRQ"),),
        "route": (A("CM", "CMROUTE"),),
        "prednisone_equivalent_mg_day": (A("CM", "CMPREDEQ"),),
        "start_date": (A("CM", "CMSTDTC"), A("CM", "CMSTDY")),
        "stop_date": (A("CM", "CMENDTC"),),
        "ongoing": (A("CM", "CMENRF"),),
    },
    "lymphodepletion": {  # ex_rows
        "assessed_on": (
            A("EX", "EXSTDTC", "EXCAT = LYMPHODEPLETION"),
            A("EX", "EXENDTC", "EXCAT = LYMPHODEPLETION"),
        ),
        "fludarabine_given_mg": (A("EX", "EXDOSE", "EXTRT = FLUDARABINE"),),
        "cyclophosphamide_given_mg": (A("EX", "EXDOSE", "EXTRT = CYCLOPHOSPHAMIDE"),),
    },
    "infusion": {  # ex_rows
        "infusion_date": (A("EX", "EXSTDTC", "EXCAT = CAR-T"), A("DM", "RFXSTDTC")),
        "infusion_start": (A("EX", "EXSTDTC", "EXCAT = CAR-T"),),
        "infusion_stop": (A("EX", "EXENDTC", "EXCAT = CAR-T"),),
        "dose_per_kg": (A("EX", "EXDOSE", "EXCAT = CAR-T"),),
        "product_lot": (A("EX", "EXLOT", "EXCAT = CAR-T"),),
    },
    "end_of_study": {  # ds_rows
        "reason": (A("DS", "DSDECOD", "DSCAT = DISPOSITION EVENT"),),
        "end_date": (A("DS", "DSSTDTC", "DSCAT = DISPOSITION EVENT"),),
    },
    "death": {"death_date": (A("DM", "DTHDTC"),)},  # dm_rows
    "labs": {  # lb_rows; each analyte's LBTESTCD: ``lab_results``
        "panel": (A("LB", "LBCAT"),),
        "collected_at": (A("LB", "LBDTC"),),
        "results.value": (A("LB", "LBORRES"),),
        "results.result": (A("LB", "LBORRES"),),
        "results.unit": (A("LB", "LBORRESU"),),
        "results.not_done": (A("LB", "LBSTAT"),),
        "results.lln": (A("LB", "LBORNRLO"),),
        "results.uln": (A("LB", "LBORNRHI"),),
        "results.standard_value": (A("LB", "LBSTRESN"),),
        "results.standard_unit": (A("LB", "LBSTRESU"),),
        "results.flag": (A("LB", "LBNRIND"),),
        "results.ctcae_grade": (A("LB", "LBTOXGR"),),
        "results.collected_at": (A("LB", "LBDTC"),),
    },
}

# Forms whose findings the writer takes from a table of (field, test code, …): the date of the form is
# the --DTC of every row.
_FINDINGS = {
    "vital_signs": ("VS", sdtm.VITAL_TESTS),
    "crs": ("FA", sdtm.CRS_TESTS),
    "icans": ("FA", sdtm.ICANS_TESTS),
}
# Response scores (RS) recorded on a form: form code -> {field: RESPONSE_TESTS key}.
_RESPONSES = {
    "sledai": {
        "sledai_2k": "sledai_2k",
        "clinical_sledai": "clinical_sledai",
        "selena_sledai": "selena_sledai",
    },
    "pga": {"pga": "pga"},
}


def _findings(domain: str, tests) -> dict[str, tuple[Annotation, ...]]:
    result = {"assessed_on": (A(domain, f"{domain}DTC"),)}
    for field, code, _test, unit in tests:
        where = f"{domain}TESTCD = {code}"
        result[field] = (A(domain, f"{domain}ORRES", where),) + (
            (A(domain, f"{domain}ORRESU", where),) if unit else ()
        )
    return result


def _responses(code: str) -> dict[str, tuple[Annotation, ...]]:
    result = {"assessed_on": (A("RS", "RSDTC"),)}
    for field, key in _RESPONSES.get(code, {}).items():
        result[field] = (A("RS", "RSORRES", f"RSTESTCD = {sdtm.RESPONSE_TESTS[key][0]}"),)
    if code == "bilag":
        from edc.clinical.response import BILAG_SYSTEMS

        test = sdtm.RESPONSE_TESTS["bilag"][0]
        result.update({system: (A("RS", "RSORRES", f"RSTESTCD = {test}"),) for system in BILAG_SYSTEMS})
    return result


def _eligibility() -> dict[str, tuple[Annotation, ...]]:
    from . import trial_design

    result = {"assessed_on": (A("IE", "IEDTC"),)}
    for key, code in trial_design.criterion_codes().items():
        result[key] = (A("IE", "IEORRES", f"IETESTCD = {code}"),)
    return result


def annotations(code: str) -> dict[str, tuple[Annotation, ...]]:
    """{field name (child rows: "relation.field"): annotations} of form ``code``; {} when none of its
    fields is submitted."""
    if code in _FINDINGS:
        return _findings(*_FINDINGS[code])
    if code in _RESPONSES or code == "bilag":
        return _responses(code)
    if code == "eligibility":
        return _eligibility()
    return dict(FIELDS.get(code, {}))


def lab_results(panel: str) -> list[tuple[object, Annotation]]:
    """(analyte, the LB annotation of its result) of each analyte of a laboratory panel."""
    from labs.analytes import analytes_of

    return [
        (analyte, A("LB", "LBORRES", f"LBTESTCD = {sdtm.lab_test_code(analyte.code)}"))
        for analyte in analytes_of(panel)
    ]
