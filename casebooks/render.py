"""PDF casebooks and blank or annotated CRFs: Django templates (``templates/casebooks/``) printed by
WeasyPrint. Bookmarks (the PDF outline) come from the headings (``bookmark-level`` in the style sheet:
one entry per visit, one per form under it); the page header and footer are CSS margin boxes.

Chinese text needs a CJK font: the style sheet names Noto Sans CJK SC (Debian's ``fonts-noto-cjk``),
found through fontconfig like any installed font.
"""

import json
import logging
import os
import re
from pathlib import Path

from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crfs.registry import FORMS

from . import content

# WeasyPrint reports each layout step at INFO: noise in the worker's log.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


def css_string(text: str) -> str:
    """``text`` as a quoted CSS string (for the margin boxes)."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def _pdf(html: str) -> bytes:
    from weasyprint import HTML

    return HTML(string=html).write_pdf()


def casebook_html(book: content.Casebook) -> str:
    header = " · ".join(
        [
            f"{book.study.code} ({book.study.nct_id})",
            f"{book.site.code} {book.site.name}",
            str(book.participant),
        ]
    )
    footer = _("Exported %(at)s (%(tz)s) · content manifest SHA-256 %(hash)s") % {
        "at": book.exported_local,
        "tz": book.site.timezone,
        "hash": book.manifest_sha256,
    }
    return render_to_string(
        "casebooks/casebook.html",
        {
            "book": book,
            "language": translation.get_language(),
            "header_css": css_string(header),
            "page_css": css_string(_("Page") + " "),
            "footer_css": css_string(footer),
            "manifest_text": manifest_text(book.manifest),
        },
    )


def manifest_text(manifest: list[dict]) -> str:
    lines = []
    for e in manifest:
        if "record" in e:
            lines.append(f"{e['visit']} · {e['form']} · {e['record']} v{e['version']} · {e['sha256']}")
        else:
            signature = _("signature")
            lines.append(f"{signature} {e['signature']} · {e['scope']} · {e['status']} · {e['content_hash']}")
    return "\n".join(lines)


def casebook_pdf(participant, *, now=None, progress=None) -> tuple[bytes, content.Casebook]:
    """The participant's casebook as PDF bytes, in the active language; ``progress(fraction)``."""

    def step(fraction):
        if progress is not None:
            progress(fraction)

    book = content.build(participant, now=now, progress=lambda f: step(0.4 * f))
    html = casebook_html(book)
    step(0.5)
    pdf = _pdf(html)
    step(1.0)
    return pdf, book


def file_name(participant) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"casebook-{participant}") + ".pdf"


