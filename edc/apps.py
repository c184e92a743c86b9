from django.apps import AppConfig


class EdcConfig(AppConfig):
    name = "edc"
    verbose_name = "EDC"

    def ready(self):
        # Bind @shared_task to the project's Celery app in every process that loads Django.
        from . import celery  # noqa: F401
