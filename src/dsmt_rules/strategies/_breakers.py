"""Breakers: one per rule, named after it, each turning a clean claim into one that breaks that rule.

``claims(violating=CODE)`` (:mod:`dsmt_rules.strategies`) draws a clean claim that the breaker
accepts and mutates it. The mutated claim raises CODE plus at most the rule's declared
``companions`` (:attr:`dsmt_rules.rules._base.Rule.companions`). A mutation that breaks the model
is a bug here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from hypothesis import strategies as st

from dsmt_rules.catalog import rule_for
from dsmt_rules.models import Claim, Training
from dsmt_rules.profiles import Profile
from dsmt_rules.strategies._parts import COMORBIDITIES, PROFESSIONAL_POS, instructors, invalid_npis

__all__ = ["BREAKERS", "Breaker", "breaks"]

Mutation = Callable[[st.DrawFn, Claim, Profile], Claim]
"""Turns a clean claim into one that breaks one rule (plus at most its documented companions)."""
Accept = Callable[[Claim, Profile], bool]
"""Which clean claims a mutation can start from (a filter; every mutation accepts most claims)."""


class Breaker(NamedTuple):
    """How to turn a clean claim into one that breaks one rule."""

    code: str
    mutate: Mutation
    accept: Accept | None
    """Which clean claims the mutation can start from (None: every claim)."""


BREAKERS: dict[str, Breaker] = {}
"""One breaker per rule that claim data alone can break, by code; each is the function named
after its rule (``DS104 group-too-small`` -> :func:`group_too_small`)."""


def breaks(code: str, *, accept: Accept | None = None) -> Callable[[Mutation], Mutation]:
    """Register the decorated mutation as the breaker of rule ``code``."""

    def register(mutate: Mutation) -> Mutation:
        if mutate.__name__ != rule_for(code).name.replace("-", "_"):  # pragma: no cover
            raise AssertionError(f"the breaker of {code} must be named after its rule")
        BREAKERS[code] = Breaker(code, mutate, accept)
        return mutate

    return register


def _dump(claim: Claim) -> dict[str, Any]:
    return claim.model_dump(mode="json")


def _rebuild(data: dict[str, Any]) -> Claim:
    """Validate the mutated document: a mutation that breaks the model is a bug here."""
    return Claim.model_validate(data)


def _lines_with(claim: Claim, code: str) -> list[int]:
    return [i for i, line in enumerate(claim.lines) if line.hcpcs == code]


def _session_of(data: dict[str, Any], line_index: int) -> dict[str, Any]:
    sid = data["lines"][line_index]["session_ids"][0]
    return next(s for s in data["sessions"] if s["session_id"] == sid)


def _pick(draw: st.DrawFn, indexes: Sequence[int]) -> int:
    return draw(st.sampled_from(list(indexes)))


def _units_room(claim: Claim, p: Profile, code: str) -> int:
    """How many more units of ``code`` the clean claim can bill without crossing any cap."""
    total = sum(line.units for line in claim.lines if line.hcpcs in p.dsmt_codes)
    ref = claim.referral
    assert ref is not None
    room = int(ref.hours_ordered * 60 / p.unit_minutes) - total
    if ref.training is Training.INITIAL:
        room = min(room, p.initial_max_units - total)
        if code == p.individual_code and ref.individual_reason is None:
            individual = sum(line.units for line in claim.lines if line.hcpcs == code)
            room = min(room, p.initial_individual_max_units - individual)
    else:
        room = min(room, p.follow_up_max_units_per_year - total)
    return room


def _has(code_attr: str) -> Accept:
    def accept(claim: Claim, p: Profile) -> bool:
        return bool(_lines_with(claim, getattr(p, code_attr)))

    return accept


def _duplicate_room(claim: Claim, p: Profile) -> bool:
    return any(_units_room(claim, p, line.hcpcs) >= 1 for line in claim.lines)


def _no_individual_excess(claim: Claim, p: Profile) -> bool:
    """Without a referral no exception is documented: keep G0108 units within the allowance."""
    individual = sum(line.units for line in claim.lines if line.hcpcs == p.individual_code)
    return individual <= p.initial_individual_max_units


def _referral_hours_room(claim: Claim, p: Profile) -> bool:
    return _dsmt_units(claim, p) >= 2 or _first_day(claim).timetuple().tm_yday > 1


def _initial_referral(claim: Claim, p: Profile) -> bool:
    return claim.referral is not None and claim.referral.training is Training.INITIAL


def _follow_up_sized(claim: Claim, p: Profile) -> bool:
    """Small enough to stay within a follow-up year's cap once the claim becomes follow-up."""
    return _dsmt_units(claim, p) <= p.follow_up_max_units_per_year


