"""The hash chain over the audit trail, and the record of each verification.

A ``Link`` is written by a database trigger (``chain.install``) for every row inserted into any pghistory
event table: the SHA-256 of the previous link of the same record (table + ``pgh_obj_id``) followed by the
event row as canonical JSON. Editing, deleting or inserting an event behind the triggers' back breaks
the chain of that record, which ``verify_audit`` recomputes.
"""

from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _


class Link(models.Model):
    event_table = models.CharField(max_length=63)
    event_id = models.BigIntegerField()
    record = models.CharField(max_length=64)
    hash = models.BinaryField()
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "auditchain_link"
        constraints = [
            models.UniqueConstraint(fields=["event_table", "event_id"], name="auditchain_link_event")
        ]
        indexes = [models.Index(fields=["event_table", "record", "id"], name="auditchain_link_chain")]

    def __str__(self):
        return f"{self.event_table}:{self.record}:{self.event_id}"


class Verification(models.Model):
    """One run of ``verify_audit`` (daily by beat, or by hand): shown on /health/ and in the audit viewer."""

    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"))
    ok = models.BooleanField(_("intact"))
    counts = models.JSONField(_("counts"), default=dict)
    break_count = models.PositiveIntegerField(_("breaks"), default=0)
    breaks = models.JSONField(_("first breaks"), default=list)
    chain_head = models.CharField(_("digest of the chain heads"), max_length=64)

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"
        verbose_name = _("audit trail verification")

    def __str__(self):
        return f"{self.started_at:%Y-%m-%d %H:%M} · {'ok' if self.ok else 'BROKEN'}"
