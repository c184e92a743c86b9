"""``python -m edc.bench``: the metric registry, the page timings and the benchmark's own database."""

import json

import pytest

from edc import bench
from edc.bench import Bench, Measured, bench_database_url, metric, run_metrics
from trials.synthetic import seed_synthetic


@pytest.fixture
def registry(monkeypatch):
    """An empty registry, so test metrics do not join the real ones."""
    monkeypatch.setattr(bench, "METRICS", {})
    return bench.METRICS


def test_a_metric_is_one_registered_function_judged_against_its_target(registry):
    metric("fast_seconds", unit="s", target="< 1")(lambda context: 0.5)
    metric("slow_seconds", unit="s", target="< 1")(lambda context: Measured(2.0, {"why": "plan"}))
    results = run_metrics(None)
    assert results["fast_seconds"] == {"value": 0.5, "unit": "s", "target": "< 1", "ok": True}
    assert results["slow_seconds"]["ok"] is False
    assert results["slow_seconds"]["details"] == {"why": "plan"}


def test_a_failing_metric_is_reported_without_stopping_the_others(registry):
    metric("broken", unit="s", target="< 1")(lambda context: 1 / 0)
    metric("fine", unit="s", target="< 1")(lambda context: 0.1)
    results = run_metrics(None)
    assert "ZeroDivisionError" in results["broken"]["error"]
    assert results["fine"]["ok"]


def test_a_target_must_be_an_operator_and_a_number():
    with pytest.raises(ValueError, match="must be like"):
        metric("odd", unit="s", target="about 3")


def test_the_benchmark_never_writes_into_the_applications_database():
    assert bench_database_url("postgres://postgres@127.0.0.1:5432/edc") == (
        "postgres://postgres@127.0.0.1:5432/edc_bench"
    )
    assert bench_database_url("postgresql://postgres:@/edc?host=/tmp/pg") == (
        "postgresql://postgres:@/edc_bench?host=/tmp/pg"
    )
    assert bench_database_url("postgres://postgres@127.0.0.1/edc_h3bench").endswith("/edc_h3bench")


def test_the_participant_page_metrics_time_a_coordinators_pages_on_tiny_data(study):
    seed_synthetic(participants=12, sites=2, seed=5)
    results = run_metrics(
        Bench(study, repeat=3, warmup=1), ["participant_page_p95_ms", "participant_page_vs_sql_ratio"]
    )
    page = results["participant_page_p95_ms"]
    assert page["value"] > 0 and page["details"]["queries_per_request"] > 0
    assert "error" not in results["participant_page_vs_sql_ratio"]
    assert results["participant_page_vs_sql_ratio"]["value"] > 0


def test_the_benchmark_report_keeps_what_the_load_test_and_mutation_runs_wrote(tmp_path):
    path = tmp_path / "bench.json"
    path.write_text(json.dumps({"metrics": {"old": 1}, "load_p95_ms": 120.0, "mutation_score": 99.0}))
    bench.write_report(path, {"metrics": {"participant_list_p95_ms": {"value": 12}}, "when": "now"})
    report = json.loads(path.read_text())
    assert report["metrics"] == {
        "old": 1,
        "participant_list_p95_ms": {"value": 12},
    }  # merged (edc.bench.merged)
    assert (report["load_p95_ms"], report["mutation_score"], report["when"]) == (120.0, 99.0, "now")
