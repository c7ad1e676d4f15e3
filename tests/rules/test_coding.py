"""DS1xx coding rules: units, session time, group size, session records, MUE, duplicates."""

from __future__ import annotations

from typing import Any

import pytest

from dsmt_rules import (
    Claim,
    Finding,
    Ruleset,
    Severity,
    Status,
    check,
    load_profile,
    ruleset,
)
from dsmt_rules.catalog import CATALOG
from dsmt_rules.rules import coding
from dsmt_rules.rules._base import Rule
from dsmt_rules.rules._examples import BASE_CLAIM, apply_patch
from helpers import claim_from, codes_of

SID = "S-20260202-AM"


def line(**changes: Any) -> dict[str, Any]:
    """The base claim's G0109 line (2 units, 2026-02-02, session SID) with changes."""
    return {**BASE_CLAIM["lines"][0], **changes}


def session(**changes: Any) -> dict[str, Any]:
    """The base claim's session (60 minutes, group of 8, 2026-02-02) with changes."""
    return {**BASE_CLAIM["sessions"][0], **changes}


def ruleset_for(rule: type[Rule]) -> Ruleset:
    """The ruleset a rule's examples need (DS109 needs an MUE table)."""
    options: dict[str, Any] = dict(rule.example_options)
    return ruleset(**options)


def findings_of(claim: Claim, **options: Any) -> list[Finding]:
    return list(check(claim, **options).findings)


def only(claim: Claim, **options: Any) -> Finding:
    (finding,) = findings_of(claim, **options)
    return finding


# --- the catalog entries and their examples ------------------------------------------------------


def test_rules_are_listed_in_code_order_and_in_the_catalog() -> None:
    codes = [rule.code for rule in coding.RULES]
    assert codes == [f"DS1{n:02d}" for n in range(1, 11)]
    assert all(rule in CATALOG for rule in coding.RULES)


@pytest.mark.parametrize("rule", coding.RULES, ids=lambda rule: rule.code)
def test_example_raises_exactly_its_code(rule: type[Rule]) -> None:
    rs = ruleset_for(rule)
    claim = Claim.model_validate(apply_patch(BASE_CLAIM, rule.example))
    assert codes_of(claim, rules=rs) == [rule.code]


@pytest.mark.parametrize("rule", coding.RULES, ids=lambda rule: rule.code)
def test_use_instead_raises_nothing(rule: type[Rule]) -> None:
    rs = ruleset_for(rule)
    claim = Claim.model_validate(apply_patch(BASE_CLAIM, rule.use_instead))
    assert codes_of(claim, rules=rs) == []


@pytest.mark.parametrize("rule", coding.RULES, ids=lambda rule: rule.code)
def test_docstring_has_the_sections_and_metadata_is_filled(rule: type[Rule]) -> None:
    doc = rule.__doc__ or ""
    for section in ("## What it checks", "## Why it matters", "## References"):
        assert section in doc
    assert rule.citation
    assert rule.carc_hint
    assert rule.needs


def test_messages_carry_no_beneficiary_id() -> None:
    beneficiary = BASE_CLAIM["beneficiary_id"]
    for rule in coding.RULES:
        rs = ruleset_for(rule)
        claim = Claim.model_validate(apply_patch(BASE_CLAIM, rule.example))
        for finding in check(claim, rules=rs).findings:
            assert beneficiary not in finding.message
            assert "{" not in finding.message


def test_base_claim_is_clean() -> None:
    assert codes_of(claim_from()) == []


# --- DS101 units-not-positive --------------------------------------------------------------------


@pytest.mark.parametrize(("units", "expected"), [(-1, ["DS101"]), (0, ["DS101"]), (1, [])])
def test_ds101_units_below_one(units: int, expected: list[str]) -> None:
    assert codes_of(claim_from({"lines": [line(units=units)]})) == expected


def test_ds101_finding_points_at_the_units() -> None:
    finding = only(claim_from({"lines": [line(units=0)]}))
    assert finding.loc == ("lines", 0, "units")
    assert finding.line_id == "1"
    assert finding.severity is Severity.ERROR
    assert finding.carc_hint == "16"
    assert finding.message == (
        "Line 1: G0109 billed with 0 units; bill at least 1 unit "
        "(one per 30 minutes of training furnished)."
    )


