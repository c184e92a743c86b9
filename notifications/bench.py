"""``reminder_scan_seconds``: the reminder scan's decision over the benchmark's scheduled visits
(10,000 synthetic participants, ``trials.synthetic``), with the plan of every kind's due query.

Measured as a dry run (``plan_reminders``: the due queries, the recipients, the log lookup and the
digest check; nothing written), so every run sees the same database.
"""

import statistics
import time

# Django and the models are imported inside the functions: edc.bench imports this module before
# it configures Django.

RUNS = 3


def reminder_scan_seconds(bench=None):
    """Median seconds of the scan's decision over every study and kind; ``edc.bench.Measured``."""
    from django.utils import timezone

    from edc.bench import Measured
    from trials.models import Study

    from .kinds import REMINDER_KINDS
    from .services import plan_reminders

    studies = [bench.study] if bench is not None else list(Study.objects.order_by("pk"))
    for study in studies:
        _ensure_visit_staff(study)
    now = timezone.now()
    plan_reminders(now=now)  # warm, as the hourly task runs in a long-lived worker
    timings, planned = [], []
    for _ in range(RUNS):
        started = time.perf_counter()
        planned = plan_reminders(now=now)
        timings.append(time.perf_counter() - started)
    plans = {
        f"{study.code} · {kind.name}": kind.find_due(study, now).explain(analyze=True)
        for study in studies
        for kind in REMINDER_KINDS
    }
    return Measured(
        statistics.median(timings),
        {
            "runs_seconds": [round(t, 4) for t in timings],
            "reminders": len(planned),
            "explain": "\n\n".join(f"-- {name}\n{plan}" for name, plan in plans.items()),
        },
    )


def _ensure_visit_staff(study):
    """A coordinator and an investigator at each site, so the scan has recipients to decide for."""
    from accounts.models import Membership, Role
    from accounts.services import create_user, grant_membership

    for site in study.sites.all():
        for role in (Role.COORDINATOR, Role.INVESTIGATOR):
            if not Membership.objects.filter(site=site, role=role, active=True).exists():
                user = create_user(
                    username=f"bench-{role}-{site.code}".lower(),
                    password=None,
                    email=f"{role}@{site.code.lower()}.invalid",
                )
                grant_membership(by=None, user=user, study=study, role=role, site=site)
