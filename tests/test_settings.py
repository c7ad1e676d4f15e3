"""Settings files: found as ruff finds its own, keys from the Settings fields, the command line wins."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import pytest

from dsmt_rules.cli import main
from dsmt_rules.exceptions import ConfigError
from dsmt_rules.reporters.csv import COLUMNS
from dsmt_rules.rules._examples import BASE_CLAIM, apply_patch
from dsmt_rules.settings import (
    OPTION_KEYS,
    Settings,
    find_settings_file,
    load_settings,
    read_settings_file,
    setting_keys,
)

GROUP_OF_ONE = json.dumps(
    apply_patch(
        BASE_CLAIM,
        {"claim_id": "C-ONE", "sessions": [{**BASE_CLAIM["sessions"][0], "attendees": 1}]},
    )
)
"""G0109 billed for a session of 1 attendee: exactly DS104 (error) under the defaults."""


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def _reports(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


def _codes(out: str) -> list[list[str]]:
    return [[f["code"] for f in report["findings"]] for report in _reports(out)]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory with a claims file, and a working directory two levels below it."""
    _write(tmp_path / "proj" / "claims.jsonl", GROUP_OF_ONE + "\n")
    work = tmp_path / "proj" / "sub" / "dir"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    return tmp_path / "proj"


# --- discovery -----------------------------------------------------------------------------------


def test_discovery_finds_the_nearest_file_upward(project: Path) -> None:
    upper = _write(project / "dsmt-rules.toml", 'ignore = ["DS104"]\n')
    assert find_settings_file() == upper.resolve()

    nearer = _write(project / "sub" / "pyproject.toml", '[tool.dsmt-rules]\nprofile = "medicare"\n')
    assert find_settings_file() == nearer.resolve()
    assert find_settings_file(project) == upper.resolve()


def test_a_pyproject_without_the_table_is_skipped(project: Path) -> None:
    _write(
        project / "sub" / "dir" / "pyproject.toml", '[project]\nname = "x"\n[tool.other]\na = 1\n'
    )
    upper = _write(project / "pyproject.toml", '[tool.dsmt-rules]\nignore = ["DS104"]\n')

    assert find_settings_file() == upper.resolve()


def test_in_one_directory_dsmt_rules_toml_wins_over_pyproject(project: Path) -> None:
    _write(project / "pyproject.toml", '[tool.dsmt-rules]\nignore = ["DS104"]\n')
    own = _write(project / "dsmt-rules.toml", 'ignore = ["DS105"]\n')

    assert find_settings_file() == own.resolve()
    assert read_settings_file(own).values == {"ignore": ("DS105",)}


def test_an_empty_dsmt_rules_toml_still_counts_and_stops_the_search(project: Path) -> None:
    _write(project / "dsmt-rules.toml", 'ignore = ["DS104"]\n')
    empty = _write(project / "sub" / "dsmt-rules.toml", "")

    assert find_settings_file() == empty.resolve()
    assert load_settings() == Settings()


# --- the check command ---------------------------------------------------------------------------


