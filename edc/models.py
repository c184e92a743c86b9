"""Abstract bases shared by every clinical record."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from .errors import ConflictError

# Columns that are bookkeeping, not collected data: those of ``ClinicalRecord`` itself, and with the
# keys and workflow columns of a case report form. Saving, SDV, signatures and exports start from these.
RECORD_BOOKKEEPING = frozenset(
    {"version", "created_at", "updated_at", "entered_in_error", "entered_in_error_reason"}
)
FORM_BOOKKEEPING = RECORD_BOOKKEEPING | {
    "id",
    "participant",
    "visit",
    "status",
    "completed_at",
    "completed_by",
}


class ClinicalRecord(models.Model):
    """Base of every participant-level record.

    ``version`` implements optimistic locking: a save based on an older version is refused.
    Records are never deleted; ``entered_in_error`` (with a reason) retires them.
    """

    version = models.PositiveIntegerField(_("version"), default=1)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    entered_in_error = models.BooleanField(_("entered in error"), default=False)
    entered_in_error_reason = models.TextField(_("reason entered in error"), blank=True)

    class Meta:
        abstract = True

    def bump_version(self, expected: int | None):
        """Refuse a save based on a stale copy; otherwise move to the next version."""
        if expected is not None and int(expected) != self.version:
            raise ConflictError(
                _(
                    "This record was changed by someone else after you opened it. Review the current "
                    "values and submit again."
                ),
                current=self,
            )
        self.version += 1
