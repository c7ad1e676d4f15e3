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
generated value that fails validation is a bug in this module.

``claims(violating="DS104")`` builds claims that raise DS104, plus at most the companion codes listed in
:data:`COMPANIONS` for that code; nothing else.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from hypothesis import strategies as st

from dsmt_rules.models import (
    Accreditation,
    BillingProvider,
    Claim,
    ClaimForm,
    Credential,
    Delivery,
    Entity,
    HistoryEntry,
    IndividualReason,
    Instructor,
    Referral,
    ServiceLine,
    Session,
    SessionFormat,
    SpecialNeed,
    Training,
)
from dsmt_rules.profiles import Profile, load_profile

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

Phase = Literal["initial", "follow_up"]

# Non-diabetes, billable ICD-10-CM codes commonly found beside diabetes on DSMT claims.
_COMORBIDITIES = ("I10", "E78.5", "E66.9", "Z79.4", "Z79.84", "N18.30", "I25.10", "E03.9", "K76.0")
_NON_DSMT_CODES = ("99213", "99214", "80053", "83036", "36415")
_PROFESSIONAL_POS = ("11", "19", "22", "49", "71")
_INSTITUTIONAL_TOB = ("131", "121", "221", "231", "341", "851", "0131", "0851")
_QUALIFIED = (
    Credential.RN,
    Credential.RD,
    Credential.RDN,
    Credential.PHARMACIST,
    Credential.CDCES,
    Credential.CDE,
    Credential.BC_ADM,
)
_OTHER_CREDENTIALS = (Credential.MD, Credential.NP, Credential.MA, Credential.LPN, Credential.OTHER)


def _profile(profile: str | Profile) -> Profile:
    return load_profile(profile)


# --- identifiers ----------------------------------------------------------------------------------


