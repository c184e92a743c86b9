"""``query_worklist_p95_ms``: a data manager's worklist timed over queries seeded across 20 sites, in a
transaction rolled back afterwards."""

from edc.bench import Bench, run_metrics
from monitoring import bench as worklist_bench
from monitoring.models import Query, QueryStatus
from trials.models import Site
from trials.synthetic import seed_synthetic


def test_the_seed_spreads_queries_over_every_site_with_every_status(study):
    seed_synthetic(participants=12, sites=2, seed=5)
    seeded = worklist_bench.seed_queries(study, sites=5, queries=200)
    assert seeded == {"sites": 5, "queries_seeded": 200}
    assert Site.objects.filter(study=study).count() == 5
    per_site = Query.objects.values("participant__site_id").distinct().count()
    assert per_site == 5
    assert set(Query.objects.values_list("status", flat=True)) == set(QueryStatus.values)


def test_the_metric_times_the_worklist_and_leaves_the_database_as_it_was(study, monkeypatch):
    seed_synthetic(participants=12, sites=2, seed=5)
    monkeypatch.setattr(worklist_bench, "SITES", 4)
    monkeypatch.setattr(worklist_bench, "QUERIES", 80)
    result = run_metrics(Bench(study, repeat=3, warmup=1), ["query_worklist_p95_ms"])["query_worklist_p95_ms"]
    assert "error" not in result and result["value"] > 0
    assert result["details"]["queries_seeded"] == 80 and result["details"]["queries_per_request"] > 0
    assert Query.objects.count() == 0 and Site.objects.filter(study=study).count() == 2
