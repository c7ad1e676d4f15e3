"""DS2xx: accreditation, NPIs, instructors, RHC and FQHC billing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from dsmt_rules import check
from dsmt_rules._codes import bill_type as _bill_type
from dsmt_rules._codes import npi_is_valid
from dsmt_rules.rules import provider
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
INSTITUTIONAL_LINE: dict[str, Any] = {
    **LINE,
    "place_of_service": None,
    "revenue_code": "0942",
}


def two_weeks() -> dict[str, Any]:
    """Two G0109 lines a week apart (2026-02-02 and 2026-02-09), each with its own session."""
    return {
        "lines": [
            LINE,
            {
                **LINE,
                "line_id": "2",
                "service_date": "2026-02-09",
                "session_ids": ["S-20260209-AM"],
            },
        ],
        "sessions": [
            SESSION,
            {**SESSION, "session_id": "S-20260209-AM", "date": "2026-02-09"},
        ],
    }


def accreditation(**fields: Any) -> dict[str, Any]:
    return {"billing_provider": {"accreditation": fields}}


def instructors(*roster: Any) -> dict[str, Any]:
    return {"sessions": [{**SESSION, "instructors": list(roster) if roster != (None,) else None}]}


def test_base_claim_is_clean() -> None:
    assert codes_of(claim_from({})) == []


# --- the rules' own examples ---------------------------------------------------------------------


@pytest.mark.parametrize("rule", provider.RULES, ids=lambda r: r.code)
def test_example_raises_exactly_its_code(rule: type[Rule]) -> None:
    assert isinstance(rule.example, Mapping)
    assert codes_of(claim_from(rule.example)) == [rule.code]


@pytest.mark.parametrize("rule", provider.RULES, ids=lambda r: r.code)
def test_use_instead_raises_nothing(rule: type[Rule]) -> None:
    assert isinstance(rule.use_instead, Mapping)
    assert codes_of(claim_from(rule.use_instead)) == []


def test_rules_tuple_is_in_code_order() -> None:
    codes = [rule.code for rule in provider.RULES]
    assert codes == ["DS201", "DS202", "DS203", "DS204", "DS205", "DS206"]


# --- DS201 program-not-accredited ----------------------------------------------------------------


def test_ds201_no_accreditation_on_file() -> None:
    report = check(claim_from({"billing_provider": {"accreditation": None}}))
    assert [f.code for f in report.findings] == ["DS201"]
    finding = report.findings[0]
    assert finding.loc == ("billing_provider", "accreditation")
    assert finding.line_id is None
    assert finding.carc_hint == "B7"
    assert "no accreditation on file" in finding.message


def test_ds201_unapproved_organization_without_echoing_it() -> None:
    report = check(claim_from(accreditation(organization="ACME-ACCRED")))
    assert [f.code for f in report.findings] == ["DS201"]
    assert "ACME" not in report.findings[0].message
    assert "not approved" in report.findings[0].message


@pytest.mark.parametrize("organization", ["ADA", "ada", "Adces", "AADE"])
def test_ds201_approved_organizations_any_case(organization: str) -> None:
    assert codes_of(claim_from(accreditation(organization=organization))) == []


def test_ds201_one_finding_per_claim_with_two_lines() -> None:
    patch = {**two_weeks(), "billing_provider": {"accreditation": None}}
    assert codes_of(claim_from(patch)) == ["DS201"]


# --- DS202 accreditation-lapsed ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"effective": "2026-02-02"}, []),  # date of service == effective
        ({"effective": "2026-02-03"}, ["DS202"]),  # one day before effective
        ({"expires": "2026-02-02"}, []),  # date of service == expires
        ({"expires": "2026-02-01"}, ["DS202"]),  # one day after expires
        ({"effective": "2020-01-01", "expires": None}, []),  # open-ended
        ({"effective": "2026-03-01", "expires": None}, ["DS202"]),  # open-ended, not yet started
    ],
)
def test_ds202_boundaries(fields: dict[str, Any], expected: list[str]) -> None:
    assert codes_of(claim_from(accreditation(**fields))) == expected


def test_ds202_one_finding_per_line_outside_the_dates() -> None:
    patch = {**two_weeks(), **accreditation(expires="2026-02-05")}
    report = check(claim_from(patch))
    assert [f.code for f in report.findings] == ["DS202"]
    finding = report.findings[0]
    assert finding.loc == ("lines", 1, "service_date")
    assert finding.line_id == "2"
    assert finding.message.startswith(
        "Line 2: date of service 2026-02-09 is outside the program's accreditation "
        "(effective 2024-01-01, expires 2026-02-05)"
    )


def test_ds202_both_lines_outside() -> None:
    patch = {**two_weeks(), **accreditation(expires="2026-01-31")}
    report = check(claim_from(patch))
    assert [(f.code, f.line_id) for f in report.findings] == [("DS202", "1"), ("DS202", "2")]


def test_ds202_open_ended_message() -> None:
    report = check(claim_from(accreditation(effective="2026-03-01", expires=None)))
    assert "(effective 2026-03-01, open-ended)" in report.findings[0].message


def test_ds202_silent_when_organization_not_approved() -> None:
    # DS201 covers it; lapsed dates of an unapproved accreditation are not a second finding.
    patch = accreditation(organization="OTHER", expires="2025-01-01")
    assert codes_of(claim_from(patch)) == ["DS201"]


# --- DS203 invalid-npi ---------------------------------------------------------------------------


@pytest.mark.parametrize("npi", ["1234567893", "1245319599", "1952356107"])
def test_npi_is_valid_known_good(npi: str) -> None:
    assert npi_is_valid(npi)


@pytest.mark.parametrize(
    "npi",
    [
        "1234567890",  # wrong check digit
        "1234567894",
        "123456789",  # 9 digits
        "12345678930",  # 11 digits
        "123456789X",
        "",
        " 1234567893",
        "".join(chr(0xFF10 + int(d)) for d in "1234567893"),  # full-width digits
        "".join(chr(0x0660 + int(d)) for d in "1234567893"),  # Arabic-Indic digits
    ],
)
def test_npi_is_valid_rejects(npi: str) -> None:
    assert not npi_is_valid(npi)


def test_npi_is_valid_every_check_digit_exactly_one_valid() -> None:
    valid = [d for d in "0123456789" if npi_is_valid("123456789" + d)]
    assert valid == ["3"]


def test_ds203_every_npi_location_in_document_order() -> None:
    bad = "1234567890"
    patch = {
        "billing_provider": {"npi": bad},
        "referral": {"practitioner_npi": "12345"},
        "lines": [{**LINE, "rendering_npi": bad}],
        "sessions": [
            {
                **SESSION,
                "instructors": [
                    {"npi": "1952356107", "credentials": ["RN"]},
                    {"npi": bad, "credentials": ["RD"]},
                ],
            }
        ],
    }
    report = check(claim_from(patch))
    assert [(f.code, f.loc, f.line_id) for f in report.findings] == [
        ("DS203", ("billing_provider", "npi"), None),
        ("DS203", ("referral", "practitioner_npi"), None),
        ("DS203", ("lines", 0, "rendering_npi"), "1"),
        ("DS203", ("sessions", 0, "instructors", 1, "npi"), None),
    ]
    for finding in report.findings:
        assert bad not in finding.message
        assert "12345" not in finding.message
        assert finding.carc_hint == "16"
    assert "not 10 digits" in report.findings[1].message
    assert "check digit" in report.findings[0].message
    assert "rendering_npi of line 1" in report.findings[2].message


def test_ds203_valid_npis_everywhere_and_absent_ones_are_fine() -> None:
    patch = {
        "referral": {"practitioner_npi": None},
        "lines": [{**LINE, "rendering_npi": "1245319599"}],
        "sessions": [{**SESSION, "instructors": [{"credentials": ["RN"]}]}],
    }
    assert codes_of(claim_from(patch)) == []


def test_ds203_checks_npis_on_non_dsmt_lines_too() -> None:
    patch = {
        "lines": [
            LINE,
            {
                "line_id": "2",
                "hcpcs": "99213",
                "units": 1,
                "service_date": "2026-02-03",
                "place_of_service": "11",
                "diagnosis_pointers": [1],
                "rendering_npi": "9999999999",
            },
        ]
    }
    report = check(claim_from(patch))
    assert [(f.code, f.line_id) for f in report.findings] == [("DS203", "2")]


# --- DS204 no-qualified-instructor ---------------------------------------------------------------


@pytest.mark.parametrize(
    "credentials",
    [["RN"], ["RD"], ["RDN"], ["PHARMACIST"], ["CDCES"], ["CDE"], ["BC_ADM"], ["LPN", "RD"]],
)
def test_ds204_qualifying_credentials(credentials: list[str]) -> None:
    assert codes_of(claim_from(instructors({"credentials": credentials}))) == []


@pytest.mark.parametrize("credentials", [[], ["LPN"], ["MD"], ["NP", "PA", "MA", "OTHER", "DO"]])
def test_ds204_non_qualifying_credentials(credentials: list[str]) -> None:
    assert codes_of(claim_from(instructors({"credentials": credentials}))) == ["DS204"]


def test_ds204_one_qualified_instructor_among_several_is_enough() -> None:
    patch = instructors({"credentials": ["MA"]}, {"credentials": ["LPN"]}, {"credentials": ["RN"]})
    assert codes_of(claim_from(patch)) == []


def test_ds204_empty_roster_is_a_finding() -> None:
    report = check(claim_from(instructors()))
    assert [f.code for f in report.findings] == ["DS204"]
    finding = report.findings[0]
    assert finding.loc == ("sessions", 0, "instructors")
    assert finding.line_id == "1"
    assert finding.message.startswith("Line 1: the session on 2026-02-02 lists no instructor,")


def test_ds204_unknown_roster_is_silent() -> None:
    assert codes_of(claim_from(instructors(None))) == []


def test_ds204_counts_instructors_in_message() -> None:
    report = check(claim_from(instructors({"credentials": ["MA"]}, {"credentials": ["LPN"]})))
    assert "lists 2 instructors, none with a qualifying credential" in report.findings[0].message


def test_ds204_one_finding_per_session_and_unlinked_sessions_ignored() -> None:
    patch = two_weeks()
    unqualified = {"npi": "1952356107", "credentials": ["LPN"]}
    patch["sessions"] = [
        {**SESSION, "instructors": [unqualified]},
        {**patch["sessions"][1], "instructors": [{"credentials": ["RD"]}]},
        {**SESSION, "session_id": "S-UNBILLED", "instructors": [unqualified]},
    ]
    report = check(claim_from(patch))
    assert [(f.code, f.loc) for f in report.findings] == [("DS204", ("sessions", 0, "instructors"))]


# --- DS205 rhc-not-billable / DS206 fqhc-group-not-a-visit / bill types ----------------------------


@pytest.mark.parametrize(
    ("tob", "digits"),
    [("131", "13"), ("0131", "13"), ("711", "71"), ("0711", "71"), ("0771", "77"), ("111", "11")],
)
def test_bill_type_digits(tob: str, digits: str) -> None:
    assert _bill_type(tob) == digits


def institutional(tob: str, **provider_fields: Any) -> dict[str, Any]:
    patch: dict[str, Any] = {
        "form": "institutional",
        "type_of_bill": tob,
        "lines": [INSTITUTIONAL_LINE],
    }
    if provider_fields:
        patch["billing_provider"] = provider_fields
    return patch


def test_ds205_entity_rhc() -> None:
    report = check(claim_from({"billing_provider": {"entity": "rhc"}}))
    assert [(f.code, f.loc) for f in report.findings] == [("DS205", ("billing_provider", "entity"))]
    assert report.findings[0].carc_hint == "5"


@pytest.mark.parametrize("tob", ["711", "0711", "712"])
def test_ds205_alone_reports_an_rhc_bill_type(tob: str) -> None:
    report = check(claim_from(institutional(tob)))
    assert [(f.code, f.loc) for f in report.findings] == [("DS205", ("type_of_bill",))]
    assert "(type of bill 71x)" in report.findings[0].message


def test_ds205_one_finding_when_both_entity_and_bill_type_say_rhc() -> None:
    assert codes_of(claim_from(institutional("711", entity="rhc"))) == ["DS205"]


@pytest.mark.parametrize("tob", ["131", "0131", "771", "121"])
def test_ds205_silent_for_other_bill_types(tob: str) -> None:
    assert "DS205" not in codes_of(claim_from(institutional(tob)))


def test_ds206_entity_fqhc_group_line() -> None:
    report = check(claim_from({"billing_provider": {"entity": "fqhc"}}))
    assert [(f.code, f.loc, f.line_id) for f in report.findings] == [
        ("DS206", ("lines", 0, "hcpcs"), "1")
    ]
    assert report.findings[0].severity.value == "warning"


@pytest.mark.parametrize("tob", ["771", "0771"])
def test_ds206_fqhc_bill_type(tob: str) -> None:
    assert codes_of(claim_from(institutional(tob))) == ["DS206"]


def test_ds206_one_finding_per_group_line() -> None:
    patch = {**two_weeks(), "billing_provider": {"entity": "fqhc"}}
    report = check(claim_from(patch))
    assert [(f.code, f.line_id) for f in report.findings] == [("DS206", "1"), ("DS206", "2")]


def test_ds206_individual_line_in_fqhc_is_fine() -> None:
    assert codes_of(claim_from(provider.FqhcGroupNotAVisit.use_instead)) == []


def test_ds206_group_line_outside_fqhc_is_fine() -> None:
    assert codes_of(claim_from(institutional("131"))) == []
