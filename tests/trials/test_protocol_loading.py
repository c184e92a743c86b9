import subprocess
import sys

import pytest
from django.core.management import call_command

from tests.conftest import PROTOCOL, ROOT
from trials.models import DoseLevel, ProtocolVersion, Site, Study, VisitDefinition
from trials.protocol import ProtocolError, load_file, parse


def snapshot():
    return (
        list(Study.objects.values()),
        list(Site.objects.values()),
        list(DoseLevel.objects.values()),
        list(ProtocolVersion.objects.values("id", "number", "checksum")),
        list(VisitDefinition.objects.values()),
    )


def test_loading_the_protocol_twice_gives_the_same_database(db):
    first = load_file(PROTOCOL)
    before = snapshot()
    second = load_file(PROTOCOL)
    assert first.created and not second.created
    assert snapshot() == before


def test_protocol_holds_both_registry_sites_in_shanghai_time(db):
    study = load_file(PROTOCOL).study
    assert {(s.code, s.timezone) for s in study.sites.all()} == {
        ("YC", "Asia/Shanghai"),
        ("CD", "Asia/Shanghai"),
    }
    assert study.target_enrollment == 48
    assert all(level.to_be_confirmed for level in study.dose_levels.all())


def test_schedule_has_every_registry_visit_with_clinical_rules_windows(db):
    version = load_file(PROTOCOL).version
    windows = {
        v.code: (v.target_day, v.window_before, v.window_after) for v in version.visit_definitions.all()
    }
    for code in [
        "SCR",
        "BL",
        "LD-5",
        "LD-4",
        "LD-3",
        "D0",
        "D1",
        "D7",
        "D14",
        "D28",
        "M3",
        "M6",
        "M9",
        "M12",
        "M18",
        "M24",
    ]:
        assert code in windows
    assert windows["D14"] == (14, 2, 2)
    assert windows["D28"] == (28, 3, 3)
    assert windows["M3"] == (90, 7, 7)
    assert windows["M12"] == (365, 14, 14)
    assert windows["M24"] == (730, 14, 14)


def test_a_changed_file_becomes_a_new_protocol_version(db, tmp_path):
    load_file(PROTOCOL)
    amended = tmp_path / "amended.yaml"
    amended.write_text(
        PROTOCOL.read_text().replace(
            "{code: M9, name: Month 9, day: 270, before: 14, after: 14",
            "{code: M9, name: Month 9, day: 270, before: 21, after: 21",
        )
    )
    result = load_file(amended)
    assert result.created and result.version.number == 2
    assert result.version.visit_definitions.get(code="M9").window_before == 21
    assert ProtocolVersion.objects.get(number=1).visit_definitions.get(code="M9").window_before == 14


def test_the_small_example_protocol_loads_without_code_changes(db):
    result = load_file(ROOT / "protocols" / "examples" / "example-ra-small.yaml")
    assert result.study.sites.count() == 1
    assert [v.code for v in result.version.visit_definitions.all()] == ["SCR", "D0", "W2", "M1", "M2"]


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ("target_enrollment: 48", "target_enrollment: many", "trial.target_enrollment"),
        (
            "timezone: Asia/Shanghai\n  - code: CD",
            "timezone: Mars/Olympus\n  - code: CD",
            "sites[0].timezone",
        ),
        (
            "{code: D14, name: Day 14, day: 14, before: 2",
            "{code: D14, name: Day 14, day: 14, before: -2",
            "schedule.visits[14].before",
        ),
        ("  - code: DL2", "  - code: DL1", "dose_levels[1].code"),
    ],
)
def test_a_malformed_protocol_names_the_bad_field(old, new, path):
    text = PROTOCOL.read_text()
    assert old in text
    with pytest.raises(ProtocolError) as error:
        parse(text.replace(old, new, 1), "bad.yaml")
    assert error.value.path == path
    assert "bad.yaml" in str(error.value)


def test_load_protocol_command_exits_2_and_writes_nothing_for_a_bad_file(db, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(PROTOCOL.read_text().replace("target_enrollment: 48", "target_enrollment: -1"))
    with pytest.raises(SystemExit) as exit_info:
        call_command("load_protocol", str(bad))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "trial.target_enrollment" in err and "bad.yaml" in err
    assert not Study.objects.exists() and not ProtocolVersion.objects.exists()


def test_load_protocol_command_runs_as_a_process_and_exits_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("trial: [unclosed")
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "load_protocol", str(bad)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 2, result.stderr
    assert "not valid YAML" in result.stderr
