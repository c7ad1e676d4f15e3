"""Batch semantics as properties: order does not matter, and cap findings follow the units, not claims.

Batches are small (up to 3 beneficiaries, 4 claims each, 3 lines per claim) with dates drawn from a
short list that straddles the interesting boundaries (period ends, Dec 31 / Jan 1, same-day ties).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from dsmt_rules import Claim, Report, check_many
from dsmt_rules.rules._examples import BASE_CLAIM, apply_patch

DATES = (
    "2025-03-14",
    "2025-03-15",
    "2025-06-02",
    "2025-12-31",
    "2026-01-01",
    "2026-03-14",
    "2026-03-15",
    "2026-03-16",
    "2026-12-31",
    "2027-01-01",
)
CODES = ("G0108", "G0109", "G0109", "97802")
CAP_CODES = frozenset({"DS305", "DS401", "DS402", "DS403"})
_OVER = re.compile(r"\((\d+) over\)")


@st.composite
def lines(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "line_id": "0",
        "hcpcs": draw(st.sampled_from(CODES)),
        "units": draw(st.integers(1, 6)),
        "service_date": draw(st.sampled_from(DATES)),
        "place_of_service": "11",
        "diagnosis_pointers": [1],
    }


@st.composite
def referrals(draw: st.DrawFn, beneficiary: int) -> dict[str, Any]:
    return {
        "referral_id": f"R-{beneficiary}",
        "date": "2025-01-02",
        "training": draw(st.sampled_from(["initial", "follow_up"])),
        "hours_ordered": draw(st.sampled_from([2, 5, 10])),
        "individual_reason": draw(st.sampled_from([None, "no_group_within_2_months"])),
    }


@st.composite
def batches(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Claim documents of a batch: every claim of a beneficiary shares its referral and record."""
    docs: list[dict[str, Any]] = []
    for b in range(draw(st.integers(1, 3))):
        referral = draw(referrals(b))
        record = [
            {"service_date": day, "hcpcs": code, "units": units, "referral_id": rid}
            for day, code, units, rid in draw(
                st.lists(
                    st.tuples(
                        st.sampled_from(("2024-11-04", "2025-02-03", "2025-03-15")),
                        st.sampled_from(("G0108", "G0109")),
                        st.integers(1, 4),
                        st.sampled_from((None, f"R-{b}")),
                    ),
                    max_size=3,
                )
            )
        ]
        for _ in range(draw(st.integers(1, 4))):
            claim_lines = draw(st.lists(lines(), min_size=1, max_size=3))
            history = [e for e in record if draw(st.booleans())]
            docs.append(
                {
                    "beneficiary_id": f"B{b}",
                    "referral": referral,
                    "lines": claim_lines,
                    "history": history,
                }
            )
    return docs


def build(docs: Iterable[dict[str, Any]]) -> list[Claim]:
    """Claims with unique ids and line ids (the documents keep their order)."""
    claims = []
    for n, doc in enumerate(docs):
        numbered = [{**ln, "line_id": str(i + 1)} for i, ln in enumerate(doc["lines"])]
        patch = {**doc, "claim_id": f"C-{n:03d}", "lines": numbered, "sessions": []}
        claims.append(Claim.model_validate(apply_patch(BASE_CLAIM, patch)))
    return claims


def findings_by_claim(reports: Iterable[Report]) -> dict[str | None, list[tuple[Any, ...]]]:
    return {
        r.claim_id: [(f.code, f.message, f.loc, f.line_id) for f in r.findings] for r in reports
    }


def units_over(reports: Iterable[Report]) -> dict[str, int]:
    """The units over the caps that the cap findings of a batch report, per code."""
    total: dict[str, int] = dict.fromkeys(sorted(CAP_CODES), 0)
    for r in reports:
        for f in r.findings:
            if f.code in CAP_CODES:
                match = _OVER.search(f.message)
                assert match is not None, f.message
                total[f.code] += int(match.group(1))
    return total


@given(docs=batches(), data=st.data())
def test_shuffling_a_batch_leaves_every_claims_findings_unchanged(
    docs: list[dict[str, Any]], data: st.DataObject
) -> None:
    claims = build(docs)
    shuffled = data.draw(st.permutations(claims))

    expected = findings_by_claim(check_many(claims))
    got = findings_by_claim(check_many(shuffled))

    assert [r.claim_id for r in check_many(shuffled)] == [c.claim_id for c in shuffled]
    assert got == expected


@given(docs=batches(), data=st.data())
def test_moving_a_line_to_another_claim_of_the_beneficiary_keeps_the_units_over_the_caps(
    docs: list[dict[str, Any]], data: st.DataObject
) -> None:
    movable = [
        (i, j)
        for i, src in enumerate(docs)
        for j, dst in enumerate(docs)
        if i != j and src["beneficiary_id"] == dst["beneficiary_id"] and len(src["lines"]) > 1
    ]
    if not movable:
        docs = [*docs, {**docs[0], "lines": docs[0]["lines"][:1]}]
        docs[0] = {**docs[0], "lines": [*docs[0]["lines"], docs[0]["lines"][0]]}
        movable = [(0, len(docs) - 1)]
    src, dst = data.draw(st.sampled_from(movable))
    k = data.draw(st.integers(0, len(docs[src]["lines"]) - 1))
    moved = [dict(d) for d in docs]
    line = moved[src]["lines"][k]
    moved[src]["lines"] = [ln for n, ln in enumerate(docs[src]["lines"]) if n != k]
    moved[dst]["lines"] = [*docs[dst]["lines"], line]

    before = units_over(check_many(build(docs)))
    after = units_over(check_many(build(moved)))

    assert after == before
