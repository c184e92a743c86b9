"""``create_panels``: many new panels at once (a laboratory file's new results), exactly as ``save_panel``.

The equivalence test saves the same panels for two identical participants, once through
``create_panels`` and once panel by panel through ``save_panel``, and compares everything stored:
panels, results (standard values, ranges, flags, grades), automatic queries, "record as adverse
event?" prompts and the audit trail (events with who, action and reason). The other tests cover what
``create_panels`` hands to ``save_panel`` (a lock, a signature) and what it refuses.
"""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from pghistory.models import Events

from accounts.permissions import Action
from adverse_events.models import LabAdverseEventPrompt
from edc.audit import audited
from edc.errors import DomainError, Problems
from labs.models import LabPanel, LabResult
from labs.services import NewPanel, create_panels, save_panel
from monitoring.locks import lock
from monitoring.models import LockScope, Query
from signatures import services as signing
from signatures.models import SignatureStatus
from tests.conftest import PASSWORD, make_participant, today_at
from tests.labs.conftest import an_hour_ago, entry
from tests.signatures.conftest import ready_visit

FILE_PANELS = [
    # (panel, results, reason): values in range, flagged, graded 3 and 4 (prompts), far beyond the limits
    # (automatic queries), and a test not done.
    (
        "haematology",
        [entry("wbc", 5.1, "10^9/L"), entry("anc", "0.3", "10^9/L"), entry("hb", 50, "g/L")],
        "imported from labs.json, rows 1, 2, 3",
    ),
    (
        "chemistry",
        [entry("creatinine", 88, "umol/L"), entry("alt", 400, "U/L"), entry("ast", not_done=True)],
        "imported from labs.json, rows 4, 5, 6",
    ),
]


def _twin(coordinator, site):
    today = today_at(site)
    p = make_participant(
        coordinator, site, screened=today - timedelta(days=10), planned=today + timedelta(days=5)
    )
    return p.visits.get(code="BL")


def _items(visit, collected_at):
    data = {"collected_at": collected_at, "laboratory": "Hospital laboratory", "source": "local"}
    return [NewPanel(visit, panel, data, results, reason) for panel, results, reason in FILE_PANELS]


def _values(obj, leave_out=()):
    skip = {"id", "created_at", "updated_at", "participant", "visit", "panel", *leave_out}
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields if f.name not in skip}


def _trail(obj):
    return [
        (e.pgh_label, e.pgh_context["action"], e.pgh_context["reason"], e.pgh_context["username"])
        for e in Events.objects.tracks(obj).order_by("pgh_created_at", "pgh_id")
    ]


def _queries(record):
    return sorted(
        (q.field_name, q.check_id, q.text, q.status, q.opened_by_id)
        for q in Query.objects.filter(object_id=record.pk)
        if q.content_type.model_class() is type(record)
    )


def _stored(participant):
    """Everything the panels of ``participant`` left in the database, without ids and timestamps."""
    found = {}
    for panel in LabPanel.objects.filter(participant=participant):
        found[panel.panel] = {
            "panel": _values(panel),
            "trail": _trail(panel),
            "queries": _queries(panel),
            "results": {
                r.analyte: {
                    "values": _values(r),
                    "trail": _trail(r),
                    "queries": _queries(r),
                    "prompt": LabAdverseEventPrompt.objects.filter(lab_result=r)
                    .values_list("grade", flat=True)
                    .first(),
                }
                for r in LabResult.objects.filter(panel=panel)
            },
        }
    return found


