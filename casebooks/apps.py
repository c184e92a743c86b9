from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasebooksConfig(AppConfig):
    name = "casebooks"
    verbose_name = _("PDF casebooks and CRFs")