def _individual_room(claim: Claim, p: Profile) -> bool:
    own = _dsmt_units(claim, p, p.individual_code)
    earlier = max(1, p.initial_individual_max_units - own + 1)
    return (
        _initial_referral(claim, p)
        and own > 0
        and _dsmt_units(claim, p) + earlier <= p.initial_max_units
    )


def _follow_up_room(claim: Claim, p: Profile) -> bool:
    return (
        claim.referral is not None
        and claim.referral.training is Training.FOLLOW_UP
        and _first_day(claim).timetuple().tm_yday > 10
    )


@breaks("DS101")
def units_not_positive(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    data["lines"][_pick(draw, range(len(claim.lines)))]["units"] = draw(st.integers(-2, 0))
    return _rebuild(data)


@breaks("DS102")
def session_too_short(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    i = _pick(draw, range(len(claim.lines)))
    _session_of(data, i)["minutes"] = draw(st.integers(0, p.min_session_minutes - 1))
    return _rebuild(data)


@breaks("DS103", accept=lambda c, p: any(line.units >= 2 for line in c.lines))
def units_exceed_time(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    i = _pick(draw, [k for k, line in enumerate(claim.lines) if line.units >= 2])
    units = claim.lines[i].units
    # One minute short of the units billed, but still a billable session (no DS102).
    _session_of(data, i)["minutes"] = max(units * p.unit_minutes - 1, p.min_session_minutes)
    return _rebuild(data)


@breaks("DS104", accept=_has("group_code"))
def group_too_small(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    i = _pick(draw, _lines_with(claim, p.group_code))
    _session_of(data, i)["attendees"] = draw(st.integers(0, p.group_min - 1))
    return _rebuild(data)


@breaks("DS105", accept=_has("group_code"))
def group_too_large(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    i = _pick(draw, _lines_with(claim, p.group_code))
    _session_of(data, i)["attendees"] = draw(st.integers(p.group_max + 1, p.group_max + 40))
    return _rebuild(data)


@breaks("DS106", accept=_has("individual_code"))
def individual_code_for_group(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    i = _pick(draw, _lines_with(claim, p.individual_code))
    session = _session_of(data, i)
    session["attendees"] = draw(st.integers(p.group_min, p.group_max))
    session["format"] = draw(st.sampled_from(["group", "individual"]))
    return _rebuild(data)


@breaks("DS107")
def session_record_missing(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    i = _pick(draw, range(len(claim.lines)))
    sid = data["lines"][i]["session_ids"][0]
    if draw(st.booleans()):
        data["sessions"] = [s for s in data["sessions"] if s["session_id"] != sid]
    else:  # the line points at a session that is not on the claim
        data["lines"][i]["session_ids"] = [f"{sid}-MISSING"]
    if draw(st.booleans()):
        data["lines"][i]["session_ids"] = []
    return _rebuild(data)


@breaks("DS108")
def session_date_mismatch(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    i = _pick(draw, range(len(claim.lines)))
    shift = draw(st.integers(1, 5)) * draw(st.sampled_from([-1, 1]))
    session = _session_of(data, i)
    session["date"] = (claim.lines[i].service_date + dt.timedelta(days=shift)).isoformat()
    return _rebuild(data)


@breaks("DS110", accept=_duplicate_room)
def duplicate_service(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    i = _pick(
        draw, [k for k, line in enumerate(claim.lines) if _units_room(claim, p, line.hcpcs) >= 1]
    )
    copy = dict(data["lines"][i], line_id=str(len(data["lines"]) + 1), units=1)
    data["lines"].append(copy)
    return _rebuild(data)


@breaks("DS201")
def program_not_accredited(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    if draw(st.booleans()):
        data["billing_provider"]["accreditation"] = None
    else:
        data["billing_provider"]["accreditation"]["organization"] = draw(
            st.sampled_from(["JCAHO", "NCQA", "STATE"])
        )
    return _rebuild(data)


@breaks("DS202")
def accreditation_lapsed(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    first = min(line.service_date for line in claim.lines)
    last = max(line.service_date for line in claim.lines)
    acc = data["billing_provider"]["accreditation"]
    if draw(st.booleans()):  # expired before the first service
        acc["effective"] = (first - dt.timedelta(days=3 * 365)).isoformat()
        acc["expires"] = (first - dt.timedelta(days=draw(st.integers(1, 300)))).isoformat()
    else:  # not yet in force at the last service
        acc["effective"] = (last + dt.timedelta(days=draw(st.integers(1, 300)))).isoformat()
        acc["expires"] = None
    return _rebuild(data)


@breaks("DS203")
def invalid_npi(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    data["billing_provider"]["npi"] = draw(invalid_npis())
    return _rebuild(data)


@breaks("DS204")
def no_qualified_instructor(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    i = _pick(draw, range(len(claim.lines)))
    unqualified = draw(st.lists(instructors(qualified=False), max_size=2))
    _session_of(data, i)["instructors"] = [x.model_dump(mode="json") for x in unqualified]
    return _rebuild(data)


@breaks("DS205")
def rhc_not_billable(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    data["billing_provider"]["entity"] = "rhc"
    return _rebuild(data)


@breaks("DS206", accept=_has("group_code"))
def fqhc_group_not_a_visit(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    data["billing_provider"]["entity"] = "fqhc"
    return _rebuild(data)


@breaks("DS301", accept=_no_individual_excess)
def referral_missing(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    data["referral"] = None
    return _rebuild(data)


@breaks("DS302")
def referral_unsigned(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    data["referral"]["signed"] = False
    return _rebuild(data)


@breaks("DS303")
def referrer_not_qualified(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    data["referral"]["practitioner_role"] = "other"
    return _rebuild(data)


@breaks("DS304")
def referral_after_service(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    first = min(line.service_date for line in claim.lines)
    data["referral"]["date"] = (first + dt.timedelta(days=draw(st.integers(1, 30)))).isoformat()
    return _rebuild(data)


@breaks("DS306", accept=_initial_referral)
def initial_order_over_limit(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    over = int(p.initial_order_max_hours * 2) + draw(st.integers(1, 20))
    data["referral"]["hours_ordered"] = over / 2
    return _rebuild(data)


@breaks("DS307")
def diagnosis_missing(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    i = _pick(draw, range(len(claim.lines)))
    past_end = len(claim.diagnosis_codes) + 1
    data["lines"][i]["diagnosis_pointers"] = draw(st.sampled_from([[], [min(past_end, 12)]]))
    return _rebuild(data)


@breaks("DS308")
def diagnosis_not_diabetes(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    others = set(claim.diagnosis_codes[1:])
    pool = [c for c in (*COMORBIDITIES, "R73.03", "R73.09", "R73.01") if c not in others]
    data["diagnosis_codes"][0] = draw(st.sampled_from(pool))
    return _rebuild(data)


def _past_every_release(claim: Claim) -> bool:
    from dsmt_rules import _icd10

    sets = _icd10.shipped()
    return any(sets.past(line.service_date) for line in claim.lines)


@breaks("DS309")
def diagnosis_code_invalid(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    headers = ["E11", "E11.6", "O24", "Z79", "I1"]  # known, not billable, on any date (or no code)
    unknown = ["E11.99", "X99.9"]  # unknown: DS311's instead past every loaded release
    bad = draw(st.sampled_from(headers if _past_every_release(claim) else headers + unknown))
    data["diagnosis_codes"].append(bad)
    return _rebuild(data)


@breaks("DS311", accept=lambda c, p: all(_past_release(line.service_date) for line in c.lines))
def code_set_not_loaded(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    data["diagnosis_codes"].append(draw(st.sampled_from(["E11.Z9", "E13.A1", "O24.99"])))
    return _rebuild(data)


def _past_release(day: dt.date) -> bool:
    from dsmt_rules import _icd10

    return _icd10.shipped().past(day)


@breaks("DS501")
def mnt_same_day(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    i = _pick(draw, range(len(claim.lines)))
    day = claim.lines[i].service_date.isoformat()
    mnt = draw(st.sampled_from(sorted(p.mnt_codes)))
    if draw(st.booleans()):
        data["lines"].append(
            {
                "line_id": str(len(data["lines"]) + 1),
                "hcpcs": mnt,
                "units": 1,
                "service_date": day,
                "place_of_service": data["lines"][i]["place_of_service"],
                "revenue_code": data["lines"][i]["revenue_code"],
                "diagnosis_pointers": [1],
            }
        )
    else:
        data["history"].append({"service_date": day, "hcpcs": mnt, "units": 1})
    return _rebuild(data)


@breaks("DS601")
def inpatient_place_of_service(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    i = _pick(draw, range(len(claim.lines)))
    data["lines"][i]["place_of_service"] = draw(
        st.sampled_from(sorted(p.inpatient_places_of_service))
    )
    data["lines"][i]["modifiers"] = []
    _session_of(data, i)["delivery"] = "in_person"
    return _rebuild(data)


@breaks("DS602")
def bill_type_not_allowed(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    data["form"] = "institutional"
    candidates = ("11", "14", "18", "21", "32", "33", "72", "74", "75", "81", "83", "86")
    bad = [t for t in candidates if t not in p.allowed_bill_types and t not in p.rhc_bill_types]
    data["type_of_bill"] = draw(st.sampled_from(bad)) + draw(st.sampled_from("1234"))
    return _rebuild(data)


@breaks("DS603")
def telehealth_coding_inconsistent(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    i = _pick(draw, range(len(claim.lines)))
    line = data["lines"][i]
    session = _session_of(data, i)
    if draw(st.booleans()):  # telehealth delivery coded as in person
        session["delivery"] = "telehealth"
        line["modifiers"] = []
        if line["place_of_service"] is not None:
            line["place_of_service"] = draw(st.sampled_from(PROFESSIONAL_POS))
    else:  # in person, coded as telehealth
        session["delivery"] = "in_person"
        line["modifiers"] = [draw(st.sampled_from(sorted(p.telehealth_modifiers)))]
    return _rebuild(data)


def _dsmt_units(claim: Claim, p: Profile, code: str | None = None) -> int:
    codes = p.dsmt_codes if code is None else {code}
    return sum(line.units for line in claim.lines if line.hcpcs in codes)


def _first_day(claim: Claim) -> dt.date:
    return min(line.service_date for line in claim.lines)


def _history_before(
    draw: st.DrawFn,
    first: dt.date,
    units: int,
    *,
    hcpcs: str,
    earliest: dt.date,
    referral_id: str | None = None,
) -> list[dict[str, Any]]:
    """History entries totalling ``units``, on distinct days in [earliest, first - 1 day]."""
    span = (first - earliest).days
    chunks: list[int] = []
    left = units
    while left > 0:
        chunks.append(min(left, draw(st.integers(1, 4))))
        left -= chunks[-1]
    offsets = draw(
        st.lists(st.integers(1, span), min_size=len(chunks), max_size=len(chunks), unique=True)
    )
    return [
        {
            "service_date": (first - dt.timedelta(days=o)).isoformat(),
            "hcpcs": hcpcs,
            "units": n,
            "referral_id": referral_id,
        }
        for o, n in zip(sorted(offsets, reverse=True), chunks, strict=True)
    ]


@breaks("DS305", accept=_referral_hours_room)
def referral_hours_exceeded(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    total = _dsmt_units(claim, p)
    per_hour = 60 // p.unit_minutes
    if total >= 2:  # order fewer hours than the claim bills
        data["referral"]["hours_ordered"] = draw(st.integers(1, total - 1)) / per_hour
    else:  # the claim's one unit plus one unit billed earlier under the same order
        first = _first_day(claim)
        data["referral"]["hours_ordered"] = 1 / per_hour
        data["history"] = _history_before(
            draw,
            first,
            1,
            hcpcs=p.group_code,
            earliest=max(dt.date(first.year, 1, 1), first - dt.timedelta(days=60)),
            referral_id=claim.referral.referral_id if claim.referral else None,
        )
    return _rebuild(data)


@breaks("DS310", accept=_follow_up_sized)
def referral_phase_mismatch(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    first = _first_day(claim)
    ref = data["referral"]
    if draw(st.booleans()):  # an initial order after an initial period that ended long ago
        ref["training"] = "initial"
        ref["hours_ordered"] = min(ref["hours_ordered"], p.initial_order_max_hours)
        days_back = draw(st.integers(2 * 366, 3 * 365))
        data["history"] = [
            {
                "service_date": (first - dt.timedelta(days=days_back)).isoformat(),
                "hcpcs": p.group_code,
                "units": draw(st.integers(1, 4)),
                "referral_id": None,
            }
        ]
    else:  # a follow-up order while the initial period (started 30 to 200 days ago) runs
        ref["training"] = "follow_up"
        ref["individual_reason"] = "additional_insulin_training"
        ref["special_needs"] = []
        data["history"] = _history_before(
            draw,
            first,
            draw(st.integers(1, 4)),
            hcpcs=p.group_code,
            earliest=first - dt.timedelta(days=200),
        )
    return _rebuild(data)


@breaks("DS401", accept=_initial_referral)
def initial_hours_exceeded(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    first = _first_day(claim)
    earlier = p.initial_max_units - _dsmt_units(claim, p) + draw(st.integers(1, 3))
    data["history"] = _history_before(
        draw, first, earlier, hcpcs=p.group_code, earliest=first - dt.timedelta(days=200)
    )
    return _rebuild(data)


@breaks("DS402", accept=_individual_room)
def initial_individual_exceeded(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    first = _first_day(claim)
    data["referral"]["individual_reason"] = None
    data["referral"]["special_needs"] = []
    own = _dsmt_units(claim, p, p.individual_code)
    earlier = max(1, p.initial_individual_max_units - own + 1)
    data["history"] = _history_before(
        draw, first, earlier, hcpcs=p.individual_code, earliest=first - dt.timedelta(days=200)
    )
    return _rebuild(data)


@breaks("DS403", accept=_follow_up_room)
def follow_up_hours_exceeded(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    first = _first_day(claim)
    # Initial training two years back (its period has ended), then follow-up earlier this year.
    start = dt.date(first.year - 2, 3, 1)
    earlier = p.follow_up_max_units_per_year - _dsmt_units(claim, p) + draw(st.integers(1, 3))
    data["history"] = [
        {"service_date": start.isoformat(), "hcpcs": p.group_code, "units": 2, "referral_id": None},
        *_history_before(
            draw, first, earlier, hcpcs=p.group_code, earliest=dt.date(first.year, 1, 1)
        ),
    ]
    return _rebuild(data)
