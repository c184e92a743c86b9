"""Laboratory panels (a repeating CRF), their results as a long table, and the site reference ranges.

A ``LabPanel`` is one panel collected at one visit; its ``LabResult`` rows hold one analyte each, the
value as entered beside its conversion to the standard unit, the reference range applied and the
interpretation (H/L flag, CTCAE grade and the rule version) as shown when the result was saved.
``ReferenceRange`` rows are versioned by ``valid_from``: a new range supersedes the older ones for
collections on or after that date, and old rows are never deleted.
"""

import pghistory
import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crfs.models import CaseReportForm, CrfRow
from edc.integrity import RefuseWhenLocked

from .analytes import Panel, analyte, unit_label


class LabSource(models.TextChoices):
    LOCAL = "local", _("Local laboratory")
    CENTRAL = "central", _("Central laboratory")


@pghistory.track(pghistory.InsertEvent("created"), pghistory.UpdateEvent("updated"))
class LabPanel(CaseReportForm):
    """One laboratory panel of a visit (several per visit, one of each kind)."""

    panel = models.CharField(_("panel"), max_length=20, choices=Panel.choices)
    collected_at = models.DateTimeField(_("collected"), null=True, blank=True)
    laboratory = models.CharField(_("laboratory"), max_length=100, blank=True)
    source = models.CharField(
        _("local or central"), max_length=10, choices=LabSource.choices, default=LabSource.LOCAL
    )

    required_for_complete = ("collected_at",)
    child_sets = ("other_tests",)

    class Meta:
        verbose_name = _("laboratory panel")
        verbose_name_plural = _("laboratory panels")
        constraints = [
            models.UniqueConstraint(
                fields=["visit", "panel"],
                condition=Q(entered_in_error=False),
                name="labpanel_one_per_panel_per_visit",
            )
        ]
        triggers = [
            pgtrigger.Protect(name="labpanel_no_delete", operation=pgtrigger.Delete),
            RefuseWhenLocked(),
        ]

    def __str__(self):
        return str(self.get_panel_display())

    def missing_required(self) -> list[str]:
        """Besides the collection time: every other test listed has a value, a result or "not done"."""
        missing = super().missing_required()
        if any(not row.answered for row in self.rows("other_tests")):
            missing.append("other_tests")
        return missing


@pghistory.track(pghistory.InsertEvent("created"), pghistory.UpdateEvent("updated"))
class OtherLabTest(CrfRow):
    """A test the laboratory reported with the panel that the panel's table does not list (GGT, glucose,
    reticulocytes), entered as printed on the report with the report's own limits.

    A row of the panel's "other tests" table: versioned and audited with the panel, never deleted
    (removing it marks it entered in error with the reason for change), locked with the panel.
    """

    panel = models.ForeignKey(LabPanel, models.PROTECT, related_name="other_tests", verbose_name=_("panel"))
    test = models.CharField(_("test"), max_length=100)
    value = models.DecimalField(_("value"), max_digits=20, decimal_places=6, null=True, blank=True)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    result = models.CharField(
        _("result in words"), max_length=60, blank=True, help_text=_("Positive, 1:160, trace…")
    )
    lln = models.DecimalField(_("LLN"), max_digits=20, decimal_places=6, null=True, blank=True)
    uln = models.DecimalField(_("ULN"), max_digits=20, decimal_places=6, null=True, blank=True)
    not_done = models.BooleanField(_("not done"), default=False)

    class Meta:
        verbose_name = _("other test")
        verbose_name_plural = _("other tests")
        triggers = [CaseReportForm.protected("otherlabtest"), RefuseWhenLocked(parent="panel")]

    def __str__(self):
        return self.test

    @property
    def answered(self) -> bool:
        return self.value is not None or bool(self.result.strip()) or self.not_done

    @property
    def flag(self) -> str:
        """H or L against the report's own limits ("" without a value or a limit)."""
        if self.value is None:
            return ""
        if self.uln is not None and self.value > self.uln:
            return Flag.HIGH
        if self.lln is not None and self.value < self.lln:
            return Flag.LOW
        return ""


