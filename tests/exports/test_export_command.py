"""``manage.py export``: scheduled exports into a folder, as the system or as a named user."""

import hashlib
import json
import zipfile

import pytest
from django.core.management import CommandError, call_command

from exports.models import ExportJob
from tests.exports.factories import infused_participant


@pytest.fixture
def data(coordinator, site_yc):
    return infused_participant(coordinator, site_yc)


def test_command_writes_the_zip_with_its_manifest(study, data, tmp_path):
    out = tmp_path / "out"
    call_command("export", format="csv,audit", out=str(out))
    [zip_path] = out.glob("*.zip")
    job = ExportJob.objects.get()
    assert hashlib.sha256(zip_path.read_bytes()).hexdigest() == job.zip_sha256
    with zipfile.ZipFile(zip_path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert "csv/vital_signs_wide.csv" in archive.namelist()
    assert manifest["requested_by"] == "system" and manifest["requested_via"] == "command"
    assert job.requested_by is None


def test_command_exports_every_format_and_counts_the_rows_of_the_files_that_have_rows(study, data, tmp_path):
    import io

    stdout = io.StringIO()
    call_command("export", format="csv,odm,sdtm,adam,audit", out=str(tmp_path), stdout=stdout)
    job = ExportJob.objects.get()
    schemas = [f for f in job.files if f["rows"] is None]  # the ODM schema files ship without rows
    assert schemas and job.total_rows == sum(f["rows"] for f in job.files if f["rows"] is not None) > 0
    assert f"{job.total_rows} rows" in stdout.getvalue()


def test_command_applies_options(study, data, site_yc, tmp_path):
    call_command("export", format="csv", out=str(tmp_path), deidentify=True, sites="YC", forms="vital_signs")
    options = ExportJob.objects.get().options
    assert options["deidentify"] is True
    assert options["site_ids"] == [site_yc.pk] and options["form_codes"] == ["vital_signs"]


def test_command_as_a_user_applies_their_permissions(study, coordinator, data_manager, tmp_path):
    with pytest.raises(CommandError, match="does not allow"):
        call_command("export", format="csv", out=str(tmp_path), deidentify=True, user=coordinator.username)
    with pytest.raises(CommandError, match="separate permission"):
        call_command("export", format="csv", out=str(tmp_path), user=data_manager.username)
    call_command("export", format="csv", out=str(tmp_path), deidentify=True, user=data_manager.username)
    assert ExportJob.objects.get().requested_by == data_manager


def test_command_refuses_unknown_formats_and_sites(study, tmp_path):
    with pytest.raises(CommandError, match="unknown export formats"):
        call_command("export", format="csv,pdf", out=str(tmp_path))
    with pytest.raises(CommandError, match="unknown site"):
        call_command("export", format="csv", out=str(tmp_path), sites="XX")
    assert not ExportJob.objects.exists()
