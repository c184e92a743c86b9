"""Personal API tokens: created and revoked by their owner, hashed at rest, scoped, expiring.

The token is shown once, when it is created; the database keeps only its SHA-256 and a short prefix to
find the row. A token is 256 random bits, so a plain hash is enough (a slow password hasher guards
against guessing a low-entropy secret; this one cannot be guessed).
"""

import pghistory
import pgtrigger
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TokenScope(models.TextChoices):
    READ = "read", _("Read only")
    READ_WRITE = "read_write", _("Read and write")


# Creation and revocation are audited; the time of last use changes on every request and is left out.
@pghistory.track(pghistory.InsertEvent("created"), pghistory.UpdateEvent("updated"), exclude=["last_used_at"])
class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=12, unique=True)
    digest = models.CharField(_("SHA-256 of the token"), max_length=64)
    scope = models.CharField(_("scope"), max_length=10, choices=TokenScope.choices, default=TokenScope.READ)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-pk"]
        triggers = [pgtrigger.Protect(name="api_token_no_delete", operation=pgtrigger.Delete)]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()

    @property
    def can_write(self) -> bool:
        return self.scope == TokenScope.READ_WRITE