class Flag(models.TextChoices):
    HIGH = "H", _("High")
    LOW = "L", _("Low")


class RangeSex(models.TextChoices):
    ANY = "", _("Any")
    FEMALE = "F", _("Female")
    MALE = "M", _("Male")


@pghistory.track(pghistory.InsertEvent("created"), pghistory.UpdateEvent("updated"))
class ReferenceRange(models.Model):
    """A site laboratory's normal range for one analyte, sex and age band, from ``valid_from`` on.

    ``lln``/``uln`` are in ``unit``; either may be empty (CRP has no lower limit). Ages are whole
    years, both bounds inclusive; an empty ``age_max`` has no upper bound.
    """

    site = models.ForeignKey("trials.Site", models.PROTECT, related_name="+", verbose_name=_("site"))
    analyte = models.CharField(_("analyte"), max_length=30)
    sex = models.CharField(_("sex"), max_length=1, choices=RangeSex.choices, blank=True, default=RangeSex.ANY)
    age_min = models.PositiveSmallIntegerField(_("from age (years)"), default=0)
    age_max = models.PositiveSmallIntegerField(_("to age (years)"), null=True, blank=True)
    unit = models.CharField(_("unit"), max_length=20)
    lln = models.DecimalField(_("LLN"), max_digits=20, decimal_places=6, null=True, blank=True)
    uln = models.DecimalField(_("ULN"), max_digits=20, decimal_places=6, null=True, blank=True)
    valid_from = models.DateField(_("valid from"))
    source = models.CharField(_("source"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        verbose_name = _("reference range")
        ordering = ["site", "analyte", "sex", "age_min", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "analyte", "sex", "age_min", "age_max", "valid_from"],
                nulls_distinct=False,
                name="reference_range_one_version_per_day",
            ),
            models.CheckConstraint(
                condition=Q(lln__isnull=True) | Q(uln__isnull=True) | Q(lln__lte=models.F("uln")),
                name="reference_range_lln_le_uln",
            ),
            models.CheckConstraint(
                condition=Q(age_max__isnull=True) | Q(age_min__lte=models.F("age_max")),
                name="reference_range_age_band",
            ),
        ]
        indexes = [models.Index(fields=["site", "analyte", "valid_from"], name="reference_range_lookup")]
        triggers = [pgtrigger.Protect(name="reference_range_no_delete", operation=pgtrigger.Delete)]

    def __str__(self):
        return f"{self.analyte_label} {self.display}"

    @property
    def analyte_label(self):
        spec = analyte(self.analyte)
        return spec.label if spec else self.analyte

    @property
    def display(self) -> str:
        low = "" if self.lln is None else f"{self.lln.normalize():f}"
        high = "" if self.uln is None else f"{self.uln.normalize():f}"
        return f"{low}–{high} {unit_label(self.unit)}"

    def applies_to(self, *, sex: str, age: int) -> bool:
        return self.sex in ("", sex) and self.age_min <= age and (self.age_max is None or age <= self.age_max)


class SiteUnit(models.Model):
    """The unit a site's laboratory reports an analyte in: the entry form's default."""

    site = models.ForeignKey("trials.Site", models.PROTECT, related_name="+", verbose_name=_("site"))
    analyte = models.CharField(_("analyte"), max_length=30)
    unit = models.CharField(_("unit"), max_length=20)

    class Meta:
        verbose_name = _("site unit")
        constraints = [models.UniqueConstraint(fields=["site", "analyte"], name="site_unit_unique")]

    def __str__(self):
        return f"{self.site.code} {self.analyte}: {self.unit}"


