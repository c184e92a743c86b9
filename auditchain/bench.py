"""``verify_audit_seconds`` (the whole verification on the benchmark database) and
``audit_write_overhead_ratio`` (a form save with the hash chain ÷ the same save without it)."""

import statistics
import time

ROUNDS = 8
SAVES_PER_ROUND = 10


def verify_audit_seconds(bench):
    from edc.bench import Measured

    from .chain import verify

    started = time.perf_counter()
    report = verify()
    seconds = time.perf_counter() - started
    return Measured(seconds, {**report.counts, "ok": report.ok})


def audit_write_overhead_ratio(bench):
    """Median time of a vital-signs correction through ``save_form`` with the chain trigger, over the
    same with it disabled on that event table; rounds alternate, everything is rolled back."""
    from django.db import connection, transaction

    from crfs.models import VitalSigns
    from crfs.registry import FORMS
    from crfs.services import save_form
    from edc.bench import Measured
    from trials.models import Participant

    from .chain import TRIGGER

    table = connection.ops.quote_name(VitalSigns.pgh_event_model._meta.db_table)
    timings = {True: [], False: []}
    with transaction.atomic():
        participant = Participant.objects.filter(site=bench.site, visits__code="BL").order_by("pk").first()
        visit = participant.visits.get(code="BL")
        form = VitalSigns.objects.filter(visit=visit).first() or save_form(
            user=bench.coordinator, spec=FORMS["vital_signs"], visit=visit, data={"heart_rate": 70}
        )
        for n in range(ROUNDS * 2):
            chained = n % 2 == 0
            with connection.cursor() as cursor:
                cursor.execute(f"ALTER TABLE {table} {'ENABLE' if chained else 'DISABLE'} TRIGGER {TRIGGER}")
            for i in range(SAVES_PER_ROUND):
                started = time.perf_counter()
                form = save_form(
                    user=bench.coordinator,
                    spec=FORMS["vital_signs"],
                    visit=visit,
                    instance=form,
                    data={"heart_rate": 60 + (n * SAVES_PER_ROUND + i) % 40},
                    reason="benchmark correction",
                    expected_version=form.version,
                )
                timings[chained].append(time.perf_counter() - started)
        transaction.set_rollback(True)
    with_chain, without = statistics.median(timings[True]), statistics.median(timings[False])
    return Measured(
        with_chain / without,
        {
            "with_chain_ms": round(with_chain * 1000, 2),
            "without_chain_ms": round(without * 1000, 2),
            "saves": len(timings[True]),
        },
    )
