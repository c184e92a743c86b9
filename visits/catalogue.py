"""The case report forms a visit can expect, as the base apps read them (the forms-missing reminder).

``FORMS`` maps a form code that a protocol's visit definitions name to its spec (``title``, ``model``,
``repeating``). The app that implements the forms registers its table (``crfs.registry.FORMS``) from its
``AppConfig.ready()``; until then, and without it, no form is expected.
"""

from collections.abc import Mapping

FORMS: dict = {}


def register_forms(forms: Mapping) -> None:
    """Add ``{code: spec}`` to the catalogue; a code already registered to another spec is an error."""
    for code, spec in forms.items():
        if FORMS.get(code, spec) is not spec:
            raise ValueError(f"form code {code!r} registered twice")
        FORMS[code] = spec