@pghistory.track(pghistory.InsertEvent("created"), pghistory.UpdateEvent("updated"))
class LabResult(models.Model):
    """One analyte of a panel. Rows are never deleted; clearing a value keeps the row (and its history)."""

    panel = models.ForeignKey(LabPanel, models.PROTECT, related_name="results", verbose_name=_("panel"))
    analyte = models.CharField(_("analyte"), max_length=30)
    value = models.DecimalField(_("value"), max_digits=20, decimal_places=6, null=True, blank=True)
    result = models.CharField(_("result"), max_length=30, blank=True)
    not_done = models.BooleanField(_("not done"), default=False)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    standard_value = models.DecimalField(
        _("value in the standard unit"), max_digits=20, decimal_places=6, null=True, blank=True
    )
    standard_unit = models.CharField(_("standard unit"), max_length=20, blank=True)
    lln = models.DecimalField(_("LLN"), max_digits=20, decimal_places=6, null=True, blank=True)
    uln = models.DecimalField(_("ULN"), max_digits=20, decimal_places=6, null=True, blank=True)
    reference_range = models.ForeignKey(
        ReferenceRange,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reference range"),
    )
    flag = models.CharField(_("flag"), max_length=1, choices=Flag.choices, blank=True)
    ctcae_grade = models.PositiveSmallIntegerField(_("CTCAE grade"), null=True, blank=True)
    rule_version = models.CharField(_("rule version"), max_length=40, blank=True)
    collected_at = models.DateTimeField(_("collected"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("laboratory result")
        constraints = [
            models.UniqueConstraint(fields=["panel", "analyte"], name="lab_result_one_per_analyte"),
            models.CheckConstraint(condition=Q(flag__in=["", "H", "L"]), name="lab_result_flag"),
        ]
        indexes = [models.Index(fields=["analyte", "collected_at"], name="lab_result_analyte_time")]
        triggers = [
            pgtrigger.Protect(name="lab_result_no_delete", operation=pgtrigger.Delete),
            RefuseWhenLocked(parent="panel"),
        ]

    def __str__(self):
        return str(self.label)

    @property
    def participant(self):
        """The panel's participant: a query on a lab value belongs to them."""
        return self.panel.participant

    @property
    def spec(self):
        return analyte(self.analyte)

    @property
    def label(self):
        spec = self.spec
        return spec.label if spec else self.analyte

    @property
    def entered(self) -> bool:
        return self.value is not None or bool(self.result)


class ImportFormat(models.TextChoices):
    FHIR = "fhir", _("FHIR R4 bundle (JSON)")
    CSV = "csv", _("CSV with the site's column mapping")


class ImportStatus(models.TextChoices):
    PREVIEWED = "previewed", _("Previewed, not imported")
    IMPORTED = "imported", _("Imported")


class RowOutcome(models.TextChoices):
    NEW = "new", _("New")
    SAME = "same", _("Same as entered")
    DIFFERS = "differs", _("Differs from entered")
    UNMATCHED = "unmatched", _("Unmatched participant")
    UNKNOWN_CODE = "unknown_code", _("Unknown code")
    OUTSIDE_WINDOW = "outside_window", _("Outside any window")
    LOCKED = "locked", _("Locked")
    INVALID = "invalid", _("Unreadable")


# The outcomes an import writes; the others are reported and left alone.
WRITTEN_OUTCOMES = (RowOutcome.NEW, RowOutcome.DIFFERS)


@pghistory.track(pghistory.InsertEvent("created"), pghistory.UpdateEvent("updated"))
class LabImportMapping(models.Model):
    """Which columns of a site laboratory's CSV export hold what: saved once per site by a data manager.

    Each field names a column header of the file. The collection time is read as ISO 8601
    (``2026-03-01T08:30:00+08:00``) or ``YYYY-MM-DD HH:MM`` in the site's time zone.
    """

    site = models.OneToOneField(
        "trials.Site", models.PROTECT, related_name="lab_import_mapping", verbose_name=_("site")
    )
    row_key = models.CharField(_("column of the row's identifier"), max_length=100)
    subject = models.CharField(_("column of the screening number or study id"), max_length=100)
    code = models.CharField(_("column of the LOINC code"), max_length=100)
    value = models.CharField(_("column of the value"), max_length=100)
    unit = models.CharField(_("column of the unit"), max_length=100)
    collected_at = models.CharField(_("column of the collection time"), max_length=100)
    performer = models.CharField(_("column of the laboratory (optional)"), max_length=100, blank=True)
    specimen = models.CharField(_("column of the specimen (optional)"), max_length=100, blank=True)
    delimiter = models.CharField(_("delimiter"), max_length=1, default=",")
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("updated by")
    )

    COLUMNS = ("row_key", "subject", "code", "value", "unit", "collected_at", "performer", "specimen")

    class Meta:
        verbose_name = _("laboratory CSV mapping")
        triggers = [pgtrigger.Protect(name="lab_import_mapping_no_delete", operation=pgtrigger.Delete)]

    def __str__(self):
        return f"{self.site.code}"


@pghistory.track(pghistory.InsertEvent("created"), pghistory.UpdateEvent("updated"))
class LabImport(models.Model):
    """One uploaded laboratory file, kept whole with its SHA-256, its preview and what it wrote."""

    site = models.ForeignKey("trials.Site", models.PROTECT, related_name="+", verbose_name=_("site"))
    format = models.CharField(_("format"), max_length=10, choices=ImportFormat.choices)
    file_name = models.CharField(_("file"), max_length=255)
    content = models.BinaryField(_("file content"))
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.PREVIEWED
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("uploaded by")
    )
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("imported by"),
    )
    imported_at = models.DateTimeField(_("imported"), null=True, blank=True)
    counts = models.JSONField(_("rows by outcome"), default=dict)
    written = models.PositiveIntegerField(_("values written"), default=0)

    class Meta:
        verbose_name = _("laboratory import")
        ordering = ["-uploaded_at", "-pk"]
        triggers = [pgtrigger.Protect(name="lab_import_no_delete", operation=pgtrigger.Delete)]

    def __str__(self):
        return f"{self.file_name} ({self.sha256[:12]})"


