"""Profiles as data: the built-in medicare numbers, user files that extend it, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from dsmt_rules import ConfigError, Profile, Severity, load_profile


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
