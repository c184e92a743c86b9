from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DiseaseActivityConfig(AppConfig):
    name = "disease_activity"
    verbose_name = _("Disease activity (SLEDAI, PGA, BILAG)")
