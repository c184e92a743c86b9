"""Protocol files as data: validate ``protocols/<id>.yaml`` and load it idempotently.

Validation reports the file, the path inside it (``schedule.visits[3].before``) and the problem, and
nothing is written unless the whole file is valid. Loading the same content again changes nothing; a
changed file becomes a new protocol version (an amendment) and never rewrites existing visits.
"""

import hashlib
import json
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from edc.audit import audited

from .models import DoseLevel, ProtocolVersion, Site, Study, VisitDefinition

DEFAULT_SETTINGS = {
    "doris_glucocorticoid_max_mg_day": 5,
    "doris_stable_weeks": 12,
    "drug_free_doris_primary": "antimalarial_allowed",
    "maintenance_missing_visit": "break",
    "sledai_lookback_days": 10,
    "arthritis_min_joints": 2,
    "lymphodepletion_dose_cap_bsa_m2": None,
    "dose_tolerance_pct": 20,
    "reminders": {
        "window_opens_lead_days": 3,
        "window_closes_lead_days": 2,
        "forms_missing_after_days": 5,
        "query_ageing_days": 7,
        "query_escalation_days": 14,
    },
}
# Settings stored only when a protocol file gives them, so that adding one leaves the checksum (and the
# version) of existing protocol files unchanged; readers fall back to these defaults.
OPTIONAL_SETTINGS = {
    "lab_ae_prompt_min_grade": 3,  # a lab result with this CTCAE grade or higher prompts "record as AE?"
    "critical_fields": {},  # {form code: [field, ...]}: the fields risk-based SDV verifies
    # {form code: {field: [reason, ...]}}: "not done", "unknown", "not applicable" a field may take
    "missing_data": {},
}


def setting(study, key: str):
    """A study setting, or its default (``DEFAULT_SETTINGS``/``OPTIONAL_SETTINGS``) when not stored."""
    default = OPTIONAL_SETTINGS.get(key, DEFAULT_SETTINGS.get(key))
    value = (study.settings or {}).get(key)
    return default if value is None else value


class ProtocolError(Exception):
    def __init__(self, source: str, path: str, problem: str):
        self.source, self.path, self.problem = source, path, problem
        super().__init__(f"{source}: {path or '(top level)'}: {problem}")


@dataclass
class LoadResult:
    study: Study
    version: ProtocolVersion
    created: bool


