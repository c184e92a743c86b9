import json
import subprocess
import sys

from tests.conftest import ROOT


def run(*args):
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "compute", *args], capture_output=True, text=True, cwd=ROOT
    )


CRS = {
    "temperature_f": 100.4,
    "fever_masked_by_antipyretic_or_anticytokine": False,
    "hypotension": "none",
    "vasopressors": [],
    "oxygen_device": "nasal_cannula",
    "oxygen_flow_l_min": 6,
}


def test_compute_command_prints_the_grade_as_json():
    result = run("astct_crs", json.dumps(CRS))
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["crs_grade"] == 2 and output["rule_version"].startswith("astct_crs/")


def test_compute_command_exits_2_naming_the_bad_key():
    result = run("astct_crs", json.dumps({**CRS, "oxygen_device": "helmet"}))
    assert result.returncode == 2
    assert "oxygen_device" in result.stderr


def test_compute_command_exits_2_on_invalid_json():
    result = run("astct_crs", "{not json")
    assert result.returncode == 2 and "JSON" in result.stderr
