from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AuditChainConfig(AppConfig):
    name = "auditchain"
    verbose_name = "Audit hash chain"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from notifications.kinds import register_kind

        from . import reminders

        register_kind(reminders.AUDIT_TRAIL_BROKEN)
        # After pghistory's own post_migrate (it re-creates its context function): this app is listed later.
        post_migrate.connect(after_migrate, sender=self)


def after_migrate(using, **kwargs):
    from django.db import connections

    from edc import dbroles

    from . import chain

    connection = connections[using]
    chain.install(connection)
    dbroles.harden(connection, chain.audit_tables())