class _Reader:
    """Walks the parsed YAML and raises ProtocolError naming the exact path."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, path, problem):
        raise ProtocolError(self.source, path, problem)

    def mapping(self, data, path, required=(), optional=()):
        if not isinstance(data, dict):
            self.fail(path, f"must be a mapping, got {type(data).__name__}")
        for key in required:
            if key not in data:
                self.fail(f"{path}.{key}" if path else key, "is required")
        unknown = set(data) - set(required) - set(optional)
        if unknown:
            self.fail(path, f"unknown key(s): {', '.join(sorted(map(str, unknown)))}")
        return data

    def text(self, data, path, *, max_length=300):
        if isinstance(data, (int, float)) and not isinstance(data, bool):
            data = str(data)
        if not isinstance(data, str) or not data.strip():
            self.fail(path, "must be a non-empty text")
        if len(data) > max_length:
            self.fail(path, f"must be at most {max_length} characters")
        return data.strip()

    def integer(self, data, path, *, minimum=None):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail(path, f"must be a whole number, got {data!r}")
        if minimum is not None and data < minimum:
            self.fail(path, f"must be at least {minimum}, got {data}")
        return data

    def boolean(self, data, path):
        if not isinstance(data, bool):
            self.fail(path, f"must be true or false, got {data!r}")
        return data

    def sequence(self, data, path, *, min_items=1):
        if not isinstance(data, list):
            self.fail(path, f"must be a list, got {type(data).__name__}")
        if len(data) < min_items:
            self.fail(path, f"must have at least {min_items} item(s)")
        return data


def parse(text: str, source: str) -> dict[str, Any]:
    """Validate a protocol file's text; return the normalised content."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ProtocolError(source, where, f"not valid YAML ({getattr(exc, 'problem', exc)})") from None
    r = _Reader(source)
    r.mapping(
        data,
        "",
        required=("protocol_version", "trial", "sites", "dose_levels", "schedule"),
        optional=("dlt", "settings"),
    )
    trial = r.mapping(
        data["trial"], "trial", required=("nct_id", "code", "title", "phase", "target_enrollment")
    )
    content: dict[str, Any] = {
        "protocol_version": r.text(data["protocol_version"], "protocol_version", max_length=40),
        "trial": {
            "nct_id": r.text(trial["nct_id"], "trial.nct_id", max_length=20),
            "code": r.text(trial["code"], "trial.code", max_length=40),
            "title": r.text(trial["title"], "trial.title"),
            "phase": r.text(trial["phase"], "trial.phase", max_length=40),
            "target_enrollment": r.integer(trial["target_enrollment"], "trial.target_enrollment", minimum=1),
        },
    }

    sites, seen = [], set()
    for i, site in enumerate(r.sequence(data["sites"], "sites")):
        path = f"sites[{i}]"
        r.mapping(site, path, required=("code", "name", "city", "timezone"), optional=("country",))
        code = r.text(site["code"], f"{path}.code", max_length=10)
        if code in seen:
            r.fail(f"{path}.code", f"duplicate site code {code!r}")
        seen.add(code)
        tz = r.text(site["timezone"], f"{path}.timezone", max_length=64)
        if tz not in zoneinfo.available_timezones():
            r.fail(f"{path}.timezone", f"unknown time zone {tz!r}")
        sites.append(
            {
                "code": code,
                "name": r.text(site["name"], f"{path}.name", max_length=200),
                "city": r.text(site["city"], f"{path}.city", max_length=100),
                "country": r.text(site.get("country", "-"), f"{path}.country", max_length=100),
                "timezone": tz,
            }
        )
    content["sites"] = sites

    levels, seen = [], set()
    for i, level in enumerate(r.sequence(data["dose_levels"], "dose_levels")):
        path = f"dose_levels[{i}]"
        r.mapping(level, path, required=("code", "label"), optional=("cells_per_kg", "to_be_confirmed"))
        code = r.text(level["code"], f"{path}.code", max_length=10)
        if code in seen:
            r.fail(f"{path}.code", f"duplicate dose level {code!r}")
        seen.add(code)
        cells = level.get("cells_per_kg")
        if cells is not None:
            cells = r.integer(cells, f"{path}.cells_per_kg", minimum=1)
        levels.append(
            {
                "code": code,
                "label": r.text(level["label"], f"{path}.label", max_length=100),
                "cells_per_kg": cells,
                "to_be_confirmed": r.boolean(level.get("to_be_confirmed", False), f"{path}.to_be_confirmed"),
            }
        )
    content["dose_levels"] = levels

    schedule = r.mapping(
        data["schedule"],
        "schedule",
        required=("visits",),
        optional=("provisional_day0_after_enrollment", "unscheduled_forms"),
    )
    visits, seen = [], set()
    for i, visit in enumerate(r.sequence(schedule["visits"], "schedule.visits")):
        path = f"schedule.visits[{i}]"
        r.mapping(
            visit,
            path,
            required=("code", "name", "day"),
            optional=("name_zh_hans", "before", "after", "optional", "forms"),
        )
        code = r.text(visit["code"], f"{path}.code", max_length=20)
        if code in seen:
            r.fail(f"{path}.code", f"duplicate visit code {code!r}")
        seen.add(code)
        forms = r.sequence(visit.get("forms", []), f"{path}.forms", min_items=0)
        visits.append(
            {
                "code": code,
                "name": r.text(visit["name"], f"{path}.name", max_length=100),
                **(
                    {"name_zh_hans": r.text(visit["name_zh_hans"], f"{path}.name_zh_hans", max_length=100)}
                    if "name_zh_hans" in visit
                    else {}
                ),
                "day": r.integer(visit["day"], f"{path}.day"),
                "before": r.integer(visit.get("before", 0), f"{path}.before", minimum=0),
                "after": r.integer(visit.get("after", 0), f"{path}.after", minimum=0),
                "optional": r.boolean(visit.get("optional", False), f"{path}.optional"),
                "forms": [r.text(f, f"{path}.forms[{j}]", max_length=40) for j, f in enumerate(forms)],
            }
        )
    days = [v["day"] for v in visits]
    if days != sorted(days):
        r.fail("schedule.visits", "visits must be listed in study-day order")
    content["schedule"] = {
        "provisional_day0_after_enrollment": r.integer(
            schedule.get("provisional_day0_after_enrollment", 7),
            "schedule.provisional_day0_after_enrollment",
            minimum=0,
        ),
        "visits": visits,
    }
    if "unscheduled_forms" in schedule:  # only when given, so older files keep their checksum
        forms = r.sequence(schedule["unscheduled_forms"], "schedule.unscheduled_forms", min_items=0)
        content["schedule"]["unscheduled_forms"] = [
            r.text(f, f"schedule.unscheduled_forms[{j}]", max_length=40) for j, f in enumerate(forms)
        ]

    dlt = r.mapping(
        data.get("dlt", {}),
        "dlt",
        optional=("window_days", "criteria", "escalation_design", "target_dlt_rate"),
    )
    window = r.sequence(dlt.get("window_days", [0, 28]), "dlt.window_days", min_items=2)
    if len(window) != 2:
        r.fail("dlt.window_days", "must be [first day, last day]")
    first, last = (r.integer(d, f"dlt.window_days[{j}]") for j, d in enumerate(window))
    if last < first:
        r.fail("dlt.window_days", "the last day comes before the first")
    design = dlt.get("escalation_design", "3+3")
    if design not in ("3+3", "boin"):
        r.fail("dlt.escalation_design", f"must be '3+3' or 'boin', got {design!r}")
    content["dlt"] = {
        "window_days": [first, last],
        "criteria": [r.text(c, f"dlt.criteria[{j}]") for j, c in enumerate(dlt.get("criteria", []))],
        "escalation_design": design,
    }
    if "target_dlt_rate" in dlt:  # BOIN's target DLT rate (default 0.3); only when given (checksum)
        target = dlt["target_dlt_rate"]
        if isinstance(target, bool) or not isinstance(target, (int, float)) or not 0 < target < 1:
            r.fail("dlt.target_dlt_rate", f"must be a rate between 0 and 1, got {target!r}")
        content["dlt"]["target_dlt_rate"] = target

    given = data.get("settings") or {}
    optional = {k: given[k] for k in OPTIONAL_SETTINGS if isinstance(given, dict) and k in given}
    content["settings"] = _settings(
        r, {k: v for k, v in given.items() if k not in optional} if optional else given, DEFAULT_SETTINGS,
        "settings",
    )  # fmt: skip
    if "lab_ae_prompt_min_grade" in optional:  # only when given (checksum)
        grade = optional["lab_ae_prompt_min_grade"]
        if isinstance(grade, bool) or not isinstance(grade, int) or not 1 <= grade <= 5:
            r.fail("settings.lab_ae_prompt_min_grade", f"must be a CTCAE grade from 1 to 5, got {grade!r}")
        content["settings"]["lab_ae_prompt_min_grade"] = grade
    if "critical_fields" in optional:  # only when given (checksum)
        content["settings"]["critical_fields"] = _validated(r, "critical_fields", optional["critical_fields"])
    if "missing_data" in optional:  # only when given (checksum)
        content["settings"]["missing_data"] = _validated(r, "missing_data", optional["missing_data"])
    return content


