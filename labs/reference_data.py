"""Reference ranges and site units from a YAML file (``protocols/reference_ranges/*.yaml``).

The whole file is validated first, with the path of each problem (``sites.CD.ranges[1].unit``), and
nothing is written unless it is valid. Loading is idempotent: a range is identified by site, analyte,
sex, age band and ``valid_from``; an identical row is left alone, a changed one is updated (the audit
trail keeps the old values). A new version of a range is a row with a later ``valid_from``.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml
from django.conf import settings

from edc.audit import audited
from edc.errors import DomainError
from trials.models import Study

from .analytes import BY_CODE
from .models import ReferenceRange, SiteUnit
from .services import validate_range

DEFAULT_FILE = Path(settings.BASE_DIR) / "protocols" / "reference_ranges" / "default.yaml"


class ReferenceDataError(ValueError):
    pass


@dataclass
class LoadResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    units: int = 0


@dataclass(frozen=True)
class RangeRow:
    site_code: str
    analyte: str
    sex: str
    age_min: int
    age_max: int | None
    unit: str
    lln: Decimal | None
    uln: Decimal | None
    valid_from: date
    source: str


def _decimal(value, where):
    if value is None:
        return None
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise ReferenceDataError(f"{where}: not a number: {value!r}") from None
    if not result.is_finite():
        raise ReferenceDataError(f"{where}: not a finite number")
    return result


def _mapping(value, where) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ReferenceDataError(f"{where}: expected a mapping")
    return value


def _units(raw, where) -> dict[str, str]:
    units = {}
    for code, unit in _mapping(raw, where).items():
        spec = BY_CODE.get(code)
        if spec is None:
            raise ReferenceDataError(f"{where}.{code}: unknown analyte")
        if unit not in spec.units:
            raise ReferenceDataError(f"{where}.{code}: unit must be one of {', '.join(spec.units)}")
        units[code] = unit
    return units


def _ranges(raw, where, *, site_code, valid_from, source) -> list[RangeRow]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ReferenceDataError(f"{where}: expected a list")
    rows = []
    for i, item in enumerate(raw):
        at = f"{where}[{i}]"
        item = _mapping(item, at)
        unknown = set(item) - {"analyte", "unit", "lln", "uln", "sex", "age", "valid_from", "source"}
        if unknown:
            raise ReferenceDataError(f"{at}: unknown keys {', '.join(sorted(unknown))}")
        age = item.get("age") or [0, None]
        if not (isinstance(age, list) and len(age) == 2 and isinstance(age[0], int)):
            raise ReferenceDataError(f"{at}.age: expected [from, to] in years")
        row = RangeRow(
            site_code=site_code,
            analyte=str(item.get("analyte", "")),
            sex=str(item.get("sex") or ""),
            age_min=age[0],
            age_max=age[1],
            unit=str(item.get("unit", "")),
            lln=_decimal(item.get("lln"), f"{at}.lln"),
            uln=_decimal(item.get("uln"), f"{at}.uln"),
            valid_from=item.get("valid_from", valid_from),
            source=str(item.get("source", source)),
        )
        if not isinstance(row.valid_from, date):
            raise ReferenceDataError(f"{at}.valid_from: expected a date (YYYY-MM-DD)")
        try:
            validate_range(
                analyte=row.analyte,
                unit=row.unit,
                lln=row.lln,
                uln=row.uln,
                sex=row.sex,
                age_min=row.age_min,
                age_max=row.age_max,
            )
        except DomainError as exc:
            raise ReferenceDataError(f"{at}.{exc.field or 'analyte'}: {exc.message}") from None
        rows.append(row)
    return rows


def parse(content: dict, name: str = "file"):
    """(study nct id, {site code: units}, [RangeRow]) from the file's content, or ReferenceDataError."""
    content = _mapping(content, name)
    study = content.get("study")
    if not isinstance(study, str):
        raise ReferenceDataError(f"{name}: study: the registry id of the study is required")
    valid_from = content.get("valid_from")
    if not isinstance(valid_from, date):
        raise ReferenceDataError(f"{name}: valid_from: expected a date (YYYY-MM-DD)")
    source = str(content.get("source", ""))
    default = _mapping(content.get("default"), "default")
    default_units = _units(default.get("units"), "default.units")
    default_rows = _ranges(
        default.get("ranges"), "default.ranges", site_code="", valid_from=valid_from, source=source
    )
    sites = _mapping(content.get("sites"), "sites")
    if not sites:
        raise ReferenceDataError(f"{name}: sites: list at least one site code")
    units, rows = {}, []
    for code, section in sites.items():
        section = _mapping(section, f"sites.{code}")
        own = _ranges(
            section.get("ranges"),
            f"sites.{code}.ranges",
            site_code=code,
            valid_from=valid_from,
            source=source,
        )
        replaced = {r.analyte for r in own}
        rows += [
            RangeRow(**{**r.__dict__, "site_code": code}) for r in default_rows if r.analyte not in replaced
        ]
        rows += own
        units[code] = {**default_units, **_units(section.get("units"), f"sites.{code}.units")}
    return study, units, rows


def load_file(path=DEFAULT_FILE) -> LoadResult:
    path = Path(path)
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ReferenceDataError(f"{path.name}: {exc}") from None
    return load(content, name=path.name)


def load(content: dict, *, name: str = "file") -> LoadResult:
    nct_id, units, rows = parse(content, name)
    study = Study.objects.filter(nct_id=nct_id).first()
    if study is None:
        raise ReferenceDataError(f"{name}: study {nct_id} is not loaded (manage.py load_protocol first)")
    sites = {s.code: s for s in study.sites.all()}
    missing = sorted(set(units) - set(sites))
    if missing:
        raise ReferenceDataError(f"{name}: sites: unknown site codes {', '.join(missing)}")
    result = LoadResult()
    with audited(user=None, action="load_reference_ranges", reason=f"file {name}"):
        for code, site_units in units.items():
            for analyte, unit in site_units.items():
                _, created = SiteUnit.objects.update_or_create(
                    site=sites[code], analyte=analyte, defaults={"unit": unit}
                )
                result.units += created
        for row in rows:
            key = {
                "site": sites[row.site_code],
                "analyte": row.analyte,
                "sex": row.sex,
                "age_min": row.age_min,
                "age_max": row.age_max,
                "valid_from": row.valid_from,
            }
            values = {"unit": row.unit, "lln": row.lln, "uln": row.uln, "source": row.source}
            existing = ReferenceRange.objects.filter(**key).first()
            if existing is None:
                ReferenceRange.objects.create(**key, **values)
                result.created += 1
            elif any(getattr(existing, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(existing, k, v)
                existing.save()
                result.updated += 1
            else:
                result.unchanged += 1
    return result
