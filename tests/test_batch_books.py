"""A batch in one pass: grouped by beneficiary, spilled past its memory bound, back in input order.

The equivalence with the per-claim ledger is a property test (tests/properties/
test_ledger_equivalence.py); here: spilled and held batches report alike and leave no files, a
DS110 corner that only the ledger's answers show, and a batch of claims of one beneficiary.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from dsmt_rules import Claim, check_many, load_profile
from dsmt_rules.history import Book, Ledger, Match, facts_of
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


def _batch(n: int) -> list[Claim]:
    """``n`` claims of 30 beneficiaries, a week apart per beneficiary."""
    return [
        claim(i, START + dt.timedelta(days=7 * (i // 30)), beneficiary=f"B-{i % 30}")
        for i in range(n)
    ]


def test_a_spilled_batch_reports_as_one_held_in_memory(tmp_path: Path) -> None:
    batch = _batch(450)

    held = list(check_many(batch))
    spilled = list(check_many(batch, memory=2_000, temp_dir=str(tmp_path)))

    assert spilled == held
    assert {code for r in held for code in r.codes} >= {"DS305", "DS401"}
    assert list(tmp_path.iterdir()) == []  # the runs are deleted when the batch ends


def test_past_the_bound_the_batch_spills_runs(tmp_path: Path) -> None:
    batch = _batch(120)
    seen: list[int] = []
    reports = check_many(batch, memory=2_000, temp_dir=str(tmp_path))
    first = next(reports)  # every record has been read: the runs are on disk
    for folder in tmp_path.iterdir():
        seen.append(len(list(folder.iterdir())))
    rest = list(reports)

    assert first.claim_id == "C-00000"
    assert len(rest) == 119
    assert seen
    assert seen[0] > 2


def test_reports_come_back_in_input_order_whatever_the_grouping() -> None:
    batch = _batch(90)
    shuffled = batch[::-1]

    assert [r.claim_id for r in check_many(shuffled, memory=1)] == [c.claim_id for c in shuffled]


def _ledger_of(claims: list[Claim], seq: int) -> Ledger:
    facts = [facts_of(c, PROFILE, seq=i) for i, c in enumerate(claims)]
    return Ledger(Book.of(facts, PROFILE), facts[seq])


def _on(day: str, session: str = "S-1") -> dict[str, Any]:
    return {
        "line_id": day[-2:],
        "hcpcs": "G0109",
        "units": 1,
        "service_date": day,
        "place_of_service": "11",
        "diagnosis_pointers": [1],
        "session_ids": [session],
    }


def test_a_weekly_class_that_reuses_a_session_id_repeats_nothing() -> None:
    """A session is its id and its date: S-1 on 02-02, 02-09 and 02-16 is three sessions."""
    a = claim(1, START, lines=[_on("2026-02-02"), _on("2026-02-16")])
    b = claim(2, START, lines=[_on("2026-02-09")])

    assert [_ledger_of([a, b], 0).earlier_duplicate(i) for i in range(2)] == [None, None]
    assert _ledger_of([a, b], 1).earlier_duplicate(0) is None
    assert "DS110" not in {c for r in check_many([a, b]) for c in r.codes}


def test_the_same_session_on_the_same_day_on_two_claims_is_a_duplicate() -> None:
    a = claim(1, START, lines=[_on("2026-02-02"), _on("2026-02-09")])
    b = claim(2, START, lines=[_on("2026-02-09")])

    ledger = _ledger_of([a, b], 1)
    (a_line,) = [s for s in ledger.services if s.claim_id == "C-00001" and s.line == 1]
    assert ledger.earlier_duplicate(0) == Match(a_line, "S-1")
    reports = list(check_many([a, b]))
    assert [r.codes.count("DS110") for r in reports] == [0, 1]


@pytest.mark.parametrize("n", [2_000, pytest.param(100_000, marks=pytest.mark.slow)])
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
