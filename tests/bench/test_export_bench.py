"""``export_vs_copy_ratio``: the whole export against ``COPY`` of every table its queries read, found
from the statements the export runs."""

from types import SimpleNamespace

from efficacy.synthetic import seed_synthetic_crfs
from exports import bench as export_bench
from trials.synthetic import seed_synthetic


def test_the_tables_are_those_the_statements_name(db):
    statements = [
        'SELECT "trials_participant"."id" FROM "trials_participant" INNER JOIN "trials_site" ON (1 = 1)',
        "COPY (SELECT v.id FROM visits_visit v) TO STDOUT WITH (FORMAT csv)",
        "SELECT 'trials_participant_x' AS participant",
    ]
    assert export_bench.tables_read(statements) == ["trials_participant", "trials_site", "visits_visit"]


def test_the_ratio_compares_the_whole_export_with_copy_of_every_table_it_read(study, settings, tmp_path):
    settings.DEMO_MODE = True
    settings.EXPORT_ROOT = tmp_path / "exports"
    seed_synthetic(participants=6, sites=2, seed=3)
    seed_synthetic_crfs(study=study, seed=3)
    measured = export_bench.export_vs_copy_ratio(SimpleNamespace(study=study))
    details = measured.details
    assert measured.value > 0 and details["export_seconds"] > 0 and details["copy_seconds"] > 0
    assert details["formats"] == export_bench.available_formats()
    assert details["tables"] >= 20
    assert {"labs_labresult", "crfs_vitalsigns", "adverse_events_adverseevent", "trials_participant"} <= set(
        details["largest_tables_mb"]
    ) or details["tables"] > 30
