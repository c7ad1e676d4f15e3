"""The book-and-view ledger gives exactly what the per-claim ledger gave, for any batch.

``dsmt_rules.history.Ledger`` computes a beneficiary's results once (a ``Book``) and gives each
claim a view of them. The reference (tests/reference_ledger.py) is the ledger as first written: a
claim's ledger built from all of its beneficiary's services, for every claim. Checking a batch
with either must give equal reports (codes, messages, loc, line ids, order), and the two ledgers
must answer every question the rules ask alike.

Why not compare with ``check(claim, history=<the other claims' lines>)``: it is not the same thing.
A line of another claim in the batch carries its claim id, line id, sessions and order; as a
history entry it would carry none of them (DS110 would match it by date, not by session, and name
"the beneficiary's history" instead of "claim C-1, line 1"), and it would sort before the claims
of its date instead of by claim id.

Batches are small: up to 3 beneficiaries, 5 claims each, 4 lines per claim, with dates, codes,
session ids and referral ids drawn from short lists so that they collide (ties, duplicates, MNT on
the same day, services on record that are lines of the batch, conflicting trainings of a referral).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dsmt_rules import Claim, HistoryEntry, Profile, check, check_many, load_profile
from dsmt_rules.history import Book, Ledger, facts_of
from dsmt_rules.rules._examples import BASE_CLAIM, apply_patch
from dsmt_rules.strategies import claims, histories
from reference_ledger import ReferenceLedger, reference_ledgers, reference_report, reference_reports

MEDICARE = load_profile("medicare")
NOT_IN_END_YEAR = MEDICARE.model_copy(update={"follow_up_in_initial_end_year": False})
PROFILES = [MEDICARE, NOT_IN_END_YEAR]

DATES = (
    "2024-12-30",
    "2025-03-14",
    "2025-03-15",
    "2025-06-02",
    "2025-12-31",
    "2026-01-01",
    "2026-03-14",
    "2026-03-15",
    "2026-12-31",
    "2027-01-01",
)
CODES = ("G0108", "G0109", "G0109", "97802", "G0270", "99213")
SESSIONS = ("S-1", "S-2", "S-3")
REFERRAL_IDS = ("R-a", "R-b", None)


@st.composite
def line_docs(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "line_id": "0",
        "hcpcs": draw(st.sampled_from(CODES)),
        "units": draw(st.integers(-1, 6)),
        "service_date": draw(st.sampled_from(DATES)),
        "place_of_service": "11",
        "diagnosis_pointers": [1],
        "session_ids": draw(st.lists(st.sampled_from(SESSIONS), max_size=2)),
    }


@st.composite
def referral_docs(draw: st.DrawFn) -> dict[str, Any] | None:
    if draw(st.integers(0, 9)) == 0:
        return None  # the patch removes the base claim's referral
    return {
        "referral_id": draw(st.sampled_from(REFERRAL_IDS)),
        "date": "2024-12-02",
        "training": draw(st.sampled_from(["initial", "follow_up"])),
        "hours_ordered": draw(st.sampled_from([1, 2, 5, 10])),
        "individual_reason": draw(st.sampled_from([None, "no_group_within_2_months"])),
    }


@st.composite
def record_entries(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "service_date": draw(st.sampled_from(("2024-11-04", "2025-03-14", *DATES[:6]))),
        "hcpcs": draw(st.sampled_from(("G0108", "G0109", "97802"))),
        "units": draw(st.integers(0, 4)),
        "referral_id": draw(st.sampled_from(REFERRAL_IDS)),
    }


@st.composite
def batch_docs(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Claim documents: beneficiaries share a pool of services on record that claims list."""
    docs: list[dict[str, Any]] = []
    for b in range(draw(st.integers(1, 3))):
        pool = draw(st.lists(record_entries(), max_size=4))
        for _ in range(draw(st.integers(1, 5))):
            picks = draw(st.lists(st.integers(0, len(pool) - 1), max_size=3)) if pool else []
            lines = draw(st.lists(line_docs(), min_size=1, max_size=4))
            reuse_id = bool(docs) and draw(st.integers(0, 9)) == 0
            docs.append(
                {
                    "claim_id": docs[0]["claim_id"] if reuse_id else f"C-{len(docs):03d}",
                    "beneficiary_id": f"B{b}",
                    "referral": draw(referral_docs()),
                    "lines": [{**ln, "line_id": str(i + 1)} for i, ln in enumerate(lines)],
                    "sessions": [],
                    "history": [pool[i] for i in picks],
                }
            )
    return docs


def build(docs: list[dict[str, Any]]) -> list[Claim]:
    return [Claim.model_validate(apply_patch(BASE_CLAIM, doc)) for doc in docs]


def _shift(day: str, days: int) -> str:
    return (dt.date.fromisoformat(day) + dt.timedelta(days=days)).isoformat()


