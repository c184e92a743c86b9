"""A "prior" medication was stopped before consent (issue 16, item 4): it is never ongoing and never
stopped on or after consent, so a baseline glucocorticoid cannot hide as a prior entry."""

from datetime import timedelta
from decimal import Decimal

import pytest

from edc.errors import DomainError
from medications.models import Medication


def prednisone(**extra):
    return {
        "agent": "Prednisone",
        "drug_class": "glucocorticoid",
        "glucocorticoid": "prednisone",
        "dose": Decimal("10"),
        "dose_unit": "mg",
        "frequency": "qd",
        "route": "oral",
        **extra,
    }


def test_a_prior_entry_marked_ongoing_is_refused_and_nothing_is_saved(save, baseline):
    consent = baseline.participant.consent_date
    with pytest.raises(DomainError, match="cannot be ongoing") as error:
        save("medications", baseline, **prednisone(period="prior", start_date=consent - timedelta(days=90),
                                                     ongoing=True))  # fmt: skip
    assert error.value.field == "period"
    assert not Medication.objects.filter(participant=baseline.participant).exists()


def test_a_prior_entry_stopped_on_the_consent_date_is_refused(save, baseline):
    consent = baseline.participant.consent_date
    with pytest.raises(DomainError, match="on or after the consent date"):
        save("medications", baseline, **prednisone(period="prior", start_date=consent - timedelta(days=90),
                                                     stop_date=consent))  # fmt: skip


def test_a_prior_entry_stopped_before_consent_and_a_concomitant_ongoing_one_are_accepted(save, baseline):
    consent = baseline.participant.consent_date
    save("medications", baseline, **prednisone(period="prior", start_date=consent - timedelta(days=90),
                                                 stop_date=consent - timedelta(days=1)))  # fmt: skip
    save("medications", baseline, **prednisone(period="concomitant", start_date=consent - timedelta(days=90),
                                                 ongoing=True))  # fmt: skip
    assert Medication.objects.filter(participant=baseline.participant).count() == 2