class LabImportRow(models.Model):
    """One observation of an imported file and its outcome in the preview (and the result it wrote)."""

    lab_import = models.ForeignKey(LabImport, models.PROTECT, related_name="rows")
    number = models.PositiveIntegerField(_("row"))
    source_id = models.CharField(_("source identifier"), max_length=200, blank=True)
    subject = models.CharField(_("participant"), max_length=100, blank=True)
    code = models.CharField(_("code"), max_length=100, blank=True)
    value_text = models.CharField(_("value"), max_length=100, blank=True)
    unit_text = models.CharField(_("unit"), max_length=100, blank=True)
    effective_text = models.CharField(_("collected"), max_length=100, blank=True)
    performer = models.CharField(_("laboratory"), max_length=200, blank=True)
    specimen = models.CharField(_("specimen"), max_length=200, blank=True)
    participant = models.ForeignKey(
        "trials.Participant", models.PROTECT, null=True, blank=True, related_name="+"
    )
    visit = models.ForeignKey("visits.Visit", models.PROTECT, null=True, blank=True, related_name="+")
    chosen_visit = models.ForeignKey(
        "visits.Visit",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("chosen visit"),
    )
    analyte = models.CharField(_("analyte"), max_length=30, blank=True)
    value = models.DecimalField(_("value"), max_digits=20, decimal_places=6, null=True, blank=True)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    collected_at = models.DateTimeField(_("collected"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=RowOutcome.choices)
    message = models.CharField(_("message"), max_length=300, blank=True)
    entered = models.CharField(_("entered value"), max_length=60, blank=True)
    result = models.ForeignKey(LabResult, models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("laboratory import row")
        ordering = ["lab_import", "number"]
        constraints = [models.UniqueConstraint(fields=["lab_import", "number"], name="lab_import_row_number")]
        indexes = [models.Index(fields=["source_id"], name="lab_import_row_source")]
        triggers = [pgtrigger.Protect(name="lab_import_row_no_delete", operation=pgtrigger.Delete)]

    def __str__(self):
        return f"{self.lab_import_id}:{self.number}"
