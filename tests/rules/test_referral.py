"""DS301-DS304, DS306-DS309: the referral and the diagnoses (DS305/DS310 need history: elsewhere)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dsmt_rules import Finding, check
from dsmt_rules.rules import referral
from dsmt_rules.rules._base import Rule
from dsmt_rules.rules._examples import BASE_CLAIM
from helpers import claim_from, codes_of


def _findings(patch: dict[str, Any], **options: Any) -> list[Finding]:
    return list(check(claim_from(patch), **options).findings)


def _line(line_id: str, date: str, session: str, **fields: Any) -> dict[str, Any]:
    return {
        "line_id": line_id,
        "hcpcs": "G0109",
        "units": 2,
        "service_date": date,
        "place_of_service": "11",
        "diagnosis_pointers": [1],
        "session_ids": [session],
        **fields,
    }


def _session(session_id: str, date: str) -> dict[str, Any]:
    return {**BASE_CLAIM["sessions"][0], "session_id": session_id, "date": date}


def _two_lines(
    first: dict[str, Any] | None = None, second: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Two clean G0109 lines on 2026-02-02 and 2026-02-09, each with its own session."""
    return {
        "lines": [
            _line("1", "2026-02-02", "S-1", **(first or {})),
            _line("2", "2026-02-09", "S-2", **(second or {})),
        ],
        "sessions": [_session("S-1", "2026-02-02"), _session("S-2", "2026-02-09")],
    }


# --- every rule's documented examples ------------------------------------------------------------


def test_rules_are_listed_in_code_order() -> None:
    assert [r.code for r in referral.RULES] == [
        "DS301",
        "DS302",
        "DS303",
        "DS304",
        "DS305",
        "DS306",
        "DS307",
        "DS308",
        "DS309",
        "DS310",
        "DS311",
    ]


@pytest.mark.parametrize("rule", referral.RULES, ids=lambda r: r.code)
def test_example_raises_exactly_its_code(rule: type[Rule]) -> None:
    assert isinstance(rule.example, dict)
    assert codes_of(claim_from(rule.example)) == [rule.code]


@pytest.mark.parametrize("rule", referral.RULES, ids=lambda r: r.code)
def test_use_instead_raises_nothing(rule: type[Rule]) -> None:
    assert isinstance(rule.use_instead, dict)
    assert codes_of(claim_from(rule.use_instead)) == []


@pytest.mark.parametrize("rule", referral.RULES, ids=lambda r: r.code)
def test_docs_and_metadata(rule: type[Rule]) -> None:
    doc = rule.__doc__ or ""
    for section in ("## What it checks", "## Why it matters", "## References"):
        assert section in doc
    assert rule.citation
    assert rule.carc_hint == {"DS308": "11", "DS305": "119", "DS311": None}.get(rule.code, "16")


def test_base_claim_is_clean() -> None:
    assert codes_of(claim_from({})) == []
    assert codes_of(claim_from(_two_lines())) == []


# --- DS301 referral-missing ----------------------------------------------------------------------


def test_ds301_once_per_claim_and_no_other_referral_rule() -> None:
    findings = _findings({**_two_lines(), "referral": None})
    assert [(f.code, f.loc, f.line_id) for f in findings] == [("DS301", ("referral",), None)]
    assert findings[0].carc_hint == "16"


# --- DS302 referral-unsigned ---------------------------------------------------------------------


def test_ds302_unsigned() -> None:
    findings = _findings({"referral": {"signed": False}})
    assert [(f.code, f.loc) for f in findings] == [("DS302", ("referral", "signed"))]
    assert "2026-01-05" in findings[0].message


# --- DS303 referrer-not-qualified ----------------------------------------------------------------


@pytest.mark.parametrize(
    "role",
    ["physician", "nurse_practitioner", "physician_assistant", "clinical_nurse_specialist"],
)
def test_ds303_qualified_roles_pass(role: str) -> None:
    assert codes_of(claim_from({"referral": {"practitioner_role": role}})) == []


def test_ds303_other_role() -> None:
    findings = _findings({"referral": {"practitioner_role": "other"}})
    assert [(f.code, f.loc) for f in findings] == [("DS303", ("referral", "practitioner_role"))]
    assert "'other'" in findings[0].message
    assert "nurse_practitioner" in findings[0].message


def test_ds303_reads_the_profile(tmp_path: Path) -> None:
    profile = tmp_path / "payer.toml"
    profile.write_text(
        'extends = "medicare"\nqualified_referrer_roles = ["physician", "other"]\n',
        encoding="utf-8",
    )
    other = claim_from({"referral": {"practitioner_role": "other"}})
    np = claim_from({"referral": {"practitioner_role": "nurse_practitioner"}})
    assert codes_of(other, profile=profile) == []
    assert codes_of(np, profile=profile) == ["DS303"]


