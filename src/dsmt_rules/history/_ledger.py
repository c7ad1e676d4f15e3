"""The beneficiary ledger: every DSMT and MNT service on record, the initial period, follow-up years.

A :class:`Ledger` is built for one claim under check. It holds the beneficiary's services as small
:class:`Service` tuples, in date-of-service order (ties: services on record first, then claim id,
then line order):

- the claim's own DSMT/MNT lines;
- the services on record: the claim's ``history`` array and the ``history=`` argument of
  :func:`~dsmt_rules.check` (in a batch, also the ``history`` arrays of the beneficiary's other claims);
- in a batch, the DSMT/MNT lines of the beneficiary's other claims.

The sources are views of one record, so they are merged, not added up. The same service on record
listed by two views (the claim's ``history`` and ``history=``, or two claims of a batch) counts once
(per date, code, units and referral id, the larger count of any one view); and a service on record
with the date, code and units of a line of the batch *is* that line (the line is kept, carrying its
claim, line and sessions). Rule DS110 still compares each line with its own claim's ``history`` as
given, so a claim that bills a service already on record is reported.

Phase (MBPM §300.3, RULES.md "Notes for implementers"): the initial period starts on the first
DSMT date of service on record and lasts ``profile.initial_period_months``: it ends on the day
before the same day of the month that many months later (dateutil ``relativedelta``), or on the
last day of that month when it has no such day: 2025-03-15 opens a period that ends 2026-03-14,
2023-03-01 one that ends 2024-02-29, 2024-02-29 one that ends 2025-02-28.
Later DSMT services are follow-up, counted per calendar year. When the first DSMT service on
record is billed under a follow-up order, it is follow-up (MBPM §300.1: a missing record of initial
training is no reason to deny follow-up) and no initial period ever opens: initial training is
covered only for a beneficiary who has had none (MBPM §300.3.A(i)). A line of fewer than 1 unit
(and a service on record of fewer than 1 unit) bills no service: it is not in the ledger at all,
so it opens no period, counts toward no cap and repeats nothing.

Counting against a cap walks the window's services in ledger order: the line whose units take the
running total past the cap carries an :class:`Overage` naming the units over it; every later line
of that window is over by all of its units. Only the claim's own lines are reported: the other
claims of a batch get their findings when they are checked.

Every claim of one beneficiary in a batch sees the same services (its own lines are among them
either way; only *which* lines are its own differs). So the work is split in two: a :class:`Book`
holds the beneficiary-level results, computed once (the sorted services and, from one walk over
them, the phases, the running totals of every cap's window and the MNT dates; DS110's first lines
per code and session on first use), and a :class:`Ledger` is a cheap view of a book for one claim
(its sequence number and its own ``history``): each of its answers costs in proportion to the
claim's own lines, not to the beneficiary's. :mod:`dsmt_rules.batch` builds one book per
beneficiary; :meth:`Ledger.for_claim` builds a book for one claim.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from dateutil.relativedelta import relativedelta

from dsmt_rules.models import Training

if TYPE_CHECKING:
    from dsmt_rules.models import Claim, HistoryEntry, IndividualReason, SpecialNeed
    from dsmt_rules.profiles import Profile

__all__ = [
    "RECORD",
    "Book",
    "ClaimFacts",
    "Entry",
    "Ledger",
    "LineFacts",
    "Match",
    "Overage",
    "Period",
    "Phase",
    "RecordKey",
    "ReferralFacts",
    "Service",
    "facts_of",
    "initial_period_from",
    "line_services",
    "merge_record",
    "record_counts",
    "referral_cap",
]

RECORD = ""
"""The ``claim_id`` of a service on record (a history entry): not a claim of the batch."""

_ONE_DAY = dt.timedelta(days=1)
_T = TypeVar("_T")

RecordKey = tuple[dt.date, str, int, str | None]
"""A service on record: date of service, HCPCS code, units, referral id."""


class Service(NamedTuple):
    """One DSMT or MNT service of the beneficiary: a claim line or a service on record.

    Small on purpose (a batch keeps one per line of every claim): no PHI, no free text.
    """

    service_date: dt.date
    claim_id: str
    """The claim that bills it, or :data:`RECORD` for a service on record."""
    seq: int
    """The claim's sequence number in its batch (the claim under check alone: 0); -1 on record."""
    line: int
    """The index in its claim's ``lines`` (on record: its rank among the services on record)."""
    line_id: str
    hcpcs: str
    units: int
    referral_id: str | None
    training: Training | None
    """What the order it is billed under states; None when not known (on record, or no referral)."""
    session_ids: tuple[str, ...]

    @property
    def order(self) -> tuple[dt.date, str, int, int]:
        """The ledger order: date of service, then on record first, claim id, claim, line."""
        return (self.service_date, self.claim_id, self.seq, self.line)


