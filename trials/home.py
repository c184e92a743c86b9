"""Sections of the study home page that the apps built on this one add.

A panel is ``sections(user, *, now) -> [section, ...]`` and the template that renders one ``section``;
``monitoring`` registers each role's worklists from ``MonitoringConfig.ready()``. The home page shows
the panels' sections in registration order, above the enrollment and the visits due.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class HomePanel:
    sections: Callable
    template: str


PANELS: list[HomePanel] = []


def register_home_panel(sections: Callable, *, template: str) -> None:
    panel = HomePanel(sections, template)
    if panel not in PANELS:
        PANELS.append(panel)


def home_sections(user, *, now) -> list[tuple[str, object]]:
    """(template, section) of every registered panel's sections for ``user``."""
    return [(panel.template, section) for panel in PANELS for section in panel.sections(user, now=now)]
