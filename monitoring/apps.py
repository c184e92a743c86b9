from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = _("Monitoring and data management")

    def ready(self):
        """Register what monitoring adds to the base apps (they import nothing from it)."""
        from edc import integrity
        from notifications.kinds import register_kind
        from trials.home import register_home_panel
        from trials.protocol import register_setting_validator

        from . import locks, reminders, verification, worklists

        integrity.register_lock_model("monitoring.Lock")
        integrity.on_before_change(locks.refuse_if_locked)
        integrity.on_after_change(verification.clear_verifications)
        register_setting_validator("critical_fields", verification.validate_critical_fields)
        register_home_panel(worklists.worklists, template="monitoring/_worklist.html")
        register_kind(reminders.QUERY_AGEING)
        register_kind(reminders.QUERY_ESCALATION)
