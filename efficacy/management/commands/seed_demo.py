"""Demo users (one per role) and ~12 synthetic participants at different stages. Demo mode only.

The demo enters data through every clinical app (screening forms, adverse events, efficacy data), so it
lives in the app at the top of them: ``efficacy`` already builds on all the others, and the base apps
(``trials``, ``visits``) stay free of them (``tests/project/test_layers.py``).
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.models import Role
from accounts.services import create_user, grant_membership
from crfs.demo import record_screening_forms
from efficacy.demo import record_efficacy_data
from trials import services
from trials.models import DoseLevel, Participant, Study
from visits.models import Visit

DEMO = "Demo set-up"
DEMO_USERS = [
    # user name, role, site code (None: every site), display name
    ("coordinator", Role.COORDINATOR, "YC", ("Demo", "Coordinator YC")),
    ("investigator", Role.INVESTIGATOR, "YC", ("Demo", "Investigator YC")),
    ("coordinator2", Role.COORDINATOR, "CD", ("Demo", "Coordinator CD")),
    ("monitor", Role.MONITOR, None, ("Demo", "Monitor")),
    ("datamanager", Role.DATA_MANAGER, None, ("Demo", "Data manager")),
    ("sponsoradmin", Role.SPONSOR_ADMIN, None, ("Demo", "Sponsor admin")),
    ("auditor", Role.AUDITOR, None, ("Demo", "Auditor")),
]

# Synthetic adverse events of infused demo participants, by index in DEMO_PARTICIPANTS:
# (term, grade, onset study day, days to resolution or None, relationship to CAR-T).
DEMO_EVENTS = {
    4: [
        ("cytokine_release_syndrome", 1, 1, 2, "probable"),
        ("neutrophil_count_decreased", 3, 3, 9, "possible"),
    ],
    5: [("cytokine_release_syndrome", 2, 2, 3, "definite"), ("headache", 1, 40, 1, "not_related")],
    6: [
        ("cytokine_release_syndrome", 1, 1, 1, "probable"),
        ("upper_respiratory_infection", 2, 120, 7, "unlikely"),
    ],
    9: [("cytokine_release_syndrome", 1, 2, 2, "definite")],
    10: [("neutrophil_count_decreased", 4, 5, 10, "probable"), ("fever", 1, 1, 1, "possible")],
}

# (site, stage, days since screening) — synthetic people, initials made up.
DEMO_PARTICIPANTS = [
    ("YC", "screening", 3),
    ("YC", "screen_failed", 40),
    ("YC", "enrolled", 10),
    ("YC", "lymphodepleted", 14),
    ("YC", "infused", 20),
    ("YC", "follow_up", 120),
    ("YC", "follow_up", 400),
    ("CD", "screening", 1),
    ("CD", "enrolled", 8),
    ("CD", "infused", 25),
    ("CD", "follow_up", 200),
    ("CD", "withdrawn", 90),
]


class Command(BaseCommand):
    help = "Create the demo users and synthetic participants (idempotent, demo mode only)."

    def add_arguments(self, parser):
        parser.add_argument("--nct", default="NCT07274059")

    def handle(self, *args, nct, **options):
        if not settings.DEMO_MODE:
            raise CommandError("Demo data are created in demo mode only (EDC_DEMO_MODE).")
        study = Study.objects.filter(nct_id=nct).first()
        if study is None:
            raise CommandError(f"Load the protocol of {nct} first (manage.py load_protocol).")
        import os

        password = os.environ.get("DEMO_PASSWORD") or secrets.token_urlsafe(12)
        User = get_user_model()
        sites = {s.code: s for s in study.sites.all()}
        system = self._system_user()
        self.stdout.write("Demo users (password shown once; set DEMO_PASSWORD to choose it):")
        for username, role, site_code, (first, last) in DEMO_USERS:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = create_user(
                    username=username,
                    password=password,
                    first_name=first,
                    last_name=last,
                    email=f"{username}@example.invalid",
                )
            else:
                user.set_password(password)
                user.save(update_fields=["password"])
            if role == Role.MONITOR:
                for site in sites.values():
                    grant_membership(by=system, user=user, study=study, role=role, site=site, reason=DEMO)
            else:
                site = sites[site_code] if site_code else None
                grant_membership(by=system, user=user, study=study, role=role, site=site, reason=DEMO)
            where = site_code or (", ".join(sites) if role == Role.MONITOR else "all sites")
            self.stdout.write(f"  {username:<13} {role.label:<17} {where:<9} password: {password}")
        if not settings.EDC_REQUIRE_2FA:
            self.stdout.write(
                "  Two-factor sign-in is off in the demo (EDC_REQUIRE_2FA): password-only logins."
            )
        if Participant.objects.filter(site__study=study).exists():
            self.stdout.write("Demo participants already exist.")
            return
        coordinators = {
            "YC": User.objects.get(username="coordinator"),
            "CD": User.objects.get(username="coordinator2"),
        }
        levels = list(DoseLevel.objects.filter(study=study))
        for i, (site_code, stage, age_days) in enumerate(DEMO_PARTICIPANTS):
            participant = _make(coordinators[site_code], sites[site_code], stage, age_days, i, levels)
            _adverse_events(coordinators[site_code], participant, DEMO_EVENTS.get(i, []))
            record_efficacy_data(coordinators[site_code], participant, i)
        self.stdout.write(f"Created {len(DEMO_PARTICIPANTS)} synthetic demo participants.")

    def _system_user(self):
        User = get_user_model()
        user, _ = User.objects.get_or_create(username="system", defaults={"is_active": False})
        return user


def _make(user, site, stage, age_days, i, levels):
    today = timezone.localdate()
    screened = today - timedelta(days=age_days)
    initials = "ABCDEFGHJKLMNPRSTW"[i % 18] + "XYZQ"[i % 4]
    p = services.screen_participant(
        user=user,
        site=site,
        initials=initials,
        year_of_birth=1970 + (i * 3) % 35,
        sex="F" if i % 5 else "M",
        screening_date=screened,
    )
    if stage == "screening":
        return p
    p = services.record_consent(user=user, participant=p, consent_date=screened, consent_version="1.0")
    if stage == "screen_failed":
        # SELENA-SLEDAI 4 fails the disease-activity criterion on the checklist
        record_screening_forms(user, p, on=screened + timedelta(days=5), selena_sledai=4)
        return services.record_eligibility(
            user=user,
            participant=p,
            met=False,
            assessed_on=screened + timedelta(days=5),
            screen_failure_reason="SELENA-SLEDAI below 6 at screening",
        )
    record_screening_forms(user, p, on=screened + timedelta(days=2))
    p = services.record_eligibility(
        user=user, participant=p, met=True, assessed_on=screened + timedelta(days=2)
    )
    enrolled = screened + timedelta(days=3)
    # Day 0 ten days after enrollment for those already infused; the others are planned ahead of today.
    planned = {"enrolled": today + timedelta(days=8), "lymphodepleted": today + timedelta(days=4)}.get(
        stage, enrolled + timedelta(days=10)
    )
    p = services.enroll_participant(
        user=user,
        participant=p,
        enrollment_date=enrolled,
        dose_level=levels[i % len(levels)],
        planned_infusion_date=planned,
    )
    if stage == "enrolled":
        return p
    with_lymphodepletion = stage == "lymphodepleted" or i % 3 != 0
    if with_lymphodepletion:
        p = services.record_lymphodepletion(user=user, participant=p, start_date=planned - timedelta(days=5))
    if stage != "lymphodepleted":
        p = services.record_infusion(user=user, participant=p, infusion_date=planned)
    _complete_past_visits(user, p, today, with_lymphodepletion, skip_optional=bool(i % 2))
    if stage in ("follow_up", "withdrawn"):
        p.refresh_from_db()
        p = services.start_follow_up(user=user, participant=p)
    if stage == "withdrawn":
        p = services.end_participation(
            user=user,
            participant=p,
            outcome="withdrawn",
            end_date=today,
            reason="Participant moved away (synthetic)",
        )
    return p


def _complete_past_visits(user, participant, today, with_lymphodepletion, skip_optional):
    from visits.services import mark_visit, record_visit

    past = Visit.objects.filter(participant=participant, visit_date__isnull=True, window_start__lte=today)
    for visit in past.select_related("definition").order_by("sequence"):
        optional = visit.definition is not None and visit.definition.optional
        if visit.code.startswith("LD") and not with_lymphodepletion:
            mark_visit(user=user, visit=visit, outcome="not_applicable", reason="No lymphodepletion given")
        elif optional and skip_optional and not visit.code.startswith("LD"):
            mark_visit(user=user, visit=visit, outcome="not_applicable", reason="Optional, not done")
        elif visit.window_end < today or visit.target_date <= today:
            record_visit(user=user, visit=visit, visit_date=min(visit.target_date, today))


def _adverse_events(user, participant, events):
    from adverse_events.services import record_adverse_event

    today = timezone.localdate()
    for term, grade, day, duration, relationship in events:
        onset = participant.infusion_date + timedelta(days=day)
        resolved = onset + timedelta(days=duration) if duration is not None else None
        if onset > today:
            continue
        if resolved and resolved > today:
            resolved = None
        record_adverse_event(
            user=user,
            participant=participant,
            grade=grade,
            data={
                "term": term,
                "verbatim": term.replace("_", " ").capitalize() + " (synthetic demo event)",
                "onset_date": onset,
                "resolution_date": resolved,
                "relationship_car_t": relationship,
                "relationship_lymphodepletion": "unlikely"
                if participant.lymphodepletion_start_date
                else "not_related",
                "outcome": "recovered" if resolved else "recovering",
                "action_taken": "none",
            },
        )
