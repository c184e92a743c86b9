"""``var/bench.json`` keeps what an earlier run measured: a ``--only`` run adds its metrics to it."""

import json

from edc.bench import METRICS, merged


def test_a_run_keeps_the_metrics_measured_before_and_replaces_those_measured_again(tmp_path):
    path = tmp_path / "bench.json"
    path.write_text(json.dumps({"metrics": {"a": {"value": 1}, "b": {"value": 2}}, "mutation_score": 99}))
    report = merged(path, {"metrics": {"b": {"value": 3}, "c": {"value": 4}}, "when": "now"})
    assert report["metrics"] == {"a": {"value": 1}, "b": {"value": 3}, "c": {"value": 4}}
    assert report["mutation_score"] == 99 and report["when"] == "now"


def test_without_a_previous_file_the_report_is_written_as_it_is(tmp_path):
    report = {"metrics": {"a": {"value": 1}}}
    assert merged(tmp_path / "missing.json", report) == report


def test_the_day28_entry_is_measured_in_page_loads_and_seconds():
    assert METRICS["d28_visit_page_loads"].target == "<= 12"
    assert METRICS["d28_visit_seconds"].unit == "s"