# --- DS304 referral-after-service ----------------------------------------------------------------


def test_ds304_referral_on_the_date_of_service_is_fine() -> None:
    assert codes_of(claim_from({"referral": {"date": "2026-02-02"}})) == []


def test_ds304_referral_one_day_after_the_service() -> None:
    findings = _findings({"referral": {"date": "2026-02-03"}})
    assert [(f.code, f.loc, f.line_id) for f in findings] == [("DS304", ("referral", "date"), "1")]
    assert "2026-02-03" in findings[0].message
    assert "2026-02-02" in findings[0].message


def test_ds304_one_finding_per_line_served_before_the_order() -> None:
    between = _findings({**_two_lines(), "referral": {"date": "2026-02-05"}})
    assert [(f.code, f.line_id) for f in between] == [("DS304", "1")]
    after_both = _findings({**_two_lines(), "referral": {"date": "2026-02-10"}})
    assert [(f.code, f.line_id) for f in after_both] == [("DS304", "1"), ("DS304", "2")]
    assert "2026-02-09" in after_both[1].message


def test_ds304_ignores_non_dsmt_lines() -> None:
    office_visit = _line("2", "2026-01-02", "S-20260202-AM", hcpcs="99213", units=1)
    del office_visit["session_ids"]
    lines = [_line("1", "2026-02-02", "S-20260202-AM"), office_visit]
    assert codes_of(claim_from({"lines": lines})) == []


# --- DS306 initial-order-over-limit --------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "codes"), [(10, []), (9.5, []), (10.5, ["DS306"]), (12, ["DS306"])]
)
def test_ds306_initial_order_boundary(hours: float, codes: list[str]) -> None:
    assert codes_of(claim_from({"referral": {"hours_ordered": hours}})) == codes


def test_ds306_message_and_loc() -> None:
    [finding] = _findings({"referral": {"hours_ordered": 10.5}})
    assert finding.loc == ("referral", "hours_ordered")
    assert "10.5 hours" in finding.message
    assert "limited to 10 hours" in finding.message


def test_ds306_follow_up_order_of_12_hours_is_not_this_rule() -> None:
    patch = {"referral": {"training": "follow_up", "hours_ordered": 12}}
    assert codes_of(claim_from(patch)) == []


def test_ds306_reads_the_profile(tmp_path: Path) -> None:
    profile = tmp_path / "payer.toml"
    profile.write_text('extends = "medicare"\ninitial_order_max_hours = 12\n', encoding="utf-8")
    assert codes_of(claim_from({"referral": {"hours_ordered": 12}}), profile=profile) == []
    assert codes_of(claim_from({"referral": {"hours_ordered": 12.5}}), profile=profile) == ["DS306"]


# --- DS307 diagnosis-missing ---------------------------------------------------------------------


def test_ds307_pointer_to_the_last_diagnosis_is_fine() -> None:
    pointer_2 = {"diagnosis_pointers": [2]}
    patch = {"diagnosis_codes": ["I10", "E11.65"], **_two_lines(pointer_2, pointer_2)}
    assert codes_of(claim_from(patch)) == []


def test_ds307_pointer_past_the_end() -> None:
    findings = _findings(_two_lines(second={"diagnosis_pointers": [3]}))
    assert [(f.code, f.loc, f.line_id) for f in findings] == [
        ("DS307", ("lines", 1, "diagnosis_pointers", 0), "2")
    ]
    assert "pointer 3" in findings[0].message
    assert "2 diagnosis code(s)" in findings[0].message


def test_ds307_no_pointer() -> None:
    findings = _findings(_two_lines({"diagnosis_pointers": []}))
    assert [(f.code, f.loc, f.line_id) for f in findings] == [
        ("DS307", ("lines", 0, "diagnosis_pointers"), "1")
    ]
    assert "no diagnosis pointer" in findings[0].message


def test_ds307_one_finding_per_bad_pointer_and_the_good_one_still_counts() -> None:
    findings = _findings(_two_lines({"diagnosis_pointers": [1, 3, 4]}))
    assert [(f.code, f.loc) for f in findings] == [
        ("DS307", ("lines", 0, "diagnosis_pointers", 1)),
        ("DS307", ("lines", 0, "diagnosis_pointers", 2)),
    ]


def test_ds307_claim_without_diagnoses() -> None:
    findings = _findings({"diagnosis_codes": []})
    assert [f.code for f in findings] == ["DS307"]
    assert "0 diagnosis code(s)" in findings[0].message


# --- DS308 diagnosis-not-diabetes ----------------------------------------------------------------


@pytest.mark.parametrize(
    "code", ["E08.9", "E09.9", "E10.9", "E11.9", "E13.9", "O24.410", "O24.419", "o24410"]
)
def test_ds308_diabetes_codes_qualify(code: str) -> None:
    assert codes_of(claim_from({"diagnosis_codes": [code, "I10"]})) == []