def write_casebooks(*, study, options, directory: Path, progress) -> dict[str, int]:
    """One PDF per participant in scope (``options.participant_ids``, else every participant of the
    sites), in ``options.language``, plus ``casebooks.json`` with each one's content manifest and its
    hash. The export job's writer (``exports.services``); returns {file: pages (entries for the
    JSON)}."""
    from pypdf import PdfReader

    from exports import scope

    directory.mkdir(parents=True, exist_ok=True)
    people = scope.participant_scope(study, options).select_related("site__study", "dose_level")
    if options.participant_ids is not None:
        people = people.filter(pk__in=options.participant_ids)
    people = list(people)
    counts, index = {}, []
    now = timezone.now()
    with translation.override(options.language or "en"):
        for i, participant in enumerate(people):
            share = 1 / max(1, len(people))
            pdf, book = casebook_pdf(
                participant, now=now, progress=lambda f, i=i, share=share: progress(i * share + f * share)
            )
            name = file_name(participant)
            (directory / name).write_bytes(pdf)
            pages = len(PdfReader(directory / name).pages)
            counts[name] = pages
            index.append(
                {
                    "participant": str(participant),
                    "site": participant.site.code,
                    "file": name,
                    "pages": pages,
                    "manifest_sha256": book.manifest_sha256,
                    "manifest": book.manifest,
                }
            )
    (directory / "casebooks.json").write_text(
        json.dumps(index, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    counts["casebooks.json"] = len(index)
    return counts


# --- blank and annotated CRFs -------------------------------------------------------------------


def scheduled_forms(study) -> list[tuple[str, list[str]]]:
    """(form code, visit codes) of every form the protocol schedules, in the order it first appears;
    the forms offered at unscheduled visits last."""
    version = study.current_protocol
    schedule = (version.content or {}).get("schedule", {}) if version else {}
    found: dict[str, list[str]] = {}
    for visit in schedule.get("visits", []):
        for code in visit.get("forms", []):
            found.setdefault(code, []).append(visit["code"])
    for code in schedule.get("unscheduled_forms", []) or []:
        found.setdefault(code, []).append(_("unscheduled"))
    return list(found.items())


def _blank_field(f, annotations: dict, key: str) -> dict:
    label, unit = content.split_unit(str(f.verbose_name))
    return {
        "name": key,
        "label": label,
        "unit": unit,
        "choices": [str(text) for value, text in f.flatchoices if value not in ("", None)]
        if f.choices
        else [],
        "boolean": f.get_internal_type() == "BooleanField",
        "computed": not f.editable,
        "annotations": [a.label for a in annotations.get(key, ())],
    }


def crf_forms(study, *, annotated: bool) -> list[dict]:
    """Every scheduled form as the blank CRF prints it: fields, child tables, analytes of lab panels."""
    from exports import sdtm_annotations

    forms = []
    for code, visits in scheduled_forms(study):
        spec = FORMS.get(code)
        if spec is None:
            continue
        model = spec.model
        annotations = sdtm_annotations.annotations(code) if annotated else {}
        fields = [_blank_field(f, annotations, f.name) for f in content._data_fields(model)]
        tables = []
        for name in (*model.child_sets, *content.DEPENDENT_ROWS.get(model._meta.label, ())):
            relation = model._meta.get_field(name)
            link = relation.field.name
            columns = content._data_fields(
                relation.related_model, content.FORM_BOOKKEEPING | content.ROW_HIDDEN | {link}
            )
            tables.append(
                {
                    "title": str(relation.related_model._meta.verbose_name_plural),
                    "columns": [_blank_field(c, annotations, f"{name}.{c.name}") for c in columns],
                }
            )
        panels = []
        if code == "labs":
            from labs.analytes import Panel

            for panel, title in Panel.choices:
                rows = sdtm_annotations.lab_results(panel)
                panels.append(
                    {
                        "title": str(title),
                        "analytes": [
                            {
                                "label": str(analyte.label),
                                "units": ", ".join(analyte.units),
                                "annotation": annotation.label if annotated else "",
                            }
                            for analyte, annotation in rows
                        ],
                    }
                )
        forms.append(
            {
                "code": code,
                "title": str(spec.title),
                "visits": visits,
                "fields": fields,
                "tables": tables,
                "panels": panels,
                "submitted": bool(annotations),
            }
        )
    return forms


def crf_html(study, *, annotated: bool) -> str:
    title = _("Annotated CRF (SDTM)") if annotated else _("Blank CRF")
    header = f"{study.code} ({study.nct_id}) · {title}"
    protocol = study.current_protocol
    footer = _(
        "From protocol version %(version)s (%(label)s, SHA-256 %(checksum)s) and the form definitions"
    ) % {
        "version": protocol.number if protocol else "",
        "label": protocol.label if protocol else "",
        "checksum": protocol.checksum[:16] if protocol else "",
    }
    return render_to_string(
        "casebooks/crf.html",
        {
            "study": study,
            "title": title,
            "annotated": annotated,
            "forms": crf_forms(study, annotated=annotated),
            "language": translation.get_language(),
            "header_css": css_string(header),
            "page_css": css_string(_("Page") + " "),
            "footer_css": css_string(footer),
        },
    )


def crf_pdf(study, *, annotated: bool = False) -> bytes:
    """The blank CRF (or the annotated one) of every form the protocol schedules, as PDF bytes.

    Printed from the page made of the protocol and the form and mapping definitions as they are now;
    the PDF is kept under ``EXPORT_ROOT/crf/`` by the SHA-256 of that page, so a change to any of them
    prints anew and an unchanged one is served at once."""
    import hashlib

    from django.conf import settings

    html = crf_html(study, annotated=annotated)
    folder = Path(settings.EXPORT_ROOT) / "crf"
    path = folder / f"{hashlib.sha256(html.encode()).hexdigest()}.pdf"
    if path.is_file():
        return path.read_bytes()
    content = _pdf(html)
    folder.mkdir(parents=True, exist_ok=True)
    part = path.with_suffix(f".{os.getpid()}.part")
    part.write_bytes(content)
    os.replace(part, path)
    return content
