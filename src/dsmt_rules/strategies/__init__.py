"""Hypothesis strategies for DSMT claims: realistic valid claims, and claims that break one named rule.

Install with ``pip install 'dsmt-rules[hypothesis]'``. The strategies are registered through
Hypothesis' entry point, so ``st.from_type(Claim)`` works with no setup.

>>> from hypothesis import given
>>> from dsmt_rules import check
>>> from dsmt_rules.strategies import claims
>>> @given(claims())
... def test_clean_claims_pass(claim):
...     assert check(claim).status == "pass"

Every generated value passes model validation: Luhn-valid NPIs, billable ICD-10-CM codes, coherent
dates (referral on or before the first service, sessions on the line's date), realistic sizes. A
generated value that fails validation is a bug in this package.

``claims(violating="DS104")`` builds claims that raise DS104, plus at most the rule's declared
companion codes (:data:`COMPANIONS`, from each rule's ``companions``); nothing else. Each rule's
breaker is the function named after it in ``dsmt_rules.strategies._breakers``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from hypothesis import strategies as st

from dsmt_rules.catalog import rule_for
from dsmt_rules.models import Claim, ClaimForm, Training
from dsmt_rules.profiles import Profile
from dsmt_rules.strategies._breakers import BREAKERS
from dsmt_rules.strategies._parts import (
    Phase,
    accreditations,
    billing_providers,
    clean_claims,
    diagnosis_codes,
    histories,
    instructors,
    invalid_npis,
    lines,
    npis,
    profile_of,
    referrals,
    sessions,
    unit_budget,
)

__all__ = [
    "COMPANIONS",
    "VIOLATABLE_CODES",
    "accreditations",
    "billing_providers",
    "claims",
    "diagnosis_codes",
    "histories",
    "instructors",
    "invalid_npis",
    "lines",
    "npis",
    "referrals",
    "sessions",
]

VIOLATABLE_CODES: tuple[str, ...] = tuple(sorted(BREAKERS))
"""The codes ``claims(violating=...)`` supports: every rule that claim data alone can break.

Not here: DS001 (an unreadable document is not a Claim), DS002 (a claim without DSMT lines: use
``claims()`` and drop the lines yourself), DS003 (X12 structure), DS004 (a claim read from an 837
or a FHIR Claim) and DS109 (needs an MUE table).
"""

COMPANIONS: Mapping[str, frozenset[str]] = {
    code: rule_for(code).companions for code in VIOLATABLE_CODES
}
"""For each code of :data:`VIOLATABLE_CODES`: the other codes its claims may also raise (the rule's
``companions``)."""


def claims(
    *,
    violating: str | None = None,
    hcpcs: str | None = None,
    min_lines: int = 1,
    max_lines: int = 3,
    phase: Phase | None = None,
    form: ClaimForm | Literal["professional", "institutional"] | None = None,
    profile: str | Profile = "medicare",
) -> st.SearchStrategy[Claim]:
    """Realistic claims that pass every rule, or (``violating="DS104"``) that break that one rule.

    Args:
        violating: a code from :data:`VIOLATABLE_CODES`; the claims raise it, plus only the codes in
            ``COMPANIONS[code]``.
        hcpcs: ``"G0108"`` or ``"G0109"`` to bill only that code (default: a mix).
        min_lines, max_lines: how many DSMT lines (1 to 10).
        phase: ``"initial"`` or ``"follow_up"`` training (default: either).
        form: ``"professional"`` or ``"institutional"`` (default: either).
        profile: the profile whose numbers the claims respect.
    """
    p = profile_of(profile)
    if not 1 <= min_lines <= max_lines <= 10:
        raise ValueError("claims(): need 1 <= min_lines <= max_lines <= 10")
    if hcpcs is not None and hcpcs not in p.dsmt_codes:
        raise ValueError(f"claims(): hcpcs must be one of {sorted(p.dsmt_codes)}")
    claim_form = ClaimForm(form) if form is not None else None
    kinds = [Training(phase)] if phase else list(Training)
    if all(unit_budget(kind, p) < min_lines for kind in kinds):
        raise ValueError(
            f"claims(): min_lines={min_lines} is more lines than a clean "
            f"{'/'.join(k.value for k in kinds)} claim can bill (one unit each)"
        )
    base = clean_claims(
        hcpcs=hcpcs,
        min_lines=min_lines,
        max_lines=max_lines,
        phase=phase,
        form=claim_form,
        profile=p,
    )
    if violating is None:
        return base
    breaker = BREAKERS.get(violating.strip().upper())
    if breaker is None:
        raise ValueError(
            f"claims(violating={violating!r}): not a code claim data can violate; "
            f"use one of {', '.join(VIOLATABLE_CODES)}"
        )
    accept = breaker.accept
    start = base if accept is None else base.filter(lambda claim: accept(claim, p))

    @st.composite
    def _violating(draw: st.DrawFn) -> Claim:
        return breaker.mutate(draw, draw(start), p)

    return _violating()
