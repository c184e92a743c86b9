"""Who may do what where: site memberships with a role, and each user's preferences."""

import pghistory
import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    COORDINATOR = "coordinator", _("Site coordinator")
    INVESTIGATOR = "investigator", _("Investigator")
    MONITOR = "monitor", _("Monitor")
    DATA_MANAGER = "data_manager", _("Data manager")
    SPONSOR_ADMIN = "sponsor_admin", _("Sponsor admin")
    AUDITOR = "auditor", _("Auditor")


# Roles that work across every site of the study (their membership names no site).
STUDY_WIDE_ROLES = {Role.DATA_MANAGER, Role.SPONSOR_ADMIN, Role.AUDITOR}
_STUDY_WIDE = sorted(role.value for role in STUDY_WIDE_ROLES)


@pghistory.track(pghistory.InsertEvent("granted"), pghistory.UpdateEvent("changed"))
class Membership(models.Model):
    """A user's role at one site, or at every site of the study for study-wide roles."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="memberships")
    study = models.ForeignKey("trials.Study", models.PROTECT, related_name="memberships")
    site = models.ForeignKey("trials.Site", models.PROTECT, null=True, blank=True, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    active = models.BooleanField(_("active"), default=True)
    granted_at = models.DateTimeField(_("granted"), auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "study", "site", "role"], name="membership_unique", nulls_distinct=False
            ),
            models.CheckConstraint(
                condition=Q(role__in=_STUDY_WIDE, site__isnull=True)
                | (~Q(role__in=_STUDY_WIDE) & Q(site__isnull=False)),
                name="membership_site_matches_role",
            ),
        ]

    def __str__(self):
        return f"{self.user} · {self.get_role_display()} · {self.site or _('all sites')}"


class ReminderDelivery(models.TextChoices):
    IMMEDIATE = "immediate", _("Immediately by email")
    DIGEST = "digest", _("One daily digest")


class Profile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, models.CASCADE, related_name="profile")
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, default="en")
    reminder_delivery = models.CharField(
        _("reminders"), max_length=10, choices=ReminderDelivery.choices, default=ReminderDelivery.DIGEST
    )
    digest_hour = models.PositiveSmallIntegerField(_("digest hour (site time)"), default=8)

    def __str__(self):
        return f"{self.user} profile"


class AccessEvent(models.Model):
    """Logins, logouts and failed logins; append-only at the database."""

    KINDS = [("login", _("Login")), ("logout", _("Logout")), ("login_failed", _("Failed login"))]
    at = models.DateTimeField(_("time (UTC)"), auto_now_add=True)
    kind = models.CharField(_("event"), max_length=20, choices=KINDS)
    username = models.CharField(_("user name"), max_length=150)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        ordering = ["-at"]
        triggers = [
            pgtrigger.Protect(name="access_event_append_only", operation=pgtrigger.Update | pgtrigger.Delete)
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.kind} {self.username}"
