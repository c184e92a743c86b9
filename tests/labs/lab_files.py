"""Laboratory files for the import tests: FHIR R4 bundles of Observations and CSV exports."""

import csv
import io
import json
from datetime import datetime


def observation(
    oid: str,
    subject: str,
    loinc: str,
    value,
    unit: str,
    when: datetime | str,
    *,
    performer: str = "",
    specimen: str = "",
) -> dict:
    """One FHIR R4 Observation with a LOINC code and a UCUM valueQuantity."""
    resource = {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
        "subject": {"identifier": {"system": "urn:udcar:screening-number", "value": subject}},
        "effectiveDateTime": when if isinstance(when, str) else when.isoformat(),
        "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
    }
    if performer:
        resource["performer"] = [{"display": performer}]
    if specimen:
        resource["specimen"] = {"display": specimen}
    return resource


def bundle(*observations: dict) -> bytes:
    entries = [{"fullUrl": f"urn:uuid:{o['id']}", "resource": o} for o in observations]
    return json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}).encode()


CSV_HEADER = ["Accession", "Patient ID", "LOINC", "Result", "Units", "Collected", "Lab"]


def csv_file(*rows: list, header=CSV_HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


MAPPING = {
    "row_key": "Accession",
    "subject": "Patient ID",
    "code": "LOINC",
    "value": "Result",
    "unit": "Units",
    "collected_at": "Collected",
    "performer": "Lab",
}
