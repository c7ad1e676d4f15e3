"""DS5xx-DS6xx: MNT on the same day, place of service, bill type, telehealth coding."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from dsmt_rules import check
from dsmt_rules.rules import same_day, setting
from dsmt_rules.rules._base import Rule
from helpers import claim_from, codes_of

SESSION: dict[str, Any] = {
    "session_id": "S-20260202-AM",
    "date": "2026-02-02",
    "minutes": 60,
    "format": "group",
    "attendees": 8,
    "delivery": "in_person",
    "instructors": [{"npi": "1952356107", "credentials": ["RN", "CDCES"]}],
}
LINE: dict[str, Any] = {
    "line_id": "1",
    "hcpcs": "G0109",
    "units": 2,
    "service_date": "2026-02-02",
    "place_of_service": "11",
    "diagnosis_pointers": [1],
    "session_ids": ["S-20260202-AM"],
}
INSTITUTIONAL_LINE: dict[str, Any] = {**LINE, "place_of_service": None, "revenue_code": "0942"}


def mnt_line(code: str = "97803", date: str = "2026-02-02", line_id: str = "2") -> dict[str, Any]:
    return {
        "line_id": line_id,
        "hcpcs": code,
        "units": 2,
        "service_date": date,
        "place_of_service": "11",
        "diagnosis_pointers": [1],
    }


def second_week_line(**fields: Any) -> dict[str, Any]:
    return {
        **LINE,
        "line_id": "2",
        "service_date": "2026-02-09",
        "session_ids": ["S-20260209-AM"],
        **fields,
    }


SECOND_SESSION: dict[str, Any] = {**SESSION, "session_id": "S-20260209-AM", "date": "2026-02-09"}


def test_base_claim_is_clean() -> None:
    assert codes_of(claim_from({})) == []


# --- the rules' own examples ---------------------------------------------------------------------


@pytest.mark.parametrize("rule", setting.RULES, ids=lambda r: r.code)
def test_example_raises_exactly_its_code(rule: type[Rule]) -> None:
    assert isinstance(rule.example, Mapping)
    assert codes_of(claim_from(rule.example)) == [rule.code]


@pytest.mark.parametrize("rule", setting.RULES, ids=lambda r: r.code)
def test_use_instead_raises_nothing(rule: type[Rule]) -> None:
    assert isinstance(rule.use_instead, Mapping)
    assert codes_of(claim_from(rule.use_instead)) == []


def test_rules_tuple_is_in_code_order() -> None:
    assert [rule.code for rule in setting.RULES] == ["DS601", "DS602", "DS603"]
    assert [rule.code for rule in same_day.RULES] == ["DS501"]


# --- DS501 mnt-same-day --------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["97802", "97803", "97804", "G0270", "G0271"])
def test_ds501_every_mnt_code_on_the_same_claim(code: str) -> None:
    report = check(claim_from({"lines": [LINE, mnt_line(code)]}))
    assert [(f.code, f.loc, f.line_id) for f in report.findings] == [
        ("DS501", ("lines", 0, "hcpcs"), "1")
    ]
    assert report.findings[0].carc_hint == "97"
    assert f"same date of service as MNT ({code})" in report.findings[0].message


def test_ds501_mnt_the_day_before_or_after_is_fine() -> None:
    lines = [LINE, mnt_line(date="2026-02-01"), mnt_line(date="2026-02-03", line_id="3")]
    assert codes_of(claim_from({"lines": lines})) == []


def test_ds501_mnt_in_the_claims_history_same_day() -> None:
    patch = {"history": [{"service_date": "2026-02-02", "hcpcs": "G0270", "units": 1}]}
    report = check(claim_from(patch))
    assert [(f.code, f.line_id) for f in report.findings] == [("DS501", "1")]


def test_ds501_mnt_in_history_on_another_day_is_fine() -> None:
    patch = {"history": [{"service_date": "2026-01-26", "hcpcs": "97802", "units": 1}]}
    assert codes_of(claim_from(patch)) == []


def test_ds501_only_the_dsmt_line_on_the_mnt_date() -> None:
    patch = {
        "lines": [LINE, second_week_line(), mnt_line(date="2026-02-09", line_id="3")],
        "sessions": [SESSION, SECOND_SESSION],
    }
    report = check(claim_from(patch))
    assert [(f.code, f.line_id) for f in report.findings] == [("DS501", "2")]


def test_ds501_names_every_mnt_code_of_the_day_once() -> None:
    patch = {
        "lines": [LINE, mnt_line("97803"), mnt_line("97802", line_id="3")],
        "history": [{"service_date": "2026-02-02", "hcpcs": "97803", "units": 1}],
    }
    report = check(claim_from(patch))
    assert [f.code for f in report.findings] == ["DS501"]
    assert "same date of service as MNT (97802, 97803)" in report.findings[0].message


def test_ds501_non_mnt_line_same_day_is_fine() -> None:
    assert codes_of(claim_from({"lines": [LINE, mnt_line("99213")]})) == []


# --- DS601 inpatient-place-of-service ------------------------------------------------------------


@pytest.mark.parametrize("pos", ["21", "51", "61"])
def test_ds601_inpatient_places(pos: str) -> None:
    report = check(claim_from({"lines": [{**LINE, "place_of_service": pos}]}))
    assert [(f.code, f.loc, f.line_id) for f in report.findings] == [
        ("DS601", ("lines", 0, "place_of_service"), "1")
    ]
    assert f"place of service {pos} (inpatient)" in report.findings[0].message
    assert report.findings[0].carc_hint == "58"


@pytest.mark.parametrize("pos", ["11", "19", "22", "31", "32", "49", "71", "72"])
def test_ds601_outpatient_places_are_fine(pos: str) -> None:
    assert codes_of(claim_from({"lines": [{**LINE, "place_of_service": pos}]})) == []


def test_ds601_one_finding_per_line() -> None:
    patch = {
        "lines": [{**LINE, "place_of_service": "21"}, second_week_line(place_of_service="22")],
        "sessions": [SESSION, SECOND_SESSION],
    }
    report = check(claim_from(patch))
    assert [(f.code, f.line_id) for f in report.findings] == [("DS601", "1")]


def test_ds601_ignores_non_dsmt_lines() -> None:
    patch = {"lines": [LINE, {**mnt_line("99213"), "place_of_service": "21"}]}
    assert codes_of(claim_from(patch)) == []


# --- DS602 bill-type-not-allowed -----------------------------------------------------------------


def institutional(tob: str | None) -> dict[str, Any]:
    return {"form": "institutional", "type_of_bill": tob, "lines": [INSTITUTIONAL_LINE]}


@pytest.mark.parametrize("tob", ["121", "131", "0131", "137", "221", "231", "341", "851"])
def test_ds602_allowed_bill_types(tob: str) -> None:
    assert codes_of(claim_from(institutional(tob))) == []


def test_ds602_fqhc_bill_type_is_allowed_but_group_is_not_a_visit() -> None:
    assert codes_of(claim_from(institutional("0771"))) == ["DS206"]


@pytest.mark.parametrize("tob", ["111", "0111", "141", "181", "831", "891"])
def test_ds602_not_allowed_bill_types(tob: str) -> None:
    report = check(claim_from(institutional(tob)))
    assert [(f.code, f.loc, f.line_id) for f in report.findings] == [
        ("DS602", ("type_of_bill",), None)
    ]
    assert report.findings[0].message.startswith(f"Type of bill {tob} (bill type {tob[-3:-1]}x)")
    assert report.findings[0].carc_hint == "5"


@pytest.mark.parametrize("tob", ["711", "0711", "712"])
def test_ds602_leaves_an_rhc_bill_type_to_ds205(tob: str) -> None:
    """One fact, one finding: 71x is an RHC, DS205 (RULES.md)."""
    assert codes_of(claim_from(institutional(tob))) == ["DS205"]
    only = {**institutional(tob), "billing_provider": {"entity": "hospital_outpatient"}}
    assert codes_of(claim_from(only), select=["DS602"]) == []


def test_ds602_missing_type_of_bill_is_not_guessed() -> None:
    assert codes_of(claim_from(institutional(None))) == []


def test_ds602_professional_claim_is_not_checked() -> None:
    assert codes_of(claim_from({"type_of_bill": "111"})) == []


# --- DS603 telehealth-coding-inconsistent --------------------------------------------------------


def telehealth(
    *, pos: str | None = "11", modifiers: list[str] | None = None, delivery: str = "telehealth"
) -> dict[str, Any]:
    line = {**LINE, "place_of_service": pos, "modifiers": modifiers or []}
    return {"lines": [line], "sessions": [{**SESSION, "delivery": delivery}]}


@pytest.mark.parametrize(
    ("pos", "modifiers"),
    [("02", []), ("10", []), ("11", ["95"]), ("11", ["93"]), ("02", ["95"]), ("10", ["GQ"])],
)
def test_ds603_telehealth_coded_as_telehealth_is_fine(pos: str, modifiers: list[str]) -> None:
    assert codes_of(claim_from(telehealth(pos=pos, modifiers=modifiers))) == []


@pytest.mark.parametrize("modifier", ["GT", "GQ"])
def test_ds603_gt_and_gq_do_not_code_a_professional_line_as_telehealth(modifier: str) -> None:
    """Transmittal 12671: 95 (video) or 93 (audio-only); GT only on institutional claims; no GQ."""
    report = check(claim_from(telehealth(pos="11", modifiers=[modifier])))
    assert [(f.code, f.loc) for f in report.findings] == [
        ("DS603", ("lines", 0, "place_of_service"))
    ]


def test_ds603_gt_codes_an_institutional_line_as_telehealth() -> None:
    patch = {
        "form": "institutional",
        "type_of_bill": "851",
        "billing_provider": {"entity": "critical_access_hospital"},
        "lines": [{**INSTITUTIONAL_LINE, "modifiers": ["GT"]}],
        "sessions": [{**SESSION, "delivery": "telehealth"}],
    }
    assert codes_of(claim_from(patch)) == []
    in_person = {**patch, "sessions": [{**SESSION, "delivery": "in_person"}]}
    assert codes_of(claim_from(in_person)) == ["DS603"]
    gq = {**patch, "lines": [{**INSTITUTIONAL_LINE, "modifiers": ["GQ"]}]}
    assert codes_of(claim_from(gq)) == ["DS603"]


def test_ds603_telehealth_without_telehealth_coding() -> None:
    report = check(claim_from(telehealth(pos="11", modifiers=["25"])))
    assert [(f.code, f.loc, f.line_id) for f in report.findings] == [
        ("DS603", ("lines", 0, "place_of_service"), "1")
    ]
    finding = report.findings[0]
    assert finding.severity.value == "warning"
    assert finding.carc_hint == "4"
    assert finding.message == (
        "Line 1: the session on 2026-02-02 was delivered by telehealth but the line is coded as "
        "in person (POS 11, no telehealth modifier); add a telehealth place of service (02, 10) "
        "or modifier (93, 95)."
    )


def test_ds603_institutional_telehealth_needs_a_modifier() -> None:
    patch = {
        "form": "institutional",
        "type_of_bill": "131",
        "lines": [INSTITUTIONAL_LINE],
        "sessions": [{**SESSION, "delivery": "telehealth"}],
    }
    report = check(claim_from(patch))
    assert [(f.code, f.loc) for f in report.findings] == [("DS603", ("lines", 0, "modifiers"))]
    fixed = {**patch, "lines": [{**INSTITUTIONAL_LINE, "modifiers": ["95"]}]}
    assert codes_of(claim_from(fixed)) == []


@pytest.mark.parametrize(
    ("pos", "modifiers", "loc_field", "coding"),
    [
        ("11", ["95"], "modifiers", "(modifier 95)"),
        ("11", ["93"], "modifiers", "(modifier 93)"),
        ("02", [], "place_of_service", "(POS 02)"),
        ("10", ["95"], "place_of_service", "(POS 10, modifier 95)"),
    ],
)
def test_ds603_in_person_coded_as_telehealth(
    pos: str, modifiers: list[str], loc_field: str, coding: str
) -> None:
    report = check(claim_from(telehealth(pos=pos, modifiers=modifiers, delivery="in_person")))
    assert [(f.code, f.loc) for f in report.findings] == [("DS603", ("lines", 0, loc_field))]
    assert f"delivered in person but the line is coded as telehealth {coding}" in (
        report.findings[0].message
    )


def test_ds603_in_person_with_other_modifiers_is_fine() -> None:
    patch = telehealth(pos="11", modifiers=["25", "59"], delivery="in_person")
    assert codes_of(claim_from(patch)) == []


def test_ds603_line_without_a_linked_session_is_not_checked() -> None:
    # DS107 reports the missing session record; DS603 has nothing to compare with.
    patch = {"lines": [{**LINE, "modifiers": ["95"], "session_ids": ["S-NOT-ON-FILE"]}]}
    assert "DS603" not in codes_of(claim_from(patch))


def test_ds603_one_finding_per_line() -> None:
    patch = {
        "lines": [{**LINE, "modifiers": ["95"]}, second_week_line(modifiers=["95"])],
        "sessions": [SESSION, SECOND_SESSION],
    }
    report = check(claim_from(patch))
    assert [(f.code, f.line_id) for f in report.findings] == [("DS603", "1"), ("DS603", "2")]
