"""The engine: verdicts, determinism, selection and severity, and the report contract."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dsmt_rules import (
    Claim,
    ConfigError,
    Finding,
    Record,
    Report,
    Severity,
    Status,
    UnknownRuleError,
    check,
    check_many,
    check_records,
    iter_findings,
    ruleset,
)
from dsmt_rules.catalog import CODES
from dsmt_rules.findings import status_of
from dsmt_rules.rules._examples import BASE_CLAIM
from helpers import claim_from, codes_of

# A claim with no DSMT line: only DS002 may run, even though it has no referral and no
# accreditation (which would raise DS201 / DS301 on a DSMT claim).
NO_DSMT: dict[str, Any] = {
    "lines": [
        {
            "line_id": "1",
            "hcpcs": "99213",
            "units": 1,
            "service_date": "2026-02-02",
            "place_of_service": "11",
            "diagnosis_pointers": [1],
        }
    ],
    "sessions": [],
    "referral": None,
    "billing_provider": {"accreditation": None},
}

FINDING_KEYS = [
    "code",
    "name",
    "severity",
    "message",
    "loc",
    "line_id",
    "source",
    "citation",
    "carc_hint",
    "url",
    "ctx",
    "fix",
]
"""DESIGN.md, "The report": the keys of a finding, in order."""


def _finding(severity: Severity, code: str = "DS999") -> Finding:
    return Finding(code=code, name="x", severity=severity, message="m")


# --- verdicts ------------------------------------------------------------------------------------


def test_base_claim_passes_with_no_findings() -> None:
    report = check(claim_from())

    assert report.status is Status.PASS
    assert report.findings == ()
    assert report.claim_id == "C-1001"
    assert report.record is None
    assert report.ok is True


def test_claim_without_dsmt_lines_gets_only_ds002_info_and_passes() -> None:
    report = check(claim_from(NO_DSMT))

    assert report.codes == ("DS002",)
    assert report.status is Status.PASS
    (finding,) = report.findings
    assert finding.severity is Severity.INFO
    assert finding.message == (
        "No G0108/G0109 line on the claim (1 line(s)); no DSMT rule was checked."
    )
    assert finding.loc == ("lines",)
    assert finding.line_id is None
    assert finding.name == "no-dsmt-lines"
    assert finding.url == "docs/rules/DS002-no-dsmt-lines.md"


def test_claim_with_no_lines_at_all_gets_ds002() -> None:
    assert codes_of(claim_from({"lines": [], "sessions": []})) == ["DS002"]


@pytest.mark.parametrize(
    ("severities", "status"),
    [
        ((), Status.PASS),
        ((Severity.INFO,), Status.PASS),
        ((Severity.INFO, Severity.WARNING), Status.REVIEW),
        ((Severity.WARNING, Severity.INFO, Severity.WARNING), Status.REVIEW),
        ((Severity.WARNING, Severity.ERROR), Status.REJECT),
        ((Severity.ERROR, Severity.WARNING, Severity.INFO), Status.REJECT),
    ],
)
def test_status_is_the_worst_severity(severities: tuple[Severity, ...], status: Status) -> None:
    findings = tuple(_finding(s) for s in severities)
    report = Report(claim_id="C", findings=findings)

    assert status_of(findings) is status
    assert report.status is status
    assert report.ok is (status is not Status.REJECT)


def test_report_status_cannot_be_passed_in() -> None:
    report = Report(claim_id="C", findings=(_finding(Severity.ERROR),), status=Status.PASS)

    assert report.status is Status.REJECT


@pytest.mark.parametrize(
    ("level", "status"),
    [("error", Status.REJECT), ("warning", Status.REVIEW), ("info", Status.PASS)],
)
def test_severity_override_changes_severity_and_status(level: str, status: Status) -> None:
    claim = claim_from(NO_DSMT)

    for options in ({"severity": [f"DS002={level}"]}, {"severity": {"DS002": level}}):
        report = check(claim, **options)
        assert report.codes == ("DS002",)
        assert report.findings[0].severity is Severity(level)
        assert report.status is status


def test_severity_override_by_prefix() -> None:
    report = check(claim_from(NO_DSMT), severity=["DS0=warning"])

    assert report.findings[0].severity is Severity.WARNING
    assert report.status is Status.REVIEW


def test_profile_severity_table_is_a_default_the_options_override(tmp_path: Path) -> None:
    path = tmp_path / "strict.toml"
    path.write_text('extends = "medicare"\n[severity]\nDS002 = "error"\n', encoding="utf-8")
    claim = claim_from(NO_DSMT)

    assert check(claim, profile=path).status is Status.REJECT
    assert check(claim, profile=str(path)).status is Status.REJECT
    assert check(claim, profile=path, severity=["DS002=info"]).status is Status.PASS


# --- selection -----------------------------------------------------------------------------------


def test_ignore_removes_findings() -> None:
    claim = claim_from(NO_DSMT)

    assert codes_of(claim, ignore=["DS002"]) == []
    assert codes_of(claim, ignore=["DS0"]) == []
    assert check(claim, ignore=["DS002"]).status is Status.PASS


def test_select_removes_unselected_findings() -> None:
    claim = claim_from(NO_DSMT)

    assert codes_of(claim, select=["DS001"]) == []
    assert codes_of(claim, select=["DS001"], extend_select=["DS002"]) == ["DS002"]
    assert codes_of(claim, select=["DS0"], ignore=["DS002"]) == []
    assert codes_of(claim, select=["DS002"], ignore=["DS0"]) == ["DS002"]


def test_unknown_selector_is_rejected_before_any_check() -> None:
    with pytest.raises(UnknownRuleError, match=r"^ignore: 'DS9' matches no rule"):
        check(claim_from(), ignore=["DS9"])


def test_bad_severity_level_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"^severity: 'loud' for DS002"):
        check(claim_from(), severity=["DS002=loud"])


def test_unknown_code_in_a_profile_severity_table_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "typo.toml"
    path.write_text('extends = "medicare"\n[severity]\nDS999 = "error"\n', encoding="utf-8")

    with pytest.raises(UnknownRuleError, match="'DS999' matches no rule"):
        ruleset(profile=path)


def test_unknown_profile_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown profile 'nope'"):
        check(claim_from(), profile="nope")


# --- rulesets ------------------------------------------------------------------------------------


def test_ruleset_is_compiled_once_per_options() -> None:
    a = ruleset(select=["DS0"], severity={"DS002": "warning"})
    b = ruleset(select=["DS0"], severity=["DS002=warning"])

    assert a is b
    assert a.enabled == frozenset(c for c in CODES if c.startswith("DS0"))
    assert a.severity_of("DS002") is Severity.WARNING
    assert a.severity_of("DS001") is Severity.ERROR


def test_ruleset_replaces_the_other_options() -> None:
    rs = ruleset(severity=["DS002=error"])
    claim = claim_from(NO_DSMT)

    report = check(claim, rules=rs, severity=["DS002=info"], ignore=["DS002"])

    assert report.codes == ("DS002",)
    assert report.status is Status.REJECT


def test_ruleset_with_mue_table_keeps_a_read_only_copy() -> None:
    table = {"G0109": 4}
    rs = ruleset(mue=table)
    table["G0109"] = 1

    assert rs.mue == {"G0109": 4}
    with pytest.raises(TypeError):
        rs.mue["G0109"] = 9  # type: ignore[index]
    assert ruleset().mue is None


# --- determinism and laziness --------------------------------------------------------------------


@pytest.mark.parametrize("patch", [{}, NO_DSMT])
def test_same_claim_gives_identical_reports(patch: dict[str, Any]) -> None:
    first = check(claim_from(patch))
    second = check(claim_from(patch))

    assert first == second
    assert first.to_dict() == second.to_dict()
    assert json.dumps(first.to_dict()) == json.dumps(second.to_dict())


def test_check_does_not_change_the_claim() -> None:
    claim = claim_from(NO_DSMT)
    before = claim.model_dump_json()

    check(claim)

    assert claim.model_dump_json() == before


def test_iter_findings_is_lazy() -> None:
    findings = iter_findings(claim_from(NO_DSMT), source="record 3")

    assert isinstance(findings, Iterator)
    first = next(findings)
    assert first.code == "DS002"
    assert first.source == "record 3"
    assert list(findings) == []


def test_check_many_yields_one_report_per_claim_in_order() -> None:
    claims = [
        claim_from({"claim_id": "A"}),
        claim_from({**NO_DSMT, "claim_id": "B"}),
        claim_from({"claim_id": "C", "beneficiary_id": "2EG4TE5MK74"}),
    ]  # C is another beneficiary: for the same one, C would repeat A's session (DS110)

    reports = list(check_many(claims))

    assert [r.claim_id for r in reports] == ["A", "B", "C"]
    assert [r.codes for r in reports] == [(), ("DS002",), ()]


def test_history_from_the_caller_is_accepted_and_an_mnt_on_another_day_is_fine() -> None:
    entries = Claim.model_validate(
        {**BASE_CLAIM, "history": [{"service_date": "2025-11-03", "hcpcs": "G0270", "units": 1}]}
    ).history

    report = check(claim_from(), history=entries)

    assert report.codes == ()
    assert report.status is Status.PASS


# --- the report contract -------------------------------------------------------------------------


def test_report_and_finding_are_frozen() -> None:
    report = check(claim_from(NO_DSMT))

    with pytest.raises(dataclasses.FrozenInstanceError):
        report.status = Status.REJECT  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.findings[0].message = "changed"  # type: ignore[misc]


def test_finding_to_dict_has_the_design_contract_keys_in_order() -> None:
    finding = check(claim_from(NO_DSMT), source="line 7").findings[0]

    data = finding.to_dict()

    assert list(data) == FINDING_KEYS
    assert data == {
        "code": "DS002",
        "name": "no-dsmt-lines",
        "severity": "info",
        "message": "No G0108/G0109 line on the claim (1 line(s)); no DSMT rule was checked.",
        "loc": ["lines"],
        "line_id": None,
        "source": "line 7",
        "citation": "HCPCS G0108/G0109 descriptors",
        "carc_hint": None,
        "url": "docs/rules/DS002-no-dsmt-lines.md",
        "ctx": {"lines": 1},
        "fix": None,
    }


def test_report_to_dict_is_the_design_contract() -> None:
    report = check(claim_from(NO_DSMT), record=4)

    data = report.to_dict()

    assert list(data) == ["record", "claim_id", "status", "findings"]
    assert data["record"] == 4
    assert data["claim_id"] == "C-1001"
    assert data["status"] == "pass"
    assert [list(f) for f in data["findings"]] == [FINDING_KEYS]
    assert json.loads(json.dumps(data)) == data


# --- unreadable records --------------------------------------------------------------------------


def invalid_document_report(
    *,
    record: int,
    problems: list[tuple[tuple[str | int, ...], str]],
    claim_id: str | None = None,
    source: str | None = None,
) -> Report:
    """The report the engine gives a record that could not be read."""
    (report,) = check_records([Record(record, None, tuple(problems), claim_id, source)])
    return report


def test_invalid_document_report_gives_one_ds001_per_problem() -> None:
    report = invalid_document_report(
        record=7,
        problems=[
            (("lines", 0, "units"), "Input should be a valid integer"),
            (("claim_idd",), "Extra inputs are not permitted"),
        ],
        claim_id="C-9",
        source="claims.jsonl:7",
    )

    assert report.record == 7
    assert report.claim_id == "C-9"
    assert report.status is Status.REJECT
    assert report.codes == ("DS001", "DS001")
    assert [f.message for f in report.findings] == [
        "Record 7: Input should be a valid integer (at lines.0.units).",
        "Record 7: Extra inputs are not permitted (at claim_idd).",
    ]
    assert [f.loc for f in report.findings] == [("lines", 0, "units"), ("claim_idd",)]
    first = report.findings[0]
    assert first.severity is Severity.ERROR
    assert first.name == "invalid-document"
    assert first.source == "claims.jsonl:7"
    assert first.carc_hint == "16"
    assert first.url == "docs/rules/DS001-invalid-document.md"


def test_invalid_document_without_a_location_or_problems() -> None:
    whole = invalid_document_report(record=2, problems=[((), "not valid JSON: Expecting value")])
    empty = invalid_document_report(record=3, problems=[])

    assert [f.message for f in whole.findings] == [
        "Record 2: not valid JSON: Expecting value (at the record)."
    ]
    assert [f.message for f in empty.findings] == ["Record 3: unreadable record (at the record)."]
    assert empty.status is Status.REJECT


def _mixed_records() -> list[Record]:
    return [
        Record(1, claim_from({"claim_id": "A"})),
        Record(2, None, (((), "not valid JSON: Expecting value"),)),
        Record(4, claim_from({**NO_DSMT, "claim_id": "B"}), source="s4"),
        Record(5, None, ((("lines", 0, "units"), "Input should be a valid integer"),), "C"),
    ]


def test_check_records_yields_one_report_per_record_in_order() -> None:
    reports = list(check_records(_mixed_records()))

    assert [(r.record, r.claim_id, r.codes, r.status) for r in reports] == [
        (1, "A", (), Status.PASS),
        (2, None, ("DS001",), Status.REJECT),
        (4, "B", ("DS002",), Status.PASS),
        (5, "C", ("DS001",), Status.REJECT),
    ]
    assert reports[2].findings[0].source == "s4"
    assert reports[3].findings[0].message == (
        "Record 5: Input should be a valid integer (at lines.0.units)."
    )


def test_check_records_accepts_a_function_returning_records() -> None:
    reports = list(check_records(_mixed_records))

    assert [r.record for r in reports] == [1, 2, 4, 5]


def test_ds001_cannot_be_deselected_or_downgraded() -> None:
    reports = list(
        check_records(_mixed_records(), ignore=["DS0"], severity=["DS001=info", "DS002=info"])
    )

    assert [r.codes for r in reports] == [(), ("DS001",), (), ("DS001",)]
    assert reports[1].findings[0].severity is Severity.ERROR
    assert reports[1].status is Status.REJECT
