"""The workflow apps register what they add to the base apps, which import nothing from them
(``tests/project/test_layers.py``); behaviour is tested where it lives (locks, signatures, SDV, reminders)."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from edc import integrity
from notifications.kinds import REMINDER_KINDS, kind_named
from trials import eligibility, home
from trials.protocol import SETTING_VALIDATORS, ProtocolError, parse
from visits import catalogue


def test_monitoring_and_signatures_guard_every_change_of_a_clinical_record():
    from monitoring.locks import refuse_if_locked
    from monitoring.models import Lock
    from monitoring.verification import clear_verifications
    from signatures.services import break_signatures

    assert integrity._before_change == [refuse_if_locked]
    assert integrity._after_change == [clear_verifications, break_signatures]
    assert integrity.lock_model() is Lock


def test_the_lock_model_cannot_be_registered_as_another(monkeypatch):
    monkeypatch.setattr(integrity, "_lock_model", ["monitoring.Lock"])
    with pytest.raises(ImproperlyConfigured, match="already monitoring.Lock, not accounts.Profile"):
        integrity.register_lock_model("accounts.Profile")


def test_the_reminder_kinds_are_the_same_and_in_the_same_order():
    assert [kind.name for kind in REMINDER_KINDS] == [
        "visit_window_opens_soon",
        "visit_window_opens_today",
        "visit_window_closes_soon",
        "visit_overdue",
        "forms_missing",
        "sae_reported",
        "sae_report_due_soon",
        "sae_report_overdue",
        "query_ageing",
        "query_escalation",
        "audit_trail_broken",
    ]
    assert kind_named("sae_reported").immediate and not kind_named("query_ageing").immediate


def test_a_reminder_kind_name_is_registered_once():
    from dataclasses import replace

    from notifications.kinds import register_kind

    with pytest.raises(ValueError, match="reminder kind 'query_ageing' registered twice"):
        register_kind(replace(kind_named("query_ageing")))


def test_crfs_gives_the_base_its_forms_and_its_eligibility_rule():
    from crfs.eligibility import decision_from_checklist, enrollment_blockers
    from crfs.registry import FORMS

    assert catalogue.FORMS == FORMS
    assert eligibility._blockers == [enrollment_blockers]
    assert eligibility._proposals == [decision_from_checklist]


def test_monitoring_adds_the_worklists_to_the_home_page():
    from monitoring.worklists import worklists

    registered = list(home.PANELS)
    assert registered == [home.HomePanel(worklists, "monitoring/_worklist.html")]


def test_a_setting_no_installed_app_reads_is_refused_naming_its_path(monkeypatch):
    from tests.conftest import PROTOCOL

    assert set(SETTING_VALIDATORS) == {"critical_fields", "missing_data"}
    monkeypatch.setattr("trials.protocol.SETTING_VALIDATORS", {})
    head = PROTOCOL.read_text().partition("  # Risk-based source-data verification")[0]
    text = head + "  critical_fields:\n    pga: [pga]\n"
    with pytest.raises(ProtocolError, match="no installed app reads this setting") as refused:
        parse(text, "p.yaml")
    assert refused.value.path == "settings.critical_fields"
