"""The ODM 1.3.2 export: valid against the official schema, with audit records, signatures and queries."""

from datetime import timedelta
from decimal import Decimal

import pytest
from lxml import etree

from crfs.registry import FORMS
from crfs.services import save_form
from exports import odm
from exports.options import ExportOptions
from monitoring import verification
from signatures.models import Signature
from tests.conftest import make_participant, today_at

NS = {"odm": odm.ODM_NS, "edc": odm.EDC_NS}


def seed_demo_study():
    """The demo study (``seeded_demo``: ``load_protocol``, ``seed_demo``) with ``add_casebook_data`` for
    its first infused participant."""
    from django.contrib.auth import get_user_model

    from trials.models import Participant, Study

    users = get_user_model().objects
    p = Participant.objects.filter(site__code="YC", infusion_date__isnull=False).order_by("pk").first()
    add_casebook_data(
        p,
        coordinator=users.get(username="coordinator"),
        monitor=users.get(username="monitor"),
        investigator=users.get(username="investigator"),
    )
    return Study.objects.get(), p


def add_casebook_data(p, *, coordinator, monitor, investigator):
    """For infused participant ``p`` at Day 1: vital signs corrected with a reason, a laboratory
    panel, a CRS assessment, a manual query on the weight and a visit signature."""
    from django.utils import timezone

    from labs.reference_data import DEFAULT_FILE, load_file
    from labs.services import ResultEntry, save_panel
    from monitoring.services import open_query

    load_file(DEFAULT_FILE)
    visit = p.visits.get(code="D1")
    on = p.infusion_date + timedelta(days=1)
    vitals = save_form(
        user=coordinator,
        spec=FORMS["vital_signs"],
        visit=visit,
        data={"assessed_on": on, "weight_kg": Decimal("61.5"), "heart_rate": 80},
    )
    vitals = save_form(
        user=coordinator,
        spec=FORMS["vital_signs"],
        visit=visit,
        instance=vitals,
        data={
            "assessed_on": on,
            "weight_kg": Decimal("62.0"),
            "heart_rate": 80,
            "temperature_c": Decimal("36.8"),
            "systolic_bp": 118,
            "diastolic_bp": 76,
        },
        reason="transcription error",
        expected_version=vitals.version,
        complete=True,
    )
    save_panel(
        user=coordinator,
        visit=visit,
        panel="haematology",
        data={
            # 09:00 on Day 1, or a minute ago when Day 1 is today and 09:00 has not come yet.
            "collected_at": min(
                timezone.make_aware(timezone.datetime.combine(on, timezone.datetime.min.time()))
                + timedelta(hours=9),
                timezone.now() - timedelta(minutes=1),
            ),
            "laboratory": "Site laboratory",
            "source": "local",
        },
        results=[
            ResultEntry("wbc", Decimal("3.1"), "10^9/L"),
            ResultEntry("platelets", Decimal("120"), "10^9/L"),
        ],
    )
    save_form(
        user=coordinator,
        spec=FORMS["crs"],
        visit=visit,
        data={
            "assessed_on": on,
            "temperature_c": Decimal("38.6"),
            "hypotension": "none",
            "oxygen_device": "none",
        },
    )
    open_query(user=monitor, record=vitals, field_name="weight_kg", text="Please confirm the weight.")
    verification.verify_field(user=monitor, record=vitals, field_name="heart_rate")
    Signature.objects.create(
        participant=p,
        scope="visit",
        visit=visit,
        signer=investigator,
        printed_name="Demo Investigator YC",
        signed_at=timezone.now(),
        site_timezone=p.site.timezone,
        local_signed_at="now",
        meaning="visit_approved",
        content_hash="0" * 64,
        records=[],
    )


@pytest.fixture
def demo(seeded_demo):
    return seed_demo_study()


@pytest.fixture
def casebook(study, coordinator, monitor, investigator, site_yc):
    """One infused participant with ``add_casebook_data``: lighter than the demo study."""
    today = today_at(site_yc)
    p = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=40), infused=today - timedelta(days=10)
    )
    add_casebook_data(p, coordinator=coordinator, monitor=monitor, investigator=investigator)
    return study, p


def export(study, tmp_path, **options):
    path = tmp_path / "odm.xml"
    counts = odm.write_odm(
        study=study, options=ExportOptions(study_id=study.pk, formats=("odm",), **options), path=path
    )
    return path, counts, etree.parse(str(path))


def test_odm_file_of_the_demo_study_validates_against_the_odm_1_3_2_schema(demo, tmp_path):
    study, _participant = demo
    path, counts, document = export(study, tmp_path)
    schema = odm.odm_schema()
    plain = odm.without_extensions(document)
    assert schema.validate(plain), schema.error_log
    extended = odm.extension_schema(tmp_path)
    assert extended.validate(document), extended.error_log
    assert counts["odm.xml"] == len(document.findall(".//odm:ItemData", NS)) > 0


