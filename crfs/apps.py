from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrfsConfig(AppConfig):
    name = "crfs"
    verbose_name = _("Case report forms")

    def ready(self):
        """Give the base apps the forms a visit expects and the eligibility checklist's rule."""
        from trials import eligibility
        from trials.protocol import register_setting_validator
        from visits import catalogue

        from . import eligibility as checklist
        from . import missing
        from .registry import FORMS

        register_setting_validator(missing.SETTING, missing.validate_setting)

        catalogue.register_forms(FORMS)
        eligibility.register_rule(
            blockers=checklist.enrollment_blockers, proposal=checklist.decision_from_checklist
        )