def test_ds308_prediabetes_is_named() -> None:
    findings = _findings({"diagnosis_codes": ["R73.03", "I10"]})
    assert [(f.code, f.loc, f.line_id) for f in findings] == [
        ("DS308", ("lines", 0, "diagnosis_pointers"), "1")
    ]
    assert findings[0].message == (
        "Line 1: no diagnosis pointed to is diabetes (E08-E13, O24); "
        "R73.03 is prediabetes, which does not qualify for DSMT."
    )
    assert findings[0].carc_hint == "11"


def test_ds308_undotted_prediabetes_is_named_dotted() -> None:
    [finding] = _findings({"diagnosis_codes": ["R7301", "I10"]})
    assert "R73.01 is prediabetes" in finding.message


def test_ds308_other_diagnosis_names_the_codes() -> None:
    [finding] = _findings(
        {"lines": [_line("1", "2026-02-02", "S-20260202-AM", diagnosis_pointers=[2])]}
    )
    assert finding.code == "DS308"
    assert "it points to I10" in finding.message
    assert "prediabetes" not in finding.message


def test_ds308_diabetes_anywhere_among_the_pointers_is_enough() -> None:
    patch = {
        "diagnosis_codes": ["I10", "R73.03", "E11.9"],
        **_two_lines({"diagnosis_pointers": [1, 2, 3]}, {"diagnosis_pointers": [3, 1]}),
    }
    assert codes_of(claim_from(patch)) == []


def test_ds308_per_line() -> None:
    patch = {
        "diagnosis_codes": ["E11.9", "R73.09"],
        **_two_lines(second={"diagnosis_pointers": [2]}),
    }
    findings = _findings(patch)
    assert [(f.code, f.line_id) for f in findings] == [("DS308", "2")]
    assert "R73.09 is prediabetes" in findings[0].message


def test_ds308_silent_when_the_line_has_no_usable_pointer() -> None:
    assert codes_of(claim_from({"diagnosis_codes": ["I10"]})) == ["DS308"]
    patch = {"diagnosis_codes": ["I10"], **_two_lines({"diagnosis_pointers": [2]})}
    # line 1 points past the end (DS307 only); line 2 points to I10 (DS308)
    assert [(f.code, f.line_id) for f in _findings(patch)] == [("DS307", "1"), ("DS308", "2")]


# --- DS309 diagnosis-code-invalid ----------------------------------------------------------------


@pytest.mark.parametrize("code", ["E11.9", "E119", "e11.9", "E11.65", "Z79.4", "z794"])
def test_ds309_billable_codes_dotted_or_not(code: str) -> None:
    assert codes_of(claim_from({"diagnosis_codes": ["E11.9", code]})) == []


def test_ds309_category_is_not_billable_but_is_diabetes() -> None:
    findings = _findings({"diagnosis_codes": ["E11", "I10"]})
    assert [(f.code, f.loc, f.line_id) for f in findings] == [
        ("DS309", ("diagnosis_codes", 0), None)
    ]
    assert "E11 is not billable" in findings[0].message
    assert findings[0].carc_hint == "16"


def test_ds309_one_finding_per_bad_code() -> None:
    findings = _findings({"diagnosis_codes": ["E11.9", "E11.99", "Z79"]})
    assert [(f.code, f.loc) for f in findings] == [
        ("DS309", ("diagnosis_codes", 1)),
        ("DS309", ("diagnosis_codes", 2)),
    ]
    assert "Diagnosis 2: E11.99 is not an ICD-10-CM code" in findings[0].message
    assert "Diagnosis 3: Z79 is not billable" in findings[1].message


def test_ds309_does_not_echo_values_that_are_not_codes() -> None:
    findings = _findings({"diagnosis_codes": ["E11.9", "JOHN SMITH"]})
    assert [f.code for f in findings] == ["DS309"]
    assert "JOHN" not in findings[0].message
    assert "not shaped like an ICD-10-CM code" in findings[0].message


def test_ds309_only_on_claims_with_dsmt_lines() -> None:
    office_visit = _line("1", "2026-02-02", "S-20260202-AM", hcpcs="99213", units=1)
    assert codes_of(claim_from({"lines": [office_visit], "diagnosis_codes": ["E11"]})) == ["DS002"]


# --- messages carry no PHI -----------------------------------------------------------------------


@pytest.mark.parametrize("rule", referral.RULES, ids=lambda r: r.code)
def test_messages_carry_no_beneficiary_id(rule: type[Rule]) -> None:
    assert isinstance(rule.example, dict)
    for finding in _findings(rule.example):
        assert BASE_CLAIM["beneficiary_id"] not in finding.message
        assert "{" not in finding.message