class Period(NamedTuple):
    """The initial 12-month period: first and last day, both included."""

    start: dt.date
    end: dt.date


class Phase(NamedTuple):
    """Where a DSMT service falls: in the initial period, or in a follow-up calendar year."""

    training: Training
    year: int | None = None
    """The follow-up calendar year (None in the initial period)."""


class Overage(NamedTuple):
    """A line of the claim under check whose units are past a cap."""

    line: int
    """The index in ``claim.lines``."""
    total: int
    """Units in the window up to and including this line."""
    cap: int
    over: int
    """Units of this line past the cap (all of them when the cap was already reached)."""
    year: int | None = None
    """The follow-up calendar year, for follow-up caps."""


_INITIAL = Phase(Training.INITIAL)


class Match(NamedTuple):
    """An earlier service that a line of the claim repeats (rule DS110)."""

    service: Service
    session_id: str | None
    """The session both bill, or None when they match on code and date."""

    @property
    def on_record(self) -> bool:
        """Whether the earlier service is on record (a history entry), not a line of a claim."""
        return self.service.claim_id == RECORD


@functools.lru_cache(maxsize=4096)
def initial_period_from(start: dt.date, months: int) -> Period:
    """The initial period opened by a first DSMT service on ``start``.

    It ends on the day before the same day of the month ``months`` later; when that month has no
    such day, on the month's last day: 2025-03-15 -> 2026-03-14, 2024-02-29 -> 2025-02-28. A
    period that would end after 9999-12-31 (the last date the claim document can hold) ends then.
    """
    try:
        same_day = start + relativedelta(months=months)  # clipped to the month's end if need be
    except ValueError:  # past year 9999: the period runs to the last representable day
        return Period(start, dt.date.max)
    return Period(start, same_day if same_day.day != start.day else same_day - _ONE_DAY)


_new_tuple = tuple.__new__


class Entry(NamedTuple):
    """A service on record as the ledger keeps it (a history entry's four facts)."""

    service_date: dt.date
    hcpcs: str
    units: int
    referral_id: str | None


class LineFacts(NamedTuple):
    """What the history rules read of one DSMT line of the claim under check."""

    line_id: str
    hcpcs: str
    units: int
    service_date: dt.date
    session_ids: tuple[str, ...]


class ReferralFacts(NamedTuple):
    """What the history rules read of the claim's referral."""

    referral_id: str | None
    training: Training
    hours_ordered: float
    individual_reason: IndividualReason | None
    special_needs: tuple[SpecialNeed, ...]


class ClaimFacts(NamedTuple):
    """One claim as the ledger and the history rules see it: plain values, no PHI, no free text."""

    seq: int
    """The claim's sequence number in its batch (a claim checked alone: 0)."""
    claim_id: str
    services: tuple[Service, ...]
    """The claim's DSMT and MNT lines as services, in line order."""
    dsmt_lines: tuple[tuple[int, LineFacts], ...]
    """(index in ``claim.lines``, line) of each DSMT line, in claim order."""
    referral: ReferralFacts | None
    history: tuple[Entry, ...]
    """The services on record as the claim gives them (``history``, then ``history=``)."""
    record: tuple[tuple[RecordKey, int], ...]
    """How many times the claim's views of the record list each DSMT/MNT service (merged)."""


