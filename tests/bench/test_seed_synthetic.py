"""``seed_synthetic``: many made-up participants, fast, shaped like the study, audited."""

import random
import re
from collections import Counter
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from edc.localtime import site_today
from trials.models import Participant, ParticipantEvent, ParticipantStatus, Site, VisitDefinition
from trials.synthetic import Definition, plan_participant, seed_synthetic
from visits.models import Visit, VisitEvent
from visits.schedule import window

S = ParticipantStatus


@pytest.fixture
def seeded(study):
    return seed_synthetic(participants=30, sites=3, seed=7)


@pytest.fixture
def definitions(study):
    return list(VisitDefinition.objects.filter(protocol_version=study.current_protocol).order_by("order"))


def test_participants_are_spread_evenly_over_the_protocol_sites_and_a_synthetic_third(seeded, study):
    per_site = Counter(Participant.objects.values_list("site__code", flat=True))
    assert per_site == {"YC": 10, "CD": 10, "S03": 10}
    extra = Site.objects.get(study=study, code="S03")
    assert extra.timezone == "Asia/Shanghai"


def test_screening_numbers_and_study_ids_follow_the_site_patterns(seeded):
    for p in Participant.objects.select_related("site"):
        assert re.fullmatch(rf"{p.site.code}-S\d{{3,}}", p.screening_number)
        assert p.study_id is None or re.fullmatch(rf"{p.site.code}-\d{{3,}}", p.study_id)


def test_study_ids_go_to_enrolled_participants_only_numbered_from_one_per_site(seeded):
    for site in ("YC", "CD", "S03"):
        at_site = Participant.objects.filter(site__code=site)
        numbers = sorted(int(p.study_id.rsplit("-", 1)[1]) for p in at_site if p.study_id)
        assert numbers == list(range(1, len(numbers) + 1))
        assert all(bool(p.study_id) == bool(p.enrollment_date) for p in at_site)


def test_every_enrolled_participant_has_one_visit_per_protocol_visit_definition(seeded, definitions):
    expected = [d.code for d in definitions]
    enrolled = Participant.objects.filter(enrollment_date__isnull=False)
    assert enrolled.exists()
    for p in enrolled:
        assert list(p.visits.order_by("sequence").values_list("code", flat=True)) == expected
    # Those never enrolled have the screening visit alone, done on the screening date, as
    # visits.services.create_screening_visit records it: their screening forms are entered there.
    for v in Visit.objects.filter(participant__enrollment_date__isnull=True).select_related("participant"):
        assert (v.code, v.sequence, v.visit_date) == ("SCR", 10, v.participant.screening_date)
    assert Visit.objects.filter(participant__enrollment_date__isnull=True).exists()


def test_visit_windows_contain_their_targets_by_the_protocols_window_arithmetic(seeded):
    for v in Visit.objects.filter(participant__enrollment_date__isnull=False).select_related(
        "definition", "participant"
    ):
        p, d = v.participant, v.definition
        day0 = p.infusion_date or p.planned_infusion_date or p.enrollment_date + timedelta(days=7)
        w = window(day0, d.target_day, d.window_before, d.window_after)
        assert (v.target_date, v.window_start, v.window_end) == (w.target, w.start, w.end)
        assert v.window_start <= v.target_date <= v.window_end
        assert v.provisional == (p.infusion_date is None)


def test_no_visit_is_dated_in_the_future_or_before_screening(seeded):
    today = site_today("Asia/Shanghai")
    for v in Visit.objects.filter(visit_date__isnull=False).select_related("participant"):
        assert v.participant.screening_date <= v.visit_date <= today


def test_missed_and_not_applicable_visits_say_why(seeded):
    closed = Visit.objects.filter(missed=True) | Visit.objects.filter(not_applicable=True)
    assert all(v.status_reason for v in closed)


def test_seeded_rows_are_audited_as_synthetic_benchmark_data(seeded):
    participant_events = ParticipantEvent.objects.select_related("pgh_context")
    assert participant_events.count() == 30
    assert VisitEvent.objects.count() == Visit.objects.count() == seeded.visits
    context = participant_events.first().pgh_context.metadata
    assert context["action"] == "seed_synthetic"
    assert context["reason"] == "synthetic benchmark data"
    assert VisitEvent.objects.filter(pgh_context__isnull=True).count() == 0


def test_seeding_a_study_that_has_participants_is_refused_without_append(seeded):
    with pytest.raises(CommandError, match="already has 30 participants.*--append"):
        call_command("seed_synthetic", "--participants", "5")


def test_appending_continues_each_sites_numbering(seeded):
    call_command("seed_synthetic", "--participants", "3", "--sites", "1", "--append")
    assert Participant.objects.filter(site__code="YC").count() == 13
    assert Participant.objects.filter(screening_number="YC-S013").exists()


def test_the_command_says_what_it_seeded(study, capsys):
    call_command("seed_synthetic", "--participants", "4", "--sites", "2", "--seed", "1")
    assert "Seeded 4 synthetic participants" in capsys.readouterr().out


def test_synthetic_data_are_refused_outside_demo_mode(study, settings):
    settings.DEMO_MODE = False
    with pytest.raises(CommandError, match="demo mode"):
        call_command("seed_synthetic", "--participants", "4")


def test_the_planner_walks_every_stage_of_the_status_machine():
    definitions = [
        Definition(i, code, code, day, before, after, optional)
        for i, (code, day, before, after, optional) in enumerate(
            [("SCR", -17, 11, 11, False), ("LD-5", -5, 0, 0, True), ("D0", 0, 0, 0, False),
             ("D28", 28, 3, 3, False), ("M24", 730, 14, 14, False)]
        )
    ]  # fmt: skip
    rng, today = random.Random(3), timezone.now().date()
    statuses = Counter(
        plan_participant(rng, today=today, definitions=definitions, dose_levels=[1])[0]["status"]
        for _ in range(4000)
    )
    assert set(statuses) == {
        S.SCREENING, S.SCREEN_FAILED, S.ENROLLED, S.LYMPHODEPLETED,
        S.INFUSED, S.IN_FOLLOW_UP, S.COMPLETED, S.WITHDRAWN,
    }  # fmt: skip
