"""The laboratory panel CRF (see crfs.registry): repeating, one per panel kind per visit."""

from django.utils.translation import gettext_lazy as _

from crfs.registry import FormSpec

SPECS = [
    FormSpec(
        "labs",
        _("Laboratory panels"),
        "labs.LabPanel",
        "labs.forms.LabPanelForm",
        repeating=True,
        entry_url="labs.selectors.next_panel_url",
        query_children=("results",),
    ),
]