def test_items_carry_the_audit_record_of_their_last_change_with_the_reason(casebook, tmp_path):
    study, participant = casebook
    _path, _counts, document = export(study, tmp_path)
    subject = document.find(f".//odm:SubjectData[@SubjectKey='{participant.label}']", NS)
    weight = subject.find(".//odm:ItemData[@ItemOID='IT.VITAL_SIGNS.WEIGHT_KG']", NS)
    assert weight.get("Value") == "62"
    audit = weight.find("odm:AuditRecord", NS)
    assert audit.find("odm:ReasonForChange", NS).text == "transcription error"
    assert audit.find("odm:UserRef", NS).get("UserOID").startswith("USR.")
    assert audit.find("odm:LocationRef", NS).get("LocationOID") == "LOC.YC"
    heart = subject.find(".//odm:ItemData[@ItemOID='IT.VITAL_SIGNS.HEART_RATE']/odm:AuditRecord", NS)
    assert heart.find("odm:ReasonForChange", NS) is None  # unchanged since it was entered


def test_metadata_holds_code_lists_range_checks_and_units(casebook, tmp_path):
    study, _participant = casebook
    _path, _counts, document = export(study, tmp_path)
    mdv = document.find(".//odm:MetaDataVersion", NS)
    viability = mdv.find("odm:ItemDef[@OID='IT.INFUSION.VIABILITY_PCT']", NS)
    assert {c.get("Comparator") for c in viability.findall("odm:RangeCheck", NS)} == {"GE", "LE"}
    weight = mdv.find("odm:ItemDef[@OID='IT.VITAL_SIGNS.WEIGHT_KG']", NS)
    assert weight.get("DataType") == "float"
    unit = weight.find("odm:MeasurementUnitRef", NS).get("MeasurementUnitOID")
    assert (
        document.find(f".//odm:MeasurementUnit[@OID='{unit}']/odm:Symbol/odm:TranslatedText", NS).text == "kg"
    )
    sex = mdv.find("odm:ItemDef[@OID='IT.DEMOGRAPHICS.SEX']/odm:CodeListRef", NS).get("CodeListOID")
    assert {i.get("CodedValue") for i in mdv.findall(f"odm:CodeList[@OID='{sex}']/odm:CodeListItem", NS)} == {
        "F",
        "M",
    }
    assert mdv.find("odm:StudyEventDef[@OID='SE.D0']", NS) is not None


def test_queries_source_verification_and_signatures_are_exported(casebook, tmp_path):
    study, participant = casebook
    _path, _counts, document = export(study, tmp_path)
    subject = document.find(f".//odm:SubjectData[@SubjectKey='{participant.label}']", NS)
    query = subject.find("edc:Queries/edc:Query[@Field='weight_kg']", NS)
    assert query.get("FormOID") == "F.VITAL_SIGNS" and query.get("StudyEventOID") == "SE.D1"
    assert query.find("edc:Text", NS).text == "Please confirm the weight."
    sdv = subject.find("edc:SourceVerifications/edc:SourceVerification[@Field='heart_rate']", NS)
    assert sdv.get("FormOID") == "F.VITAL_SIGNS" and sdv.get("VerifiedBy").startswith("USR.")
    assert odm.extension_schema(tmp_path).validate(document)
    signature = subject.find("odm:StudyEventData[@StudyEventOID='SE.D1']/odm:Signature", NS)
    assert signature.find("odm:SignatureRef", NS).get("SignatureOID") == "SD.VISIT_APPROVED"
    assert document.find(".//odm:AdminData/odm:SignatureDef[@OID='SD.VISIT_APPROVED']", NS) is not None


def test_deidentified_file_keys_subjects_by_study_id_without_initials_or_real_dates(casebook, tmp_path):
    study, participant = casebook
    _path, _counts, document = export(study, tmp_path, deidentify=True)
    text = (tmp_path / "odm.xml").read_text()
    keys = {s.get("SubjectKey") for s in document.findall(".//odm:SubjectData", NS)}
    assert participant.label in keys
    assert "IT.TRIALS" not in text and participant.initials not in keys
    from exports.deid import offset_for

    subject = document.find(f".//odm:SubjectData[@SubjectKey='{participant.label}']", NS)
    assessed = subject.find(".//odm:ItemData[@ItemOID='IT.VITAL_SIGNS.ASSESSED_ON']", NS).get("Value")
    shifted = participant.infusion_date + timedelta(days=1 + offset_for(participant.pk))
    assert assessed == shifted.isoformat() != (participant.infusion_date + timedelta(days=1)).isoformat()
    assert "Please confirm the weight." not in text and "transcription error" not in text
    assert odm.odm_schema().validate(odm.without_extensions(document))