def referral_cap(hours_ordered: float, profile: Profile) -> int:
    """The units an order for ``hours_ordered`` hours covers (DS305): 10 hours = 20 units."""
    return int(hours_ordered * 60 // profile.unit_minutes)


def facts_of(
    claim: Claim, profile: Profile, *, seq: int = 0, history: Iterable[HistoryEntry] = ()
) -> ClaimFacts:
    """The claim's facts; ``history`` is more of the record (the ``history=`` of ``check``).

    One loop over the lines, tuples built without keyword handling: a batch makes one per claim.
    """
    dsmt = profile.dsmt_codes
    codes = profile.ledger_codes
    r = claim.referral
    referral_id = training = referral = None
    if r is not None:
        referral_id, training = r.referral_id, r.training
        referral = _new_tuple(
            ReferralFacts,
            (referral_id, training, r.hours_ordered, r.individual_reason, tuple(r.special_needs)),
        )
    claim_id = claim.claim_id
    services: list[Service] = []
    dsmt_lines: list[tuple[int, LineFacts]] = []
    for i, line in enumerate(claim.lines):
        hcpcs = line.hcpcs
        units = line.units
        if hcpcs not in codes or units < 1:  # a line of fewer than 1 unit bills no service
            continue
        ids = line.session_ids
        sids = tuple(ids) if len(ids) < 2 else tuple(dict.fromkeys(ids))
        day, line_id = line.service_date, line.line_id
        services.append(
            _new_tuple(
                Service, (day, claim_id, seq, i, line_id, hcpcs, units, referral_id, training, sids)
            )
        )
        if hcpcs in dsmt:
            dsmt_lines.append((i, _new_tuple(LineFacts, (line_id, hcpcs, units, day, sids))))
    entries: tuple[Entry, ...] = ()
    record: dict[RecordKey, int] = {}
    extra = tuple(history)
    if claim.history or extra:
        entries = tuple(
            _new_tuple(Entry, (e.service_date, e.hcpcs, e.units, e.referral_id))
            for e in (*claim.history, *extra)
            if e.units >= 1
        )
        record = record_counts(claim.history, profile)
        if extra:
            merge_record(record, record_counts(extra, profile))
    return _new_tuple(
        ClaimFacts,
        (
            seq,
            claim_id,
            tuple(services),
            tuple(dsmt_lines),
            referral,
            entries,
            tuple(record.items()),
        ),
    )


def line_services(claim: Claim, profile: Profile, seq: int) -> list[Service]:
    """The claim's DSMT and MNT lines as services (as :func:`facts_of` makes them)."""
    codes = profile.ledger_codes
    referral = claim.referral
    referral_id = None if referral is None else referral.referral_id
    training = None if referral is None else referral.training
    claim_id = claim.claim_id
    out: list[Service] = []
    for i, line in enumerate(claim.lines):
        hcpcs = line.hcpcs
        if hcpcs in codes and line.units >= 1:
            ids = line.session_ids
            out.append(
                _new_tuple(
                    Service,
                    (
                        line.service_date,
                        claim_id,
                        seq,
                        i,
                        line.line_id,
                        hcpcs,
                        line.units,
                        referral_id,
                        training,
                        tuple(ids) if len(ids) < 2 else tuple(dict.fromkeys(ids)),
                    ),
                )
            )
    return out


def _unique(ids: Sequence[str]) -> tuple[str, ...]:
    return tuple(ids) if len(ids) < 2 else tuple(dict.fromkeys(ids))


def record_counts(
    entries: Iterable[HistoryEntry | Entry], profile: Profile
) -> dict[RecordKey, int]:
    """How many times one view of the record lists each DSMT/MNT service."""
    codes = profile.ledger_codes
    counts: dict[RecordKey, int] = {}
    for e in entries:
        if e.hcpcs in codes and e.units >= 1:
            key = (e.service_date, e.hcpcs, e.units, e.referral_id)
            counts[key] = counts.get(key, 0) + 1
    return counts


def merge_record(into: dict[RecordKey, int], view: Mapping[RecordKey, int]) -> None:
    """Merge a view of the record into another: per service, the larger count."""
    for key, n in view.items():
        if n > into.get(key, 0):
            into[key] = n


_ORDER = operator.itemgetter(0, 1, 2, 3)
"""The ledger order of a :class:`Service` (its :attr:`Service.order`), as a fast sort key."""

_DuplicateKey = tuple[str, str | None, dt.date]
"""DS110's identity of a service: code, session id (None for a line that links none) and date of
service. A session is its id *and* its date: a weekly class that reuses an id is a new session
each week (RULES.md)."""
"""Code and session id, or code and date of service for a line that links no session."""


class Book:
    """The beneficiary-level results that every :class:`Ledger` of the same services shares.

    One walk over the sorted services, when the book is made, gives each DSMT service's phase,
    the initial period, the running totals of the initial period, of its individual units, of each
    follow-up year and under each referral id, the positions of each claim's lines and the MNT
    codes by date (DS501). The first lines per code and session (DS110) are found on first use,
    when the book holds more than one claim. Memory is proportional to the services.
    """

    __slots__ = (
        "_duplicates",
        "by_seq",
        "first_service",
        "follow_up",
        "individual",
        "initial",
        "mnt_codes_by_date",
        "period",
        "phases",
        "profile",
        "referral_units",
        "referrals",
        "services",
        "suspects",
    )

    def __init__(self, services: Iterable[Service], profile: Profile) -> None:
        self.profile = profile
        self.services: tuple[Service, ...] = tuple(sorted(services, key=_ORDER))
        """Every DSMT/MNT service, in ledger order."""
        self._duplicates: dict[_DuplicateKey, list[int]] | None = None
        dsmt = profile.dsmt_codes
        mnt = profile.mnt_codes
        individual_code = profile.individual_code
        months = profile.initial_period_months
        follow_up_training = Training.FOLLOW_UP
        period: Period | None = None
        first_dsmt: dt.date | None = None
        start = end = dt.date.min
        phases: list[Phase | None] = []
        initial: dict[int, int] = {}
        individual: dict[int, int] = {}
        follow_up: dict[int, int] = {}
        referrals: dict[str, dict[int, int]] = {}
        by_seq: dict[int, list[int]] = {}
        by_date: dict[dt.date, set[str]] = {}
        in_initial = in_individual = 0
        years: dict[int, int] = {}
        under: dict[str, int] = {}
        year_phases: dict[int, Phase] = {}
        initial_cap = profile.initial_max_units
        individual_cap = profile.initial_individual_max_units
        suspects: set[int] = set()
        keys: dict[_DuplicateKey, int] = {}  # a DSMT line's key -> the first seq, -1 once repeated
        for k, (day, claim_id, seq, _, _, code, units, rid, training, sids) in enumerate(
            self.services
        ):
            own = claim_id != RECORD
            if own:
                found = by_seq.get(seq)
                if found is None:
                    by_seq[seq] = [k]
                else:
                    found.append(k)
            if code not in dsmt:
                phases.append(None)
                if code in mnt:
                    codes = by_date.get(day)
                    if codes is None:
                        by_date[day] = {code}
                    else:
                        codes.add(code)
                continue
            if first_dsmt is None:  # the first DSMT service on record opens the initial period,
                first_dsmt = day  # unless it is follow-up: then none opens (MBPM §300.1, §300.3)
                if training is not follow_up_training:
                    period = initial_period_from(day, months)
                    start, end = period
            if units < 0:
                units = 0
            if own:
                for key in [(code, sid, day) for sid in sids] if sids else [(code, None, day)]:
                    first = keys.get(key)
                    if first is None:
                        keys[key] = seq
                    else:  # a second line with the key (a line's ids are unique): a repeat
                        suspects.add(seq)
                        if first >= 0:
                            suspects.add(first)
                            keys[key] = -1
            if period is not None and start <= day <= end:
                phases.append(_INITIAL)
                initial[k] = in_initial
                in_initial += units
                if code == individual_code:
                    individual[k] = in_individual
                    in_individual += units
                    if own and units and in_individual > individual_cap:
                        suspects.add(seq)
                if own and units and in_initial > initial_cap:
                    suspects.add(seq)
                if own and training is follow_up_training:
                    suspects.add(seq)  # DS310: a follow-up order in the initial period
            else:
                year = day.year
                phase = year_phases.get(year)
                if phase is None:
                    phase = year_phases[year] = Phase(follow_up_training, year)
                phases.append(phase)
                before = years.get(year, 0)
                follow_up[k] = before
                years[year] = before + units
                if own and training is not None and training is not follow_up_training:
                    suspects.add(seq)  # DS310: an initial order in the follow-up phase
            if rid is not None:
                group = referrals.get(rid)
                if group is None:
                    group = referrals[rid] = {}
                before = under.get(rid, 0)
                group[k] = before
                under[rid] = before + units
        self.phases: tuple[Phase | None, ...] = tuple(phases)
        """Parallel to ``services``: the phase of each DSMT service (None for MNT)."""
        self.period: Period | None = period
        """The initial period, or None when no initial training is on record."""
        self.first_service: dt.date | None = first_dsmt
        """The date of the beneficiary's first DSMT service on record (None: none)."""
        self.initial = initial
        """Position in ``services`` -> units of the initial period before it (DS401's window)."""
        self.individual = individual
        """The same, for the individual code's units in the initial period (DS402)."""
        self.follow_up = follow_up
        """Position -> units of its follow-up calendar year before it (DS403)."""
        self.referrals = referrals
        """Referral id -> {position of a DSMT service under it -> units under it before it} (DS305)."""
        self.by_seq = by_seq
        """Sequence number of a claim -> the positions of its lines, in order."""
        self.mnt_codes_by_date: Mapping[dt.date, set[str]] = by_date
        """The MNT codes of the services by date of service (DS501; do not modify)."""
        self.referral_units: Mapping[str, int] = under
        """Referral id -> every DSMT unit billed or on record under it (a bound for DS305)."""
        services = self.services
        for k, before in follow_up.items():  # DS403, now that the period (and so the caps) is known
            s = services[k]
            if (
                s.claim_id != RECORD
                and s.units > 0
                and before + s.units > self.follow_up_cap(s.service_date.year)
            ):
                suspects.add(s.seq)
        if by_date:  # DS501
            for s in services:
                if s.claim_id != RECORD and s.hcpcs in dsmt and s.service_date in by_date:
                    suspects.add(s.seq)
        self.suspects: frozenset[int] = frozenset(suspects)
        """The claims (sequence numbers) whose lines DS110, DS310, DS401, DS402, DS403 or DS501
        could report on: a superset of those they do report on. DS305 is bounded per claim
        (:meth:`Ledger.may_report`)."""

    def follow_up_cap(self, year: int) -> int:
        """Follow-up units allowed in a calendar year.

        With ``follow_up_in_initial_end_year`` false, none in the calendar year in which the
        initial period ends (follow-up starts on January 1 of the next year).
        """
        period = self.period
        if (
            not self.profile.follow_up_in_initial_end_year
            and period is not None
            and year == period.end.year
        ):
            return 0
        return self.profile.follow_up_max_units_per_year

    @classmethod
    def of(cls, claims: Iterable[ClaimFacts], profile: Profile) -> Book:
        """The book of one beneficiary's claims: their lines and their (merged) views of the record."""
        lines: list[Service] = []
        record: dict[RecordKey, int] = {}
        for facts in claims:
            lines.extend(facts.services)
            if facts.record:
                merge_record(record, dict(facts.record))
        return cls.of_services(lines, record, profile)

    @classmethod
    def of_services(
        cls, lines: Sequence[Service], record: Mapping[RecordKey, int], profile: Profile
    ) -> Book:
        """The book of claim lines and the (merged) services on record.

        A service on record under a referral id that a line is billed under has that referral's
        training (not known when the lines disagree about it); a service on record with the date,
        code and units of a line is that line.
        """
        if not record:
            return cls(lines, profile)
        trainings: dict[str, Training | None] = {}
        for s in lines:
            if s.referral_id is not None:
                known = trainings.setdefault(s.referral_id, s.training)
                if known is not s.training:
                    trainings[s.referral_id] = None
        return cls([*lines, *_unmatched(record, lines, trainings)], profile)

    def positions(self, seq: int) -> Sequence[int]:
        """Where the lines of the claim with sequence number ``seq`` are in ``services``, in order."""
        return self.by_seq.get(seq, ())

    def first_lines(self, key: _DuplicateKey) -> Sequence[int]:
        """For DS110: the positions of the first line with ``key`` and of the first line with it
        on another claim than that one (when there is one)."""
        if self._duplicates is None:
            services = self.services
            firsts: dict[_DuplicateKey, list[int]] = {}
            for k, s in enumerate(services):
                if s.claim_id == RECORD:
                    continue
                keys: Iterable[_DuplicateKey] = (
                    [(s.hcpcs, sid, s.service_date) for sid in s.session_ids]
                    if s.session_ids
                    else [(s.hcpcs, None, s.service_date)]
                )
                for key_ in keys:
                    found = firsts.get(key_)
                    if found is None:
                        firsts[key_] = [k]
                    elif len(found) == 1 and services[found[0]].seq != s.seq:
                        found.append(k)
            self._duplicates = firsts
        return self._duplicates.get(key, ())


_EMPTY: Mapping[int, int] = {}


class Ledger:
    """The beneficiary's DSMT and MNT services, as seen from one claim under check.

    A view of a :class:`Book` for the claim with sequence number ``seq``: the claim's lines are
    the book's lines with that ``seq``. Build it with :meth:`for_claim` (or, in a batch,
    :meth:`view` of the beneficiary's book); rules reach it as ``ctx.ledger``. Every answer costs
    in proportion to the claim's own lines (the book computes the rest once).
    """

    __slots__ = ("_own", "_own_index", "book", "facts", "own_history", "profile", "seq")

    def __init__(self, book: Book, facts: ClaimFacts) -> None:
        self.book = book
        self.profile = book.profile
        self.facts = facts
        """The claim under check, as the ledger sees it."""
        self.seq = facts.seq
        """The sequence number of the claim under check (its lines are the ones reported)."""
        self.own_history: tuple[Entry, ...] = facts.history
        """The services on record as the claim under check gives them (``history`` + ``history=``)."""
        self._own: Sequence[int] = book.by_seq.get(facts.seq, ())
        """The positions of the claim's lines in ``services``, in ledger order."""
        self._own_index: dict[int, int] | None = None

    @classmethod
    def view(cls, book: Book, facts: ClaimFacts) -> Ledger:
        """The ledger of a claim of the beneficiary whose services ``book`` holds."""
        return cls(book, facts)

    @classmethod
    def for_claim(
        cls, claim: Claim, profile: Profile, *, history: Iterable[HistoryEntry] = (), seq: int = 0
    ) -> Ledger:
        """The ledger of one claim checked alone: its lines and its record (``history`` is more of
        the record, the ``history=`` argument of ``check``)."""
        facts = facts_of(claim, profile, seq=seq, history=history)
        return cls(Book.of((facts,), profile), facts)

    def may_report(self) -> bool:
        """Whether a history rule could report on the claim's lines (False: none can).

        The book's suspects (DS110, DS310, DS401-DS403, DS501); a line with the code and date of a
        service in the claim's own record (DS110); and DS305, when the units that could be under the claim's
        referral pass what it orders.
        """
        facts = self.facts
        if facts.seq in self.book.suspects:
            return True
        if facts.history:  # DS110: a line that repeats the claim's own record
            on_record = {(e.hcpcs, e.service_date) for e in facts.history}
            for _, line in facts.dsmt_lines:
                if (line.hcpcs, line.service_date) in on_record:
                    return True
        referral = facts.referral
        if referral is None:
            return False
        own = sum(line.units for _, line in facts.dsmt_lines if line.units > 0)
        under = self.book.referral_units.get(referral.referral_id, 0) if referral.referral_id else 0
        return under + own > referral_cap(referral.hours_ordered, self.profile)

    @property
    def services(self) -> tuple[Service, ...]:
        """Every DSMT/MNT service, in ledger order."""
        return self.book.services

    # --- the claim's own lines ---------------------------------------------------------------

    def is_own(self, service: Service) -> bool:
        """Whether a service is a line of the claim under check."""
        return service.seq == self.seq and service.claim_id != RECORD

    def _index(self) -> dict[int, int]:
        """The claim's line index (in ``claim.lines``) -> its position in ``services``."""
        if self._own_index is None:
            services = self.book.services
            self._own_index = {services[k].line: k for k in self._own}
        return self._own_index

    # --- phase ----------------------------------------------------------------------------------

    @property
    def initial_period(self) -> Period | None:
        """The beneficiary's initial period, or None when no initial training is on record."""
        return self.book.period

    @property
    def first_service(self) -> dt.date | None:
        """The date of the beneficiary's first DSMT service on record (None: none)."""
        return self.book.first_service

    def phase_of_line(self, line: int) -> Phase | None:
        """The phase of the claim's DSMT line ``line`` (index in ``claim.lines``); None if not DSMT."""
        k = self._index().get(line)
        return None if k is None else self.book.phases[k]

    def follow_up_cap(self, year: int) -> int:
        """Follow-up units allowed in a calendar year (:meth:`Book.follow_up_cap`)."""
        return self.book.follow_up_cap(year)

    # --- caps -------------------------------------------------------------------------------------

    def _own_overages(
        self, before: Mapping[int, int], cap: int | Callable[[int], int], *, by_year: bool = False
    ) -> list[Overage]:
        """The claim's lines past a cap, from a window's running totals (``before``), in order."""
        out: list[Overage] = []
        if not before:
            return out
        services = self.book.services
        for k in self._own:
            units_before = before.get(k)
            if units_before is None:
                continue
            s = services[k]
            units = s.units if s.units > 0 else 0
            if not units:
                continue
            year = s.service_date.year if by_year else None
            limit = cap(year or 0) if callable(cap) else cap
            total = units_before + units
            if total > limit:
                out.append(Overage(s.line, total, limit, total - max(units_before, limit), year))
        return out

    def initial_overages(self) -> list[Overage]:
        """The claim's lines past ``initial_max_units`` in the initial period (DS401)."""
        return self._own_overages(self.book.initial, self.profile.initial_max_units)

    def individual_overages(self) -> list[Overage]:
        """The claim's individual-code lines past ``initial_individual_max_units`` (DS402)."""
        cap = self.profile.initial_individual_max_units
        return self._own_overages(self.book.individual, cap)

    def follow_up_overages(self) -> list[Overage]:
        """The claim's lines past the follow-up units of their calendar year (DS403)."""
        return self._own_overages(self.book.follow_up, self.follow_up_cap, by_year=True)

    def referral_overages(self, referral_id: str | None, cap: int) -> list[Overage]:
        """The claim's DSMT lines past ``cap`` units billed under one referral (DS305).

        Without a referral id only the claim's own lines are known to be under it.
        """
        book = self.book
        services = book.services
        dsmt = self.profile.dsmt_codes
        own = [k for k in self._own if services[k].hcpcs in dsmt]
        if referral_id is not None:
            for k in own:
                if services[k].referral_id != referral_id:
                    break
            else:
                # Every DSMT line of the claim is billed under it (DS305 asks for the claim's own
                # referral): the walk under the referral id that the book made is the window.
                return self._own_overages(book.referrals.get(referral_id, _EMPTY), cap)
        members = set(own)
        if referral_id is not None:
            members.update(book.referrals.get(referral_id, _EMPTY))
        before: dict[int, int] = {}
        total = 0
        for k in sorted(members):
            before[k] = total
            total += max(services[k].units, 0)
        return self._own_overages(before, cap)

    # --- duplicates -----------------------------------------------------------------------------

    def earlier_duplicate(self, line: int) -> Match | None:
        """An earlier service that the claim's line ``line`` repeats (DS110), outside the claim.

        The line repeats a service of its claim's ``history`` (or ``history=``) with the same code
        and date of service (the record has no sessions), or a line of another claim of the
        beneficiary in the batch that comes earlier in ledger order and has the same code and a
        session in common, or, when neither links a session, the same code and date of service.
        """
        book = self.book
        if not self.own_history and len(book.by_seq) < 2:
            return None  # nothing on record and no other claim: nothing to repeat
        k = self._index().get(line)
        if k is None:
            return None
        me = book.services[k]
        for entry in self.own_history:
            if entry.hcpcs == me.hcpcs and entry.service_date == me.service_date:
                return Match(_from_record(entry, -1, None), None)
        if len(book.by_seq) < 2:
            return None
        keys: Iterable[_DuplicateKey] = (
            [(me.hcpcs, sid, me.service_date) for sid in me.session_ids]
            if me.session_ids
            else [(me.hcpcs, None, me.service_date)]
        )
        first = k
        for key in keys:
            for j in book.first_lines(key):
                if j < first and book.services[j].seq != self.seq:
                    first = j
                    break
        if first == k:
            return None
        other = book.services[first]
        if not me.session_ids:
            return Match(other, None)
        shared = next(sid for sid in me.session_ids if sid in other.session_ids)
        return Match(other, shared)

    # --- MNT --------------------------------------------------------------------------------------

    @property
    def mnt_codes_by_date(self) -> Mapping[dt.date, set[str]]:
        """The beneficiary's MNT codes by date of service (DS501; do not modify)."""
        return self.book.mnt_codes_by_date


def _from_record(entry: HistoryEntry | Entry, rank: int, training: Training | None) -> Service:
    return Service(
        entry.service_date,
        RECORD,
        -1,
        rank,
        "",
        entry.hcpcs,
        entry.units,
        entry.referral_id,
        training,
        (),
    )


def _unmatched(
    record: Mapping[RecordKey, int],
    lines: Sequence[Service],
    trainings: Mapping[str, Training | None],
) -> list[Service]:
    """The services on record that are not a line of the batch (same date, code and units)."""
    if not record:
        return []
    claimed: dict[tuple[dt.date, str, int], int] = {}
    for s in lines:
        line_key = (s.service_date, s.hcpcs, s.units)
        claimed[line_key] = claimed.get(line_key, 0) + 1
    out: list[Service] = []
    for key in sorted(record, key=_record_sort_key):
        n = record[key]
        day, code, units, referral_id = key
        short = (day, code, units)
        taken = min(n, claimed.get(short, 0))
        if taken:
            claimed[short] -= taken
        training = trainings.get(referral_id) if referral_id is not None else None
        for _ in range(n - taken):
            out.append(
                Service(day, RECORD, -1, len(out), "", code, units, referral_id, training, ())
            )
    return out


def _record_sort_key(key: RecordKey) -> tuple[dt.date, str, int, str]:
    day, code, units, referral_id = key
    return (day, code, units, referral_id or "")
