from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AdverseEventsConfig(AppConfig):
    name = "adverse_events"
    verbose_name = _("Adverse events")

    def ready(self):
        """The SAE clock's reminders join the base's reminder kinds."""
        from notifications.kinds import register_kind

        from . import reminders

        register_kind(reminders.SAE_REPORTED)
        register_kind(reminders.SAE_REPORT_DUE_SOON)
        register_kind(reminders.SAE_REPORT_OVERDUE)
