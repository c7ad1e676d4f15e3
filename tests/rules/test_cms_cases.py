"""Cases as CMS applies the rules (RULES.md 0.2): each asserts the exact codes, both ways.

Session identity (DS110), unknown time (DS103/DS107), lines of 0 units, an initial order after
follow-up training (DS310), effective-dated ICD-10-CM (DS309, DS311), the RHC bill type (DS205
alone), telehealth modifiers (DS603) and the initial period that starts on a leap day.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from dsmt_rules import Claim, check, check_many, load_profile, ruleset
from dsmt_rules.cli import main
from dsmt_rules.history import initial_period_from
from dsmt_rules.rules._examples import BASE_CLAIM, apply_patch, base_line, base_session

PROFILE = load_profile("medicare")


def claim(day: str, *, claim_id: str = "C-1", session: str = "S-WEEKLY", **patch: Any) -> Claim:
    """The base claim on ``day``: one G0109 line of 2 units linked to ``session`` on that day."""
    doc = {
        "claim_id": claim_id,
        "referral": {"date": "2025-01-02"},
        "billing_provider": {"accreditation": {"effective": "2024-01-01", "expires": None}},
        "lines": [base_line(service_date=day, session_ids=[session])],
        "sessions": [base_session(session_id=session, date=day)],
        **patch,
    }
    return Claim.model_validate(apply_patch(BASE_CLAIM, doc))


# --- DS110: a session is its id and its date -----------------------------------------------------


def test_a_weekly_class_id_reused_on_two_claims_is_not_a_duplicate() -> None:
    week1 = claim("2026-02-02")
    week2 = claim("2026-02-09", claim_id="C-2")
    assert [r.codes for r in check_many([week1, week2])] == [(), ()]


def test_the_same_class_on_the_same_day_billed_twice_is_a_duplicate() -> None:
    first = claim("2026-02-02")
    again = claim("2026-02-02", claim_id="C-2")
    assert [r.codes for r in check_many([first, again])] == [(), ("DS110",)]


def test_a_weekly_class_id_reused_within_one_claim() -> None:
    lines = [
        base_line(line_id="1", service_date="2026-02-02", session_ids=["S-WEEKLY"]),
        base_line(line_id="2", service_date="2026-02-09", session_ids=["S-WEEKLY"]),
    ]
    sessions = [
        base_session(session_id="S-WEEKLY", date="2026-02-02"),
        base_session(session_id="S-WEEKLY", date="2026-02-09"),
    ]
    doc = {"lines": lines, "sessions": sessions}
    assert check(claim("2026-02-02", **doc)).codes == ()
    same_day = {"lines": [lines[0], {**lines[0], "line_id": "2"}], "sessions": sessions[:1]}
    assert check(claim("2026-02-02", **same_day)).codes == ("DS110",)


# --- DS103 / DS107: time unknown -----------------------------------------------------------------


def test_units_are_not_judged_against_a_session_that_has_no_record() -> None:
    doc = {"lines": [base_line(units=4, session_ids=["S-20260202-AM", "S-NO-RECORD"])]}
    assert check(claim("2026-02-02", **doc)).codes == ("DS107",)


# --- lines of 0 units ----------------------------------------------------------------------------


def test_a_zero_unit_line_opens_no_period_and_a_later_first_service_is_initial() -> None:
    zero = claim("2025-02-03", lines=[base_line(units=0, service_date="2025-02-03")], sessions=[])
    first = claim("2026-04-06", claim_id="C-2")
    assert [r.codes for r in check_many([zero, first])] == [("DS101", "DS107"), ()]


# --- DS310: initial training only for a beneficiary who has had none ----------------------------


def test_an_initial_order_after_follow_up_training_is_ds310() -> None:
    follow_up = {"referral": {"date": "2025-01-02", "training": "follow_up", "hours_ordered": 2}}
    earlier = claim("2025-03-03", **follow_up)
    later = claim("2026-03-02", claim_id="C-2", session="S-2")
    assert [r.codes for r in check_many([earlier, later])] == [(), ("DS310",)]
    assert [r.codes for r in check_many([later])] == [()]  # alone, it is initial training


# --- DS309 / DS311: ICD-10-CM in force on the date of service -------------------------------------


@pytest.mark.parametrize(
    ("code", "day", "expected"),
    [
        ("E11.A", "2025-09-30", ("DS309",)),  # type 2 in remission exists from 2025-10-01
        ("E11.A", "2025-10-01", ()),
        ("E10.A1", "2024-09-30", ("DS309",)),  # presymptomatic type 1 from 2024-10-01
        ("E10.A1", "2024-10-01", ()),
        ("E11.9", "2024-09-30", ()),
        ("E11.9", "2026-10-15", ()),  # known to the newest release: judged by it
        ("E11", "2026-10-15", ("DS309",)),  # a known header, even past every release
        ("E11.Z9", "2026-10-15", ("DS311",)),  # unknown past every release: may be new
        ("E11.Z9", "2026-09-30", ("DS309",)),  # unknown within a release: invalid
    ],
)
def test_a_diagnosis_is_judged_by_the_release_in_force(
    code: str, day: str, expected: tuple[str, ...]
) -> None:
    doc = {"diagnosis_codes": [code], "referral": {"date": "2024-01-02"}}
    report = check(claim(day, **doc))
    assert report.codes == expected
    if expected == ("DS311",):
        (finding,) = report.findings
        assert finding.severity.value == "info"
        assert report.status.value == "pass"


def test_the_ds309_message_names_the_release_in_force() -> None:
    report = check(claim("2025-09-30", diagnosis_codes=["E11.A"], referral={"date": "2024-01-02"}))
    (finding,) = report.findings
    assert "FY2025" in finding.message
    assert finding.ctx["date"] == "2025-09-30"


def _fy2027_order_file(folder: Path) -> Path:
    path = folder / "icd10cm_order_2027.txt"
    rows = [
        ("00001", "E11", "0", "Type 2 diabetes mellitus"),
        ("00002", "E119", "1", "Type 2 diabetes mellitus without complications"),
        ("00003", "E11Z", "0", "Type 2 diabetes mellitus, new subcategory"),
        ("00004", "E11Z9", "1", "Type 2 diabetes mellitus, new code"),
        ("00005", "I10", "1", "Essential (primary) hypertension"),
    ]
    path.write_text(
        "".join(f"{n} {code:<7} {flag} {text:<60} {text}\n" for n, code, flag, text in rows),
        encoding="utf-8",
    )
    return path


def test_a_fiscal_year_code_file_judges_its_year(tmp_path: Path) -> None:
    order = _fy2027_order_file(tmp_path)
    rules = ruleset(icd10cm_files=[order])
    doc = {"diagnosis_codes": ["E11.Z9"], "referral": {"date": "2024-01-02"}}
    assert check(claim("2026-10-15", **doc), rules=rules).codes == ()
    assert check(claim("2026-09-30", **doc), rules=rules).codes == ("DS309",)  # not FY2026's
    unknown = {"diagnosis_codes": ["E11.Y9"], "referral": {"date": "2024-01-02"}}
    assert check(claim("2026-10-15", **unknown), rules=rules).codes == ("DS309",)
    late = check(claim("2027-10-15", **unknown), rules=rules)
    assert late.codes == ("DS311",)  # past FY2027 too


def test_a_codes_file_with_an_explicit_fiscal_year(tmp_path: Path) -> None:
    codes = tmp_path / "codes.txt"
    codes.write_text("E119    Type 2 diabetes\nE11Z9   New code\nI10     Hypertension\n")
    rules = ruleset(icd10cm_files=[f"2027={codes}"])
    doc = {"diagnosis_codes": ["E11.Z9"], "referral": {"date": "2024-01-02"}}
    assert check(claim("2026-10-15", **doc), rules=rules).codes == ()
    header = {"diagnosis_codes": ["E11"], "referral": {"date": "2024-01-02"}}
    assert check(claim("2026-10-15", **header), rules=rules).codes == ("DS309",)


def test_the_cli_and_a_profile_load_code_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _fy2027_order_file(tmp_path)
    doc = claim("2026-10-15", diagnosis_codes=["E11.Z9"], referral={"date": "2024-01-02"})
    claims = tmp_path / "claims.jsonl"
    claims.write_text(doc.model_dump_json() + "\n")
    assert main(["check", str(claims), "--format", "jsonl"]) == 0
    assert '"DS311"' in capsys.readouterr().out
    status = main(
        [
            "check",
            str(claims),
            "--format",
            "jsonl",
            "--icd10cm-file",
            str(tmp_path / "icd10cm_order_2027.txt"),
        ]
    )
    assert status == 0
    assert '"findings": []' in capsys.readouterr().out
    profile = tmp_path / "payer.toml"
    profile.write_text('extends = "medicare"\nicd10cm_files = ["icd10cm_order_2027.txt"]\n')
    assert main(["check", str(claims), "--format", "jsonl", "--profile", str(profile)]) == 0
    assert '"findings": []' in capsys.readouterr().out


def test_a_code_file_without_a_fiscal_year_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    codes = tmp_path / "codes.txt"
    codes.write_text("E119    Type 2 diabetes\n")
    claims = tmp_path / "claims.jsonl"
    claims.write_text(claim("2026-02-02").model_dump_json() + "\n")
    assert main(["check", str(claims), "--icd10cm-file", str(codes)]) == 2
    err = capsys.readouterr().err
    assert "fiscal year" in err
    assert err.count("\n") == 1


# --- DS205 / DS602 and DS603 ---------------------------------------------------------------------


def test_an_rhc_bill_type_is_ds205_alone() -> None:
    doc = {
        "form": "institutional",
        "type_of_bill": "711",
        "lines": [
            {
                **base_line(session_ids=["S-WEEKLY"]),
                "place_of_service": None,
                "revenue_code": "0942",
            }
        ],
    }
    assert check(claim("2026-02-02", **doc)).codes == ("DS205",)


@pytest.mark.parametrize(
    ("modifiers", "expected"),
    [(["95"], ()), (["93"], ()), (["GQ"], ("DS603",)), (["GT"], ("DS603",))],
)
def test_professional_telehealth_modifiers(modifiers: list[str], expected: tuple[str, ...]) -> None:
    doc = {
        "lines": [base_line(service_date="2026-02-02", modifiers=modifiers, session_ids=["S-1"])],
        "sessions": [base_session(session_id="S-1", delivery="telehealth")],
    }
    assert check(claim("2026-02-02", **doc)).codes == expected


# --- the initial period from a leap day ----------------------------------------------------------


def test_a_first_service_on_a_leap_day_opens_a_period_that_ends_on_february_28() -> None:
    period = initial_period_from(dt.date(2024, 2, 29), PROFILE.initial_period_months)
    assert (period.start, period.end) == (dt.date(2024, 2, 29), dt.date(2025, 2, 28))
    first = claim("2024-02-29", referral={"date": "2024-02-01"}, session="S-A")
    last_day = claim("2025-02-28", claim_id="C-2", referral={"date": "2024-02-01"}, session="S-B")
    day_after = claim("2025-03-01", claim_id="C-3", referral={"date": "2024-02-01"}, session="S-C")
    reports = list(check_many([first, last_day, day_after]))
    assert [r.codes for r in reports] == [(), (), ("DS310",)]  # 03-01 is follow-up
