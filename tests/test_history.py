"""The beneficiary ledger (dsmt_rules.history) and the batch passes (dsmt_rules.batch, engine)."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from dsmt_rules import Claim, Record, check_many, check_records, load_profile
from dsmt_rules.adapters.jsonl import read_records
from dsmt_rules.history import Book, Ledger, Period, Phase, facts_of, initial_period_from
from dsmt_rules.history._ledger import RECORD
from dsmt_rules.models import HistoryEntry, Training
from dsmt_rules.rules._examples import BASE_CLAIM, apply_patch
from helpers import claim_from

PROFILE = load_profile("medicare")
D = dt.date.fromisoformat


def entries(*rows: tuple[str, str, int] | tuple[str, str, int, str]) -> list[HistoryEntry]:
    return [
        HistoryEntry(
            service_date=D(r[0]), hcpcs=r[1], units=r[2], referral_id=r[3] if len(r) > 3 else None
        )
        for r in rows
    ]


def line(line_id: str, day: str, units: int = 2, code: str = "G0109") -> dict[str, Any]:
    return {
        "line_id": line_id,
        "hcpcs": code,
        "units": units,
        "service_date": day,
        "diagnosis_pointers": [1],
        "place_of_service": "11",
    }


def claim_of(*lines: dict[str, Any], **fields: Any) -> Claim:
    return claim_from({"lines": list(lines), "sessions": [], **fields})


# --- the initial period -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2025-03-15", "2026-03-14"),
        ("2025-10-06", "2026-10-05"),
        ("2024-02-29", "2025-02-28"),
        ("2024-03-01", "2025-02-28"),
        ("2025-01-01", "2025-12-31"),
        ("2025-01-31", "2026-01-30"),
        ("2023-03-01", "2024-02-29"),
    ],
)
def test_initial_period_ends_the_day_before_the_same_day_twelve_months_later(
    start: str, end: str
) -> None:
    assert initial_period_from(D(start), 12) == Period(D(start), D(end))


def test_initial_period_length_is_a_parameter() -> None:
    assert initial_period_from(D("2025-08-31"), 6).end == D("2026-02-28")


# --- phases -----------------------------------------------------------------------------------------


def test_the_first_dsmt_service_on_record_opens_the_initial_period() -> None:
    claim = claim_of(line("1", "2026-03-14"), line("2", "2026-03-15"))
    ledger = Ledger.for_claim(claim, PROFILE, history=entries(("2025-03-15", "G0109", 2)))

    assert ledger.initial_period == Period(D("2025-03-15"), D("2026-03-14"))
    assert ledger.phase_of_line(0) == Phase(Training.INITIAL)
    assert ledger.phase_of_line(1) == Phase(Training.FOLLOW_UP, 2026)


def test_mnt_services_do_not_open_the_initial_period() -> None:
    claim = claim_of(line("1", "2026-02-02"))
    ledger = Ledger.for_claim(claim, PROFILE, history=entries(("2024-01-08", "97802", 2)))

    assert ledger.initial_period == Period(D("2026-02-02"), D("2027-02-01"))


def test_a_follow_up_order_with_nothing_on_record_opens_no_initial_period() -> None:
    claim = claim_of(line("1", "2026-02-02"), referral={"training": "follow_up"})
    ledger = Ledger.for_claim(claim, PROFILE)

    assert ledger.initial_period is None
    assert ledger.phase_of_line(0) == Phase(Training.FOLLOW_UP, 2026)


def test_a_service_on_record_under_a_known_follow_up_referral_is_follow_up() -> None:
    claim = claim_of(line("1", "2026-05-04"), referral={"training": "follow_up"})
    known = Ledger.for_claim(claim, PROFILE, history=entries(("2026-02-02", "G0109", 2, "R-77")))
    unknown = Ledger.for_claim(claim, PROFILE, history=entries(("2026-02-02", "G0109", 2, "R-5")))

    assert known.initial_period is None
    assert unknown.initial_period == Period(D("2026-02-02"), D("2027-02-01"))
    assert unknown.phase_of_line(0) == Phase(Training.INITIAL)


def test_phase_of_a_line_that_is_not_dsmt_is_none() -> None:
    claim = claim_of(line("1", "2026-02-02"), line("2", "2026-02-02", code="99213"))
    assert Ledger.for_claim(claim, PROFILE).phase_of_line(1) is None


# --- the record: views merged, lines of the batch win ----------------------------------------------


def test_views_of_the_record_are_merged_not_added() -> None:
    claim = claim_from({"history": [{"service_date": "2025-11-03", "hcpcs": "G0109", "units": 2}]})
    same = entries(("2025-11-03", "G0109", 2))
    ledger = Ledger.for_claim(claim, PROFILE, history=[*same, *entries(("2025-11-10", "G0109", 2))])

    on_record = [(s.service_date, s.units) for s in ledger.services if s.claim_id == RECORD]
    assert on_record == [(D("2025-11-03"), 2), (D("2025-11-10"), 2)]


def test_one_view_listing_a_service_twice_counts_it_twice() -> None:
    twice = entries(("2025-11-03", "G0109", 2), ("2025-11-03", "G0109", 2))
    ledger = Ledger.for_claim(claim_from(), PROFILE, history=twice)

    assert sum(1 for s in ledger.services if s.claim_id == RECORD) == 2


def test_a_service_on_record_with_the_date_code_and_units_of_a_line_is_that_line() -> None:
    claim = claim_from()  # G0109, 2 units, 2026-02-02
    ledger = Ledger.for_claim(claim, PROFILE, history=entries(("2026-02-02", "G0109", 2)))

    assert [s.claim_id for s in ledger.services] == ["C-1001"]
    assert [tuple(e) for e in ledger.own_history] == [
        (e.service_date, e.hcpcs, e.units, e.referral_id)
        for e in entries(("2026-02-02", "G0109", 2))
    ]


def batch_ledger(
    claims: list[Claim], seq: int, history: list[HistoryEntry] | None = None
) -> Ledger:
    """The ledger the kernel gives claim ``seq`` of a batch: one book per beneficiary."""
    facts = [
        facts_of(c, PROFILE, seq=i, history=history if i == seq and history else ())
        for i, c in enumerate(claims)
    ]
    beneficiary = claims[seq].beneficiary_id
    mine = [f for f, c in zip(facts, claims, strict=True) if c.beneficiary_id == beneficiary]
    return Ledger(Book.of(mine, PROFILE), facts[seq])


def test_ledger_order_is_date_then_record_then_claim_id_then_line() -> None:
    batch = [
        claim_of(line("1", "2026-02-02"), line("2", "2026-01-05"), claim_id="C-B"),
        claim_of(line("1", "2026-02-02"), claim_id="C-A"),
        claim_of(line("1", "2026-02-02"), claim_id="C-C"),
    ]
    ledger = batch_ledger(batch, 2)
    ledger_with_history = batch_ledger(batch, 2, entries(("2026-02-02", "G0108", 1)))

    assert [(s.claim_id, s.line) for s in ledger.services] == [
        ("C-B", 1),
        ("C-A", 0),
        ("C-B", 0),
        ("C-C", 0),
    ]
    assert [s.claim_id for s in ledger_with_history.services] == [
        "C-B",
        RECORD,
        "C-A",
        "C-B",
        "C-C",
    ]


# --- a claim's facts ------------------------------------------------------------------------------


def test_facts_keep_the_dsmt_and_mnt_lines_as_services_and_the_dsmt_lines() -> None:
    claim = claim_of(
        line("1", "2026-02-02"),
        line("2", "2026-02-02", code="99213"),
        line("3", "2026-02-09", code="97802"),
    )
    facts = facts_of(claim, PROFILE, seq=4)

    assert [(s.line, s.hcpcs, s.seq) for s in facts.services] == [(0, "G0109", 4), (2, "97802", 4)]
    assert [(i, f.line_id) for i, f in facts.dsmt_lines] == [(0, "1")]
    assert facts.referral is not None
    assert facts.referral.training is Training.INITIAL


def test_conflicting_trainings_for_one_referral_id_are_not_known() -> None:
    history = [{"service_date": "2025-06-02", "hcpcs": "G0109", "units": 2, "referral_id": "R-77"}]
    follow_up = claim_of(line("1", "2026-02-02"), referral={"training": "follow_up"})
    ledger = batch_ledger([follow_up, claim_of(line("1", "2026-03-02"), history=history)], 0)

    (on_record,) = [s for s in ledger.services if s.claim_id == RECORD]
    assert on_record.training is None
    assert ledger.initial_period == Period(D("2025-06-02"), D("2026-06-01"))


# --- the engine's passes ----------------------------------------------------------------------------


def _jsonl(*docs: dict[str, Any] | str) -> bytes:
    return b"".join((d if isinstance(d, str) else json.dumps(d)).encode() + b"\n" for d in docs)


BIG = apply_patch(BASE_CLAIM, {"claim_id": "A", "lines": [line("1", "2026-02-02", 19)]})
SMALL = apply_patch(BASE_CLAIM, {"claim_id": "B", "lines": [line("1", "2026-02-09", 2)]})


def test_check_records_reads_a_source_once() -> None:
    data = _jsonl(SMALL, "{not json", BIG)
    opened: list[int] = []

    def source() -> Iterator[Record]:
        opened.append(1)
        yield from read_records(io.BufferedReader(io.BytesIO(data)))

    reports = list(check_records(source, select=["DS4"]))

    assert len(opened) == 1
    assert [(r.record, r.claim_id, r.codes) for r in reports] == [
        (1, "B", ("DS401",)),
        (2, None, ("DS001",)),
        (3, "A", ()),
    ]


def test_check_records_takes_a_one_shot_iterator() -> None:
    data = _jsonl(SMALL, BIG)
    records = read_records(io.BufferedReader(io.BytesIO(data)))

    reports = list(check_records(records, select=["DS4"]))

    assert [r.codes for r in reports] == [("DS401",), ()]


def test_check_many_is_one_lazy_pass_when_no_rule_reads_history() -> None:
    pulled: list[str] = []

    def claims() -> Iterator[Claim]:
        for cid in ("A", "B", "C"):
            pulled.append(cid)
            yield claim_from({"claim_id": cid})

    reports = check_many(claims(), select=["DS1"], ignore=["DS110"])
    first = next(reports)

    assert (first.claim_id, pulled) == ("A", ["A"])
    assert [r.claim_id for r in reports] == ["B", "C"]


def test_check_many_accepts_a_function_that_returns_the_claims() -> None:
    calls: list[int] = []

    def claims() -> list[Claim]:
        calls.append(1)
        return [Claim.model_validate(SMALL), Claim.model_validate(BIG)]

    assert [r.codes for r in check_many(claims, select=["DS401"])] == [("DS401",), ()]
    assert len(calls) == 1
