"""The study as loaded from its protocol file, its sites and dose levels, and its participants."""

from datetime import date

import pghistory
import pgtrigger
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from edc.integrity import RefuseWhenLocked
from edc.models import ClinicalRecord


class Study(models.Model):
    nct_id = models.CharField(_("registry id"), max_length=20, unique=True)
    code = models.CharField(_("code"), max_length=40)
    title = models.CharField(_("title"), max_length=300)
    phase = models.CharField(_("phase"), max_length=40)
    target_enrollment = models.PositiveIntegerField(_("target enrollment"))
    settings = models.JSONField(_("protocol settings"), default=dict)

    class Meta:
        verbose_name = _("study")
        verbose_name_plural = _("studies")

    def __str__(self):
        return f"{self.code} ({self.nct_id})"

    @property
    def current_protocol(self):
        return self.protocol_versions.order_by("-number").first()


@pghistory.track(pghistory.InsertEvent("created"), pghistory.UpdateEvent("updated"))
class ProtocolVersion(models.Model):
    """One loaded version of the protocol file; a changed file is an amendment (a new number)."""

    study = models.ForeignKey(Study, models.PROTECT, related_name="protocol_versions")
    number = models.PositiveIntegerField(_("version"))
    label = models.CharField(_("protocol version label"), max_length=40)
    checksum = models.CharField(_("SHA-256 of the content"), max_length=64)
    source_name = models.CharField(_("file"), max_length=255)
    content = models.JSONField(_("content"))
    loaded_at = models.DateTimeField(_("loaded"), auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["study", "number"], name="protocol_version_unique")]
        triggers = [pgtrigger.Protect(name="protocol_version_no_delete", operation=pgtrigger.Delete)]

    def __str__(self):
        return f"{self.study.code} v{self.number} ({self.label})"


@pghistory.track(pghistory.InsertEvent("created"), pghistory.UpdateEvent("updated"))
class Site(models.Model):
    study = models.ForeignKey(Study, models.PROTECT, related_name="sites")
    code = models.CharField(_("site code"), max_length=10)
    name = models.CharField(_("name"), max_length=200)
    city = models.CharField(_("city"), max_length=100)
    country = models.CharField(_("country"), max_length=100, blank=True)
    timezone = models.CharField(_("time zone"), max_length=64)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["study", "code"], name="site_code_unique")]
        triggers = [pgtrigger.Protect(name="site_no_delete", operation=pgtrigger.Delete)]

    def __str__(self):
        return f"{self.code} · {self.name}"


@pghistory.track(pghistory.InsertEvent("created"), pghistory.UpdateEvent("updated"))
class DoseLevel(models.Model):
    study = models.ForeignKey(Study, models.PROTECT, related_name="dose_levels")
    code = models.CharField(_("dose level"), max_length=10)
    label = models.CharField(_("label"), max_length=100)
    cells_per_kg = models.DecimalField(_("CAR⁺ cells per kg"), max_digits=20, decimal_places=0, null=True)
    to_be_confirmed = models.BooleanField(_("to be confirmed by the sponsor"), default=False)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "code"]
        constraints = [models.UniqueConstraint(fields=["study", "code"], name="dose_level_code_unique")]
        triggers = [pgtrigger.Protect(name="dose_level_no_delete", operation=pgtrigger.Delete)]

    def __str__(self):
        return self.code + (" (TBC)" if self.to_be_confirmed else "")


class VisitDefinition(models.Model):
    """A scheduled visit of one protocol version, relative to Day 0 (the CAR-T infusion)."""

    protocol_version = models.ForeignKey(ProtocolVersion, models.PROTECT, related_name="visit_definitions")
    code = models.CharField(_("code"), max_length=20)
    name = models.CharField(_("name"), max_length=100)
    # The name in Simplified Chinese, from the protocol file (``name_zh_hans``); empty: the English one.
    name_zh_hans = models.CharField(_("name (Simplified Chinese)"), max_length=100, blank=True, default="")
    target_day = models.IntegerField(_("target study day"))
    window_before = models.PositiveIntegerField(_("days allowed before"), default=0)
    window_after = models.PositiveIntegerField(_("days allowed after"), default=0)
    optional = models.BooleanField(_("optional"), default=False)
    forms = models.JSONField(_("expected forms"), default=list)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["protocol_version", "order"]
        constraints = [
            models.UniqueConstraint(fields=["protocol_version", "code"], name="visit_definition_unique")
        ]
        triggers = [pgtrigger.Protect(name="visit_definition_no_delete", operation=pgtrigger.Delete)]

    def __str__(self):
        return self.code


