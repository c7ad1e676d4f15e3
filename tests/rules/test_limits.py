"""DS305, DS310, DS401-DS403 (the beneficiary's history), and the batch side of DS110 and DS501."""

from __future__ import annotations

import random
from typing import Any

import pytest

from dsmt_rules import Claim, Profile, check, check_many, load_profile
from dsmt_rules.models import HistoryEntry
from dsmt_rules.rules import limits, referral
from dsmt_rules.rules._base import Rule
from helpers import claim_from, codes_of

INSTRUCTORS = [{"npi": "1952356107", "credentials": ["RN", "CDCES"]}]


def line(
    line_id: str, day: str, units: int = 2, code: str = "G0109", *, session: bool = True
) -> dict[str, Any]:
    """A DSMT line with its own session (see :func:`sessions_for`)."""
    return {
        "line_id": line_id,
        "hcpcs": code,
        "units": units,
        "service_date": day,
        "place_of_service": "11",
        "diagnosis_pointers": [1],
        "session_ids": [f"S-{line_id}-{day}"] if session else [],
    }


def sessions_for(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One session per line that links one: long enough for its units, group or individual."""
    out = []
    for ln in lines:
        for sid in ln["session_ids"]:
            individual = ln["hcpcs"] == "G0108"
            out.append(
                {
                    "session_id": sid,
                    "date": ln["service_date"],
                    "minutes": 30 * ln["units"],
                    "format": "individual" if individual else "group",
                    "attendees": 1 if individual else 8,
                    "delivery": "in_person",
                    "instructors": INSTRUCTORS,
                }
            )
    return out


def hist(*entries: tuple[str, str, int] | tuple[str, str, int, str | None]) -> list[dict[str, Any]]:
    """History entries: (date, code, units[, referral id])."""
    return [
        {
            "service_date": e[0],
            "hcpcs": e[1],
            "units": e[2],
            "referral_id": e[3] if len(e) > 3 else None,
        }
        for e in entries
    ]


def claim(
    lines: list[dict[str, Any]],
    *,
    history: list[dict[str, Any]] | None = None,
    referral: dict[str, Any] | None = None,
    **fields: Any,
) -> Claim:
    """The base claim with these lines (and their sessions), history and referral changes."""
    referral_patch = {"date": min(ln["service_date"] for ln in lines), **(referral or {})}
    return claim_from(
        {
            "lines": lines,
            "sessions": sessions_for(lines),
            "history": history or [],
            "referral": referral_patch,
            **fields,
        }
    )


FOLLOW_UP = {"training": "follow_up", "hours_ordered": 2}

# An initial period that starts 2025-10-06 and ends 2026-10-05.
INITIAL_2025 = ("2025-10-06", "2025-10-20", "2025-11-03", "2025-11-17", "2025-12-01")


def initial_history(
    units: int, code: str = "G0109", referral: str = "R-70"
) -> list[dict[str, Any]]:
    """``units`` units of initial training spread over the period that starts 2025-10-06."""
    entries = []
    for day in INITIAL_2025:
        take = min(4, units)
        if take:
            entries.append((day, code, take, referral))
        units -= take
    assert units == 0
    return hist(*entries)


# --- examples ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("rule", limits.RULES, ids=[r.code for r in limits.RULES])
def test_example_raises_exactly_its_code_and_use_instead_nothing(rule: type[Rule]) -> None:
    assert codes_of(claim_from(rule.example)) == [rule.code]  # type: ignore[arg-type]
    assert codes_of(claim_from(rule.use_instead)) == []  # type: ignore[arg-type]


def test_limits_rules_carry_their_carc_hints_and_read_the_ledger() -> None:
    hints = {r.code: r.carc_hint for r in limits.RULES}
    assert hints == {"DS401": "119", "DS402": "119", "DS403": "119"}
    assert all(r.uses_ledger for r in limits.RULES)
    assert all(r.uses_ledger for r in referral.RULES if r.code in ("DS305", "DS310"))


# --- DS401 initial-hours-exceeded ------------------------------------------------------------------


def test_ds401_exactly_at_the_initial_cap_is_fine() -> None:
    assert codes_of(claim([line("1", "2026-02-02")], history=initial_history(18))) == []


def test_ds401_one_unit_over_the_cap_names_the_window_and_the_units_over() -> None:
    report = check(claim([line("1", "2026-02-02")], history=initial_history(19)))

    assert report.codes == ("DS401",)
    (finding,) = report.findings
    assert finding.message == (
        "Line 1: initial period 2025-10-06 to 2026-10-05: 21 of 20 units (1 over). Initial "
        "training is limited to 20 units in the 12 months from the first DSMT service; reduce "
        "the line by 1 unit(s)."
    )
    assert finding.loc == ("lines", 0, "units")
    assert finding.line_id == "1"
    assert finding.carc_hint == "119"
    assert finding.citation == "MBPM (Pub. 100-02) ch. 15 §300.3; Medicare.gov DSMT coverage"


def test_ds401_the_crossing_line_and_every_later_line_carry_their_own_excess() -> None:
    lines = [line("1", "2026-02-02"), line("2", "2026-02-09", 3), line("3", "2026-02-16")]
    report = check(claim(lines, history=initial_history(17)))

    assert [(f.code, f.line_id) for f in report.findings] == [("DS401", "2"), ("DS401", "3")]
    assert "19 of 20" not in report.findings[0].message
    assert "22 of 20 units (2 over)" in report.findings[0].message
    assert "24 of 20 units (2 over)" in report.findings[1].message


def test_ds401_lines_are_counted_in_date_order_not_line_order() -> None:
    lines = [line("1", "2026-03-02", 3), line("2", "2026-02-02", 2)]
    report = check(claim(lines, history=initial_history(17)))

    assert [f.line_id for f in report.findings] == ["1"]
    assert "22 of 20 units (2 over)" in report.findings[0].message


def test_ds401_last_day_of_the_period_counts_and_the_day_after_is_follow_up() -> None:
    history = hist(("2025-03-15", "G0109", 10), ("2025-04-15", "G0109", 10))

    last_day = claim([line("1", "2026-03-14")], history=history)
    day_after = claim([line("1", "2026-03-15")], history=history, referral=FOLLOW_UP)

    assert codes_of(last_day) == ["DS401"]
    assert (
        "initial period 2025-03-15 to 2026-03-14: 22 of 20" in check(last_day).findings[0].message
    )
    assert codes_of(day_after) == []


def test_ds401_first_service_on_february_29_opens_a_period_that_ends_february_28() -> None:
    history = hist(("2024-02-29", "G0109", 20))
    referral = {"date": "2025-02-01"}

    last_day = claim([line("1", "2025-02-28")], history=history, referral=referral)
    day_after = claim([line("1", "2025-03-01")], history=history, referral=referral)

    assert "initial period 2024-02-29 to 2025-02-28: 22 of 20 units (2 over)" in (
        check(last_day).findings[0].message
    )
    assert codes_of(last_day) == ["DS401"]
    assert codes_of(day_after) == ["DS310"]  # an initial order in the follow-up phase


def test_ds401_unused_initial_hours_lapse_and_do_not_carry_into_follow_up() -> None:
    history = hist(("2025-03-15", "G0109", 2))
    later = claim([line("1", "2026-06-01", 4)], history=history, referral=FOLLOW_UP)

    assert codes_of(later) == []


def test_ds401_counts_mnt_services_not_at_all() -> None:
    history = [*initial_history(18), *hist(("2025-12-15", "97802", 4))]
    assert codes_of(claim([line("1", "2026-02-02")], history=history)) == []


# --- DS402 initial-individual-exceeded -------------------------------------------------------------


def test_ds402_exactly_at_the_individual_allowance_is_fine() -> None:
    assert codes_of(claim([line("1", "2026-02-02", 2, "G0108")])) == []


def test_ds402_one_individual_unit_over_is_a_warning() -> None:
    report = check(
        claim([line("1", "2026-02-02", 2, "G0108")], history=hist(("2026-01-12", "G0108", 1)))
    )

    assert report.codes == ("DS402",)
    (finding,) = report.findings
    assert finding.severity.value == "warning"
    assert finding.message.startswith(
        "Line 1: initial period 2026-01-12 to 2027-01-11: 3 of 2 individual (G0108) units (1 over)"
    )
    assert report.status.value == "review"


def test_ds402_group_units_do_not_count_against_the_individual_allowance() -> None:
    history = hist(("2026-01-12", "G0109", 10))
    assert codes_of(claim([line("1", "2026-02-02", 2, "G0108")], history=history)) == []


@pytest.mark.parametrize(
    ("exception", "expected"),
    [
        ({"individual_reason": "no_group_within_2_months"}, []),
        ({"individual_reason": "additional_insulin_training"}, []),
        ({"individual_reason": "special_needs", "special_needs": ["hearing"]}, []),
        ({"special_needs": ["language"]}, []),
        ({"individual_reason": "special_needs", "special_needs": []}, ["DS402"]),
        ({}, ["DS402"]),
    ],
)
def test_ds402_a_documented_exception_silences_it(
    exception: dict[str, Any], expected: list[str]
) -> None:
    c = claim(
        [line("1", "2026-02-02", 2, "G0108")],
        history=hist(("2026-01-12", "G0108", 2)),
        referral=exception,
    )
    assert codes_of(c) == expected


def test_ds402_individual_follow_up_units_are_not_limited_by_it() -> None:
    history = hist(("2024-03-04", "G0108", 2))
    c = claim([line("1", "2026-02-02", 2, "G0108")], history=history, referral=FOLLOW_UP)
    assert codes_of(c) == []


# --- DS403 follow-up-hours-exceeded ----------------------------------------------------------------

INITIAL_2024 = ("2024-03-04", "G0109", 4, "R-12")  # initial period 2024-03-04 to 2025-03-03


def test_ds403_exactly_at_the_yearly_cap_is_fine() -> None:
    history = hist(INITIAL_2024, ("2026-01-12", "G0109", 2))
    assert codes_of(claim([line("1", "2026-02-02")], history=history, referral=FOLLOW_UP)) == []


def test_ds403_one_unit_over_the_yearly_cap() -> None:
    history = hist(INITIAL_2024, ("2026-01-12", "G0109", 3))
    report = check(claim([line("1", "2026-02-02")], history=history, referral=FOLLOW_UP))

    assert report.codes == ("DS403",)
    assert report.findings[0].message == (
        "Line 1: follow-up year 2026: 5 of 4 units (1 over). Follow-up training is limited to 4 "
        "units per calendar year after the initial period; reduce the line by 1 unit(s)."
    )


def test_ds403_december_31_counts_in_its_year_and_january_1_starts_a_new_one() -> None:
    history = hist(INITIAL_2024, ("2026-12-30", "G0109", 4))
    referral = {**FOLLOW_UP, "date": "2026-12-01"}

    dec31 = claim([line("1", "2026-12-31")], history=history, referral=referral)
    jan1 = claim([line("1", "2027-01-01")], history=history, referral=referral)

    assert codes_of(dec31) == ["DS403"]
    assert "follow-up year 2026: 6 of 4 units (2 over)" in check(dec31).findings[0].message
    assert codes_of(jan1) == []


def test_ds403_follow_up_may_start_in_the_year_the_initial_period_ends() -> None:
    history = hist(("2025-03-15", "G0109", 20))
    c = claim([line("1", "2026-03-15", 4)], history=history, referral=FOLLOW_UP)
    assert codes_of(c) == []


def no_follow_up_in_end_year() -> Profile:
    return load_profile("medicare").model_copy(update={"follow_up_in_initial_end_year": False})


def test_ds403_a_profile_can_start_follow_up_only_the_year_after_the_period_ends() -> None:
    history = hist(("2025-03-15", "G0109", 20))
    profile = no_follow_up_in_end_year()

    same_year = check(
        claim([line("1", "2026-06-01")], history=history, referral=FOLLOW_UP), profile=profile
    )
    next_year = claim([line("1", "2027-01-04")], history=history, referral=FOLLOW_UP)

    assert same_year.codes == ("DS403",)
    assert same_year.findings[0].message.startswith(
        "Line 1: follow-up year 2026 (the initial period ended 2026-03-14; this profile allows "
        "follow-up from 2027): 2 of 0 units (2 over)."
    )
    assert codes_of(next_year, profile=profile) == []


def test_ds403_follow_up_with_no_initial_training_on_record_is_accepted() -> None:
    assert codes_of(claim([line("1", "2026-02-02", 4)], referral=FOLLOW_UP)) == []


def test_ds403_follow_up_with_no_initial_on_record_is_still_capped_per_year() -> None:
    history = hist(("2026-01-12", "G0109", 4, "R-77"))
    referral = {**FOLLOW_UP, "hours_ordered": 4}
    report = check(claim([line("1", "2026-02-02")], history=history, referral=referral))

    assert report.codes == ("DS403",)
    assert "follow-up year 2026: 6 of 4 units (2 over)" in report.findings[0].message


# --- DS305 referral-hours-exceeded -----------------------------------------------------------------


def test_ds305_exactly_the_hours_ordered_is_fine() -> None:
    history = hist(("2026-01-12", "G0109", 2, "R-77"))
    c = claim([line("1", "2026-02-02")], history=history, referral={"hours_ordered": 2})
    assert codes_of(c) == []


def test_ds305_one_unit_over_the_hours_ordered() -> None:
    history = hist(("2026-01-12", "G0109", 3, "R-77"))
    report = check(claim([line("1", "2026-02-02")], history=history, referral={"hours_ordered": 2}))

    assert report.codes == ("DS305",)
    assert report.findings[0].message == (
        "Line 1: the referral orders 2 hours (4 units) and 5 units are billed under it up to "
        "this line (1 over); reduce the line by 1 unit(s) or obtain an amended order for more "
        "hours."
    )
    assert report.findings[0].carc_hint == "119"


def test_ds305_half_hours_ordered_allow_an_odd_number_of_units() -> None:
    history = hist(("2026-01-12", "G0109", 1, "R-77"))
    at_cap = claim([line("1", "2026-02-02")], history=history, referral={"hours_ordered": 1.5})
    over = claim([line("1", "2026-02-02", 3)], history=history, referral={"hours_ordered": 1.5})

    assert codes_of(at_cap) == []
    assert codes_of(over) == ["DS305"]


def test_ds305_units_under_another_referral_do_not_count() -> None:
    history = hist(("2026-01-12", "G0109", 8, "R-70"), ("2026-01-19", "G0109", 8))
    c = claim([line("1", "2026-02-02")], history=history, referral={"hours_ordered": 1})
    assert codes_of(c) == []


def test_ds305_units_per_hour_follow_the_profile_unit_minutes() -> None:
    profile = load_profile("medicare").model_copy(update={"unit_minutes": 15})
    c = claim([line("1", "2026-02-02", 4)], referral={"hours_ordered": 1})

    assert "DS305" not in codes_of(c, profile=profile)  # 1 hour = 4 units of 15 minutes
    assert codes_of(c, select=["DS305"]) == ["DS305"]  # 1 hour = 2 units of 30 minutes


# --- DS310 referral-phase-mismatch -----------------------------------------------------------------


def test_ds310_initial_referral_used_in_the_follow_up_phase() -> None:
    report = check(claim([line("1", "2026-02-02")], history=hist(INITIAL_2024)))

    assert report.codes == ("DS310",)
    (finding,) = report.findings
    assert finding.message == (
        "Line 1: the referral orders initial training, but on 2026-02-02 the beneficiary is in "
        "follow-up (the initial period 2024-03-04 to 2025-03-03 has ended); bill follow-up "
        "training under a follow-up order."
    )
    assert finding.loc == ("referral", "training")
    assert finding.carc_hint == "16"


def test_ds310_follow_up_referral_while_the_initial_period_is_running() -> None:
    report = check(claim([line("1", "2026-02-02")], history=initial_history(4), referral=FOLLOW_UP))

    assert report.codes == ("DS310",)
    assert report.findings[0].message == (
        "Line 1: the referral orders follow-up training, but on 2026-02-02 the beneficiary is in "
        "the initial period 2025-10-06 to 2026-10-05; bill it under the initial training order "
        "(follow-up training comes after 2026-10-05)."
    )


def test_ds310_follow_up_with_no_dsmt_on_record_is_accepted_and_starts_no_initial_period() -> None:
    first = claim([line("1", "2026-02-02")], referral=FOLLOW_UP)
    # A later follow-up order under the same referral id: the first service was follow-up, not the
    # start of an initial period.
    second = claim(
        [line("1", "2026-05-04")],
        history=hist(("2026-02-02", "G0109", 2, "R-77")),
        referral=FOLLOW_UP,
    )

    assert codes_of(first) == []
    assert codes_of(second) == []


def test_ds310_an_unknown_service_on_record_starts_the_initial_period() -> None:
    second = claim(
        [line("1", "2026-05-04")],
        history=hist(("2026-02-02", "G0109", 2, "R-9")),
        referral=FOLLOW_UP,
    )
    assert codes_of(second) == ["DS310"]


def test_ds310_initial_order_after_follow_up_training_is_a_mismatch() -> None:
    """MBPM §300.3.A(i): initial training only for a beneficiary who had no initial or follow-up."""
    first = claim([line("1", "2026-02-02")], referral={**FOLLOW_UP, "referral_id": "R-1"})
    second = claim([line("1", "2026-09-07")], claim_id="C-1002", referral={"referral_id": "R-2"})

    reports = list(check_many([first, second]))

    assert [r.codes for r in reports] == [(), ("DS310",)]
    (finding,) = reports[1].findings
    assert "follow-up training on record since 2026-02-02" in finding.message
    assert finding.ctx["first"] == "2026-02-02"


def test_ds310_initial_order_after_follow_up_opens_no_initial_period() -> None:
    """No period opens: the initial order's units count toward the follow-up year (DS403)."""
    first = claim([line("1", "2026-02-02", units=2)], referral={**FOLLOW_UP, "referral_id": "R-1"})
    second = claim(
        [line("1", "2026-09-07", units=4)], claim_id="C-1002", referral={"referral_id": "R-2"}
    )

    reports = list(check_many([first, second]))

    assert [r.codes for r in reports] == [(), ("DS310", "DS403")]


def test_a_line_of_zero_units_opens_no_initial_period() -> None:
    """A 0-unit line (DS101) bills no service: the later first real service opens the period."""
    zero = claim([line("1", "2025-01-06", units=0, session=False)], referral={"referral_id": "R-0"})
    real = claim([line("1", "2026-03-02")], claim_id="C-1002", referral={"referral_id": "R-2"})

    reports = list(check_many([zero, real]))

    assert [r.codes for r in reports] == [("DS101", "DS107"), ()]


def test_a_line_of_zero_units_counts_toward_no_cap_and_repeats_nothing() -> None:
    history = initial_history(20)  # the initial period is full
    lines = [
        line("1", "2026-02-02", units=0, session=False),
        line("2", "2026-02-02", units=0, session=False),
    ]
    assert codes_of(claim(lines, history=history)) == ["DS101", "DS101", "DS107", "DS107"]


def test_ds310_reports_each_line_in_the_wrong_phase() -> None:
    history = hist(("2025-03-15", "G0109", 2))
    lines = [line("1", "2026-03-14"), line("2", "2026-03-15")]
    report = check(claim(lines, history=history))

    assert [(f.code, f.line_id) for f in report.findings] == [("DS310", "2")]


# --- history= and the claim's own history are views of one record ----------------------------------


def test_history_argument_and_the_claims_history_are_not_counted_twice() -> None:
    history = initial_history(18)
    c = claim([line("1", "2026-02-02")], history=history)
    entries = [HistoryEntry.model_validate(e) for e in history]

    assert codes_of(c, history=entries) == []
    assert codes_of(claim([line("1", "2026-02-02")]), history=entries) == []
    partial = claim([line("1", "2026-02-02")], history=history[:3])
    assert codes_of(partial, history=entries[:4]) == []  # the record is entries[:4], 16 units
    more = [*entries, HistoryEntry.model_validate({**history[0], "service_date": "2025-12-08"})]
    assert codes_of(c, history=more) == ["DS401"]


# --- batches: a beneficiary's other claims are history ---------------------------------------------


def batch_claim(claim_id: str, lines: list[dict[str, Any]], **fields: Any) -> Claim:
    return claim(lines, claim_id=claim_id, **fields)


def codes_by_claim(claims: list[Claim]) -> dict[str, tuple[str, ...]]:
    return {r.claim_id or "": r.codes for r in check_many(claims)}


def test_batch_caps_count_the_beneficiarys_other_claims() -> None:
    claims = [
        batch_claim("C-1", [line("1", "2026-02-02", 10), line("2", "2026-02-09", 8)]),
        batch_claim("C-2", [line("1", "2026-03-02", 3)]),
        batch_claim("C-3", [line("1", "2026-03-02", 3)], beneficiary_id="9AA9AA9AA99"),
    ]

    reports = list(check_many(claims))

    assert [r.codes for r in reports] == [(), ("DS305", "DS401"), ()]
    assert "21 of 20 units (1 over)" in reports[1].findings[1].message


def test_batch_findings_do_not_depend_on_record_order() -> None:
    claims = [
        batch_claim("C-1", [line("1", "2026-02-02", 10)]),
        batch_claim("C-2", [line("1", "2026-02-09", 8)]),
        batch_claim("C-3", [line("3", "2026-03-02", 4)]),
        batch_claim("C-4", [line("4", "2026-03-02", 2)]),
    ]
    expected = {"C-1": (), "C-2": (), "C-3": ("DS305", "DS401"), "C-4": ("DS305", "DS401")}

    for seed in range(5):
        shuffled = claims[:]
        random.Random(seed).shuffle(shuffled)
        assert codes_by_claim(shuffled) == expected


def test_batch_same_day_ties_are_broken_by_claim_id() -> None:
    claims = [
        batch_claim("C-B", [line("1", "2026-03-02", 2)], history=initial_history(19)),
        batch_claim("C-A", [line("1", "2026-03-02", 2, session=False)]),
    ]

    reports = {r.claim_id: r for r in check_many(claims)}
    ds401 = {
        cid: [f.message for f in r.findings if f.code == "DS401"] for cid, r in reports.items()
    }

    assert reports["C-A"].codes == ("DS107", "DS401")  # no session record: a warning
    assert "21 of 20 units (1 over)" in ds401["C-A"][0]
    assert "23 of 20 units (2 over)" in ds401["C-B"][0]


def test_batch_a_service_on_record_that_is_a_line_of_the_batch_counts_once() -> None:
    first = batch_claim("C-1", [line("1", "2026-02-02", 10)])
    # C-2's history lists C-1's line (already billed when C-2 was prepared): the same service.
    second = batch_claim(
        "C-2", [line("1", "2026-02-09", 10)], history=hist(("2026-02-02", "G0109", 10, "R-77"))
    )

    assert codes_by_claim([first, second]) == {"C-1": (), "C-2": ()}


def test_batch_the_history_of_one_claim_is_on_record_for_the_others() -> None:
    with_history = batch_claim("C-1", [line("1", "2026-02-02")], history=initial_history(16))
    without = batch_claim("C-2", [line("1", "2026-02-09", 4)])

    assert codes_by_claim([with_history, without]) == {"C-1": (), "C-2": ("DS401",)}


def test_ds110_a_session_billed_on_two_claims_of_the_beneficiary_flags_the_later_claim() -> None:
    a = batch_claim("C-1000", [line("1", "2026-02-02")])
    b = batch_claim("C-1001", [line("1", "2026-02-02")])

    for order in ([a, b], [b, a]):
        reports = {r.claim_id: r for r in check_many(order)}
        assert reports["C-1000"].codes == ()
        assert reports["C-1001"].codes == ("DS110",)
        assert reports["C-1001"].findings[0].message == (
            "Line 1: G0109 for session S-1-2026-02-02 is already billed on claim C-1000, line 1; "
            "bill each service once (remove the duplicate line)."
        )


def test_ds110_same_code_and_date_without_sessions_on_two_claims() -> None:
    a = batch_claim("C-1", [line("1", "2026-02-02", session=False)])
    b = batch_claim("C-2", [line("7", "2026-02-02", session=False)])
    other_day = batch_claim("C-3", [line("1", "2026-02-03", session=False)])

    codes = codes_by_claim([b, other_day, a])

    assert [c.count("DS110") for c in codes.values()] == [1, 0, 0]


def test_ds110_different_sessions_or_beneficiaries_are_not_duplicates() -> None:
    a = batch_claim("C-1", [line("1", "2026-02-02")])
    pm = batch_claim("C-2", [line("2", "2026-02-02")])
    other = batch_claim("C-3", [line("1", "2026-02-02")], beneficiary_id="9AA9AA9AA99")

    assert codes_by_claim([a, pm, other]) == {"C-1": (), "C-2": (), "C-3": ()}


def test_ds110_a_line_that_repeats_a_service_in_its_own_history() -> None:
    c = claim([line("1", "2026-02-02")], history=hist(("2026-02-02", "G0109", 2, "R-77")))
    report = check(c)

    assert report.codes == ("DS110",)
    assert report.findings[0].message == (
        "Line 1: G0109 on 2026-02-02 is already billed on an earlier claim (the beneficiary's "
        "history); bill each service once (remove the duplicate line)."
    )


def test_ds501_mnt_billed_on_another_claim_of_the_beneficiary_the_same_day() -> None:
    mnt = {
        "line_id": "1",
        "hcpcs": "97803",
        "units": 2,
        "service_date": "2026-02-02",
        "place_of_service": "11",
        "diagnosis_pointers": [1],
    }
    mnt_claim = claim_from({"claim_id": "M-1", "lines": [mnt], "sessions": []})
    dsmt = batch_claim("C-1", [line("1", "2026-02-02")])
    other_day = batch_claim("C-2", [line("1", "2026-02-03")])

    assert codes_by_claim([dsmt, mnt_claim, other_day]) == {
        "C-1": ("DS501",),
        "M-1": ("DS002",),
        "C-2": (),
    }


def test_ds501_mnt_from_the_history_argument() -> None:
    entries = [HistoryEntry.model_validate(e) for e in hist(("2026-02-02", "G0270", 1))]
    assert codes_of(claim_from(), history=entries) == ["DS501"]
