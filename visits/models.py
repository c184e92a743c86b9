"""Participant visits: stored target dates and windows, status computed from them."""

from datetime import datetime

import pghistory
import pgtrigger
from django.db import models
from django.db.models import Case, F, Func, IntegerField, Q, Value, When
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from edc.integrity import RefuseWhenLocked
from edc.models import ClinicalRecord


class VisitStatus(models.TextChoices):
    UPCOMING = "upcoming", _("Upcoming")
    OPEN = "open", _("Window open")
    OVERDUE = "overdue", _("Overdue")
    DONE = "done", _("Done")
    MISSED = "missed", _("Missed")
    NOT_APPLICABLE = "not_applicable", _("Not applicable")


class LocalDate(Func):
    """``(instant AT TIME ZONE tz)::date``: the calendar date at a site for a UTC instant."""

    arg_joiner = " AT TIME ZONE "
    template = "((%(expressions)s)::date)"
    output_field = models.DateField()


class DaysBetween(Func):
    """``a - b`` for two dates, in whole days (PostgreSQL's date subtraction)."""

    arg_joiner = " - "
    template = "(%(expressions)s)"
    output_field = IntegerField()


def site_today(now: datetime | None = None):
    """Expression: today's date in the visit's site time zone."""
    now = now or timezone.now()
    return LocalDate(Cast(Value(now), models.DateTimeField()), F("participant__site__timezone"))


# "Pending" visits are the only ones whose status depends on the date; reminders scan them by index.
PENDING = Q(visit_date__isnull=True, missed=False, not_applicable=False, entered_in_error=False)


class VisitQuerySet(models.QuerySet):
    def with_status(self, now: datetime | None = None):
        """Annotate ``status``, ``days_to_open`` and ``days_to_close``: the single definition of a
        visit's status, used by pages, reminders and exports alike."""
        today = site_today(now)
        return self.annotate(
            local_today=today,
            status=Case(
                When(visit_date__isnull=False, then=Value(VisitStatus.DONE)),
                When(missed=True, then=Value(VisitStatus.MISSED)),
                When(not_applicable=True, then=Value(VisitStatus.NOT_APPLICABLE)),
                When(window_start__gt=today, then=Value(VisitStatus.UPCOMING)),
                When(window_end__lt=today, then=Value(VisitStatus.OVERDUE)),
                default=Value(VisitStatus.OPEN),
                output_field=models.CharField(),
            ),
            days_to_open=DaysBetween(F("window_start"), today),
            days_to_close=DaysBetween(F("window_end"), today),
        )

    def pending(self):
        return self.filter(PENDING)


@pghistory.track(pghistory.InsertEvent("created"), pghistory.UpdateEvent("updated"))
class Visit(ClinicalRecord):
    participant = models.ForeignKey("trials.Participant", models.PROTECT, related_name="visits")
    definition = models.ForeignKey(
        "trials.VisitDefinition", models.PROTECT, null=True, blank=True, related_name="visits"
    )
    code = models.CharField(_("visit"), max_length=20)
    name = models.CharField(_("name"), max_length=100)
    sequence = models.PositiveIntegerField(_("order"))
    target_day = models.IntegerField(_("target study day"), null=True, blank=True)
    target_date = models.DateField(_("target date"))
    window_start = models.DateField(_("window opens"))
    window_end = models.DateField(_("window closes"))
    provisional = models.BooleanField(
        _("provisional"), default=True, help_text=_("Dates follow the planned infusion date until Day 0.")
    )
    visit_date = models.DateField(_("visit date"), null=True, blank=True)
    missed = models.BooleanField(_("missed"), default=False)
    not_applicable = models.BooleanField(_("not applicable"), default=False)
    status_reason = models.TextField(_("reason (missed, not applicable or unscheduled)"), blank=True)
    unscheduled = models.BooleanField(_("unscheduled"), default=False)

    objects = VisitQuerySet.as_manager()

    class Meta:
        ordering = ["participant", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["participant", "sequence"], name="visit_sequence_unique"),
            models.CheckConstraint(
                condition=Q(window_start__lte=F("target_date"), window_end__gte=F("target_date")),
                name="visit_window_contains_target",
            ),
        ]
        indexes = [
            models.Index(fields=["window_start"], condition=PENDING, name="visit_pending_window_start"),
            models.Index(fields=["window_end"], condition=PENDING, name="visit_pending_window_end"),
        ]
        triggers = [
            pgtrigger.Protect(name="visit_no_delete", operation=pgtrigger.Delete),
            RefuseWhenLocked(),
        ]

    def __str__(self):
        return f"{self.participant} · {self.code}"

    @property
    def display_name(self) -> str:
        """The protocol's name of the visit in the reader's language (English when not translated)."""
        if self.definition_id is not None and get_language() == "zh-hans":
            return self.definition.name_zh_hans or self.name
        return self.name
