"""Properties of ``dsmt-rules fix`` on the strategies' claims (docs/fixes.md).

For every code whose rule has a fix: a claim built to break it (``claims(violating=code)``),
fixed and checked again, raises that code no more when every finding of it had a fix that was
applied, and raises no error code it did not raise before. With ``unsafe=True`` the
same holds for the cap rules' unsafe fixes, except that a fix never removes a claim's last line.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dsmt_rules import Claim, Severity, check
from dsmt_rules.engine import ruleset
from dsmt_rules.findings import Applicability
from dsmt_rules.fix import fix_inputs
from dsmt_rules.strategies import claims

SAFE_CODES = ("DS103", "DS104", "DS106", "DS110")
"""The codes whose fixes are safe (all of DS104's and DS106's; DS103's and DS110's in the usual
case: a line whose time supports no unit, or a duplicate that is not an exact copy, is unsafe)."""
UNSAFE_CODES = ("DS305", "DS401", "DS403")
RULES = ruleset()


def _fixed(claim: Claim, *, unsafe: bool) -> Claim:
    result = fix_inputs(
        [("claim.jsonl", claim.model_dump_json().encode() + b"\n")], rules=RULES, unsafe=unsafe
    )
    return Claim.model_validate_json(result.fixed[0])


def _errors(claim: Claim) -> set[str]:
    return {f.code for f in check(claim).findings if f.severity is Severity.ERROR}


@pytest.mark.parametrize("code", SAFE_CODES)
@given(data=st.data())
def test_safe_fixes_repair_the_code_and_raise_no_new_error(code: str, data: st.DataObject) -> None:
    claim = data.draw(claims(violating=code))
    before = check(claim)
    ours = [f for f in before.findings if f.code == code]
    assert ours  # the strategy breaks the code
    fixed = _fixed(claim, unsafe=False)
    after = {f.code for f in check(fixed).findings}
    if all(f.fix is not None and f.fix.applicability is Applicability.SAFE for f in ours):
        assert code not in after
    else:  # a finding with no fix, or with an unsafe one (not applied without unsafe=True), stays
        assert code in after
    assert _errors(fixed) <= _errors(claim)


@pytest.mark.parametrize("code", UNSAFE_CODES)
@given(data=st.data())
def test_unsafe_fixes_apply_only_when_asked_and_raise_no_new_error(
    code: str, data: st.DataObject
) -> None:
    claim = data.draw(claims(violating=code))
    ours = [f for f in check(claim).findings if f.code == code]
    assert ours
    assert all(f.fix is not None and f.fix.applicability is Applicability.UNSAFE for f in ours)
    assert _fixed(claim, unsafe=False) == claim
    fixed = _fixed(claim, unsafe=True)
    assert _errors(fixed) <= _errors(claim)
    removals = sum(1 for f in ours if f.fix is not None and f.fix.edits[0].removes)
    if removals < len(claim.lines):
        assert code not in {f.code for f in check(fixed).findings}
    else:  # every line is over: a fix never removes a claim's last line (void the claim)
        assert fixed.lines
        assert code in {f.code for f in check(fixed).findings}