def test_creating_panels_together_stores_exactly_what_saving_them_one_by_one_stores(
    coordinator, site_yc, ranges
):
    together, alone = _twin(coordinator, site_yc), _twin(coordinator, site_yc)
    when = an_hour_ago()
    with audited(user=coordinator, action="lab_import.commit", reason="labs.json"):
        created = create_panels(user=coordinator, site=site_yc, panels=_items(together, when))
    for item in _items(alone, when):
        with audited(user=coordinator, action="lab_import.commit", reason=item.reason, separate=True):
            save_panel(
                user=coordinator,
                visit=item.visit,
                panel=item.panel,
                data=item.data,
                results=item.results,
                reason=item.reason,
                action=Action.IMPORT_LABS,
            )

    assert [p.panel for p in created] == ["haematology", "chemistry"]
    mine, theirs = _stored(together.participant), _stored(alone.participant)
    assert mine == theirs
    # Not equal by being empty: the file's values were derived, checked and audited.
    hb = mine["haematology"]["results"]["hb"]
    assert hb["values"]["flag"] == "L" and hb["values"]["ctcae_grade"] == 3 and hb["prompt"] == 3
    assert mine["haematology"]["results"]["anc"]["prompt"] == 4
    assert [q[1] for q in mine["chemistry"]["results"]["alt"]["queries"]] == ["LAB-FAR-ABOVE"]
    assert mine["chemistry"]["results"]["ast"]["values"]["not_done"] is True
    assert mine["haematology"]["trail"] == [
        ("created", "save_labs", "imported from labs.json, rows 1, 2, 3", coordinator.username)
    ]
    assert mine["chemistry"]["results"]["alt"]["trail"] == [
        ("created", "save_labs", "imported from labs.json, rows 4, 5, 6", coordinator.username)
    ]


def test_a_panel_at_a_signed_visit_is_saved_alone_and_breaks_the_signature_saying_why(
    coordinator, investigator, participant, ranges, rf
):
    visit = ready_visit(coordinator, participant)
    signature = signing.sign_visit(
        user=investigator, visit=visit, password=PASSWORD, request=rf.post("/", REMOTE_ADDR="127.0.0.1")
    )
    when = an_hour_ago()
    create_panels(user=coordinator, site=participant.site, panels=_items(visit, when)[:1])
    signature.refresh_from_db()
    assert signature.status == SignatureStatus.BROKEN
    assert "imported from labs.json, rows 1, 2, 3" in signature.broken_reason
    assert LabResult.objects.filter(panel__visit=visit).count() == 3


def test_a_locked_participant_refuses_the_file_with_the_lock_message_and_writes_nothing(
    coordinator, data_manager, site_yc, ranges
):
    free, held = _twin(coordinator, site_yc), _twin(coordinator, site_yc)
    lock(
        user=data_manager, scope=LockScope.PARTICIPANT, target=held.participant, reason="Cleaned for the DSMB"
    )
    with (
        pytest.raises(DomainError, match="data is locked by datamanager .*: Cleaned for the DSMB"),
        audited(user=coordinator, action="lab_import.commit", reason="labs.json"),
    ):
        create_panels(
            user=coordinator,
            site=site_yc,
            panels=_items(free, an_hour_ago()) + _items(held, an_hour_ago()),
        )
    assert not LabPanel.objects.exists()


def test_panels_are_refused_without_the_permission_or_at_another_site(
    coordinator, coordinator_cd, monitor, site_yc, site_cd, ranges
):
    visit = _twin(coordinator, site_yc)
    with pytest.raises(PermissionDenied, match="Your role does not allow"):  # monitors load no values
        create_panels(user=monitor, site=site_yc, panels=_items(visit, an_hour_ago()))
    with pytest.raises(PermissionDenied, match="Your role does not allow"):  # YC staff, CD file
        create_panels(user=coordinator, site=site_cd, panels=_items(visit, an_hour_ago()))
    elsewhere = _twin(coordinator_cd, site_cd)
    with pytest.raises(DomainError, match="participant of site YC"):  # a CD participant in a YC file
        create_panels(
            user=coordinator,
            site=site_yc,
            panels=_items(visit, an_hour_ago()) + _items(elsewhere, an_hour_ago()),
        )
    assert not LabPanel.objects.exists()


def test_impossible_values_are_refused_all_at_once_as_a_save_would_refuse_them(coordinator, site_yc, ranges):
    visit = _twin(coordinator, site_yc)
    bad = NewPanel(
        visit,
        "haematology",
        {"collected_at": an_hour_ago(), "laboratory": "", "source": "local"},
        [entry("wbc", -1, "10^9/L"), entry("hb", 900, "g/L")],
        "imported from labs.json, rows 1, 2",
    )
    with pytest.raises(Problems) as refused:
        create_panels(user=coordinator, site=site_yc, panels=[bad])
    assert {p.row for p in refused.value.problems} == {"wbc", "hb"}
    later = NewPanel(
        visit, "haematology", {**bad.data, "collected_at": None}, [entry("wbc", 5, "10^9/L")], "x"
    )
    with pytest.raises(DomainError, match="collection date"):
        create_panels(user=coordinator, site=site_yc, panels=[later])
    assert not LabPanel.objects.exists()