def test_ds101_ignores_non_dsmt_lines() -> None:
    other = {
        "line_id": "2",
        "hcpcs": "99213",
        "units": 0,
        "service_date": "2026-02-02",
        "diagnosis_pointers": [1],
    }
    assert codes_of(claim_from({"lines": [line(), other]})) == []


# --- DS102 session-too-short ---------------------------------------------------------------------


@pytest.mark.parametrize(("minutes", "expected"), [(29, ["DS102", "DS103"]), (30, [])])
def test_ds102_one_unit_session_at_the_limit(minutes: int, expected: list[str]) -> None:
    claim = claim_from({"lines": [line(units=1)], "sessions": [session(minutes=minutes)]})
    assert codes_of(claim) == expected


def test_ds102_short_session_among_others_is_exact() -> None:
    claim = claim_from(
        {
            "lines": [line(units=2, session_ids=[SID, "S-PM"])],
            "sessions": [session(minutes=20), session(session_id="S-PM", minutes=40)],
        }
    )
    finding = only(claim)
    assert finding.code == "DS102"
    assert finding.loc == ("sessions", 0, "minutes")
    assert finding.line_id == "1"
    assert finding.carc_hint == "151"
    assert finding.message == (
        "Line 1: session S-20260202-AM on 2026-02-02 lasted 20 minutes; a session shorter than "
        "30 minutes is not billable (unlink it, or correct the recorded minutes)."
    )


def test_ds102_reports_a_session_once_on_its_first_line() -> None:
    claim = claim_from(
        {
            "lines": [
                line(line_id="1", units=1, session_ids=[SID, "S-B"]),
                line(line_id="2", units=1, session_ids=[SID, "S-C"]),
            ],
            "sessions": [
                session(minutes=20),
                session(session_id="S-B", minutes=30),
                session(session_id="S-C", minutes=30),
            ],
        }
    )
    findings = findings_of(claim)
    assert [f.code for f in findings] == ["DS102", "DS110"]
    assert findings[0].line_id == "1"


def test_ds102_ignores_sessions_no_dsmt_line_links() -> None:
    claim = claim_from({"sessions": [session(), session(session_id="S-SHORT", minutes=10)]})
    assert codes_of(claim) == []


# --- DS103 units-exceed-time ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "units", "expected"),
    [
        (45, 1, []),
        (45, 2, ["DS103"]),
        (59, 2, ["DS103"]),
        (60, 2, []),
        (60, 3, ["DS103"]),
        (90, 3, []),
    ],
)
def test_ds103_whole_units_of_time(minutes: int, units: int, expected: list[str]) -> None:
    claim = claim_from({"lines": [line(units=units)], "sessions": [session(minutes=minutes)]})
    assert codes_of(claim) == expected


def test_ds103_message_gives_units_minutes_and_support() -> None:
    finding = only(claim_from({"lines": [line(units=3)]}))
    assert finding.code == "DS103"
    assert finding.loc == ("lines", 0, "units")
    assert finding.carc_hint == "151"
    assert finding.message.startswith(
        "Line 1: 3 units billed for 60 minutes of linked sessions; "
        "60 minutes support at most 2 units of 30 minutes"
    )


@pytest.mark.parametrize(("units", "expected"), [(2, []), (3, ["DS103"])])
def test_ds103_sums_the_linked_sessions(units: int, expected: list[str]) -> None:
    claim = claim_from(
        {
            "lines": [line(units=units, session_ids=[SID, "S-PM"])],
            "sessions": [session(minutes=30), session(session_id="S-PM", minutes=30)],
        }
    )
    assert codes_of(claim) == expected


def test_ds103_counts_a_repeated_session_id_once() -> None:
    claim = claim_from({"lines": [line(units=3, session_ids=[SID, SID])]})
    assert codes_of(claim) == ["DS103"]


def test_ds103_silent_without_linked_session_and_for_zero_units() -> None:
    assert codes_of(claim_from({"lines": [line(units=5, session_ids=[])]})) == ["DS107"]
    zero = claim_from({"lines": [line(units=0)], "sessions": [session(minutes=0)]})
    assert codes_of(zero) == ["DS101", "DS102"]


