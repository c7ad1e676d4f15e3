"""Every finding's message is one of its rule's literal templates, filled with exactly its ``ctx``.

Over claims built to break each rule (and clean ones, and small batches): the ``ctx`` values are
scalars, they are exactly the fields of one template of the rule, that template filled with them is
the message, and neither the message nor ``ctx`` carries the beneficiary id.
"""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from dsmt_rules import Claim, Finding, check, check_many, rule_for
from dsmt_rules.strategies import VIOLATABLE_CODES, claims

SCALARS = (str, int, float, bool, type(None))


def _fields(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}


def _assert_rendered(finding: Finding, claim: Claim) -> None:
    assert all(isinstance(v, SCALARS) for v in finding.ctx.values()), finding.ctx
    templates = rule_for(finding.code).templates()
    matching = [
        name
        for name, template in templates.items()
        if _fields(template) == set(finding.ctx)
        and template.format_map(finding.ctx) == finding.message
    ]
    assert matching, f"{finding.code}: no template gives {finding.message!r} from {finding.ctx}"
    assert claim.beneficiary_id not in finding.message
    assert all(claim.beneficiary_id not in str(v) for v in finding.ctx.values())


@given(st.sampled_from(VIOLATABLE_CODES).flatmap(lambda code: claims(violating=code)))
def test_messages_of_broken_claims_are_their_templates(claim: Claim) -> None:
    report = check(claim)
    assert report.findings
    for finding in report.findings:
        _assert_rendered(finding, claim)


@given(st.lists(claims(), min_size=2, max_size=4), st.data())
def test_messages_in_a_batch_are_their_templates(batch: list[Claim], data: st.DataObject) -> None:
    # One beneficiary: the claims are history for each other (duplicates, caps, phases).
    beneficiary = batch[0].beneficiary_id
    same = [c.model_copy(update={"beneficiary_id": beneficiary}) for c in batch]
    for claim, report in zip(same, check_many(same), strict=True):
        for finding in report.findings:
            _assert_rendered(finding, claim)