# Validators of the settings that an app built on this one reads (``monitoring`` validates
# ``critical_fields`` against the fields SDV can verify): ``function(reader, value, path) -> value``,
# registered from the app's ``AppConfig.ready()``. The reader's ``fail`` names the file and the path.
SETTING_VALIDATORS: dict[str, Callable] = {}


def register_setting_validator(key: str, validator: Callable) -> None:
    if SETTING_VALIDATORS.get(key, validator) is not validator:
        raise ValueError(f"setting {key!r} already has a validator")
    SETTING_VALIDATORS[key] = validator


def _validated(r: _Reader, key: str, given):
    path = f"settings.{key}"
    validator = SETTING_VALIDATORS.get(key)
    if validator is None:
        r.fail(path, "no installed app reads this setting")
    return validator(r, given, path)


def _settings(r: _Reader, given, defaults, path):
    r.mapping(given, path, optional=tuple(defaults))
    merged = {}
    for key, default in defaults.items():
        value = given.get(key, default)
        if isinstance(default, dict):
            merged[key] = _settings(r, value, default, f"{path}.{key}")
        elif isinstance(default, str):
            merged[key] = r.text(value, f"{path}.{key}")
        elif value is not None or default is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                r.fail(f"{path}.{key}", f"must be a non-negative number, got {value!r}")
            merged[key] = value
        else:
            merged[key] = None
    if merged.get("maintenance_missing_visit", "break") not in ("break", "bridge_one"):
        r.fail(f"{path}.maintenance_missing_visit", "must be 'break' or 'bridge_one'")
    if merged.get("drug_free_doris_primary", "strict") not in ("antimalarial_allowed", "strict"):
        r.fail(f"{path}.drug_free_doris_primary", "must be 'antimalarial_allowed' or 'strict'")
    return merged