def test_ds103_is_silent_when_a_linked_session_has_no_record() -> None:
    """The time of S-GONE is not known: DS103 cannot judge the units, DS107 says what is missing."""
    claim = claim_from({"lines": [line(units=4, session_ids=[SID, "S-GONE"])]})
    assert codes_of(claim) == ["DS107"]
    alone = claim_from({"lines": [line(units=4, session_ids=["S-GONE"])]})
    assert codes_of(alone) == ["DS107"]


def test_ds103_judges_a_line_whose_sessions_are_all_on_record() -> None:
    claim = claim_from({"lines": [line(units=4, session_ids=[SID, SID])]})  # one id twice
    assert codes_of(claim) == ["DS103"]


def test_ds103_unit_length_comes_from_the_profile() -> None:
    fifteen = load_profile("medicare").model_copy(update={"unit_minutes": 15})
    claim = claim_from({"lines": [line(units=3)], "sessions": [session(minutes=45)]})
    assert codes_of(claim, profile=fifteen) == []
    assert codes_of(claim) == ["DS103"]


# --- DS104 group-too-small / DS105 group-too-large -----------------------------------------------


@pytest.mark.parametrize(
    ("attendees", "expected"),
    [(0, ["DS104"]), (1, ["DS104"]), (2, []), (20, []), (21, ["DS105"])],
)
def test_ds104_ds105_group_size_bounds(attendees: int, expected: list[str]) -> None:
    assert codes_of(claim_from({"sessions": [session(attendees=attendees)]})) == expected


def test_ds104_message_and_location() -> None:
    finding = only(claim_from({"sessions": [session(attendees=1)]}))
    assert finding.code == "DS104"
    assert finding.loc == ("lines", 0, "hcpcs")
    assert finding.line_id == "1"
    assert finding.citation == "HCPCS G0109 descriptor"
    assert finding.message == (
        "Line 1: G0109 billed for a session with 1 attendee; a group needs at least 2 (bill G0108)."
    )


def test_ds104_fixed_by_billing_g0108() -> None:
    claim = claim_from(
        {
            "lines": [line(hcpcs="G0108")],
            "sessions": [session(attendees=1, format="individual")],
        }
    )
    assert codes_of(claim) == []


def test_ds104_one_finding_per_line() -> None:
    claim = claim_from(
        {
            "lines": [line(session_ids=[SID, "S-PM"])],
            "sessions": [
                session(minutes=30, attendees=1),
                session(session_id="S-PM", minutes=30, attendees=1),
            ],
        }
    )
    assert codes_of(claim) == ["DS104"]


def test_ds105_message_and_location() -> None:
    finding = only(claim_from({"sessions": [session(attendees=21)]}))
    assert finding.code == "DS105"
    assert finding.loc == ("sessions", 0, "attendees")
    assert finding.line_id == "1"
    assert "21 attendees" in finding.message
    assert "at most 20" in finding.message


def test_ds105_does_not_apply_to_g0108() -> None:
    claim = claim_from({"lines": [line(hcpcs="G0108")], "sessions": [session(attendees=21)]})
    assert codes_of(claim) == ["DS106"]


def test_group_bounds_come_from_the_profile() -> None:
    small_groups = load_profile("medicare").model_copy(update={"group_min": 3, "group_max": 10})
    assert codes_of(claim_from({"sessions": [session(attendees=2)]}), profile=small_groups) == [
        "DS104"
    ]
    assert codes_of(claim_from({"sessions": [session(attendees=11)]}), profile=small_groups) == [
        "DS105"
    ]


# --- DS106 individual-code-for-group -------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "attendees", "expected"),
    [
        ("group", 8, ["DS106"]),
        ("individual", 2, ["DS106"]),
        ("individual", 1, []),
        # A class planned as a group that one person attended is individual training: G0108 is
        # right (G0109 would raise DS104), so the format alone does not raise DS106.
        ("group", 1, []),
    ],
)
def test_ds106_attendance_decides(fmt: str, attendees: int, expected: list[str]) -> None:
    claim = claim_from(
        {"lines": [line(hcpcs="G0108")], "sessions": [session(format=fmt, attendees=attendees)]}
    )
    assert codes_of(claim) == expected


