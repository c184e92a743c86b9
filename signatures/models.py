"""Investigators' electronic signatures of a visit's forms or of a whole casebook (21 CFR 11.50, 11.70).

A signature stores its manifestation as it was shown (printed name, UTC and site time, meaning) and
the SHA-256 of the signed content (``content.content_hash``), which names the participant, the visit
and every record by model and id: the signature is bound to that content and cannot be carried over
to another record. A change to signed data breaks the signature (``services.break_signatures``); the
database refuses any other update and every delete.
"""

from datetime import UTC

import pghistory
import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class Scope(models.TextChoices):
    VISIT = "visit", _("Visit")
    CASEBOOK = "casebook", _("Casebook")


class Meaning(models.TextChoices):
    VISIT_APPROVED = "visit_approved", _("I approve the data of this visit")
    CASEBOOK_APPROVED = "casebook_approved", _("I approve the data in this casebook")


MEANINGS_OF_SCOPE = {
    Scope.VISIT: [Meaning.VISIT_APPROVED],
    Scope.CASEBOOK: [Meaning.CASEBOOK_APPROVED],
}


class SignatureStatus(models.TextChoices):
    VALID = "valid", _("Valid")
    BROKEN = "broken", _("Broken by a change")


# Columns the break transition may set; every other column is fixed once signed.
_BREAK_COLUMNS = ("status", "broken_at", "broken_by_id", "broken_reason")
_FIXED_COLUMNS = (
    "participant_id",
    "scope",
    "visit_id",
    "signer_id",
    "printed_name",
    "signed_at",
    "site_timezone",
    "local_signed_at",
    "meaning",
    "content_hash",
    "records",
)
_FIXED = ", ".join(f"OLD.{c}" for c in _FIXED_COLUMNS), ", ".join(f"NEW.{c}" for c in _FIXED_COLUMNS)


@pghistory.track(pghistory.InsertEvent("signed"), pghistory.UpdateEvent("broken"))
class Signature(models.Model):
    participant = models.ForeignKey("trials.Participant", models.PROTECT, related_name="signatures")
    scope = models.CharField(_("scope"), max_length=10, choices=Scope.choices)
    visit = models.ForeignKey(
        "visits.Visit", models.PROTECT, null=True, blank=True, related_name="signatures"
    )
    signer = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("signed by")
    )
    printed_name = models.CharField(_("printed name"), max_length=300)
    signed_at = models.DateTimeField(_("signed (UTC)"))
    site_timezone = models.CharField(_("site time zone"), max_length=64)
    local_signed_at = models.CharField(_("signed (site time)"), max_length=40)
    meaning = models.CharField(_("meaning"), max_length=30, choices=Meaning.choices)
    content_hash = models.CharField(_("SHA-256 of the signed content"), max_length=64)
    # The records signed, as [model label, id] pairs (what the hash covers, for readers and exports).
    records = models.JSONField(_("records signed"), default=list)
    status = models.CharField(
        _("status"), max_length=10, choices=SignatureStatus.choices, default=SignatureStatus.VALID
    )
    broken_at = models.DateTimeField(_("broken"), null=True, blank=True)
    broken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("broken by"),
    )
    broken_reason = models.TextField(_("broken by the change"), blank=True)
    # The reason's message id and values (``services.reason_text``): shown in the reader's language.
    broken_reason_parts = models.JSONField(_("broken by the change (parts)"), default=dict, blank=True)

    class Meta:
        ordering = ["participant", "signed_at", "pk"]
        verbose_name = _("electronic signature")
        constraints = [
            models.CheckConstraint(
                condition=Q(scope="visit", visit__isnull=False) | Q(scope="casebook", visit__isnull=True),
                name="signature_visit_matches_scope",
            ),
            models.CheckConstraint(
                condition=Q(status="valid", broken_at__isnull=True)
                | Q(status="broken", broken_at__isnull=False) & ~Q(broken_reason=""),
                name="signature_broken_has_when_and_why",
            ),
            models.UniqueConstraint(
                fields=["participant", "scope", "visit"],
                condition=Q(status="valid"),
                nulls_distinct=False,
                name="signature_one_valid_per_scope",
            ),
        ]
        indexes = [models.Index(fields=["visit"], condition=Q(status="valid"), name="signature_valid_visit")]
        triggers = [
            pgtrigger.Protect(name="signature_no_delete", operation=pgtrigger.Delete),
            # 21 CFR 11.70: a signature cannot be edited, only broken (valid → broken, once).
            pgtrigger.Protect(
                name="signature_only_breaks",
                operation=pgtrigger.Update,
                condition=pgtrigger.Condition(
                    f"NOT (OLD.status = 'valid' AND NEW.status = 'broken') OR ({_FIXED[0]}) IS DISTINCT FROM "
                    f"({_FIXED[1]})"
                ),
            ),
        ]

    def __str__(self):
        return f"{self.participant} · {self.get_scope_display()} · {self.printed_name}"

    @property
    def valid(self) -> bool:
        return self.status == SignatureStatus.VALID

    @property
    def manifestation(self) -> str:
        """The signature as shown wherever the signed data are shown and exported."""
        return gettext("Signed by %(name)s on %(utc)s UTC (%(local)s): %(meaning)s") % {
            "name": self.printed_name,
            "utc": self.signed_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
            "local": self.local_signed_at,
            "meaning": self.get_meaning_display(),
        }

    @property
    def breakage(self) -> str:
        """Why the signature no longer holds, as shown beside the manifestation."""
        if self.valid:
            return ""
        return gettext("Signature broken by change on %(utc)s UTC: %(reason)s") % {
            "utc": self.broken_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
            "reason": self.shown_broken_reason,
        }

    @property
    def shown_broken_reason(self) -> str:
        """The break's reason in the reader's language (as stored, for breaks recorded before parts)."""
        if not self.broken_reason_parts:
            return self.broken_reason
        from .services import reason_text

        return reason_text(self.broken_reason_parts)