def test_the_file_found_upward_configures_check(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    claims = project / "claims.jsonl"
    assert _codes(_run(capsys, "check", claims, "--format", "jsonl")[1]) == [["DS104"]]

    _write(project / "pyproject.toml", '[tool.dsmt-rules]\nseverity = ["DS104=warning"]\n')
    status, out, _ = _run(capsys, "check", claims, "--format", "jsonl")

    assert status == 0
    [report] = _reports(out)
    assert report["status"] == "review"
    assert [(f["code"], f["severity"]) for f in report["findings"]] == [("DS104", "warning")]


def test_the_command_line_wins_over_the_file(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    claims = project / "claims.jsonl"
    _write(
        project / "dsmt-rules.toml",
        'format = "csv"\nfail-on = "warning"\n[severity]\nDS104 = "warning"\n',
    )

    status, out, _ = _run(capsys, "check", claims)  # all from the file: csv, review fails
    assert status == 1
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == list(COLUMNS)
    assert len(rows) == 2

    status, out, _ = _run(
        capsys,
        "check",
        claims,
        "--format",
        "jsonl",
        "--severity",
        "DS104=info",
        "--fail-on",
        "error",
    )
    assert status == 0
    [report] = _reports(out)
    assert [(f["code"], f["severity"]) for f in report["findings"]] == [("DS104", "info")]


def test_config_names_the_file_and_discovery_is_skipped(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    claims = project / "claims.jsonl"
    _write(project / "dsmt-rules.toml", 'ignore = ["DS104"]\n')
    other = _write(tmp_path / "elsewhere" / "strict.toml", 'severity = ["DS104=warning"]\n')

    status, out, _ = _run(capsys, "check", claims, "--format", "jsonl", "--config", other)

    assert status == 0
    assert [f["severity"] for f in _reports(out)[0]["findings"]] == ["warning"]
    assert _codes(_run(capsys, "check", claims, "--format", "jsonl")[1]) == [[]]  # the found one


def test_config_may_name_a_pyproject(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pyproject = _write(
        tmp_path / "other" / "pyproject.toml", '[tool.dsmt-rules]\nignore = ["DS1"]\n'
    )

    _, out, _ = _run(
        capsys, "check", project / "claims.jsonl", "--format", "jsonl", "--config", pyproject
    )

    assert _codes(out) == [[]]


def test_isolated_reads_no_file(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(project / "dsmt-rules.toml", 'ignore = ["DS104"]\n')

    _, out, _ = _run(capsys, "check", project / "claims.jsonl", "--format", "jsonl", "--isolated")
    assert _codes(out) == [["DS104"]]

    status, _, err = _run(capsys, "check", "x", "--isolated", "--config", "dsmt-rules.toml")
    assert status == 2
    assert "--config and --isolated cannot be used together" in err


def test_relative_paths_are_taken_from_the_files_directory(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(
        project / "profiles" / "payer.toml", 'extends = "medicare"\nname = "payer"\ngroup_min = 1\n'
    )
    _write(
        project / "pyproject.toml",
        "[tool.dsmt-rules]\n"
        'profile = "profiles/payer.toml"\n'
        'reference = ["ref/providers.jsonl"]\n'
        'mue-file = "data/mue.csv"\n'
        'icd10cm-file = ["2027=codes/2027.txt", "icd10cm_order_2028.txt"]\n'
        'temp-dir = "spill"\n',
    )

    found = read_settings_file(project / "pyproject.toml")

    root = project.resolve()
    assert found.values == {
        "profile": str(root / "profiles" / "payer.toml"),
        "reference": (str(root / "ref" / "providers.jsonl"),),
        "mue-file": str(root / "data" / "mue.csv"),
        "icd10cm-file": (
            f"2027={root / 'codes' / '2027.txt'}",
            str(root / "icd10cm_order_2028.txt"),
        ),
        "temp-dir": str(root / "spill"),
    }
    assert found.apply().icd10cm_files == found.values["icd10cm-file"]


def test_a_profile_file_relative_to_the_settings_file_is_used(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(
        project / "profiles" / "payer.toml", 'extends = "medicare"\nname = "payer"\ngroup_min = 1\n'
    )
    _write(project / "dsmt-rules.toml", 'profile = "profiles/payer.toml"\n')

    status, out, _ = _run(capsys, "check", project / "claims.jsonl", "--format", "jsonl")

    assert (status, _codes(out)) == (0, [[]])  # a group of 1 is a group under this profile


def test_a_builtin_profile_name_is_not_a_path(project: Path) -> None:
    _write(project / "dsmt-rules.toml", 'profile = "medicare"\n')

    assert load_settings().profile == "medicare"


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('selectt = ["DS1"]\n', "unknown key 'selectt' (the keys are: profile, select, "),
        ('select = "DS1"\n', "select: Input should be a valid array"),
        ('select = ["DS1", 3]\n', "select[1]: Input should be a valid string"),
        ("batch-memory = 0\n", "batch-memory: 0 is not in the range x>=1."),
        ('batch-memory = "64"\n', "batch-memory: Input should be a valid integer"),
        (
            'format = "xml"\n',
            "format: 'xml' is not one of 'jsonl', 'json', 'text', 'csv', 'sarif', 'html'.",
        ),
        ("fail-on = 1\n", "fail-on: Input should be a valid string"),
        ("mue-file = 2026-01-01\n", "mue-file: a date or time is not a valid value"),
    ],
)
def test_a_bad_key_or_value_is_one_line_and_exit_2(
    project: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    path = _write(project / "dsmt-rules.toml", text)

    status, out, err = _run(capsys, "check", project / "claims.jsonl")

    assert (status, out) == (2, "")
    assert err.count("\n") == 1
    assert err.startswith(f"dsmt-rules: error: {path.resolve()}: {message}")


def test_an_unknown_key_in_a_pyproject_names_the_table(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(project / "pyproject.toml", "[tool.dsmt-rules]\nfrobnicate = true\n")

    status, _, err = _run(capsys, "check", "--show-settings")

    assert status == 2
    assert err.startswith(
        f"dsmt-rules: error: {path.resolve()} [tool.dsmt-rules]: unknown key 'frobnicate' ("
    )


def test_a_file_that_is_not_toml(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(project / "dsmt-rules.toml", "select = [\n")

    status, _, err = _run(capsys, "check", project / "claims.jsonl")

    assert status == 2
    assert err.count("\n") == 1
    assert err.startswith(f"dsmt-rules: error: settings file {path.resolve()}: not valid TOML (")


def test_a_missing_config_file(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = _run(capsys, "check", "--config", "absent.toml", "--show-settings")

    assert status == 2
    assert err == (
        f"dsmt-rules: error: settings file {Path('absent.toml').resolve()}: No such file or directory\n"
    )


def test_read_settings_file_raises_config_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "dsmt-rules.toml", "severity = { DS104 = 1 }\n")

    with pytest.raises(ConfigError, match=r"severity\.DS104: Input should be a valid string"):
        read_settings_file(path)


# --- the keys ------------------------------------------------------------------------------------


def test_keys_are_the_settings_fields_and_the_command_options() -> None:
    fields = [f.name for f in dataclasses.fields(Settings)]

    assert list(setting_keys().values()) == fields
    assert setting_keys()["mue-file"] == "mue_file"
    assert setting_keys()["icd10cm-file"] == "icd10cm_files"  # as the option --icd10cm-file
    assert set(OPTION_KEYS) == {"format", "fail-on"}


def test_severity_may_be_a_table_or_a_list(tmp_path: Path) -> None:
    table = _write(
        tmp_path / "a" / "dsmt-rules.toml", '[severity]\nDS104 = "warning"\nDS1 = "info"\n'
    )
    listed = _write(
        tmp_path / "b" / "dsmt-rules.toml", 'severity = ["DS104=warning", "DS1=info"]\n'
    )

    assert (
        load_settings(table).severity
        == load_settings(listed).severity
        == (
            "DS104=warning",
            "DS1=info",
        )
    )


# --- --show-settings -----------------------------------------------------------------------------


def _shown(out: str) -> dict[str, tuple[str, str]]:
    shown: dict[str, tuple[str, str]] = {}
    for line in out.splitlines()[1:]:
        key, _, rest = line.partition(" = ")
        value, _, source = rest.partition("  # ")
        shown[key.strip()] = (value.strip(), source)
    return shown


def test_show_settings_prints_each_value_and_its_source(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(
        project / "pyproject.toml",
        '[tool.dsmt-rules]\nselect = ["DS1", "DS3"]\nprofile = "payer.toml"\nfail-on = "warning"\n',
    )
    origin = f"{path.resolve()} [tool.dsmt-rules]"

    status, out, err = _run(capsys, "check", "--show-settings", "--ignore", "DS104,DS105")

    assert (status, err) == (0, "")
    assert out.splitlines()[0] == f"settings file: {origin}"
    shown = _shown(out)
    assert list(shown) == [*setting_keys(), *OPTION_KEYS]
    assert shown["profile"] == (json.dumps(str(project.resolve() / "payer.toml")), origin)
    assert shown["select"] == ('["DS1", "DS3"]', origin)
    assert shown["ignore"] == ('["DS104", "DS105"]', "command line")
    assert shown["mue-file"] == ("(not set)", "default")
    assert shown["batch-memory"] == ("64", "default")
    assert shown["format"] == ("(not set)", "default")
    assert shown["fail-on"] == ('"warning"', origin)


def test_show_settings_without_a_file(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(capsys, "check", "--show-settings", "--isolated", "--format", "csv")

    assert status == 0
    assert out.splitlines()[0] == "settings file: none (--isolated)"
    shown = _shown(out)
    assert shown["format"] == ('"csv"', "command line")
    assert {source for key, (_, source) in shown.items() if key != "format"} == {"default"}


def test_select_on_the_command_line_drops_the_files_extend_select(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(project / "dsmt-rules.toml", 'select = ["DS1"]\nextend-select = ["DS4"]\n')

    shown = _shown(_run(capsys, "check", "--show-settings")[1])
    assert shown["extend-select"][0] == '["DS4"]'

    shown = _shown(_run(capsys, "check", "--show-settings", "--select", "DS104")[1])
    assert shown["select"] == ('["DS104"]', "command line")
    assert shown["extend-select"] == (
        "[]",
        "default (--select on the command line drops the file's)",
    )


def test_check_without_paths_still_needs_them(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = _run(capsys, "check")

    assert status == 2
    assert err == (
        "dsmt-rules: error: Missing argument 'PATH...'. (see 'dsmt-rules check --help')\n"
    )


def test_profile_show_defaults_to_the_settings_files_profile(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(project / "payer.toml", 'extends = "medicare"\nname = "payer"\ngroup_max = 12\n')
    _write(project / "dsmt-rules.toml", 'profile = "payer.toml"\nformat = "csv"\n')

    status, out, _ = _run(capsys, "profile", "show", "--format", "json")

    assert status == 0
    shown = json.loads(out)
    assert (shown["name"], shown["group_max"], shown["group_min"]) == ("payer", 12, 2)
    assert (
        json.loads(_run(capsys, "profile", "show", "--isolated", "--format", "json")[1])["name"]
        == "medicare"
    )