def test_ds106_message_and_location() -> None:
    finding = only(claim_from({"lines": [line(hcpcs="G0108")]}))
    assert finding.code == "DS106"
    assert finding.loc == ("lines", 0, "hcpcs")
    assert finding.message == (
        "Line 1: G0108 (individual) billed for a session with 8 attendees (recorded as group); "
        "2 or more people make a group (bill G0109)."
    )


# --- DS107 session-record-missing ----------------------------------------------------------------


def test_ds107_no_session_linked_is_a_warning() -> None:
    report = check(claim_from({"lines": [line(session_ids=[])]}))
    (finding,) = report.findings
    assert finding.code == "DS107"
    assert finding.severity is Severity.WARNING
    assert report.status is Status.REVIEW
    assert finding.loc == ("lines", 0, "session_ids")
    assert finding.carc_hint == "16"
    assert finding.message.startswith("Line 1: G0109 has no linked session record;")


def test_ds107_counts_and_names_missing_sessions() -> None:
    claim = claim_from(
        {"lines": [line(units=2, session_ids=[SID, "S-GONE", "S-GONE"])]},
    )
    finding = only(claim)
    assert finding.code == "DS107"
    assert finding.message.startswith(
        "Line 1: G0109 has 1 of 2 linked session record(s) missing from the claim (S-GONE);"
    )


def test_ds107_no_session_on_the_claim_at_all() -> None:
    claim = claim_from({"lines": [line(session_ids=["S-GONE"])], "sessions": []})
    assert codes_of(claim) == ["DS107"]


def test_ds107_silent_when_every_session_is_on_the_claim() -> None:
    claim = claim_from(
        {
            "lines": [line(units=4, session_ids=[SID, "S-PM"])],
            "sessions": [session(), session(session_id="S-PM")],
        }
    )
    assert codes_of(claim) == []


# --- DS108 session-date-mismatch -----------------------------------------------------------------


def test_ds108_gives_both_dates() -> None:
    finding = only(claim_from({"sessions": [session(date="2026-02-03")]}))
    assert finding.code == "DS108"
    assert finding.loc == ("lines", 0, "service_date")
    assert finding.line_id == "1"
    assert "2026-02-02" in finding.message
    assert "2026-02-03" in finding.message


def test_ds108_one_finding_per_mismatching_session() -> None:
    claim = claim_from(
        {
            "lines": [line(units=4, session_ids=[SID, "S-B", "S-C"])],
            "sessions": [
                session(),
                session(session_id="S-B", date="2026-02-09", minutes=30),
                session(session_id="S-C", date="2026-02-16", minutes=30),
            ],
        }
    )
    findings = findings_of(claim)
    assert [f.code for f in findings] == ["DS108", "DS108"]
    assert "S-B" in findings[0].message
    assert "S-C" in findings[1].message


# --- DS109 units-exceed-mue ----------------------------------------------------------------------


def mue(table: dict[str, int]) -> dict[str, Any]:
    return {"rules": ruleset(mue=table)}


def three_units() -> Claim:
    return claim_from({"lines": [line(units=3)], "sessions": [session(minutes=90)]})


def test_ds109_needs_an_mue_table() -> None:
    assert codes_of(three_units()) == []


@pytest.mark.parametrize(("units", "expected"), [(2, []), (3, ["DS109"])])
def test_ds109_at_the_value_and_one_over(units: int, expected: list[str]) -> None:
    claim = claim_from({"lines": [line(units=units)], "sessions": [session(minutes=90)]})
    assert codes_of(claim, **mue({"G0109": 2})) == expected


def test_ds109_message_says_how_many_units_are_over() -> None:
    finding = only(three_units(), **mue({"G0109": 2}))
    assert finding.code == "DS109"
    assert finding.loc == ("lines", 0, "units")
    assert finding.citation is not None
    assert finding.citation.startswith("NCCI MUE")
    assert finding.carc_hint == "151"
    assert finding.message == (
        "Line 1: 3 units of G0109 on 2026-02-02 bring this claim's total for the date to 3 "
        "against an MUE of 2: 1 unit(s) over (bill at most 2 units of G0109 per date of service)."
    )


