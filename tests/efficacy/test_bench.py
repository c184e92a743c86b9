"""``study_dashboard_p95_ms`` on tiny synthetic data: seeds disease activity once, times the page."""

from disease_activity.models import SledaiAssessment
from edc.bench import Bench, run_metrics
from efficacy.bench import ensure_efficacy_data
from trials.synthetic import seed_synthetic


def test_the_study_dashboard_metric_times_a_coordinators_dashboard_with_efficacy_data(study):
    seed_synthetic(participants=60, sites=2, seed=7)
    results = run_metrics(Bench(study, repeat=3, warmup=1), ["study_dashboard_p95_ms"])
    measured = results["study_dashboard_p95_ms"]
    assert "error" not in measured, measured
    assert measured["value"] > 0 and measured["details"]["queries_per_request"] > 0
    assert measured["details"]["cold_ms"] > 0
    seeded = SledaiAssessment.objects.count()
    assert seeded > 0 and measured["details"]["efficacy_data"]["sledai"] == seeded
    assert ensure_efficacy_data(study)["sledai"] == seeded  # added once, reused afterwards
