"""The PDF casebook of a demo participant, read back by a PDF reader we did not write (pypdf): every
form title, Chinese text, each signature's manifestation, one bookmark per visit and per form, the page
header with page x/y, the footer's manifest hash. Printed through the export job, as the worker does."""

import hashlib
import io
import json
import re
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from pypdf import PdfReader

from adverse_events.services import record_adverse_event
from casebooks import content, services
from crfs.registry import FORMS
from exports import services as export_services
from exports.models import ExportStatus
from monitoring.services import answer_query
from signatures.models import Signature

CHINESE_ANSWER = "体重已与原始病历核对无误"
AE_VERBATIM = "Neutropenic fever on day 2 (casebook test)"


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _outline(reader):
    """[(visit title, [form titles])] from the PDF outline."""
    entries, found = reader.outline, []
    for entry in entries:
        if isinstance(entry, list):
            found[-1][1].extend(child["/Title"] for child in entry)
        else:
            found.append((entry["/Title"], []))
    return found


@pytest.fixture
def printed(seeded_demo):
    from django.contrib.auth import get_user_model

    from tests.exports.test_odm_export import seed_demo_study

    _study, p = seed_demo_study()
    users = get_user_model().objects
    query = p.queries.get(field_name="weight_kg")
    answer_query(user=users.get(username="coordinator"), query=query, text=CHINESE_ANSWER)
    record_adverse_event(
        user=users.get(username="coordinator"),
        participant=p,
        grade=3,
        data={
            "term": "febrile_neutropenia",
            "verbatim": AE_VERBATIM,
            "onset_date": p.infusion_date + timedelta(days=2),
            "relationship_car_t": "probable",
            "relationship_lymphodepletion": "possible",
            "serious_hospitalisation": True,
            "action_taken": "none",
        },
        awareness_at=timezone.now() - timedelta(hours=2),
    )
    investigator = users.get(username="investigator")
    job = services.request_casebook(user=investigator, participant=p, language="zh-hans", enqueue=False)
    job = export_services.run_export(job_id=job.pk)
    assert job.status == ExportStatus.DONE, job.error
    with zipfile.ZipFile(job.zip_path) as archive:
        pdf_name = next(n for n in archive.namelist() if n.endswith(".pdf"))
        reader = PdfReader(io.BytesIO(archive.read(pdf_name)))
        index = json.loads(archive.read("casebooks/casebooks.json"))
    pages = [page.extract_text() for page in reader.pages]
    return p, job, reader, pages, index


def test_a_demo_participants_casebook_reads_back_with_every_part_the_archive_needs(printed):
    """One print (a PDF takes seconds), each part of the acceptance checked on what the reader sees."""
    p, job, reader, pages, index = printed
    text = _squash("\n".join(pages))

    # Every form entered appears under its title, in Chinese.
    with translation.override("zh-hans"):
        titles = {
            str(spec.title)
            for spec in FORMS.values()
            if spec.model.objects.filter(participant=p, entered_in_error=False).exists()
        }
        book = content.build(p)
        expected_outline = [(s.title, [f.title for f in s.forms]) for s in book.sections]
        events_title = str(_("Adverse events"))
        event_titles = [f.title for f in book.events.forms]
        manifestations = [s.manifestation for s in Signature.objects.filter(participant=p)]
    assert len(titles) >= 5
    assert [title for title in titles if _squash(title) not in text] == []

    # A Chinese answer in a query's thread, drawn with the Noto CJK font (no missing glyphs).
    assert CHINESE_ANSWER in text
    fonts = {
        str(font.get_object()["/BaseFont"])
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert any("Noto-Sans-CJK-SC" in name for name in fonts), fonts

    # The monitor's verification of the heart rate: the field carries its SDV mark.
    assert re.search(r"(心率|heartrate)[^·]*✓", text)

    # Each signature with its manifestation.
    assert manifestations
    assert [m for m in manifestations if _squash(m) not in text] == []

    # The outline: one entry per visit, one per form under it, then the adverse events, one each.
    assert _outline(reader) == expected_outline
    assert expected_outline[-1] == (events_title, event_titles)
    assert any("febrile" in t.lower() or "发热" in t for t in event_titles), event_titles

    # The adverse events: each with its values (the verbatim term), grade entries and SAE report.
    assert _squash(AE_VERBATIM) in text
    with translation.override("zh-hans"):
        from adverse_events.models import AdverseEventGrade, SaeReport

        for model in (AdverseEventGrade, SaeReport):
            assert _squash(str(model._meta.verbose_name_plural)) in text, model
    assert sum(len(forms) for _v, forms in expected_outline) == len(book.forms) > 5

    # The header of every page: study, site, participant and page x / y.
    for number, page in enumerate(pages, start=1):
        assert f"{number} / {len(pages)}" in page
        assert p.site.study.code in page and p.site.code in page and str(p) in page

    # The footer: the SHA-256 of the content manifest, which casebooks.json repeats.
    [entry] = index
    manifest = {"participant": str(p), "site": p.site.code, "entries": entry["manifest"]}
    digest = hashlib.sha256(
        json.dumps(manifest, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()
    ).hexdigest()
    assert entry["manifest_sha256"] == digest
    assert all(digest in _squash(page) for page in pages)

    # Recorded as an export of the investigator, finished by the job machinery.
    assert job.options["formats"] == ["casebook"] and job.options["participant_ids"] == [p.pk]
    assert job.requested_by.username == "investigator" and job.progress == 100
    assert [f["name"] for f in job.files] == [f"casebooks/casebook-{p}.pdf", "casebooks/casebooks.json"]
