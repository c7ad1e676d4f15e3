"""Profiles as data: the built-in medicare numbers, user files that extend it, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dsmt_rules import ConfigError, Profile, Severity, load_profile
from dsmt_rules.cli import main


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _config_error(profile: str | Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_profile(profile)
    message = str(info.value)
    assert "\n" not in message
    return message


# --- medicare ------------------------------------------------------------------------------------


def test_medicare_has_the_rules_md_numbers() -> None:
    p = load_profile("medicare")

    assert p.name == "medicare"
    assert (p.individual_code, p.group_code) == ("G0108", "G0109")
    assert p.dsmt_codes == {"G0108", "G0109"}
    assert p.unit_minutes == 30
    assert p.min_session_minutes == 30
    assert (p.group_min, p.group_max) == (2, 20)
    assert p.initial_period_months == 12
    assert p.initial_max_units == 20
    assert p.initial_individual_max_units == 2
    assert p.initial_order_max_hours == 10
    assert p.follow_up_max_units_per_year == 4
    assert p.follow_up_in_initial_end_year is True


def test_medicare_has_the_rules_md_code_sets() -> None:
    p = load_profile("medicare")

    assert p.mnt_codes == {"97802", "97803", "97804", "G0270", "G0271"}
    assert p.accrediting_organizations == {"ADA", "ADCES", "AADE"}
    assert p.qualified_credentials == {"RN", "RD", "RDN", "PHARMACIST", "CDCES", "CDE", "BC_ADM"}
    assert p.qualified_referrer_roles == {
        "physician",
        "nurse_practitioner",
        "physician_assistant",
        "clinical_nurse_specialist",
    }
    assert p.diabetes_code_prefixes == ("E08", "E09", "E10", "E11", "E13", "O24")
    assert p.prediabetes_code_prefixes == ("R730",)
    assert p.inpatient_places_of_service == {"21", "51", "61"}
    assert p.telehealth_places_of_service == {"02", "10"}
    assert p.telehealth_modifiers == {"95", "93"}
    assert p.institutional_telehealth_modifiers == {"GT"}
    assert p.allowed_bill_types == {"12", "13", "22", "23", "34", "77", "85"}
    assert p.rhc_bill_types == {"71"}
    assert p.fqhc_bill_types == {"77"}
    assert p.severity == ()


def test_medicare_is_loaded_once_and_is_frozen() -> None:
    p = load_profile("medicare")

    assert load_profile() is p
    assert load_profile(p) is p
    with pytest.raises(ValueError, match="frozen"):
        p.group_max = 30  # type: ignore[misc]


def test_unknown_profile_name() -> None:
    assert _config_error("nope") == (
        "unknown profile 'nope': use one of medicare or a .toml file path"
    )


# --- user profiles -------------------------------------------------------------------------------


def test_extends_medicare_changes_numbers_and_severities(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "payer.toml",
        'extends = "medicare"\nname = "payer"\ngroup_max = 12\n\n[severity]\nDS206 = "error"\n',
    )

    p = load_profile(path)

    assert p.name == "payer"
    assert p.group_max == 12
    assert p.severity == (("DS206", Severity.ERROR),)
    assert p.group_min == 2  # inherited
    assert p.unit_minutes == 30
    assert load_profile("medicare").group_max == 20  # the built-in is untouched


def test_a_profile_path_may_be_a_string(tmp_path: Path) -> None:
    path = _write(tmp_path / "p.toml", 'extends = "medicare"\ngroup_max = 15\n')

    assert load_profile(str(path)).group_max == 15


def test_extends_a_relative_file_and_merges_severity_tables(tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    _write(
        tmp_path / "base" / "regional.toml",
        'extends = "medicare"\nname = "regional"\ngroup_max = 15\nunit_minutes = 15\n'
        '[severity]\nDS206 = "error"\nDS1 = "warning"\n',
    )
    child = _write(
        tmp_path / "clinic.toml",
        'extends = "base/regional.toml"\nname = "clinic"\ngroup_max = 10\n'
        '[severity]\nDS206 = "info"\n',
    )

    p = load_profile(child)

    assert p.name == "clinic"
    assert p.group_max == 10
    assert p.unit_minutes == 15
    assert p.initial_max_units == 20
    assert dict(p.severity) == {"DS206": Severity.INFO, "DS1": Severity.WARNING}


def test_a_complete_file_needs_no_extends(tmp_path: Path) -> None:
    medicare = load_profile("medicare")
    text = (Path(__file__).parents[1] / "src/dsmt_rules/profiles/medicare.toml").read_text()
    path = _write(tmp_path / "copy.toml", text.replace('name = "medicare"', 'name = "copy"'))

    p = load_profile(path)

    assert p.model_dump(exclude={"name"}) == medicare.model_dump(exclude={"name"})


def test_extends_cycle_is_a_config_error(tmp_path: Path) -> None:
    _write(tmp_path / "a.toml", 'extends = "b.toml"\n')
    _write(tmp_path / "b.toml", 'extends = "a.toml"\n')

    message = _config_error(tmp_path / "a.toml")

    assert message.endswith("'extends' makes a cycle")


def test_extends_itself_is_a_cycle(tmp_path: Path) -> None:
    _write(tmp_path / "self.toml", 'extends = "self.toml"\n')

    assert _config_error(tmp_path / "self.toml").endswith("'extends' makes a cycle")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"

    assert _config_error(path) == f"profile file {path}: No such file or directory"


def test_missing_parent_file(tmp_path: Path) -> None:
    _write(tmp_path / "child.toml", 'extends = "absent.toml"\n')

    assert _config_error(tmp_path / "child.toml") == (
        f"profile file {tmp_path / 'absent.toml'}: No such file or directory"
    )


def test_bad_toml(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.toml", 'extends = "medicare"\ngroup_max = \n')

    message = _config_error(path)

    assert message.startswith(f"profile {path}: not valid TOML (")
    assert message.endswith("); fix the file")


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'extends = "medicare"\nname = "caf\xe9"\n')

    assert _config_error(path) == f"profile file {path}: unreadable"


def test_unknown_key(tmp_path: Path) -> None:
    path = _write(tmp_path / "typo.toml", 'extends = "medicare"\ngroup_maxx = 12\n')

    assert _config_error(path) == (
        f"profile {path}: group_maxx: Extra inputs are not permitted (1 error(s))"
    )


@pytest.mark.parametrize(
    ("line", "where"),
    [
        ('group_max = "12"', "group_max"),
        ("group_max = 12.0", "group_max"),
        ("group_max = 0", "group_max"),
        ("mnt_codes = 97802", "mnt_codes"),
    ],
)
def test_wrong_type_or_range(tmp_path: Path, line: str, where: str) -> None:
    path = _write(tmp_path / "types.toml", f'extends = "medicare"\n{line}\n')

    message = _config_error(path)

    assert message.startswith(f"profile {path}: {where}: ")
    assert message.endswith("(1 error(s))")


def test_bad_severity_level_in_a_profile(tmp_path: Path) -> None:
    path = _write(tmp_path / "sev.toml", 'extends = "medicare"\n[severity]\nDS206 = "fatal"\n')

    message = _config_error(path)

    assert message.startswith(f"profile {path}: severity.0.1: Input should be ")


def test_missing_parameters_without_extends(tmp_path: Path) -> None:
    path = _write(tmp_path / "partial.toml", 'name = "partial"\n')

    message = _config_error(path)

    assert message.startswith(f"profile {path}: individual_code: Field required (")


def test_extends_must_be_a_string(tmp_path: Path) -> None:
    path = _write(tmp_path / "ext.toml", "extends = 1\n")

    assert _config_error(path) == (
        f"profile file {path}: 'extends' must be a profile name or a file path"
    )


def test_profile_values_can_be_built_in_python() -> None:
    medicare = load_profile("medicare")
    custom = Profile.model_validate({**medicare.model_dump(), "name": "py", "group_max": 8})

    assert load_profile(custom) is custom
    assert custom.group_max == 8


# --- cross-field checks --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        ("group_min = 21", "group_min (21) is greater than group_max (20)"),
        ('group_code = "G0108"', "individual_code and group_code are both G0108"),
        (
            "initial_individual_max_units = 21",
            "initial_individual_max_units (21) is greater than initial_max_units (20)",
        ),
        ('mnt_codes = ["97802", "G0109"]', "mnt_codes and the DSMT codes share G0109"),
        (
            'institutional_telehealth_modifiers = ["GT", "95"]',
            "telehealth_modifiers and institutional_telehealth_modifiers share 95",
        ),
        (
            'telehealth_places_of_service = ["02", "21"]',
            "inpatient_places_of_service and telehealth_places_of_service share 21",
        ),
        (
            'fqhc_bill_types = ["71", "77"]',
            "rhc_bill_types and fqhc_bill_types share 71; "
            "fqhc_bill_types 71 not in allowed_bill_types",
        ),
        (
            'allowed_bill_types = ["13", "71", "77"]',
            "rhc_bill_types and allowed_bill_types share 71",
        ),
        ('allowed_bill_types = ["13"]', "fqhc_bill_types 77 not in allowed_bill_types"),
        (
            'prediabetes_code_prefixes = ["E11.6", "R730"]',
            "prediabetes_code_prefixes overlap diabetes_code_prefixes (E116/E11)",
        ),
    ],
)
def test_cross_field_checks(tmp_path: Path, lines: str, problem: str) -> None:
    path = _write(tmp_path / "payer.toml", f'extends = "medicare"\n{lines}\n')

    assert _config_error(path) == f"profile {path}: {problem}"


def test_every_broken_invariant_is_named_in_one_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "payer.toml",
        'extends = "medicare"\ngroup_min = 30\ninitial_individual_max_units = 25\n',
    )

    assert _config_error(path) == (
        f"profile {path}: group_min (30) is greater than group_max (20); "
        "initial_individual_max_units (25) is greater than initial_max_units (20)"
    )


def test_equal_group_bounds_are_consistent(tmp_path: Path) -> None:
    path = _write(tmp_path / "p.toml", 'extends = "medicare"\ngroup_min = 8\ngroup_max = 8\n')

    assert (load_profile(path).group_min, load_profile(path).group_max) == (8, 8)


@pytest.mark.parametrize(
    ("line", "where"),
    [
        ("initial_max_units = 0", "initial_max_units"),
        ("follow_up_max_units_per_year = 0", "follow_up_max_units_per_year"),
        ("initial_order_max_hours = 0", "initial_order_max_hours"),
        ("initial_order_max_hours = inf", "initial_order_max_hours"),
        ('individual_code = "g0108"', "individual_code"),
        ('allowed_bill_types = ["131"]', "allowed_bill_types.0"),
        ('telehealth_places_of_service = ["2"]', "telehealth_places_of_service.0"),
        ('telehealth_modifiers = ["095"]', "telehealth_modifiers.0"),
        ("accrediting_organizations = []", "accrediting_organizations"),
        ("diabetes_code_prefixes = []", "diabetes_code_prefixes"),
    ],
)
def test_caps_are_positive_and_codes_well_formed(tmp_path: Path, line: str, where: str) -> None:
    path = _write(tmp_path / "p.toml", f'extends = "medicare"\n{line}\n')

    message = _config_error(path)

    assert message.startswith(f"profile {path}: {where}: ")


def test_every_parameter_is_documented() -> None:
    undocumented = [n for n, f in Profile.model_fields.items() if not (f.description or "").strip()]

    assert undocumented == []


# --- profile show --------------------------------------------------------------------------------


def _show(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["profile", "show", "--isolated", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_profile_show_prints_medicare_as_a_loadable_toml_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = _show(capsys)

    assert status == 0
    assert out.startswith("# The effective profile 'medicare' (dsmt-rules profile show).\n")
    assert 'group_code = "G0109"\n' in out
    assert "group_max = 20\n" in out
    assert 'telehealth_modifiers = ["93", "95"]\n' in out
    assert out.endswith("\n[severity]\n")
    copy = load_profile(_write(tmp_path / "copy.toml", out))
    assert copy == load_profile("medicare")


def test_profile_show_follows_extends(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(tmp_path / "regional.toml", 'extends = "medicare"\nname = "regional"\ngroup_max = 15\n')
    child = _write(
        tmp_path / "clinic.toml",
        'extends = "regional.toml"\nname = "clinic"\n[severity]\nDS206 = "error"\n',
    )

    status, out, _ = _show(capsys, str(child), "--format", "json")

    assert status == 0
    shown = json.loads(out)
    assert list(shown) == list(Profile.model_fields)
    assert (shown["name"], shown["group_max"], shown["group_min"]) == ("clinic", 15, 2)
    assert shown["severity"] == {"DS206": "error"}
    assert shown["rhc_bill_types"] == ["71"]
    assert Profile.model_validate(shown) == load_profile(child)

    status, out, _ = _show(capsys, str(child))
    assert out.endswith('\n[severity]\n"DS206" = "error"\n')
    assert load_profile(_write(tmp_path / "shown.toml", out)) == load_profile(child)


def test_profile_show_reports_an_inconsistent_profile_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path / "bad.toml", 'extends = "medicare"\ngroup_min = 21\n')

    status, out, err = _show(capsys, str(path))

    assert (status, out) == (2, "")
    assert (
        err == f"dsmt-rules: error: profile {path}: group_min (21) is greater than group_max (20)\n"
    )


def test_profile_show_unknown_name(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = _show(capsys, "nope")

    assert status == 2
    assert err == (
        "dsmt-rules: error: unknown profile 'nope': use one of medicare or a .toml file path\n"
    )


def test_profile_without_a_subcommand_prints_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["profile"])
    out, _ = capsys.readouterr()

    assert status == 2
    assert out.startswith("Usage: dsmt-rules profile [OPTIONS] [COMMAND] [ARGS]...\n")
    assert "show  Print the effective profile" in out
