from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Users, sites and roles")

    def ready(self):
        from . import signals  # noqa: F401


class EdcAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin, with the site that shows a sponsor admin only what the role needs."""

    default = False
    default_site = "accounts.admin_site.EdcAdminSite"