def two_lines(first: int, second: int, *, second_date: str = "2026-02-02") -> Claim:
    return claim_from(
        {
            "lines": [
                line(line_id="1", units=first),
                line(line_id="2", units=second, service_date=second_date, session_ids=["S-PM"]),
            ],
            "sessions": [session(), session(session_id="S-PM", date=second_date)],
        }
    )


@pytest.mark.parametrize(("second", "expected"), [(1, []), (2, ["DS109"])])
def test_ds109_sums_lines_of_one_code_and_date(second: int, expected: list[str]) -> None:
    assert codes_of(two_lines(2, second), **mue({"G0109": 3})) == expected


def test_ds109_the_crossing_line_carries_the_finding() -> None:
    finding = only(two_lines(2, 2), **mue({"G0109": 3}))
    assert finding.line_id == "2"
    assert finding.loc == ("lines", 1, "units")
    assert "to 4 against an MUE of 3: 1 unit(s) over" in finding.message


def test_ds109_later_lines_are_over_by_all_their_units() -> None:
    claim = claim_from(
        {
            "lines": [
                line(line_id="1", units=2),
                line(line_id="2", units=1, session_ids=["S-B"]),
                line(line_id="3", units=2, session_ids=["S-C"]),
            ],
            "sessions": [session(), session(session_id="S-B"), session(session_id="S-C")],
        }
    )
    findings = findings_of(claim, **mue({"G0109": 2}))
    assert [(f.code, f.line_id) for f in findings] == [("DS109", "2"), ("DS109", "3")]
    assert "1 unit(s) over" in findings[0].message
    assert "2 unit(s) over" in findings[1].message


def test_ds109_dates_are_counted_apart() -> None:
    assert codes_of(two_lines(2, 2, second_date="2026-02-09"), **mue({"G0109": 2})) == []


def test_ds109_only_codes_in_the_table() -> None:
    assert codes_of(three_units(), **mue({"G0108": 1})) == []


# --- DS110 duplicate-service ---------------------------------------------------------------------


def test_ds110_same_code_and_session() -> None:
    claim = claim_from({"lines": [line(line_id="1"), line(line_id="2")]})
    finding = only(claim)
    assert finding.code == "DS110"
    assert finding.line_id == "2"
    assert finding.loc == ("lines", 1)
    assert finding.carc_hint == "18"
    assert finding.message == (
        "Line 2: G0109 for session S-20260202-AM is already billed on line 1 of this claim; "
        "bill each service once (remove the duplicate line)."
    )


def test_ds110_different_sessions_are_different_services() -> None:
    claim = claim_from(
        {
            "lines": [line(line_id="1"), line(line_id="2", session_ids=["S-PM"])],
            "sessions": [session(), session(session_id="S-PM")],
        }
    )
    assert codes_of(claim) == []


def test_ds110_different_codes_are_not_duplicates() -> None:
    claim = claim_from({"lines": [line(line_id="1"), line(line_id="2", hcpcs="G0108")]})
    assert codes_of(claim) == ["DS106"]


def test_ds110_without_sessions_compares_code_and_date() -> None:
    same_day = claim_from(
        {"lines": [line(line_id="1", session_ids=[]), line(line_id="2", session_ids=[])]}
    )
    findings = findings_of(same_day)
    assert [f.code for f in findings] == ["DS107", "DS107", "DS110"]
    assert findings[2].line_id == "2"
    assert "on 2026-02-02 with no session linked" in findings[2].message

    other_day = claim_from(
        {
            "lines": [
                line(line_id="1", session_ids=[]),
                line(line_id="2", session_ids=[], service_date="2026-02-09"),
            ]
        }
    )
    assert codes_of(other_day) == ["DS107", "DS107"]


def test_ds110_a_line_with_a_session_and_one_without_are_not_compared_by_date() -> None:
    claim = claim_from({"lines": [line(line_id="1"), line(line_id="2", session_ids=[])]})
    assert codes_of(claim) == ["DS107"]


def test_ds110_every_repeat_points_at_the_first_line() -> None:
    claim = claim_from({"lines": [line(line_id="1"), line(line_id="2"), line(line_id="3")]})
    findings = findings_of(claim)
    assert [(f.code, f.line_id) for f in findings] == [("DS110", "2"), ("DS110", "3")]
    assert all("line 1 of this claim" in f.message for f in findings)
