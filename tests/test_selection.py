"""Rule selection with ruff's semantics, on a fixed code list and on the real catalog."""

from __future__ import annotations

import pytest

from dsmt_rules import ConfigError, Severity, UnknownRuleError
from dsmt_rules.catalog import CODES
from dsmt_rules.selection import (
    parse_severity_overrides,
    resolve_selection,
    validate_selectors,
)

# A fixed catalog shape (two families, codes sharing prefixes at every length), so that these tests
# do not depend on which rules have landed.
CODES_FIXED = ("DS001", "DS002", "DS101", "DS102", "DS110", "DS201", "DS206")


def _enabled(**options: list[str] | None) -> list[str]:
    return sorted(resolve_selection(CODES_FIXED, **options))


def test_default_selects_every_rule() -> None:
    assert _enabled() == list(CODES_FIXED)
    assert _enabled(select=["ALL"]) == list(CODES_FIXED)


def test_empty_select_selects_nothing() -> None:
    assert _enabled(select=[]) == []


def test_select_by_prefix() -> None:
    assert _enabled(select=["DS1"]) == ["DS101", "DS102", "DS110"]
    assert _enabled(select=["DS10"]) == ["DS101", "DS102"]
    assert _enabled(select=["DS"]) == list(CODES_FIXED)


def test_select_exact_codes() -> None:
    assert _enabled(select=["DS102", "DS206"]) == ["DS102", "DS206"]


def test_selectors_are_case_and_space_insensitive() -> None:
    assert _enabled(select=[" ds10 ", "all"]) == list(CODES_FIXED)
    assert _enabled(select=["ds2"], ignore=["ds206 "]) == ["DS201"]


def test_blank_selectors_are_skipped() -> None:
    assert _enabled(select=["DS2", "", "  "]) == ["DS201", "DS206"]


def test_ignore_more_specific_than_select_wins() -> None:
    assert _enabled(select=["DS1"], ignore=["DS10"]) == ["DS110"]
    assert _enabled(select=["DS1"], ignore=["DS101"]) == ["DS102", "DS110"]


def test_select_more_specific_than_ignore_wins() -> None:
    assert _enabled(select=["DS102"], ignore=["DS1"]) == ["DS102"]
    assert _enabled(select=["ALL", "DS110"], ignore=["DS1"]) == [
        "DS001",
        "DS002",
        "DS110",
        "DS201",
        "DS206",
    ]


def test_equal_specificity_ignore_wins() -> None:
    assert _enabled(select=["DS1"], ignore=["DS1"]) == []
    assert _enabled(select=["DS102"], ignore=["DS102"]) == []
    assert _enabled(select=["ALL"], ignore=["ALL"]) == []


def test_ignore_all_loses_to_any_code_or_prefix() -> None:
    assert _enabled(select=["DS2"], ignore=["ALL"]) == ["DS201", "DS206"]


def test_extend_select_adds_to_select() -> None:
    assert _enabled(select=["DS1"], extend_select=["DS206"]) == [
        "DS101",
        "DS102",
        "DS110",
        "DS206",
    ]


def test_extend_select_adds_nothing_when_everything_is_selected() -> None:
    assert _enabled(extend_select=["DS2"]) == list(CODES_FIXED)


def test_ignore_applies_to_extend_select_too() -> None:
    assert _enabled(select=["DS0"], extend_select=["DS2"], ignore=["DS206"]) == [
        "DS001",
        "DS002",
        "DS201",
    ]


@pytest.mark.parametrize(
    ("option", "value"),
    [("select", "DS999"), ("extend-select", "DS9"), ("ignore", "XY1"), ("select", "DS1011")],
)
def test_unknown_code_or_prefix_is_an_error_naming_it(option: str, value: str) -> None:
    key = option.replace("-", "_")

    with pytest.raises(UnknownRuleError) as info:
        resolve_selection(CODES_FIXED, **{key: [value]})

    assert str(info.value) == (
        f"{option}: {value!r} matches no rule; use a code such as DS104 or a prefix such as DS1 "
        "(see `dsmt-rules rules`)"
    )


def test_unknown_rule_error_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        validate_selectors(["DS9"], CODES_FIXED, option="select")


def test_validate_selectors_normalises() -> None:
    assert validate_selectors([" ds1", "all", ""], CODES_FIXED, option="select") == ["DS1", "ALL"]


# --- severity overrides --------------------------------------------------------------------------


def test_severity_override_by_code() -> None:
    assert parse_severity_overrides({"DS206": "error"}, CODES_FIXED) == {"DS206": Severity.ERROR}
    assert parse_severity_overrides(["DS206=error"], CODES_FIXED) == {"DS206": Severity.ERROR}


def test_severity_override_by_prefix_applies_to_every_matching_code() -> None:
    assert parse_severity_overrides(["DS2=warning"], CODES_FIXED) == {
        "DS201": Severity.WARNING,
        "DS206": Severity.WARNING,
    }


def test_more_specific_severity_override_wins_in_any_order() -> None:
    expected = {"DS201": Severity.INFO, "DS206": Severity.ERROR}

    assert parse_severity_overrides(["DS2=info", "DS206=error"], CODES_FIXED) == expected
    assert parse_severity_overrides(["DS206=error", "DS2=info"], CODES_FIXED) == expected


def test_later_override_of_equal_specificity_wins() -> None:
    assert parse_severity_overrides(["DS206=error", "DS206=info"], CODES_FIXED) == {
        "DS206": Severity.INFO
    }


def test_severity_levels_are_case_insensitive_and_accept_enum_values() -> None:
    assert parse_severity_overrides(["ds206= Error "], CODES_FIXED) == {"DS206": Severity.ERROR}
    assert parse_severity_overrides({"DS206": Severity.INFO}, CODES_FIXED) == {
        "DS206": Severity.INFO
    }


def test_no_overrides() -> None:
    assert parse_severity_overrides(None, CODES_FIXED) == {}
    assert parse_severity_overrides([], CODES_FIXED) == {}


def test_bad_severity_level_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        parse_severity_overrides(["DS206=fatal"], CODES_FIXED)

    assert str(info.value) == "severity: 'fatal' for DS206 is not one of error, warning, info"


def test_override_without_equals_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        parse_severity_overrides(["DS206"], CODES_FIXED)

    assert str(info.value) == "severity: 'DS206' is not CODE=LEVEL (e.g. DS206=error)"


def test_override_for_unknown_code_is_an_unknown_rule_error() -> None:
    with pytest.raises(UnknownRuleError, match=r"^severity: 'DS999' matches no rule"):
        parse_severity_overrides(["DS999=error"], CODES_FIXED)


# --- the real catalog ----------------------------------------------------------------------------


def test_real_catalog_selects_by_family_prefix() -> None:
    family0 = sorted(c for c in CODES if c.startswith("DS0"))

    assert family0[:2] == ["DS001", "DS002"]
    assert sorted(resolve_selection(CODES, select=["DS0"])) == family0
    assert sorted(resolve_selection(CODES, select=["DS0"], ignore=["DS001"])) == family0[1:]


def test_real_catalog_ignores_every_family_but_one() -> None:
    enabled = resolve_selection(CODES, ignore=[c[:3] for c in CODES if not c.startswith("DS0")])

    assert sorted(enabled) == sorted(c for c in CODES if c.startswith("DS0"))


def test_real_catalog_rejects_a_code_that_is_not_in_it() -> None:
    missing = next(f"DS{n:03d}" for n in range(999, 0, -1) if f"DS{n:03d}" not in CODES)

    with pytest.raises(UnknownRuleError, match=missing):
        resolve_selection(CODES, select=[missing])