@st.composite
def generated_batches(draw: st.DrawFn) -> list[Claim]:
    """Realistic claims (``dsmt_rules.strategies.claims``) given two beneficiaries, histories, a
    few shared referral ids, and dates shifted so that claims start on the same few days."""
    out: list[Claim] = []
    for n in range(draw(st.integers(2, 6))):
        doc = draw(claims(max_lines=3)).model_dump(mode="json")
        first = dt.date.fromisoformat(doc["lines"][0]["service_date"])
        anchor = dt.date.fromisoformat(draw(st.sampled_from(("2025-03-03", "2025-05-05"))))
        days = (anchor - first).days + draw(st.sampled_from((0, 0, 7, 365)))
        renamed: dict[str, str] = {}
        for session in doc["sessions"]:
            session["date"] = _shift(session["date"], days)
            old = session["session_id"]
            session["session_id"] = renamed[old] = f"S-{session['date']}-{old.rsplit('-', 1)[1]}"
        for line in doc["lines"]:
            line["service_date"] = _shift(line["service_date"], days)
            line["session_ids"] = [renamed.get(sid, sid) for sid in line["session_ids"]]
        doc["referral"]["date"] = _shift(doc["referral"]["date"], days)
        rid = draw(st.sampled_from(("R-1", "R-2", doc["referral"]["referral_id"])))
        doc["referral"]["referral_id"] = rid
        record = draw(histories(before=dt.date.fromisoformat(doc["lines"][0]["service_date"])))
        doc["history"] = [
            {**e.model_dump(mode="json"), "referral_id": rid if draw(st.booleans()) else None}
            for e in record
        ]
        doc["beneficiary_id"] = draw(st.sampled_from(("B-1", "B-2")))
        doc["claim_id"] = f"C-{n}"
        out.append(Claim.model_validate(doc))
    return out


# --- whole reports ------------------------------------------------------------------------------


@pytest.mark.parametrize("memory", [1, 1 << 30], ids=["spilled", "in-memory"])
@pytest.mark.parametrize("profile", PROFILES, ids=["medicare", "no-follow-up-in-end-year"])
@given(docs=batch_docs())
def test_batch_reports_equal_the_per_claim_reference(
    profile: Profile, memory: int, docs: list[dict[str, Any]]
) -> None:
    batch = build(docs)

    got = list(check_many(batch, profile=profile, memory=memory))
    assert got == reference_reports(batch, profile=profile)


@given(batch=generated_batches())
def test_reports_of_generated_batches_equal_the_per_claim_reference(batch: list[Claim]) -> None:
    assert list(check_many(batch)) == reference_reports(batch)


@given(docs=batch_docs(), data=st.data())
def test_a_claim_with_a_history_argument_is_reported_as_by_the_reference(
    docs: list[dict[str, Any]], data: st.DataObject
) -> None:
    claim, *others = build(docs)
    extra = [
        HistoryEntry.model_validate(e)
        for e in data.draw(st.lists(record_entries(), max_size=4))
        + [e for other in others for e in other.model_dump(mode="json")["history"]]
    ]

    assert check(claim, history=extra) == reference_report(claim, extra)
    assert check(claim) == reference_report(claim)


# --- the ledgers' answers -------------------------------------------------------------------------


def answers(ledger: Ledger | ReferenceLedger, claim: Claim) -> dict[str, object]:
    """Everything a rule can ask a ledger about the claim, and then some."""
    lines = range(len(claim.lines) + 1)  # one index past the end: not a line
    own_id = claim.referral.referral_id if claim.referral else None
    return {
        "services": ledger.services,
        "own": [ledger.is_own(s) for s in ledger.services],
        "own_history": [
            (e.service_date, e.hcpcs, e.units, e.referral_id) for e in ledger.own_history
        ],
        "period": ledger.initial_period,
        "phases": [ledger.phase_of_line(i) for i in lines],
        "initial": ledger.initial_overages(),
        "individual": ledger.individual_overages(),
        "follow_up": ledger.follow_up_overages(),
        "follow_up_caps": [ledger.follow_up_cap(y) for y in (2024, 2025, 2026, 2027)],
        "referral": {
            (rid, cap): ledger.referral_overages(rid, cap)
            for rid in {own_id, *REFERRAL_IDS, "R-unknown"}
            for cap in (0, 3, 20)
        },
        "duplicates": [ledger.earlier_duplicate(i) for i in lines],
        "mnt": dict(ledger.mnt_codes_by_date),
    }


@pytest.mark.parametrize("profile", PROFILES, ids=["medicare", "no-follow-up-in-end-year"])
@given(docs=batch_docs())
def test_every_claims_view_answers_as_the_reference_ledger(
    profile: Profile, docs: list[dict[str, Any]]
) -> None:
    batch = build(docs)
    facts = [facts_of(claim, profile, seq=seq) for seq, claim in enumerate(batch)]
    books = {
        b: Book.of([f for f, c in zip(facts, batch, strict=True) if c.beneficiary_id == b], profile)
        for b in {c.beneficiary_id for c in batch}
    }
    reference = reference_ledgers(batch, profile)
    for seq, claim in enumerate(batch):
        got = Ledger(books[claim.beneficiary_id], facts[seq])
        assert answers(got, claim) == answers(reference[seq](claim, profile), claim)
