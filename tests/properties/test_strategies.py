"""Properties of the integrator testing kit (dsmt_rules.strategies) and of the engine on its claims.

Bounded by the Hypothesis profile: `ci` (the default, used by `make test`) runs 40 examples per
property; `make fuzz` runs thousands.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dsmt_rules import Claim, Severity, Status, check
from dsmt_rules._codes import npi_is_valid
from dsmt_rules.catalog import CODES
from dsmt_rules.strategies import (
    COMPANIONS,
    VIOLATABLE_CODES,
    claims,
    diagnosis_codes,
    invalid_npis,
    npis,
)

NOT_VIOLATABLE = {"DS001", "DS002", "DS003", "DS004", "DS005", "DS109"}
"""No claim document breaks these: reading (DS001, DS003), the format (DS004), a defect of ours
(DS005), or a table the caller gives (DS109)."""


@given(claims())
def test_clean_claims_pass_with_no_findings(claim: Claim) -> None:
    report = check(claim)
    assert [f.code for f in report.findings] == []
    assert report.status is Status.PASS


@given(claims(hcpcs="G0108", phase="follow_up", form="institutional", min_lines=2, max_lines=4))
def test_clean_claims_honour_their_options(claim: Claim) -> None:
    assert {line.hcpcs for line in claim.lines} == {"G0108"}
    assert 2 <= len(claim.lines) <= 4
    assert claim.form == "institutional"
    assert claim.referral is not None
    assert claim.referral.training == "follow_up"
    assert check(claim).findings == ()


def test_every_rule_data_can_break_has_a_strategy() -> None:
    assert set(VIOLATABLE_CODES) == set(CODES) - NOT_VIOLATABLE
    assert set(COMPANIONS) == set(VIOLATABLE_CODES)


@pytest.mark.parametrize("code", VIOLATABLE_CODES)
@given(data=st.data())
def test_violating_claims_raise_that_code_and_only_documented_companions(
    code: str, data: st.DataObject
) -> None:
    claim = data.draw(claims(violating=code))
    found = {f.code for f in check(claim).findings}
    assert code in found
    assert found - {code} <= COMPANIONS[code]


def test_unknown_violating_code_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="DS999"):
        claims(violating="DS999")
    with pytest.raises(ValueError, match="DS001"):
        claims(violating="DS001")


@given(claims())
def test_json_round_trip_is_the_identity(claim: Claim) -> None:
    assert Claim.model_validate_json(claim.model_dump_json()) == claim


@given(st.one_of(claims(), *(claims(violating=c) for c in ("DS104", "DS308", "DS202", "DS501"))))
def test_reports_are_byte_identical_for_the_same_claim(claim: Claim) -> None:
    first = json.dumps(check(claim).to_dict(), sort_keys=False)
    again = Claim.model_validate_json(claim.model_dump_json())
    assert json.dumps(check(again).to_dict(), sort_keys=False) == first


@given(st.sampled_from(VIOLATABLE_CODES).flatmap(lambda code: claims(violating=code)))
def test_check_never_raises_and_errors_reject(claim: Claim) -> None:
    report = check(claim)
    if any(f.severity is Severity.ERROR for f in report.findings):
        assert report.status is Status.REJECT
    else:
        assert report.status in (Status.REVIEW, Status.PASS)


@given(npis())
def test_npis_are_valid(npi: str) -> None:
    assert npi_is_valid(npi)


@given(invalid_npis())
def test_invalid_npis_are_invalid(npi: str) -> None:
    assert not npi_is_valid(npi)


@given(diagnosis_codes())
def test_diagnosis_codes_are_billable_diabetes(code: str) -> None:
    from dsmt_rules import _icd10

    assert _icd10.is_billable(code)
    assert code.replace(".", "")[:3] in {"E08", "E09", "E10", "E11", "E13", "O24"}


@given(diagnosis_codes(diabetes=False))
def test_comorbidity_codes_are_billable(code: str) -> None:
    from dsmt_rules import _icd10

    assert _icd10.is_billable(code)


@given(st.from_type(Claim))
def test_from_type_works_with_no_setup(claim: Claim) -> None:
    assert check(claim).findings == ()


@pytest.mark.slow
@pytest.mark.parametrize("code", VIOLATABLE_CODES)
@given(data=st.data())
def test_fuzz_violating_claims(code: str, data: st.DataObject) -> None:
    """The same property as above; `make fuzz` runs it with thousands of examples."""
    claim = data.draw(claims(violating=code, max_lines=6))
    found = {f.code for f in check(claim).findings}
    assert code in found
    assert found - {code} <= COMPANIONS[code]


@given(claims(min_lines=3, max_lines=10))
def test_clean_claims_with_many_lines_stay_within_every_cap(claim: Claim) -> None:
    assert len(claim.lines) >= 3
    assert check(claim).findings == ()


def test_more_lines_than_a_follow_up_year_allows_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="min_lines=5"):
        claims(phase="follow_up", min_lines=5, max_lines=6)
