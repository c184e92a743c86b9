"""Define-XML 2.1 metadata of the SDTM and ADaM exports (``define.xml`` in each folder), valid against
CDISC's Define-XML 2.1 schema (shipped by odmlib: ``odmlib/schemas/define/2.1/define2-1-0.xsd``).

One ``ItemGroupDef`` per dataset shipped (name, label, class, structure, keys, the transport file
as ``def:leaf``), one ``ItemDef`` per variable (type, length measured on the data, label, origin),
code lists for the variables filled from CDISC Controlled Terminology (``exports/ct/sdtm-ct.yaml``,
with its NCI codes) or from a sponsor list the variable carries (ADaM ``PARAMCD``), a ``MethodDef``
for each variable whose derivation the dataset describes (ADaM), and comments stating the study-day
convention and the ASCII rule. ``define.csv`` stays beside it as a plain table for readers without
Define-XML tooling.

What differs between the two standards (implementation guide, purpose, classes, structures, keys,
which variables are mandatory) is a :class:`Model`; ``SDTM`` and ``ADAM`` are the two this project
writes. A variable may carry more than ``name``, ``label``, ``type`` and ``origin`` (see
``exports.adam.AVar``): ``source`` (the predecessor it is copied from), ``method`` (its derivation),
``display_format`` (``DATE9.`` for a numeric SAS date), ``codelist`` (a CT codelist name), ``terms``
(a sponsor code list: (code, decode) pairs) and ``mandatory``.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from lxml import etree

from . import trial_design
from .define import ASCII_RULE, STUDY_DAY

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
DEF_NS = "http://www.cdisc.org/ns/def/v2.1"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
NSMAP = {None: ODM_NS, "def": DEF_NS, "xlink": XLINK_NS}
DEFINE_XML = "define.xml"
IG_STANDARD = "STD.SDTMIG.3.4"
CT_STANDARD = "STD.CT.SDTM"
MEDDRA, MEDDRA_CODE = "MEDDRA", "MEDDRA.CODE"

CLASSES = {
    "DM": "SPECIAL PURPOSE", "SV": "SPECIAL PURPOSE", "DS": "EVENTS", "MH": "EVENTS", "AE": "EVENTS",
    "IE": "FINDINGS", "LB": "FINDINGS", "VS": "FINDINGS", "RS": "FINDINGS", "FA": "FINDINGS ABOUT",
    "CM": "INTERVENTIONS", "EX": "INTERVENTIONS", "SUPPDM": "RELATIONSHIP", "RELREC": "RELATIONSHIP",
    "TE": "TRIAL DESIGN",
    "TA": "TRIAL DESIGN", "TV": "TRIAL DESIGN", "TI": "TRIAL DESIGN", "TS": "TRIAL DESIGN",
}  # fmt: skip
STRUCTURES = {
    "DM": "One record per subject",
    "SV": "One record per subject per actual visit",
    "DS": "One record per disposition status or protocol milestone per subject",
    "MH": "One record per medical history event per subject",
    "AE": "One record per adverse event per subject",
    "IE": "One record per inclusion/exclusion criterion not met per subject",
    "LB": "One record per lab test per time point per visit per subject",
    "VS": "One record per vital sign measurement per time point per visit per subject",
    "RS": "One record per response assessment per visit per subject",
    "FA": "One record per finding about CRS or ICANS per assessment per subject",
    "CM": "One record per recorded medication per subject",
    "EX": "One record per administration per subject",
    "SUPPDM": "One record per supplemental qualifier per subject",
    "RELREC": "One record per related record or group of records",
    "TE": "One record per planned element",
    "TA": "One record per planned element per arm",
    "TV": "One record per planned visit per arm",
    "TI": "One record per inclusion/exclusion criterion",
    "TS": "One record per trial summary parameter value",
}
KEYS = {
    "DM": ("STUDYID", "USUBJID"), "SV": ("STUDYID", "USUBJID", "VISITNUM"),
    "SUPPDM": ("STUDYID", "RDOMAIN", "USUBJID", "QNAM"), "TE": ("STUDYID", "ETCD"),
    "RELREC": ("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "RELID"),
    "TA": ("STUDYID", "ARMCD", "TAETORD"), "TV": ("STUDYID", "VISITNUM", "ARMCD"),
    "TI": ("STUDYID", "IETESTCD"), "TS": ("STUDYID", "TSPARMCD", "TSSEQ"),
}  # fmt: skip
# Variables filled from CDISC CT -> codelist name in exports/ct/sdtm-ct.yaml (DSDECOD: the union of
# PROTMLST and NCOMPLT, which DSCAT selects between; MEDDRA: the dictionary, external to CDISC CT).
CODED = {
    "SEX": "SEX", "AGEU": "AGEU", "RACE": "RACE", "ETHNIC": "ETHNIC", "ARMNRS": "ARMNULRS", "EPOCH": "EPOCH",
    "DSCAT": "DSCAT", "DSDECOD": "DSDECOD", "AESER": "NY", "DTHFL": "NY", "TSPARMCD": "TSPARMCD",
    "TSVALNF": "TSNF", "AESCONG": "NY", "AESDISAB": "NY", "AESDTH": "NY", "AESHOSP": "NY", "AESLIFE": "NY",
    "AESMIE": "NY", "AEOUT": "OUT", "AEACN": "ACN", "EXROUTE": "ROUTE", "EXDOSFRM": "FRM",
    "AELLT": MEDDRA, "AEDECOD": MEDDRA, "AEBODSYS": MEDDRA, "AESOC": MEDDRA,
    "AELLTCD": MEDDRA_CODE, "AEBDSYCD": MEDDRA_CODE, "AESOCCD": MEDDRA_CODE,
}  # fmt: skip
DSDECOD_CODELISTS = ("PROTMLST", "NCOMPLT")
COMMENTS = {"AEDECOD": "COM.AEDECOD", "AELLT": "COM.AEDECOD"}
ORIGINS = {
    "CRF": "Collected",
    "Derived": "Derived",
    "Assigned": "Assigned",
    "Protocol": "Protocol",
    "Predecessor": "Predecessor",
}
INTEGER_NAMES = {"AGE", "VISITNUM", "VISITDY", "TAETORD", "AESPID", "AELLTCD", "AEBDSYCD", "AESOCCD"}


def _sdtm_mandatory(domain_code: str, var) -> bool:
    required = {"STUDYID", "DOMAIN", "USUBJID", f"{domain_code}SEQ", f"{domain_code}TESTCD",
                f"{domain_code}TEST", f"{domain_code}TERM", f"{domain_code}TRT", "RDOMAIN", "QNAM",
                "QLABEL", "QVAL"}  # fmt: skip
    return var.name in required


@dataclass(frozen=True)
class Model:
    """The standard a define file describes and what it says about each dataset."""

    ig_name: str  # def:Standard Name: SDTMIG, ADaMIG
    ig_version: str
    purpose: str  # ItemGroupDef Purpose: Tabulation, Analysis
    description: str  # of the MetaDataVersion
    classes: dict[str, str]
    structures: dict[str, str]
    keys: dict[str, tuple[str, ...]]
    sub_classes: dict[str, str] = field(default_factory=dict)
    # keys of a dataset not in ``keys``: STUDYID, USUBJID and its --SEQ
    default_keys: Callable[[str], tuple[str, ...]] = lambda code: ("STUDYID", "USUBJID", f"{code}SEQ")
    mandatory: Callable = lambda code, var: bool(getattr(var, "mandatory", False))
    single_record: frozenset = frozenset()  # datasets with one record per subject (Repeating="No")
    domain_attribute: bool = True  # ItemGroupDef Domain="<code>" (SDTM, not SUPP-- nor ADaM)
    study_day_comment: bool = True  # --DY variables point to the SDTM study-day comment

    @property
    def standard_oid(self) -> str:
        return f"STD.{self.ig_name}.{self.ig_version}"


SDTM = Model(
    ig_name="SDTMIG",
    ig_version="3.4",
    purpose="Tabulation",
    description="SDTM datasets of the study's EDC export",
    classes=CLASSES,
    structures=STRUCTURES,
    keys=KEYS,
    mandatory=_sdtm_mandatory,
    single_record=frozenset({"DM"}),
)


def _q(name: str, ns: str = ODM_NS) -> str:
    return f"{{{ns}}}{name}"


def _description(parent, text: str):
    description = etree.SubElement(parent, _q("Description"))
    translated = etree.SubElement(description, _q("TranslatedText"))
    translated.set(XML_LANG, "en")
    translated.text = text


def _data_type(var) -> str:
    if var.type == "Char":
        return "datetime" if var.name.endswith("DTC") else "text"
    if getattr(var, "display_format", "") or var.name in INTEGER_NAMES or var.name.endswith(("SEQ", "DY")):
        return "integer"  # a numeric SAS date is an integer number of days with a display format
    return "float"


def _codelist_oid(code: str, var) -> str | None:
    if getattr(var, "terms", ()):
        return f"CL.{code}.{var.name}"
    name = getattr(var, "codelist", "") or CODED.get(var.name)
    return f"CL.{name}" if name else None


AE_CODING = (
    "Coded from the MedDRA codes NCI publishes for each CTCAE v5.0 term (adverse_events/data/"
    "ctcae_v5_meddra.csv): a CTCAE term is a MedDRA 20.1 Lowest Level Term (AELLT, AELLTCD), grouped "
    "by its primary SOC (AEBODSYS/AESOC and their codes). CTCAE does not publish the Preferred Term, so "
    "AEDECOD holds the CTCAE term (the LLT) and AEPTCD/AEHLT/AEHLGT are not shipped. A term outside "
    "CTCAE v5.0 (Other, specify; ICANS, IEC-HS, acute GvHD graded by consensus scales) is left "
    "uncoded and listed in uncoded_terms.csv for the data manager."
)


def _terms(codelist) -> dict:
    """{term: NCI code or ""} of a codelist in exports/ct/sdtm-ct.yaml (terms as a mapping or a list)."""
    terms = codelist["terms"]
    return dict(terms) if isinstance(terms, dict) else dict.fromkeys(terms, "")


def codelist_terms(name: str, ct: dict) -> dict:
    """{term: NCI code} of the define's code list ``name``, with the sponsor's extensions (code "")."""
    if name == "DSDECOD":
        terms = {}
        for part in DSDECOD_CODELISTS:
            terms.update(codelist_terms(part, ct))
        return terms
    terms = _terms(ct["codelists"][name])
    for term in ct.get("extended", {}).get(name, []):
        terms.setdefault(term, "")
    return terms


def _codelist(version, name: str, ct: dict) -> None:
    if name in (MEDDRA, MEDDRA_CODE):
        from adverse_events import coding

        label = f"MedDRA {coding.MEDDRA_VERSION} (from CTCAE v{coding.CTCAE_VERSION})"
        element = etree.SubElement(
            version,
            _q("CodeList"),
            {"OID": f"CL.{name}", "Name": label, "DataType": "integer" if name == MEDDRA_CODE else "text"},
        )
        etree.SubElement(element, _q("ExternalCodeList"), Dictionary="MedDRA", Version=coding.MEDDRA_VERSION)
        return
    cdisc = name == "DSDECOD" or "code" in ct["codelists"][name]
    attributes = {"OID": f"CL.{name}", "Name": name, "DataType": "text"}
    if cdisc:
        attributes[_q("StandardOID", DEF_NS)] = CT_STANDARD
    element = etree.SubElement(version, _q("CodeList"), attributes)
    extended = set(ct.get("extended", {}).get(name, ()))
    if name == "DSDECOD":
        extended = {t for part in DSDECOD_CODELISTS for t in ct.get("extended", {}).get(part, ())}
    for term, code in codelist_terms(name, ct).items():
        item = etree.SubElement(
            element,
            _q("EnumeratedItem"),
            {"CodedValue": term, **({_q("ExtendedValue", DEF_NS): "Yes"} if term in extended else {})},
        )
        if code:
            etree.SubElement(item, _q("Alias"), Context="nci:ExtCodeID", Name=code)
    if name != "DSDECOD" and cdisc:
        etree.SubElement(element, _q("Alias"), Context="nci:ExtCodeID", Name=ct["codelists"][name]["code"])


def _value_list(version, code: str, var, length: int, ct_codelists: set, methods: list):
    """The ``def:ValueListDef`` of ``var`` and its ``def:WhereClauseDef``s (returned, for the caller to
    place where the schema wants them); its value ItemDefs are appended to ``version`` (after the
    datasets' ItemDefs), its methods to ``methods``."""
    value_list = etree.Element(_q("ValueListDef", DEF_NS), OID=f"VL.{code}.{var.name}")
    clauses = []
    for order, value in enumerate(var.values, start=1):
        suffix = f"{code}.{var.name}.{value.equals}"
        clause_oid = f"WC.{code}.{value.where}.{value.equals}"
        ref = etree.SubElement(
            value_list,
            _q("ItemRef"),
            ItemOID=f"IT.{suffix}",
            OrderNumber=str(order),
            Mandatory="No",
            MethodOID=f"MT.{suffix}",
        )
        etree.SubElement(ref, _q("WhereClauseRef", DEF_NS), WhereClauseOID=clause_oid)
        clause = etree.Element(_q("WhereClauseDef", DEF_NS), OID=clause_oid)
        check = etree.SubElement(
            clause,
            _q("RangeCheck"),
            {"Comparator": "EQ", "SoftHard": "Soft", _q("ItemOID", DEF_NS): f"IT.{code}.{value.where}"},
        )
        etree.SubElement(check, _q("CheckValue")).text = value.equals
        clauses.append(clause)
        item = etree.SubElement(
            version,
            _q("ItemDef"),
            OID=f"IT.{suffix}",
            Name=var.name,
            DataType=value.data_type,
            Length=str(max(1, length) if value.data_type == "text" else 8),
            SASFieldName=var.name,
        )
        _description(item, value.label)
        if value.codelist:
            ct_codelists.add(value.codelist)
            etree.SubElement(item, _q("CodeListRef"), CodeListOID=f"CL.{value.codelist}")
        etree.SubElement(item, _q("Origin", DEF_NS), Type="Derived")
        methods.append(
            (f"MT.{suffix}", f"{code}.{var.name} where {value.where} = {value.equals}", value.method)
        )
    return value_list, clauses


def write_define_xml(written, directory: Path, *, study, options, model: Model = SDTM) -> dict[str, int]:
    """``written``: (dataset, variables, rows, lengths) of each dataset shipped, described by
    ``model`` (SDTM unless told). Returns {"define.xml": number of ItemDefs}."""
    ct = trial_design.controlled_terminology()
    odm = etree.Element(
        _q("ODM"),
        {
            "FileType": "Snapshot",
            "FileOID": f"DEFINE.{study.code}.{model.ig_name}",
            "CreationDateTime": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "ODMVersion": "1.3.2",
            "Originator": "EDC",
            "SourceSystem": "EDC",
            _q("Context", DEF_NS): "Submission",
        },
        nsmap=NSMAP,
    )
    study_element = etree.SubElement(odm, _q("Study"), OID=f"STUDY.{study.code}")
    variables = etree.SubElement(study_element, _q("GlobalVariables"))
    for tag, text in (
        ("StudyName", study.code),
        ("StudyDescription", study.title),
        ("ProtocolName", study.code),
    ):
        etree.SubElement(variables, _q(tag)).text = text
    short = model.ig_name.removesuffix("IG")
    version = etree.SubElement(
        study_element,
        _q("MetaDataVersion"),
        {
            "OID": f"MDV.{study.code}.{model.ig_name}.{model.ig_version}",
            "Name": f"{study.code} {short}" + (" (de-identified)" if options.deidentify else ""),
            "Description": model.description,
            _q("DefineVersion", DEF_NS): "2.1.0",
            _q("CommentOID", DEF_NS): "COM.ASCII",
        },
    )
    standards = etree.SubElement(version, _q("Standards", DEF_NS))
    etree.SubElement(
        standards, _q("Standard", DEF_NS),
        OID=model.standard_oid, Name=model.ig_name, Type="IG", Version=model.ig_version, Status="Final",
    )  # fmt: skip
    etree.SubElement(
        standards, _q("Standard", DEF_NS),
        OID=CT_STANDARD, Name="CDISC/NCI", Type="CT", PublishingSet="SDTM",
        Version=ct["package"].removeprefix("SDTM CT ").strip(), Status="Final",
    )  # fmt: skip

    item_defs, ct_codelists, sponsor_codelists, methods, value_lists = [], set(), {}, [], []
    for domain, domain_vars, _rows, lengths in written:
        code = domain.code
        group = etree.SubElement(
            version,
            _q("ItemGroupDef"),
            {
                "OID": f"IG.{code}",
                "Name": code,
                "Repeating": "No" if code in model.single_record else "Yes",
                "IsReferenceData": "Yes" if model.classes[code] == "TRIAL DESIGN" else "No",
                "SASDatasetName": code,
                **({"Domain": code} if model.domain_attribute and not code.startswith("SUPP") else {}),
                "Purpose": model.purpose,
                _q("Structure", DEF_NS): model.structures[code],
                _q("ArchiveLocationID", DEF_NS): f"LF.{code}",
                _q("StandardOID", DEF_NS): model.standard_oid,
            },
        )
        _description(group, domain.label)
        keys = model.keys.get(code) or model.default_keys(code)
        for order, var in enumerate(domain_vars, start=1):
            oid = f"IT.{code}.{var.name}"
            ref = {
                "ItemOID": oid,
                "OrderNumber": str(order),
                "Mandatory": "Yes" if model.mandatory(code, var) else "No",
            }
            if var.name in keys:
                ref["KeySequence"] = str(keys.index(var.name) + 1)
            if getattr(var, "method", ""):
                ref["MethodOID"] = f"MT.{code}.{var.name}"
                methods.append((ref["MethodOID"], f"{code}.{var.name}", var.method))
            etree.SubElement(group, _q("ItemRef"), ref)
            item_defs.append((code, oid, var, lengths.get(var.name, 8)))
        group_class = etree.SubElement(group, _q("Class", DEF_NS), Name=model.classes[code])
        if code in model.sub_classes:
            etree.SubElement(group_class, _q("SubClass", DEF_NS), Name=model.sub_classes[code])
        leaf = etree.SubElement(
            group, _q("leaf", DEF_NS), {"ID": f"LF.{code}", _q("href", XLINK_NS): f"{code}.xpt"}
        )
        etree.SubElement(leaf, _q("title", DEF_NS)).text = f"{code}.xpt"

    for code, oid, var, length in item_defs:
        data_type = _data_type(var)
        attributes = {"OID": oid, "Name": var.name, "DataType": data_type, "SASFieldName": var.name}
        if data_type in ("text", "integer", "float"):
            attributes["Length"] = str(max(1, length if data_type == "text" else 8))
        if getattr(var, "display_format", ""):
            attributes[_q("DisplayFormat", DEF_NS)] = var.display_format
        if model.study_day_comment and var.name.endswith("DY") and var.type == "Num":
            attributes[_q("CommentOID", DEF_NS)] = "COM.STUDYDAY"
        elif var.name in COMMENTS:
            attributes[_q("CommentOID", DEF_NS)] = COMMENTS[var.name]
        item = etree.SubElement(version, _q("ItemDef"), attributes)
        _description(item, var.label)
        codelist = _codelist_oid(code, var)
        if codelist:
            if getattr(var, "terms", ()):
                sponsor_codelists[codelist] = (f"{code}.{var.name}", var.terms)
            else:
                ct_codelists.add(codelist.removeprefix("CL."))
            etree.SubElement(item, _q("CodeListRef"), CodeListOID=codelist)
        origin = ORIGINS.get(var.origin, "Derived")
        element = etree.SubElement(
            item,
            _q("Origin", DEF_NS),
            {"Type": origin, **({"Source": "Investigator"} if origin == "Collected" else {})},
        )
        if origin == "Predecessor" and getattr(var, "source", ""):
            _description(element, var.source)
        if getattr(var, "values", ()):
            etree.SubElement(item, _q("ValueListRef", DEF_NS), ValueListOID=f"VL.{code}.{var.name}")
            value_lists.append((code, var, length))

    # Value-level metadata: what a parameter variable holds for each value of PARAMCD (ADaM BDS). The
    # schema places every def:ValueListDef, then every def:WhereClauseDef, right after def:Standards.
    placed, clauses = [], {}
    for code, var, length in value_lists:
        value_list, its_clauses = _value_list(version, code, var, length, ct_codelists, methods)
        placed.append(value_list)
        clauses.update((clause.get("OID"), clause) for clause in its_clauses)  # AVAL and AVALC share them
    anchor = standards
    for element in placed + list(clauses.values()):
        anchor.addnext(element)
        anchor = element

    for name in sorted(ct_codelists):
        _codelist(version, name, ct)
    for oid, (name, terms) in sponsor_codelists.items():
        element = etree.SubElement(version, _q("CodeList"), OID=oid, Name=name, DataType="text")
        for term, decode in terms:
            item = etree.SubElement(element, _q("CodeListItem"), CodedValue=term)
            decoded = etree.SubElement(item, _q("Decode"))
            translated = etree.SubElement(decoded, _q("TranslatedText"))
            translated.set(XML_LANG, "en")
            translated.text = decode

    for oid, name, text in methods:
        method = etree.SubElement(
            version, _q("MethodDef"), OID=oid, Name=f"Algorithm for {name}", Type="Computation"
        )
        _description(method, text)

    comments = [("COM.ASCII", ASCII_RULE)]
    if model.study_day_comment:
        comments.insert(0, ("COM.STUDYDAY", STUDY_DAY))
    if any(var.name in COMMENTS for _code, _oid, var, _length in item_defs):
        comments.append(("COM.AEDECOD", AE_CODING))
    for oid, text in comments:
        comment = etree.SubElement(version, _q("CommentDef", DEF_NS), OID=oid)
        _description(comment, text)

    etree.ElementTree(odm).write(
        str(directory / DEFINE_XML), xml_declaration=True, encoding="UTF-8", pretty_print=True
    )
    return {DEFINE_XML: len(item_defs)}
