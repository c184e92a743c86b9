"""``query_worklist_p95_ms``: a data manager's home page (the query-ageing worklist) with 20,000 queries
across 20 sites.

The benchmark study has two sites; this metric adds 18 synthetic ones with a few participants each
(``trials.synthetic``) and 20,000 queries spread over every site's participants and their visits, all
statuses, opened up to 120 days ago, inside one transaction that is rolled back once the page is timed:
the other metrics (the reminder scan above all, which would chase every ageing query) keep measuring the
database they always measured, and each run starts from the same state.
"""

import random
from datetime import timedelta

# Django and the models are imported inside the functions: edc.bench imports this module before it
# configures Django.

SITES = 20
QUERIES = 20_000
PARTICIPANTS_PER_NEW_SITE = 18
QUERIES_PER_PARTICIPANT = 20
SEED = 8
# Share of each status, and of the role that raised the query.
STATUSES = [("draft", 0.05), ("open", 0.35), ("answered", 0.2), ("closed", 0.4)]
ROLES = [("monitor", 0.7), ("data_manager", 0.3)]


def query_worklist_p95_ms(bench):
    from django.db import connection, transaction
    from django.test import Client
    from django.urls import reverse

    from edc.bench import Measured, time_page

    if not connection.in_atomic_block:  # VACUUM cannot run in a transaction (the tests')
        with connection.cursor() as cursor:
            # The rows of the previous run, rolled back, are dead: cleared as autovacuum would.
            cursor.execute("VACUUM (ANALYZE) monitoring_query")
    with transaction.atomic():
        seeded = seed_queries(bench.study, sites=SITES, queries=QUERIES)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE monitoring_query")
            cursor.execute("ANALYZE trials_participant")
            cursor.execute("ANALYZE trials_site")
        client = Client()
        client.force_login(_data_manager(bench.study))
        timing = time_page(client, [reverse("home")], warmup=bench.warmup, repeat=bench.repeat)
        transaction.set_rollback(True)
    return Measured(timing.p95_ms, {**timing.details(), **seeded})


def _data_manager(study):
    from accounts.models import Role
    from accounts.services import create_user, grant_membership

    user = create_user(username="bench-datamanager", password=None, email="dm@example.invalid")
    grant_membership(by=None, user=user, study=study, role=Role.DATA_MANAGER)
    return user


def seed_queries(study, *, sites: int, queries: int, now=None) -> dict:
    """Bring ``study`` to ``sites`` sites and add ``queries`` queries spread evenly over them: on the
    participants themselves and on their visits, with every status and ages up to 120 days (COPY)."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection
    from django.utils import timezone

    from trials.models import Participant, Site
    from trials.synthetic import seed_synthetic
    from visits.models import Visit

    from .models import Query

    now = now or timezone.now()
    missing = sites - Site.objects.filter(study=study).count()
    if missing > 0:
        seed_synthetic(participants=missing * PARTICIPANTS_PER_NEW_SITE, sites=sites, append=True, seed=SEED)
    rng = random.Random(SEED)
    site_ids = list(Site.objects.filter(study=study).order_by("code").values_list("pk", flat=True))[:sites]
    per_site = queries // len(site_ids)
    wanted = -(-per_site // QUERIES_PER_PARTICIPANT)
    participants = {
        site_id: list(
            Participant.objects.filter(site_id=site_id, entered_in_error=False)
            .order_by("pk")
            .values_list("pk", flat=True)[:wanted]
        )
        for site_id in site_ids
    }
    visits = {}
    chosen = [pk for pks in participants.values() for pk in pks]
    for participant_id, visit_id in Visit.objects.filter(participant_id__in=chosen).values_list(
        "participant_id", "pk"
    ):
        visits.setdefault(participant_id, []).append(visit_id)
    participant_type = ContentType.objects.get_for_model(Participant).pk
    visit_type = ContentType.objects.get_for_model(Visit).pk
    rows = []
    for site_id in site_ids:
        for i in range(per_site):
            participant_id = participants[site_id][i % len(participants[site_id])]
            on_visit = visits.get(participant_id) and rng.random() < 0.7
            status = _draw(rng, STATUSES)
            opened_at = now - timedelta(days=rng.uniform(0, 120))
            closed_at = (
                min(now, opened_at + timedelta(days=rng.uniform(0.2, 30))) if status == "closed" else None
            )
            rows.append(
                {
                    "participant_id": participant_id,
                    "content_type_id": visit_type if on_visit else participant_type,
                    "object_id": rng.choice(visits[participant_id]) if on_visit else participant_id,
                    "field_name": "visit_date" if on_visit else "initials",
                    "query_type": "manual",
                    "check_id": "",
                    "status": status,
                    "text": f"Synthetic query {len(rows) + 1}: please check against the source.",
                    "opened_at": opened_at,
                    "opened_by_role": _draw(rng, ROLES),
                    "priority": "normal",
                    "released_at": None if status == "draft" else opened_at,
                    "closed_at": closed_at,
                    "resolution": "Confirmed against the source." if closed_at else "",
                }
            )
    _copy(connection, Query, rows)
    return {"sites": len(site_ids), "queries_seeded": len(rows)}


def _draw(rng, shares):
    x, total = rng.random(), 0.0
    for value, share in shares:
        total += share
        if x < total:
            return value
    return shares[-1][0]


def _copy(connection, model, rows):
    """COPY ``rows`` (dicts by column) into ``model``'s table; the audit triggers still run per row."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = [f.column for f in fields]
    defaults = [f.get_default() for f in fields]
    quote = connection.ops.quote_name
    sql = f"COPY {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
    with connection.cursor() as cursor:
        # Defined, the trigger's setting no longer errors per row (see trials.synthetic).
        cursor.execute("SET LOCAL pgtrigger.ignore = '{}'")
        with cursor.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row([row.get(c, d) for c, d in zip(columns, defaults, strict=True)])
