"""Edit checks of the laboratory panels (registered in ``crfs.checks.CHECK_MODULES``).

Panel checks (form ``labs``) run on the ``LabPanel`` through ``crfs.services.save_form``; result
checks (form ``lab_result``) run on each ``LabResult`` in ``labs.services.save_panel``, so their
automatic queries sit on the result row and its ``value`` field.
"""

from decimal import Decimal

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from crfs.checks import HARD, SOFT, EditCheck

from .selectors import local_date

PANEL, RESULT = "labs", "lab_result"
# "By a wide margin": above 3 × ULN or below half the LLN, in the entered unit.
FAR_ABOVE_ULN = Decimal(3)
FAR_BELOW_LLN = Decimal("0.5")


def _collected_in_future(panel) -> bool:
    return panel.collected_at is not None and panel.collected_at > timezone.now()


def _collected_before_consent(panel) -> bool:
    consent = panel.participant.consent_date
    collected = local_date(panel.participant, panel.collected_at)
    return collected is not None and consent is not None and collected < consent


def _collected_outside_window(panel) -> bool:
    collected = local_date(panel.participant, panel.collected_at)
    visit = panel.visit
    return (
        collected is not None
        and not visit.unscheduled
        and not (visit.window_start <= collected <= visit.window_end)
    )


def _negative(result) -> bool:
    return result.value is not None and result.value < 0


def _impossible(result) -> bool:
    spec, value = result.spec, result.standard_value
    if spec is None or value is None:
        return False
    return value < spec.minimum or (spec.maximum is not None and value > spec.maximum)


def _far_above(result) -> bool:
    spec = result.spec
    return (
        spec is not None
        and spec.range_query
        and result.value is not None
        and result.uln is not None
        and result.value > FAR_ABOVE_ULN * result.uln
    )


def _far_below(result) -> bool:
    spec = result.spec
    return (
        spec is not None
        and spec.range_query
        and result.value is not None
        and result.lln is not None
        and result.value < FAR_BELOW_LLN * result.lln
    )


# The panel's "other tests" rows (``OtherLabTest``): tests its table does not list.


def _other(panel):
    return panel.rows("other_tests")


def _names_of_table(panel) -> set[str]:
    """The panel's own tests as a site may type them: code, English and Chinese names."""
    from .analytes import analytes_of

    names = set()
    for spec in analytes_of(panel.panel):
        names.add(spec.code.casefold())
        for language, _name in settings.LANGUAGES:
            with translation.override(language):
                names.add(str(spec.label).casefold())
    return names


def _typed(row) -> str:
    return " ".join((row.test or "").split()).casefold()


def _other_in_table(panel) -> bool:
    listed = [_typed(row) for row in _other(panel)]
    return bool(listed) and any(name in _names_of_table(panel) for name in listed)


def _other_twice(panel) -> bool:
    listed = [_typed(row) for row in _other(panel) if _typed(row)]
    return len(listed) != len(set(listed))


def _other_not_done_with_value(panel) -> bool:
    return any(row.not_done and (row.value is not None or row.result.strip()) for row in _other(panel))


def _other_value_without_unit(panel) -> bool:
    return any(row.value is not None and not row.unit.strip() for row in _other(panel))


def _other_limits_crossed(panel) -> bool:
    return any(row.lln is not None and row.uln is not None and row.lln > row.uln for row in _other(panel))


CHECKS: list[EditCheck] = [
    EditCheck(
        "LAB-COLLECTED-FUTURE",
        PANEL,
        "collected_at",
        HARD,
        _("The collection time cannot be in the future."),
        _collected_in_future,
    ),
    EditCheck(
        "LAB-COLLECTED-CONSENT",
        PANEL,
        "collected_at",
        HARD,
        _("The sample cannot have been collected before informed consent."),
        _collected_before_consent,
    ),
    EditCheck(
        "LAB-VISIT-WINDOW",
        PANEL,
        "collected_at",
        SOFT,
        _("The collection date is outside the visit window; confirm or correct it."),
        _collected_outside_window,
    ),
    EditCheck(
        "LAB-OTHER-IN-TABLE",
        PANEL,
        "other_tests",
        HARD,
        _("Other tests: a test of the panel's table is listed again; enter it in its row of the table."),
        _other_in_table,
    ),
    EditCheck(
        "LAB-OTHER-TWICE",
        PANEL,
        "other_tests",
        HARD,
        _("Other tests: the same test is listed twice."),
        _other_twice,
    ),
    EditCheck(
        "LAB-OTHER-NOT-DONE",
        PANEL,
        "other_tests",
        HARD,
        _("Other tests: a test marked not done has a value or a result; clear them or untick “not done”."),
        _other_not_done_with_value,
    ),
    EditCheck(
        "LAB-OTHER-UNIT",
        PANEL,
        "other_tests",
        HARD,
        _("Other tests: a value needs its unit, as printed on the report."),
        _other_value_without_unit,
    ),
    EditCheck(
        "LAB-OTHER-LIMITS",
        PANEL,
        "other_tests",
        HARD,
        _("Other tests: a lower limit is above its upper limit."),
        _other_limits_crossed,
    ),
    EditCheck(
        "LAB-NEGATIVE",
        RESULT,
        "value",
        HARD,
        _("A laboratory value cannot be negative."),
        _negative,
    ),
    EditCheck(
        "LAB-IMPOSSIBLE",
        RESULT,
        "value",
        HARD,
        _("This value is not physiologically possible; check the value and its unit."),
        _impossible,
    ),
    EditCheck(
        "LAB-FAR-ABOVE",
        RESULT,
        "value",
        SOFT,
        _("Value above 3 × the upper limit of normal: please confirm."),
        _far_above,
    ),
    EditCheck(
        "LAB-FAR-BELOW",
        RESULT,
        "value",
        SOFT,
        _("Value below half the lower limit of normal: please confirm."),
        _far_below,
    ),
]
