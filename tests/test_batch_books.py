"""A beneficiary's claims in a batch share one book (dsmt_rules.history.Book, dsmt_rules.batch).

The equivalence with the per-claim ledger is a property test (tests/properties/
test_ledger_equivalence.py); here: the book is shared and released, a DS110 corner that only the
ledger's answers show, and a batch of 20 000 claims of one beneficiary (slow).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from typing import Any

import pytest

from dsmt_rules import Claim, check_many, load_profile
from dsmt_rules.history import BatchIndex, Match
from dsmt_rules.history._batch import KEEP_BOOKS_FROM
from dsmt_rules.rules._examples import BASE_CLAIM, apply_patch

PROFILE = load_profile("medicare")
_OVER = re.compile(r"\((\d+) over\)")


def claim(n: int, day: dt.date, *, beneficiary: str = "B-1", **fields: Any) -> Claim:
    """A claim with one G0109 line of 2 units and no session, under the base referral R-77."""
    doc = {
        "claim_id": f"C-{n:05d}",
        "beneficiary_id": beneficiary,
        "referral": {"date": "2024-12-02"},
        "lines": [
            {
                "line_id": "1",
                "hcpcs": "G0109",
                "units": 2,
                "service_date": day.isoformat(),
                "place_of_service": "11",
                "diagnosis_pointers": [1],
            }
        ],
        "sessions": [],
        **fields,
    }
    return Claim.model_validate(apply_patch(BASE_CLAIM, doc))


START = dt.date(2025, 1, 6)


def test_the_claims_of_a_beneficiary_with_many_services_share_one_book() -> None:
    claims = [claim(n, START + dt.timedelta(days=n)) for n in range(KEEP_BOOKS_FROM)]
    small = claim(99, START, beneficiary="B-2")
    index = BatchIndex(PROFILE)
    for seq, c in enumerate([*claims, small]):
        index.add(seq, c)

    first = index.ledger_for(0, claims[0], PROFILE)
    last = index.ledger_for(len(claims) - 1, claims[-1], PROFILE)
    small_seq = len(claims)

    assert last.book is first.book
    assert [s.seq for s in last.services if last.is_own(s)] == [len(claims) - 1]
    assert (
        index.ledger_for(small_seq, small, PROFILE).book
        is not index.ledger_for(small_seq, small, PROFILE).book
    )


def test_a_kept_book_is_dropped_once_the_beneficiarys_last_claim_is_passed() -> None:
    claims = [claim(n, START + dt.timedelta(days=n)) for n in range(KEEP_BOOKS_FROM)]
    index = BatchIndex(PROFILE)
    for seq, c in enumerate(claims):
        index.add(seq, c)
    book = index.ledger_for(0, claims[0], PROFILE).book

    index.factory(len(claims))  # pass 2 has moved past the beneficiary's last claim

    again = index.ledger_for(0, claims[0], PROFILE)
    assert again.book is not book
    assert again.book.services == book.services


def test_a_line_repeats_the_first_line_of_another_claim_even_after_two_of_its_own() -> None:
    """Claim A bills session S-1 on 2026-02-02, 02-03 and 02-20; claim B bills it on 02-10."""

    def on(day: str, session: str = "S-1") -> dict[str, Any]:
        return {
            "line_id": day[-2:],
            "hcpcs": "G0109",
            "units": 1,
            "service_date": day,
            "place_of_service": "11",
            "diagnosis_pointers": [1],
            "session_ids": [session],
        }

    a = claim(1, START, lines=[on("2026-02-02"), on("2026-02-03"), on("2026-02-20")])
    b = claim(2, START, lines=[on("2026-02-10")])
    index = BatchIndex(PROFILE)
    index.add(0, a)
    index.add(1, b)

    ledger = index.ledger_for(0, a, PROFILE)
    (b_line,) = [s for s in ledger.services if s.claim_id == "C-00002"]

    assert [ledger.earlier_duplicate(i) for i in range(3)] == [None, None, Match(b_line, "S-1")]
    assert index.ledger_for(1, b, PROFILE).earlier_duplicate(0) is not None


@pytest.mark.parametrize("n", [2_000, pytest.param(20_000, marks=pytest.mark.slow)])
def test_a_large_batch_of_one_beneficiary(n: int) -> None:
    """A test file with one placeholder beneficiary id: every cap is counted over all its claims.

    (Quadratic work per beneficiary made 20 000 such claims take about 18 minutes; the benchmark
    `benchmarks/bench_batch.py --one-beneficiary` measures it.)
    """
    days = [START + dt.timedelta(days=i % 730) for i in range(n)]
    claims = [claim(i, day) for i, day in enumerate(days)]
    period_end = dt.date(2026, 1, 5)  # the first service, 2025-01-06, opens the initial period
    initial_units = 2 * sum(1 for d in days if d <= period_end)
    follow_up_lines = Counter(d.year for d in days if d > period_end)

    reports = list(check_many(claims))

    over: Counter[str] = Counter()
    found: Counter[str] = Counter()
    for r in reports:
        for f in r.findings:
            found[f.code] += 1
            match = _OVER.search(f.message)
            if match is not None:
                over[f.code] += int(match.group(1))
    assert len(reports) == n
    assert over["DS401"] == initial_units - PROFILE.initial_max_units
    assert over["DS305"] == 2 * n - 20  # 10 hours ordered = 20 units, every line under R-77
    assert over["DS403"] == sum(
        2 * lines - PROFILE.follow_up_max_units_per_year for lines in follow_up_lines.values()
    )
    assert found["DS310"] == sum(follow_up_lines.values())  # an initial order in follow-up
    assert found["DS110"] == n - len(set(days))  # same code and date, no session: a duplicate
