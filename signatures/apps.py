from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SignaturesConfig(AppConfig):
    name = "signatures"
    verbose_name = _("Electronic signatures")

    def ready(self):
        """A change of signed data breaks the signature, whichever app wrote it (``edc.integrity``)."""
        from edc import integrity

        from .services import break_signatures

        integrity.on_after_change(break_signatures)
