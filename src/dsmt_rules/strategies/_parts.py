"""The parts the claim strategies are built from: identifiers, codes, sessions, referrals, lines, and
clean claims. The public names are re-exported by :mod:`dsmt_rules.strategies`."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Literal

from hypothesis import strategies as st

from dsmt_rules._codes import icd10_dotted, npi_check_digit
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
    "COMORBIDITIES",
    "PROFESSIONAL_POS",
    "Phase",
    "accreditations",
    "billing_providers",
    "clean_claims",
    "diagnosis_codes",
    "histories",
    "instructors",
    "invalid_npis",
    "lines",
    "npis",
    "profile_of",
    "referrals",
    "sessions",
    "unit_budget",
]

Phase = Literal["initial", "follow_up"]

# Non-diabetes, billable ICD-10-CM codes commonly found beside diabetes on DSMT claims.
COMORBIDITIES = ("I10", "E78.5", "E66.9", "Z79.4", "Z79.84", "N18.30", "I25.10", "E03.9", "K76.0")
_NON_DSMT_CODES = ("99213", "99214", "80053", "83036", "36415")
PROFESSIONAL_POS = ("11", "19", "22", "49", "71")
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


def profile_of(profile: str | Profile) -> Profile:
    return load_profile(profile)


# --- identifiers ----------------------------------------------------------------------------------


def npis() -> st.SearchStrategy[str]:
    """Valid NPIs: 10 digits starting with 1 or 2, with the CMS Luhn check digit (prefix 80840)."""
    return st.builds(
        lambda lead, rest: f"{lead}{rest}" + npi_check_digit(f"{lead}{rest}"),
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
    """Diabetes codes billable on every date: in every shipped release, and not a later addition
    (E11.A exists only from 2025-10-01), so a claim of any date may carry them."""
    from dsmt_rules import _icd10

    sets = _icd10.shipped()
    return tuple(
        sorted(
            c
            for c in _icd10.billable_codes()
            if c.startswith(prefixes)
            and not any(c.startswith(a) for a in sets.additions)
            and all(r.status(c) == _icd10.BILLABLE for r in sets.releases)
        )
    )


def diagnosis_codes(
    *, diabetes: bool = True, profile: str | Profile = "medicare"
) -> st.SearchStrategy[str]:
    """Billable ICD-10-CM codes, dotted: diabetes codes (E08-E13, O24) or common comorbidities,
    valid on every date of service the strategies draw (every shipped release)."""
    if not diabetes:
        return st.sampled_from(COMORBIDITIES)
    prefixes = profile_of(profile).diabetes_code_prefixes
    return st.deferred(lambda: st.sampled_from(_diabetes_codes(prefixes)).map(icd10_dotted))


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
    p = profile_of(profile)
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
    p = profile_of(profile)
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
        place_of_service=st.sampled_from(PROFESSIONAL_POS)
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


def unit_budget(kind: Training, p: Profile) -> int:
    """The most units one clean claim of this training kind can bill (and so its most lines)."""
    if kind is Training.INITIAL:
        return min(p.initial_max_units, int(p.initial_order_max_hours * 60 / p.unit_minutes))
    return p.follow_up_max_units_per_year


@st.composite
def clean_claims(
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
        kind = draw(st.sampled_from([t for t in Training if unit_budget(t, p) >= min_lines]))
    budget = unit_budget(kind, p)
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
            pos = draw(st.sampled_from(PROFESSIONAL_POS))
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