# Translations of names: not part of the protocol's checksum, so adding or correcting one is no amendment
# (``load`` updates them on the current version; pages show them through ``Visit.display_name``).
TRANSLATED = ("name_zh_hans",)


def checksum(content: dict) -> str:
    schedule = content.get("schedule") or {}
    if "visits" in schedule:
        visits = [{k: v for k, v in visit.items() if k not in TRANSLATED} for visit in schedule["visits"]]
        content = {**content, "schedule": {**schedule, "visits": visits}}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _update_translations(version: ProtocolVersion, content: dict) -> None:
    """Names in other languages of an unchanged protocol: its visit definitions take them."""
    names = {v["code"]: v.get("name_zh_hans", "") for v in content["schedule"]["visits"]}
    for definition in version.visit_definitions.all():
        name = names.get(definition.code, "")
        if definition.name_zh_hans != name:
            definition.name_zh_hans = name
            definition.save(update_fields=["name_zh_hans"])
    if version.content != content:
        version.content = content
        version.save(update_fields=["content"])


def load_file(path: Path | str, *, user=None) -> LoadResult:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProtocolError(str(path), "", f"cannot be read ({exc.strerror})") from None
    return load(parse(text, str(path)), source_name=path.name, user=user)


def load(content: dict, *, source_name: str, user=None) -> LoadResult:
    """Write a validated protocol; idempotent on equal content, a new version otherwise."""
    digest = checksum(content)
    trial = content["trial"]
    with audited(user=user, action="load_protocol", reason=f"protocol file {source_name}"):
        study, _ = Study.objects.select_for_update().get_or_create(
            nct_id=trial["nct_id"],
            defaults={k: trial[k] for k in ("code", "title", "phase", "target_enrollment")},
        )
        latest = study.protocol_versions.order_by("-number").first()
        if latest is not None and latest.checksum == digest:
            _update_translations(latest, content)
            return LoadResult(study, latest, created=False)

        _update(
            study,
            {
                **{k: trial[k] for k in ("code", "title", "phase", "target_enrollment")},
                "settings": {
                    **content["settings"],
                    "dlt": content["dlt"],
                    "provisional_day0_after_enrollment": content["schedule"][
                        "provisional_day0_after_enrollment"
                    ],
                },
            },
        )
        for site in content["sites"]:
            obj, created = Site.objects.get_or_create(study=study, code=site["code"], defaults=site)
            if not created:
                _update(obj, site)
        for order, level in enumerate(content["dose_levels"]):
            values = {
                **level,
                "cells_per_kg": Decimal(level["cells_per_kg"]) if level["cells_per_kg"] else None,
                "order": order,
            }
            obj, created = DoseLevel.objects.get_or_create(study=study, code=level["code"], defaults=values)
            if not created:
                _update(obj, values)
        version = ProtocolVersion.objects.create(
            study=study,
            number=(latest.number + 1) if latest else 1,
            label=content["protocol_version"],
            checksum=digest,
            source_name=source_name,
            content=content,
        )
        VisitDefinition.objects.bulk_create(
            VisitDefinition(
                protocol_version=version,
                code=v["code"],
                name=v["name"],
                name_zh_hans=v.get("name_zh_hans", ""),
                target_day=v["day"],
                window_before=v["before"],
                window_after=v["after"],
                optional=v["optional"],
                forms=v["forms"],
                order=order,
            )
            for order, v in enumerate(content["schedule"]["visits"])
        )
    return LoadResult(study, version, created=True)


def _update(obj, values: dict):
    """Save only when something changed, so a reload writes no audit noise."""
    changed = [k for k, v in values.items() if getattr(obj, k) != v]
    for key in changed:
        setattr(obj, key, values[key])
    if changed:
        obj.save(update_fields=changed)
