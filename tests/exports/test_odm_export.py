"""The ODM 1.3.2 export: valid against the official schema, with audit records, signatures and queries."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import RequestFactory
from lxml import etree

from crfs.registry import FORMS
from crfs.services import save_form
from exports import odm
from exports.options import ExportOptions
from monitoring import verification
from signatures.models import Signature
from tests.conftest import PASSWORD, make_participant, today_at

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


# --- Participant-level records (issue 17) -----------------------------------------------------------


def add_safety_and_participation(p, *, coordinator, investigator):
    """For infused participant ``p``: an adverse event graded 1 then 3, a serious one with its SAE report
    and a follow-up, the end of study, and the visit signature of ``add_casebook_data`` broken by a
    correction of the weight."""
    from django.utils import timezone

    from adverse_events import services as ae_services
    from signatures.services import break_signatures
    from tests.adverse_events.factories import record_ae
    from trials.services import end_participation

    fever = record_ae(coordinator, p, term="fever", grade=1)
    ae_services.add_grade(
        user=coordinator, event=fever, grade_on=fever.onset_date + timedelta(days=1), grade=3
    )
    sepsis = record_ae(
        coordinator,
        p,
        term="sepsis",
        grade=4,
        serious_hospitalisation=True,
        awareness_at=timezone.now() - timedelta(hours=2),
    )
    ae_services.update_sae_narrative(
        user=investigator, report=sepsis.sae_report, narrative="Sepsis on day 2."
    )
    request = RequestFactory().post("/")
    request.user = investigator
    ae_services.sign_sae_report(
        user=investigator, report=sepsis.sae_report, password=PASSWORD, request=request
    )
    ae_services.add_sae_follow_up(
        user=investigator, report=sepsis.sae_report, information="Cultures negative."
    )
    vitals = FORMS["vital_signs"].model.objects.get(participant=p)
    break_signatures(record=vitals, user=coordinator, reason="weight re-measured", changes=["weight_kg"])
    end_participation(
        user=investigator, participant=p, outcome="withdrawn", end_date=today_at(p.site), reason="moved away"
    )
    return fever, sepsis


@pytest.fixture
def full_casebook(casebook, coordinator, investigator):
    study, p = casebook
    add_safety_and_participation(p, coordinator=coordinator, investigator=investigator)
    p.refresh_from_db()
    return study, p


def subject_of(document, key):
    return document.find(f".//odm:SubjectData[@SubjectKey='{key}']", NS)


def item(element, oid):
    found = element.find(f".//odm:ItemData[@ItemOID='{oid}']", NS)
    return found.get("Value") if found is not None else None


def test_participation_holds_consent_eligibility_enrollment_dose_infusion_and_end_of_study(
    full_casebook, tmp_path
):
    study, p = full_casebook
    _path, _counts, document = export(study, tmp_path)
    form = subject_of(document, p.label).find(
        "odm:StudyEventData[@StudyEventOID='SE.PARTICIPANT']/odm:FormData[@FormOID='F.PARTICIPANT']", NS
    )
    assert item(form, "IT.PARTICIPANT.CONSENT.CONSENT_DATE") == p.consent_date.isoformat()
    assert item(form, "IT.PARTICIPANT.CONSENT.CONSENT_VERSION") == "1.0"
    assert item(form, "IT.PARTICIPANT.ELIGIBILITY.ELIGIBILITY_MET") == "true"
    assert item(form, "IT.PARTICIPANT.ENROLLMENT.ENROLLMENT_DATE") == p.enrollment_date.isoformat()
    assert item(form, "IT.PARTICIPANT.ENROLLMENT.DOSE_LEVEL") == p.dose_level.code
    assert item(form, "IT.PARTICIPANT.TREATMENT.INFUSION_DATE") == p.infusion_date.isoformat()
    assert item(form, "IT.PARTICIPANT.END_OF_STUDY.END_DATE") == p.end_date.isoformat()
    assert item(form, "IT.PARTICIPANT.END_OF_STUDY.END_REASON") == "moved away"
    assert item(form, "IT.PARTICIPANT.SCREENING.STATUS") == "withdrawn"
    end = form.find(".//odm:ItemData[@ItemOID='IT.PARTICIPANT.END_OF_STUDY.END_DATE']/odm:AuditRecord", NS)
    assert end.find("odm:UserRef", NS).get("UserOID").startswith("USR.")
    mdv = document.find(".//odm:MetaDataVersion", NS)
    assert mdv.find("odm:StudyEventDef[@OID='SE.PARTICIPANT']", NS).get("Type") == "Common"
    dose = mdv.find("odm:ItemDef[@OID='IT.PARTICIPANT.ENROLLMENT.DOSE_LEVEL']/odm:CodeListRef", NS)
    codes = mdv.findall(f"odm:CodeList[@OID='{dose.get('CodeListOID')}']/odm:CodeListItem", NS)
    assert p.dose_level.code in {c.get("CodedValue") for c in codes}


def test_adverse_events_hold_their_grade_entries_sae_report_and_follow_up(full_casebook, tmp_path):
    study, p = full_casebook
    _path, _counts, document = export(study, tmp_path)
    events = subject_of(document, p.label).find("odm:StudyEventData[@StudyEventOID='SE.ADVERSE_EVENTS']", NS)
    fever = events.find("odm:FormData[@FormOID='F.ADVERSE_EVENT'][@FormRepeatKey='1']", NS)
    assert item(fever, "IT.ADVERSE_EVENT.TERM") == "fever"
    grades = fever.findall("odm:ItemGroupData[@ItemGroupOID='IG.ADVERSE_EVENT.GRADES']", NS)
    assert [item(g, "IT.ADVERSE_EVENT.GRADES.GRADE") for g in grades] == ["1", "3"]
    assert [g.get("ItemGroupRepeatKey") for g in grades] == ["1", "2"]
    sepsis = events.find("odm:FormData[@FormOID='F.ADVERSE_EVENT'][@FormRepeatKey='2']", NS)
    assert item(sepsis, "IT.ADVERSE_EVENT.SERIOUS_HOSPITALISATION") == "true"
    assert item(sepsis, "IT.ADVERSE_EVENT.SAE_REPORT.AWARENESS_AT") is not None
    assert item(sepsis, "IT.ADVERSE_EVENT.SAE_REPORT.NARRATIVE") == "Sepsis on day 2."
    assert item(sepsis, "IT.ADVERSE_EVENT.SAE_REPORT.SIGNED_AT") is not None
    assert item(sepsis, "IT.ADVERSE_EVENT.SAE_FOLLOW_UPS.INFORMATION") == "Cultures negative."
    term = sepsis.find(".//odm:ItemData[@ItemOID='IT.ADVERSE_EVENT.TERM']/odm:AuditRecord", NS)
    assert term.find("odm:LocationRef", NS).get("LocationOID") == "LOC.YC"
    mdv = document.find(".//odm:MetaDataVersion", NS)
    for oid in ("IG.ADVERSE_EVENT.GRADES", "IG.ADVERSE_EVENT.SAE_REPORT", "IG.ADVERSE_EVENT.SAE_FOLLOW_UPS"):
        assert (
            mdv.find(f"odm:FormDef[@OID='F.ADVERSE_EVENT']/odm:ItemGroupRef[@ItemGroupOID='{oid}']", NS)
            is not None
        )
    assert mdv.find("odm:ItemDef[@OID='IT.ADVERSE_EVENT.GRADES.GRADE']/odm:CodeListRef", NS) is not None


def test_crs_assessment_is_written_with_its_visit(full_casebook, tmp_path):
    study, p = full_casebook
    _path, _counts, document = export(study, tmp_path)
    crs = subject_of(document, p.label).find(
        "odm:StudyEventData[@StudyEventOID='SE.D1']/odm:FormData[@FormOID='F.CRS']", NS
    )
    assert item(crs, "IT.CRS.TEMPERATURE_C") == "38.6"


def test_a_broken_signature_is_kept_with_who_broke_it_when_and_why(full_casebook, tmp_path):
    study, p = full_casebook
    _path, _counts, document = export(study, tmp_path)
    clinical = document.find("odm:ClinicalData", NS)
    signature = clinical.find("odm:Signatures/odm:Signature", NS)
    sig_id = signature.get("ID")
    assert signature.get(f"{{{odm.EDC_NS}}}SubjectKey") == p.label
    assert signature.get(f"{{{odm.EDC_NS}}}StudyEventOID") == "SE.D1"
    assert signature.get(f"{{{odm.EDC_NS}}}Status") == "broken"
    assert signature.find("odm:SignatureRef", NS).get("SignatureOID") == "SD.VISIT_APPROVED"
    record = clinical.find(f"odm:AuditRecords/odm:AuditRecord[@ID='AR.{sig_id}']", NS)
    assert record.get(f"{{{odm.EDC_NS}}}SignatureID") == sig_id
    reason = record.find("odm:ReasonForChange", NS).text
    assert "Weight" in reason and "weight re-measured" in reason
    # The valid signature is gone from the visit: it no longer holds.
    assert subject_of(document, p.label).find(".//odm:StudyEventData/odm:Signature", NS) is None
    assert odm.extension_schema(tmp_path / "xsd").validate(document), odm.extension_schema(
        tmp_path / "xsd"
    ).error_log


def test_deidentified_broken_signature_reason_names_no_person_and_no_free_text(full_casebook, tmp_path):
    study, _p = full_casebook
    _path, _counts, document = export(study, tmp_path, deidentify=True)
    record = document.find("odm:ClinicalData/odm:AuditRecords/odm:AuditRecord", NS)
    reason = record.find("odm:ReasonForChange", NS).text
    assert "USR." in reason and "weight re-measured" not in reason
    text = (tmp_path / "odm.xml").read_text()
    assert "moved away" not in text and "Cultures negative." not in text and "Sepsis on day 2." not in text


# --- Schemas (issue 17) --------------------------------------------------------------------------------


def test_the_zip_ships_the_extension_schema_and_the_odm_file_validates_against_it(
    full_casebook, sponsor_admin, tmp_path
):
    import zipfile

    from tests.exports.factories import run

    study, _p = full_casebook
    job = run(sponsor_admin, study, formats=("odm",))
    with zipfile.ZipFile(job.zip_path) as archive:
        archive.extractall(tmp_path)
    folder = tmp_path / "odm"
    assert {odm.EXTENSION_XSD_FILE, odm.EXTENDED_XSD, "ODM1-3-2-foundation.xsd"} <= {
        p.name for p in folder.iterdir()
    }
    document = etree.parse(str(folder / "odm.xml"))
    location = document.getroot().get(odm.XSI_SCHEMA_LOCATION)
    assert location == f"{odm.ODM_NS} {odm.EXTENDED_XSD}"
    schema = etree.XMLSchema(etree.parse(str(folder / odm.EXTENDED_XSD)))
    assert schema.validate(document), schema.error_log
    assert document.find(".//edc:Queries", NS) is not None
    assert document.find(".//odm:Signatures/odm:Signature", NS).get(f"{{{odm.EDC_NS}}}Status") == "broken"
    # The shipped extension schema is what makes the file valid: the official schema refuses it.
    assert not odm.odm_schema().validate(document)


def test_an_element_the_extension_does_not_declare_is_refused_by_the_shipped_schema(full_casebook, tmp_path):
    study, _p = full_casebook
    _path, _counts, document = export(study, tmp_path)
    schema = odm.extension_schema(tmp_path / "xsd")
    assert schema.validate(document)
    subject = document.find(".//odm:SubjectData", NS)
    etree.SubElement(subject, f"{{{odm.EDC_NS}}}Undeclared")
    assert not schema.validate(document)


@pytest.mark.parametrize("deidentify", [False, True])
def test_pure_odm_validates_against_the_official_schema_as_it_is(
    full_casebook, sponsor_admin, tmp_path, deidentify
):
    import zipfile

    from tests.exports.factories import run

    study, p = full_casebook
    job = run(sponsor_admin, study, formats=("odm",), odm_pure=True, deidentify=deidentify)
    with zipfile.ZipFile(job.zip_path) as archive:
        content = archive.read("odm/odm.xml")
        names = set(archive.namelist())
    assert f"odm/{odm.EXTENSION_XSD_FILE}" not in names and "odm/ODM1-3-2.xsd" in names
    document = etree.ElementTree(etree.fromstring(content))
    official = etree.XMLSchema(etree.parse(str(odm.odm_schema_dir() / "ODM1-3-2.xsd")))
    assert official.validate(document), official.error_log
    assert odm.EDC_NS.encode() not in content
    root = document.getroot()
    assert root.get(odm.XSI_SCHEMA_LOCATION) == f"{odm.ODM_NS} ODM1-3-2.xsd"
    # Still complete: the participant-level records and the broken signature are there.
    assert root.find(".//odm:StudyEventData[@StudyEventOID='SE.ADVERSE_EVENTS']", NS) is not None
    assert root.find(".//odm:Signatures/odm:Signature", NS) is not None
    assert root.find(".//odm:AuditRecords/odm:AuditRecord/odm:ReasonForChange", NS) is not None


def test_the_export_page_offers_pure_odm_and_the_job_keeps_the_choice(client, data_manager, study):
    from django.urls import reverse

    from exports.models import ExportJob

    client.force_login(data_manager)
    page = client.get(reverse("export_list")).content.decode()
    assert 'name="odm_pure"' in page
    response = client.post(
        reverse("export_new"),
        {"formats": ["odm"], "deidentify": "on", "date_mode": "shift", "odm_pure": "on"},
    )
    assert response.status_code == 302
    options = ExportOptions.from_json(ExportJob.objects.get().options)
    assert options.odm_pure is True and options.formats == ("odm",)


def test_every_participant_level_record_is_defined_in_the_metadata(full_casebook, tmp_path):
    study, _p = full_casebook
    _path, _counts, document = export(study, tmp_path)
    mdv = document.find(".//odm:MetaDataVersion", NS)

    def refs(parent_tag, oid, ref_tag, attr):
        parent = mdv.find(f"odm:{parent_tag}[@OID='{oid}']", NS)
        assert parent is not None, oid
        return {r.get(attr) for r in parent.findall(f"odm:{ref_tag}", NS)}

    checked = 0
    for event in document.iterfind(".//odm:SubjectData/odm:StudyEventData", NS):
        if event.get("StudyEventOID") not in ("SE.PARTICIPANT", "SE.ADVERSE_EVENTS"):
            continue
        forms = refs("StudyEventDef", event.get("StudyEventOID"), "FormRef", "FormOID")
        for form in event.findall("odm:FormData", NS):
            assert form.get("FormOID") in forms
            groups = refs("FormDef", form.get("FormOID"), "ItemGroupRef", "ItemGroupOID")
            for group in form.findall("odm:ItemGroupData", NS):
                assert group.get("ItemGroupOID") in groups
                items = refs("ItemGroupDef", group.get("ItemGroupOID"), "ItemRef", "ItemOID")
                for item_data in group.findall("odm:ItemData", NS):
                    assert item_data.get("ItemOID") in items
                    assert mdv.find(f"odm:ItemDef[@OID='{item_data.get('ItemOID')}']", NS) is not None
                    checked += 1
    assert checked > 30
    protocol = {r.get("StudyEventOID") for r in mdv.findall("odm:Protocol/odm:StudyEventRef", NS)}
    assert {"SE.PARTICIPANT", "SE.ADVERSE_EVENTS"} <= protocol