class ParticipantStatus(models.TextChoices):
    SCREENING = "screening", _("Screening")
    SCREEN_FAILED = "screen_failed", _("Screen failed")
    ENROLLED = "enrolled", _("Enrolled")
    LYMPHODEPLETED = "lymphodepleted", _("Lymphodepleted")
    INFUSED = "infused", _("Infused")
    IN_FOLLOW_UP = "in_follow_up", _("In follow-up")
    COMPLETED = "completed", _("Completed")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    DIED = "died", _("Died")


class Sex(models.TextChoices):
    FEMALE = "F", _("Female")
    MALE = "M", _("Male")


@pghistory.track(pghistory.InsertEvent("created"), pghistory.UpdateEvent("updated"))
class Participant(ClinicalRecord):
    """A screened person: initials and year of birth only, never a name."""

    site = models.ForeignKey(Site, models.PROTECT, related_name="participants")
    protocol_version = models.ForeignKey(ProtocolVersion, models.PROTECT, related_name="participants")
    screening_number = models.CharField(_("screening number"), max_length=20, unique=True)
    study_id = models.CharField(_("study id"), max_length=20, unique=True, null=True, blank=True)
    initials = models.CharField(_("initials"), max_length=4)
    year_of_birth = models.PositiveSmallIntegerField(_("year of birth"))
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    screening_date = models.DateField(_("screening date"))
    status = models.CharField(
        _("status"), max_length=20, choices=ParticipantStatus.choices, default=ParticipantStatus.SCREENING
    )
    consent_date = models.DateField(_("consent date"), null=True, blank=True)
    consent_version = models.CharField(_("consent form version"), max_length=40, blank=True)
    consent_obtained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("consent obtained by"),
    )
    eligibility_met = models.BooleanField(_("eligibility met"), null=True, blank=True)
    eligibility_date = models.DateField(_("eligibility assessed on"), null=True, blank=True)
    screen_failure_reason = models.TextField(_("screen-failure reason"), blank=True)
    enrollment_date = models.DateField(_("enrollment date"), null=True, blank=True)
    dose_level = models.ForeignKey(
        DoseLevel,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="participants",
        verbose_name=_("dose level"),
    )
    planned_infusion_date = models.DateField(_("planned infusion date"), null=True, blank=True)
    lymphodepletion_start_date = models.DateField(_("lymphodepletion start"), null=True, blank=True)
    infusion_date = models.DateField(_("infusion date (Day 0)"), null=True, blank=True)
    end_date = models.DateField(_("end of study date"), null=True, blank=True)
    end_reason = models.TextField(_("reason"), blank=True)

    class Meta:
        ordering = ["site", "screening_number"]
        indexes = [
            models.Index(fields=["site", "status"], name="participant_site_status"),
            models.Index(fields=["site", "screening_number"], name="participant_site_number"),
        ]
        triggers = [
            pgtrigger.Protect(name="participant_no_delete", operation=pgtrigger.Delete),
            RefuseWhenLocked(),
        ]

    def __str__(self):
        return self.study_id or self.screening_number

    @property
    def label(self):
        return str(self)

    @property
    def day0(self) -> date | None:
        """Day 0: the actual infusion date, or the planned one while the schedule is provisional."""
        return self.infusion_date or self.planned_infusion_date

    def study_day(self, on: date) -> int | None:
        """Study day of ``on`` relative to Day 0 (the infusion); there is a Day 0, no Day −0."""
        return (on - self.infusion_date).days if self.infusion_date else None