def _npi_check_digit(first9: str) -> str:
    total = 24  # the Luhn sum of the prefix 80840, as CMS specifies
    for i, ch in enumerate(reversed(first9)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def npis() -> st.SearchStrategy[str]:
    """Valid NPIs: 10 digits starting with 1 or 2, with the CMS Luhn check digit (prefix 80840)."""
    return st.builds(
        lambda lead, rest: f"{lead}{rest}" + _npi_check_digit(f"{lead}{rest}"),
        st.sampled_from("12"),
        st.text("0123456789", min_size=8, max_size=8),
    )


def invalid_npis() -> st.SearchStrategy[str]:
    """NPIs that fail the check: a wrong check digit, or not 10 digits."""
    wrong_digit = npis().map(lambda n: n[:9] + str((int(n[9]) + 1) % 10))
    wrong_length = st.text("0123456789", min_size=1, max_size=12).filter(lambda s: len(s) != 10)
    return st.one_of(wrong_digit, wrong_length)


def _ids(prefix: str) -> st.SearchStrategy[str]:
    return st.integers(1, 999_999).map(lambda n: f"{prefix}{n}")


def _beneficiary_ids() -> st.SearchStrategy[str]:
    """Synthetic MBI-shaped identifiers (never real ones)."""
    alpha = "ACDEFGHJKMNPQRTUVWXY"
    alnum = alpha + "0123456789"
    return st.tuples(
        st.sampled_from("123456789"),
        st.sampled_from(alpha),
        st.sampled_from(alnum),
        st.sampled_from("0123456789"),
        st.text(alpha, min_size=1, max_size=1),
        st.text(alnum, min_size=1, max_size=1),
        st.text("0123456789", min_size=1, max_size=1),
        st.text(alpha, min_size=2, max_size=2),
        st.text("0123456789", min_size=2, max_size=2),
    ).map("".join)


# --- diagnosis codes ------------------------------------------------------------------------------


@functools.cache
def _diabetes_codes(prefixes: tuple[str, ...]) -> tuple[str, ...]:
    from dsmt_rules import _icd10

    return tuple(sorted(c for c in _icd10.billable_codes() if c.startswith(prefixes)))


def _dotted(code: str) -> str:
    return code if len(code) <= 3 or "." in code else f"{code[:3]}.{code[3:]}"


def diagnosis_codes(
    *, diabetes: bool = True, profile: str | Profile = "medicare"
) -> st.SearchStrategy[str]:
    """Billable ICD-10-CM codes, dotted: diabetes codes (E08-E13, O24) or common comorbidities."""
    if not diabetes:
        return st.sampled_from(_COMORBIDITIES)
    prefixes = _profile(profile).diabetes_code_prefixes
    return st.deferred(lambda: st.sampled_from(_diabetes_codes(prefixes)).map(_dotted))


# --- parts ----------------------------------------------------------------------------------------

_DAY = dt.timedelta(days=1)


def _dates(min_value: dt.date, max_value: dt.date) -> st.SearchStrategy[dt.date]:
    return st.dates(min_value=min_value, max_value=max_value)


def accreditations(
    *, covering: tuple[dt.date, dt.date] = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
) -> st.SearchStrategy[Accreditation]:
    """Approved accreditations in force over the whole ``covering`` range of dates."""
    start, end = covering
    return st.builds(
        Accreditation,
        organization=st.sampled_from(("ADA", "ADCES")),
        effective=_dates(start - dt.timedelta(days=4 * 365), start),
        expires=st.one_of(st.none(), _dates(end, end + dt.timedelta(days=4 * 365))),
    )


def instructors(*, qualified: bool = True) -> st.SearchStrategy[Instructor]:
    """An instructor; ``qualified`` ones hold at least one qualifying credential."""
    if qualified:
        creds = st.tuples(
            st.sampled_from(_QUALIFIED), st.lists(st.sampled_from(_QUALIFIED + _OTHER_CREDENTIALS))
        ).map(lambda t: list(dict.fromkeys([t[0], *t[1]])))
    else:
        creds = st.lists(st.sampled_from(_OTHER_CREDENTIALS), max_size=2, unique=True)
    return st.builds(Instructor, npi=st.one_of(st.none(), npis()), credentials=creds)


@st.composite
def sessions(
    draw: st.DrawFn,
    *,
    session_id: str | None = None,
    date: dt.date | None = None,
    format: SessionFormat | None = None,
    units: int | None = None,
    delivery: Delivery | None = None,
    profile: str | Profile = "medicare",
) -> Session:
    """A session that supports ``units`` units: long enough, with a plausible group size."""
    p = _profile(profile)
    fmt = format or draw(st.sampled_from(SessionFormat))
    n_units = units if units is not None else draw(st.integers(1, 4))
    minutes = draw(
        st.integers(n_units * p.unit_minutes, n_units * p.unit_minutes + p.unit_minutes - 1)
    )
    minutes = max(minutes, p.min_session_minutes)
    attendees = draw(st.integers(p.group_min, p.group_max)) if fmt is SessionFormat.GROUP else 1
    return Session(
        session_id=session_id or draw(_ids("S-")),
        date=date or draw(_dates(dt.date(2024, 1, 1), dt.date(2027, 12, 31))),
        minutes=minutes,
        format=fmt,
        attendees=attendees,
        delivery=delivery or draw(st.sampled_from(Delivery)),
        instructors=draw(st.lists(instructors(), min_size=1, max_size=3)),
    )


@st.composite
def referrals(
    draw: st.DrawFn,
    *,
    training: Training | None = None,
    on_or_before: dt.date | None = None,
    min_hours: float = 0.5,
    individual_exception: bool | None = None,
    profile: str | Profile = "medicare",
) -> Referral:
    """A signed order from a qualified practitioner, dated on or before ``on_or_before``."""
    p = _profile(profile)
    kind = training or draw(st.sampled_from(Training))
    latest = on_or_before or dt.date(2026, 6, 30)
    max_hours = p.initial_order_max_hours if kind is Training.INITIAL else 4.0
    low = max(1, int(min_hours * 2 + 0.999))
    hours = draw(st.integers(low, max(low, int(max_hours * 2)))) / 2
    exception = individual_exception if individual_exception is not None else draw(st.booleans())
    reason: IndividualReason | None = None
    needs: list[SpecialNeed] = []
    if exception:
        reason = draw(st.sampled_from(IndividualReason))
        if reason is IndividualReason.SPECIAL_NEEDS:
            needs = draw(
                st.lists(st.sampled_from(SpecialNeed), min_size=1, max_size=3, unique=True)
            )
    return Referral(
        referral_id=draw(_ids("R-")),
        date=draw(_dates(latest - dt.timedelta(days=60), latest)),
        practitioner_npi=draw(npis()),
        practitioner_role=draw(st.sampled_from(sorted(p.qualified_referrer_roles))),
        signed=True,
        training=kind,
        hours_ordered=hours,
        individual_reason=reason,
        special_needs=needs,
    )


def lines(
    *,
    hcpcs: str | None = None,
    service_date: dt.date | None = None,
    units: int | None = None,
    form: ClaimForm = ClaimForm.PROFESSIONAL,
    session_ids: Sequence[str] = (),
) -> st.SearchStrategy[ServiceLine]:
    """A DSMT service line (professional lines carry a POS, institutional ones a revenue code)."""
    return st.builds(
        ServiceLine,
        line_id=_ids(""),
        hcpcs=st.just(hcpcs) if hcpcs else st.sampled_from(("G0108", "G0109")),
        modifiers=st.just([]),
        units=st.just(units) if units is not None else st.integers(1, 4),
        service_date=st.just(service_date)
        if service_date
        else _dates(dt.date(2025, 1, 1), dt.date(2026, 12, 31)),
        place_of_service=st.sampled_from(_PROFESSIONAL_POS)
        if form is ClaimForm.PROFESSIONAL
        else st.none(),
        revenue_code=st.none() if form is ClaimForm.PROFESSIONAL else st.just("0942"),
        diagnosis_pointers=st.just([1]),
        session_ids=st.just(list(session_ids)),
    )


def histories(
    *,
    before: dt.date = dt.date(2026, 1, 1),
    max_units: int = 10,
    hcpcs: Sequence[str] = ("G0109",),
) -> st.SearchStrategy[list[HistoryEntry]]:
    """Earlier services, oldest first, dated within the 90 days before ``before``, at most ``max_units``."""

    @st.composite
    def _build(draw: st.DrawFn) -> list[HistoryEntry]:
        budget = draw(st.integers(0, max_units))
        entries: list[HistoryEntry] = []
        day = before - dt.timedelta(days=90)
        while budget > 0:
            u = draw(st.integers(1, min(2, budget)))
            day = day + dt.timedelta(days=draw(st.integers(1, 14)))
            if day >= before:
                break
            entries.append(
                HistoryEntry(service_date=day, hcpcs=draw(st.sampled_from(list(hcpcs))), units=u)
            )
            budget -= u
        return entries

    return _build()


def billing_providers(
    *,
    form: ClaimForm = ClaimForm.PROFESSIONAL,
    covering: tuple[dt.date, dt.date] = (dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
    group: bool = True,
) -> st.SearchStrategy[BillingProvider]:
    """An accredited billing provider that may bill DSMT on this form (no RHC; FQHC only without G0109)."""
    if form is ClaimForm.PROFESSIONAL:
        entities = [Entity.PHYSICIAN, Entity.NPP, Entity.HOSPITAL_OUTPATIENT, Entity.OTHER]
    else:
        entities = [Entity.HOSPITAL_OUTPATIENT, Entity.CRITICAL_ACCESS_HOSPITAL, Entity.OTHER]
    if not group:
        entities.append(Entity.FQHC)
    return st.builds(
        BillingProvider,
        npi=npis(),
        entity=st.sampled_from(entities),
        accreditation=accreditations(covering=covering),
    )


# --- claims ---------------------------------------------------------------------------------------


def _unit_budget(kind: Training, p: Profile) -> int:
    """The most units one clean claim of this training kind can bill (and so its most lines)."""
    if kind is Training.INITIAL:
        return min(p.initial_max_units, int(p.initial_order_max_hours * 60 / p.unit_minutes))
    return p.follow_up_max_units_per_year


@st.composite
def _clean_claims(
    draw: st.DrawFn,
    *,
    hcpcs: str | None,
    min_lines: int,
    max_lines: int,
    phase: Phase | None,
    form: ClaimForm | None,
    profile: Profile,
) -> Claim:
    p = profile
    # Units: the initial order caps and the yearly follow-up cap bound the whole claim, and every
    # line bills at least one unit, so they bound the number of lines too.
    if phase:
        kind = Training(phase)
    else:
        kind = draw(st.sampled_from([t for t in Training if _unit_budget(t, p) >= min_lines]))
    budget = _unit_budget(kind, p)
    claim_form = form or draw(st.sampled_from(ClaimForm))
    n_lines = draw(st.integers(min_lines, min(max_lines, budget)))
    year = draw(st.integers(2025, 2027))
    first_day = dt.date(year, 1, 1) + dt.timedelta(days=draw(st.integers(0, 290)))
    # G0108-only initial claims of more lines than the individual allowance need the exception.
    exception = draw(st.booleans()) or (
        hcpcs == p.individual_code and n_lines > p.initial_individual_max_units
    )
    individual_budget = (
        budget if (exception or kind is Training.FOLLOW_UP) else (p.initial_individual_max_units)
    )

    codes: list[str] = []
    units: list[int] = []
    for i in range(n_lines):
        remaining_lines = n_lines - i - 1
        room = budget - sum(units) - remaining_lines
        code = hcpcs or draw(st.sampled_from((p.individual_code, p.group_code)))
        if code == p.individual_code:
            used = sum(u for c, u in zip(codes, units, strict=True) if c == p.individual_code)
            room = min(room, individual_budget - used)
            if room < 1:
                if hcpcs:
                    break
                code = p.group_code
                room = budget - sum(units) - remaining_lines
        if room < 1:
            break
        codes.append(code)
        units.append(draw(st.integers(1, min(room, 4))))
    if not codes:  # pragma: no cover - budget is always >= 1 line
        codes, units = [hcpcs or p.group_code], [1]

    # Dates: distinct days within 10 weeks, all in the first day's calendar year (so a follow-up
    # claim stays inside one follow-up year and an initial claim inside its 12-month period).
    offsets = draw(
        st.lists(st.integers(0, 70), min_size=len(codes), max_size=len(codes), unique=True)
    )
    days = [first_day + dt.timedelta(days=o) for o in sorted(offsets)]
    group = p.group_code in codes
    telehealth = draw(st.booleans())

    session_list: list[Session] = []
    line_list: list[ServiceLine] = []
    for i, (code, n_units, day) in enumerate(zip(codes, units, days, strict=True)):
        fmt = SessionFormat.GROUP if code == p.group_code else SessionFormat.INDIVIDUAL
        delivery = Delivery.TELEHEALTH if telehealth and draw(st.booleans()) else Delivery.IN_PERSON
        sid = f"S-{day.isoformat()}-{i + 1}"
        session_list.append(
            draw(
                sessions(
                    session_id=sid,
                    date=day,
                    format=fmt,
                    units=n_units,
                    delivery=delivery,
                    profile=p,
                )
            )
        )
        if claim_form is ClaimForm.PROFESSIONAL:
            pos = draw(st.sampled_from(_PROFESSIONAL_POS))
            modifiers: list[str] = []
            if delivery is Delivery.TELEHEALTH:
                if draw(st.booleans()):
                    pos = draw(st.sampled_from(sorted(p.telehealth_places_of_service)))
                else:
                    modifiers = [draw(st.sampled_from(sorted(p.telehealth_modifiers)))]
            revenue = None
        else:
            pos = None
            revenue = "0942"
            modifiers = (
                [draw(st.sampled_from(sorted(p.telehealth_modifiers)))]
                if delivery is Delivery.TELEHEALTH
                else []
            )
        line_list.append(
            ServiceLine(
                line_id=str(i + 1),
                hcpcs=code,
                modifiers=modifiers,
                units=n_units,
                service_date=day,
                place_of_service=pos,
                revenue_code=revenue,
                diagnosis_pointers=[1],
                rendering_npi=draw(st.one_of(st.none(), npis())),
                session_ids=[sid],
            )
        )

    needed_hours = max(sum(units) * p.unit_minutes / 60, 0.5)
    referral = draw(
        referrals(
            training=kind,
            on_or_before=days[0],
            min_hours=needed_hours,
            individual_exception=exception,
            profile=p,
        )
    )
    diagnoses = [draw(diagnosis_codes(profile=p))]
    diagnoses += draw(st.lists(diagnosis_codes(diabetes=False), max_size=3, unique=True))
    tob = (
        draw(st.sampled_from(_INSTITUTIONAL_TOB)) if claim_form is ClaimForm.INSTITUTIONAL else None
    )
    provider = draw(billing_providers(form=claim_form, covering=(days[0], days[-1]), group=group))
    return Claim(
        claim_id=draw(_ids("C-")),
        form=claim_form,
        beneficiary_id=draw(_beneficiary_ids()),
        type_of_bill=tob,
        billing_provider=provider,
        diagnosis_codes=diagnoses,
        referral=referral,
        lines=line_list,
        sessions=session_list,
        history=[],
    )


# --- claims that break one rule -------------------------------------------------------------------

Mutation = Callable[[st.DrawFn, Claim, Profile], Claim]
"""Turns a clean claim into one that breaks one rule (plus at most its documented companions)."""
Accept = Callable[[Claim, Profile], bool]
"""Which clean claims a mutation can start from (a filter; every mutation accepts most claims)."""


class _Breaker:
    __slots__ = ("accept", "companions", "mutate")

    def __init__(
        self,
        mutate: Mutation,
        *,
        accept: Accept | None = None,
        companions: frozenset[str] = frozenset(),
    ) -> None:
        self.mutate = mutate
        self.accept = accept
        self.companions = companions


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


def _units_not_positive(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    data["lines"][_pick(draw, range(len(claim.lines)))]["units"] = draw(st.integers(-2, 0))
    return _rebuild(data)


def _session_too_short(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    i = _pick(draw, range(len(claim.lines)))
    _session_of(data, i)["minutes"] = draw(st.integers(0, p.min_session_minutes - 1))
    return _rebuild(data)


def _units_exceed_time(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    i = _pick(draw, [k for k, line in enumerate(claim.lines) if line.units >= 2])
    units = claim.lines[i].units
    # One minute short of the units billed, but still a billable session (no DS102).
    _session_of(data, i)["minutes"] = max(units * p.unit_minutes - 1, p.min_session_minutes)
    return _rebuild(data)


def _group_too_small(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    i = _pick(draw, _lines_with(claim, p.group_code))
    _session_of(data, i)["attendees"] = draw(st.integers(0, p.group_min - 1))
    return _rebuild(data)


def _group_too_large(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    i = _pick(draw, _lines_with(claim, p.group_code))
    _session_of(data, i)["attendees"] = draw(st.integers(p.group_max + 1, p.group_max + 40))
    return _rebuild(data)


def _individual_code_for_group(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    i = _pick(draw, _lines_with(claim, p.individual_code))
    session = _session_of(data, i)
    session["attendees"] = draw(st.integers(p.group_min, p.group_max))
    session["format"] = draw(st.sampled_from(["group", "individual"]))
    return _rebuild(data)


def _session_record_missing(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
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


def _session_date_mismatch(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    i = _pick(draw, range(len(claim.lines)))
    shift = draw(st.integers(1, 5)) * draw(st.sampled_from([-1, 1]))
    session = _session_of(data, i)
    session["date"] = (claim.lines[i].service_date + dt.timedelta(days=shift)).isoformat()
    return _rebuild(data)


def _duplicate_service(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    i = _pick(
        draw, [k for k, line in enumerate(claim.lines) if _units_room(claim, p, line.hcpcs) >= 1]
    )
    copy = dict(data["lines"][i], line_id=str(len(data["lines"]) + 1), units=1)
    data["lines"].append(copy)
    return _rebuild(data)


def _duplicate_room(claim: Claim, p: Profile) -> bool:
    return any(_units_room(claim, p, line.hcpcs) >= 1 for line in claim.lines)


def _not_accredited(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    if draw(st.booleans()):
        data["billing_provider"]["accreditation"] = None
    else:
        data["billing_provider"]["accreditation"]["organization"] = draw(
            st.sampled_from(["JCAHO", "NCQA", "STATE"])
        )
    return _rebuild(data)


def _accreditation_lapsed(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
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


def _invalid_npi(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    data["billing_provider"]["npi"] = draw(invalid_npis())
    return _rebuild(data)


def _no_qualified_instructor(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    i = _pick(draw, range(len(claim.lines)))
    unqualified = draw(st.lists(instructors(qualified=False), max_size=2))
    _session_of(data, i)["instructors"] = [x.model_dump(mode="json") for x in unqualified]
    return _rebuild(data)


def _rhc(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    data["billing_provider"]["entity"] = "rhc"
    return _rebuild(data)


def _fqhc_group(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    data["billing_provider"]["entity"] = "fqhc"
    return _rebuild(data)


def _no_individual_excess(claim: Claim, p: Profile) -> bool:
    """Without a referral no exception is documented: keep G0108 units within the allowance."""
    individual = sum(line.units for line in claim.lines if line.hcpcs == p.individual_code)
    return individual <= p.initial_individual_max_units


def _referral_missing(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    data["referral"] = None
    return _rebuild(data)


def _referral_unsigned(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    data["referral"]["signed"] = False
    return _rebuild(data)


def _referrer_not_qualified(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    data["referral"]["practitioner_role"] = "other"
    return _rebuild(data)


def _referral_after_service(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    first = min(line.service_date for line in claim.lines)
    data["referral"]["date"] = (first + dt.timedelta(days=draw(st.integers(1, 30)))).isoformat()
    return _rebuild(data)


def _initial_order_over_limit(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    over = int(p.initial_order_max_hours * 2) + draw(st.integers(1, 20))
    data["referral"]["hours_ordered"] = over / 2
    return _rebuild(data)


def _initial_referral(claim: Claim, p: Profile) -> bool:
    return claim.referral is not None and claim.referral.training is Training.INITIAL


def _diagnosis_missing(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    i = _pick(draw, range(len(claim.lines)))
    past_end = len(claim.diagnosis_codes) + 1
    data["lines"][i]["diagnosis_pointers"] = draw(st.sampled_from([[], [min(past_end, 12)]]))
    return _rebuild(data)


def _diagnosis_not_diabetes(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    others = set(claim.diagnosis_codes[1:])
    pool = [c for c in (*_COMORBIDITIES, "R73.03", "R73.09", "R73.01") if c not in others]
    data["diagnosis_codes"][0] = draw(st.sampled_from(pool))
    return _rebuild(data)


def _diagnosis_code_invalid(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    bad = draw(st.sampled_from(["E11", "E11.6", "O24", "Z79", "E11.99", "X99.9", "I1"]))
    data["diagnosis_codes"].append(bad)
    return _rebuild(data)


def _mnt_same_day(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
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


def _inpatient_pos(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    i = _pick(draw, range(len(claim.lines)))
    data["lines"][i]["place_of_service"] = draw(
        st.sampled_from(sorted(p.inpatient_places_of_service))
    )
    data["lines"][i]["modifiers"] = []
    _session_of(data, i)["delivery"] = "in_person"
    return _rebuild(data)


def _bill_type_not_allowed(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    data["form"] = "institutional"
    candidates = ("11", "14", "18", "21", "32", "33", "72", "74", "75", "81", "83", "86")
    bad = [t for t in candidates if t not in p.allowed_bill_types and t not in p.rhc_bill_types]
    data["type_of_bill"] = draw(st.sampled_from(bad)) + draw(st.sampled_from("1234"))
    return _rebuild(data)


def _telehealth_inconsistent(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    i = _pick(draw, range(len(claim.lines)))
    line = data["lines"][i]
    session = _session_of(data, i)
    if draw(st.booleans()):  # telehealth delivery coded as in person
        session["delivery"] = "telehealth"
        line["modifiers"] = []
        if line["place_of_service"] is not None:
            line["place_of_service"] = draw(st.sampled_from(_PROFESSIONAL_POS))
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


def _referral_hours_exceeded(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
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


def _referral_hours_room(claim: Claim, p: Profile) -> bool:
    return _dsmt_units(claim, p) >= 2 or _first_day(claim).timetuple().tm_yday > 1


def _referral_phase_mismatch(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
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


def _follow_up_sized(claim: Claim, p: Profile) -> bool:
    """Small enough to stay within a follow-up year's cap once the claim becomes follow-up."""
    return _dsmt_units(claim, p) <= p.follow_up_max_units_per_year


def _initial_hours_exceeded(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
    data = _dump(claim)
    first = _first_day(claim)
    earlier = p.initial_max_units - _dsmt_units(claim, p) + draw(st.integers(1, 3))
    data["history"] = _history_before(
        draw, first, earlier, hcpcs=p.group_code, earliest=first - dt.timedelta(days=200)
    )
    return _rebuild(data)


def _initial_individual_exceeded(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
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


def _individual_room(claim: Claim, p: Profile) -> bool:
    own = _dsmt_units(claim, p, p.individual_code)
    earlier = max(1, p.initial_individual_max_units - own + 1)
    return (
        _initial_referral(claim, p)
        and own > 0
        and _dsmt_units(claim, p) + earlier <= p.initial_max_units
    )


def _follow_up_hours_exceeded(draw: st.DrawFn, claim: Claim, p: Profile) -> Claim:
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


def _follow_up_room(claim: Claim, p: Profile) -> bool:
    return (
        claim.referral is not None
        and claim.referral.training is Training.FOLLOW_UP
        and _first_day(claim).timetuple().tm_yday > 10
    )


_BREAKERS: dict[str, _Breaker] = {
    "DS101": _Breaker(_units_not_positive),
    "DS102": _Breaker(_session_too_short, companions=frozenset({"DS103"})),
    "DS103": _Breaker(
        _units_exceed_time, accept=lambda c, p: any(line.units >= 2 for line in c.lines)
    ),
    "DS104": _Breaker(_group_too_small, accept=_has("group_code")),
    "DS105": _Breaker(_group_too_large, accept=_has("group_code")),
    "DS106": _Breaker(_individual_code_for_group, accept=_has("individual_code")),
    "DS107": _Breaker(_session_record_missing),
    "DS108": _Breaker(_session_date_mismatch),
    "DS110": _Breaker(_duplicate_service, accept=_duplicate_room),
    "DS201": _Breaker(_not_accredited),
    "DS202": _Breaker(_accreditation_lapsed),
    "DS203": _Breaker(_invalid_npi),
    "DS204": _Breaker(_no_qualified_instructor),
    "DS205": _Breaker(_rhc),
    "DS206": _Breaker(_fqhc_group, accept=_has("group_code")),
    "DS301": _Breaker(_referral_missing, accept=_no_individual_excess),
    "DS302": _Breaker(_referral_unsigned),
    "DS303": _Breaker(_referrer_not_qualified),
    "DS304": _Breaker(_referral_after_service),
    "DS305": _Breaker(_referral_hours_exceeded, accept=_referral_hours_room),
    "DS306": _Breaker(_initial_order_over_limit, accept=_initial_referral),
    "DS307": _Breaker(_diagnosis_missing),
    "DS308": _Breaker(_diagnosis_not_diabetes),
    "DS309": _Breaker(_diagnosis_code_invalid),
    "DS310": _Breaker(_referral_phase_mismatch, accept=_follow_up_sized),
    "DS401": _Breaker(_initial_hours_exceeded, accept=_initial_referral),
    "DS402": _Breaker(_initial_individual_exceeded, accept=_individual_room),
    "DS403": _Breaker(_follow_up_hours_exceeded, accept=_follow_up_room),
    "DS501": _Breaker(_mnt_same_day),
    "DS601": _Breaker(_inpatient_pos),
    "DS602": _Breaker(_bill_type_not_allowed),
    "DS603": _Breaker(_telehealth_inconsistent),
}

VIOLATABLE_CODES: tuple[str, ...] = tuple(sorted(_BREAKERS))
"""The codes ``claims(violating=...)`` supports: every rule that claim data alone can break.

Not here: DS001 (an unreadable document is not a Claim), DS002 (a claim without DSMT lines: use
``claims()`` and drop the lines yourself), DS003 (X12 structure) and DS109 (needs an MUE table).
"""

COMPANIONS: Mapping[str, frozenset[str]] = {
    code: breaker.companions for code, breaker in sorted(_BREAKERS.items())
}
"""For each code of :data:`VIOLATABLE_CODES`: the other codes its claims may also raise."""


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
    p = _profile(profile)
    if not 1 <= min_lines <= max_lines <= 10:
        raise ValueError("claims(): need 1 <= min_lines <= max_lines <= 10")
    if hcpcs is not None and hcpcs not in p.dsmt_codes:
        raise ValueError(f"claims(): hcpcs must be one of {sorted(p.dsmt_codes)}")
    claim_form = ClaimForm(form) if form is not None else None
    kinds = [Training(phase)] if phase else list(Training)
    if all(_unit_budget(kind, p) < min_lines for kind in kinds):
        raise ValueError(
            f"claims(): min_lines={min_lines} is more lines than a clean "
            f"{'/'.join(k.value for k in kinds)} claim can bill (one unit each)"
        )
    base = _clean_claims(
        hcpcs=hcpcs,
        min_lines=min_lines,
        max_lines=max_lines,
        phase=phase,
        form=claim_form,
        profile=p,
    )
    if violating is None:
        return base
    breaker = _BREAKERS.get(violating.strip().upper())
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


def _hypothesis_setup_hook() -> None:
    """Called by Hypothesis through the ``hypothesis`` entry point: ``st.from_type(Claim)`` etc."""
    st.register_type_strategy(Claim, claims())
    st.register_type_strategy(Session, sessions())
    st.register_type_strategy(Referral, referrals())
    st.register_type_strategy(Instructor, instructors())
    st.register_type_strategy(Accreditation, accreditations())
