"""``manage.py import_labs FILE --site YC --user NAME``: a dry run prints the preview and writes nothing;
``--commit`` keeps the file and writes through the lab services."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from labs.models import LabImport, LabResult
from tests.labs.lab_files import bundle, observation


@pytest.fixture
def bundle_file(tmp_path, baseline):
    when = timezone.now() - timedelta(hours=1)
    path = tmp_path / "results.json"
    path.write_bytes(
        bundle(
            observation("c1", baseline.participant.study_id, "718-7", 12.1, "g/dL", when),
            observation("c2", "YC-S999", "718-7", 120, "g/L", when),
        )
    )
    return path


def run(*args):
    out = StringIO()
    call_command("import_labs", *map(str, args), stdout=out)
    return out.getvalue()


def test_a_dry_run_prints_every_row_and_writes_nothing(coordinator, bundle_file):
    printed = run(bundle_file, "--site", "YC", "--user", coordinator.username, "--dry-run")
    assert "New" in printed and "Unmatched participant" in printed and "Dry run" in printed
    assert not LabImport.objects.exists() and not LabResult.objects.exists()


def test_commit_keeps_the_file_and_writes_its_new_values(coordinator, bundle_file):
    printed = run(bundle_file, "--site", "YC", "--user", coordinator.username, "--commit")
    lab_import = LabImport.objects.get()
    assert f"Imported 1 value(s) from results.json (sha256 {lab_import.sha256}" in printed
    assert LabResult.objects.get().standard_value == 121


def test_a_user_without_the_right_is_refused(monitor, bundle_file):
    with pytest.raises(CommandError, match="role does not allow"):
        run(bundle_file, "--site", "YC", "--user", monitor.username)


def test_an_unknown_site_is_refused(coordinator, bundle_file):
    with pytest.raises(CommandError, match="unknown site"):
        run(bundle_file, "--site", "XX", "--user", coordinator.username)
