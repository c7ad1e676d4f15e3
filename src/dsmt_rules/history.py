"""The beneficiary ledger: every DSMT and MNT service on record, the initial period, follow-up years.

A :class:`Ledger` is built for one claim under check. It holds the beneficiary's services as small
:class:`Service` tuples, in date-of-service order (ties: services on record first, then claim id,
then line order):

- the claim's own DSMT/MNT lines;
- the services on record: the claim's ``history`` array and the ``history=`` argument of
  :func:`~dsmt_rules.check` (in a batch, also the ``history`` arrays of the beneficiary's other claims);
- in a batch, the DSMT/MNT lines of the beneficiary's other claims (:mod:`dsmt_rules.batch`).

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
Later DSMT services are follow-up, counted per calendar year. While no initial period has started,
a service billed under a follow-up order is follow-up (MBPM §300.1: a missing record of initial
training is no reason to deny follow-up) and starts no initial period; the first DSMT service
that is not known to be follow-up starts it.

Counting against a cap walks the window's services in ledger order: the line whose units take the
running total past the cap carries an :class:`Overage` naming the units over it; every later line
of that window is over by all of its units. Only the claim's own lines are reported: the other
claims of a batch get their findings when they are checked.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from dateutil.relativedelta import relativedelta

from dsmt_rules.models import Training

if TYPE_CHECKING:
    from dsmt_rules.models import Claim, HistoryEntry
    from dsmt_rules.profiles import Profile

__all__ = [
    "RECORD",
    "Ledger",
    "Match",
    "Overage",
    "Period",
    "Phase",
    "RecordKey",
    "Service",
    "initial_period_from",
    "merge_record",
    "record_counts",
    "services_of",
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


class _Phases(NamedTuple):
    phases: tuple[Phase | None, ...]
    """Parallel to ``Ledger.services``: the phase of each DSMT service (None for MNT)."""
    period: Period | None
    initial: list[int]
    initial_individual: list[int]
    follow_up: list[int]


_INITIAL = Phase(Training.INITIAL)


class Match(NamedTuple):
    """An earlier service that a line of the claim repeats (rule DS110)."""

    service: Service
    session_id: str | None
    """The session both bill, or None when they match on code and date."""


@functools.lru_cache(maxsize=4096)
def initial_period_from(start: dt.date, months: int) -> Period:
    """The initial period opened by a first DSMT service on ``start``.

    It ends on the day before the same day of the month ``months`` later; when that month has no
    such day, on the month's last day: 2025-03-15 -> 2026-03-14, 2024-02-29 -> 2025-02-28.
    """
    same_day = start + relativedelta(months=months)  # clipped to the month's end if need be
    return Period(start, same_day if same_day.day != start.day else same_day - _ONE_DAY)


def _same(value: _T) -> _T:
    return value


def services_of(
    claim: Claim,
    profile: Profile,
    seq: int,
    share: Callable[[str], str] = _same,
    day: Callable[[dt.date], dt.date] = _same,
) -> Iterator[Service]:
    """The claim's DSMT and MNT lines as services (``share``/``day`` share repeated values)."""
    codes = profile.ledger_codes
    referral = claim.referral
    referral_id = None if referral is None or referral.referral_id is None else referral.referral_id
    training = None if referral is None else referral.training
    for i, line in enumerate(claim.lines):
        if line.hcpcs in codes:
            yield Service(
                day(line.service_date),
                claim.claim_id,
                seq,
                i,
                share(line.line_id),
                share(line.hcpcs),
                line.units,
                referral_id,
                training,
                _unique(line.session_ids),
            )


def _unique(ids: Sequence[str]) -> tuple[str, ...]:
    return tuple(ids) if len(ids) < 2 else tuple(dict.fromkeys(ids))


def record_counts(entries: Iterable[HistoryEntry], profile: Profile) -> dict[RecordKey, int]:
    """How many times one view of the record lists each DSMT/MNT service."""
    codes = profile.ledger_codes
    counts: dict[RecordKey, int] = {}
    for e in entries:
        if e.hcpcs in codes:
            key = (e.service_date, e.hcpcs, e.units, e.referral_id)
            counts[key] = counts.get(key, 0) + 1
    return counts


def merge_record(into: dict[RecordKey, int], view: Mapping[RecordKey, int]) -> None:
    """Merge a view of the record into another: per service, the larger count."""
    for key, n in view.items():
        if n > into.get(key, 0):
            into[key] = n


class Ledger:
    """The beneficiary's DSMT and MNT services, as seen from one claim under check.

    Build it with :meth:`for_claim`; rules reach it as ``ctx.ledger``.
    """

    def __init__(
        self,
        services: Iterable[Service],
        profile: Profile,
        *,
        seq: int = 0,
        own_history: Sequence[HistoryEntry] = (),
    ) -> None:
        self.profile = profile
        self.seq = seq
        """The sequence number of the claim under check (its lines are the ones reported)."""
        self.services: tuple[Service, ...] = tuple(sorted(services, key=_order))
        """Every DSMT/MNT service, in ledger order."""
        self.own_history: tuple[HistoryEntry, ...] = tuple(own_history)
        """The services on record as the claim under check gives them (``history`` + ``history=``)."""

    @classmethod
    def for_claim(
        cls,
        claim: Claim,
        profile: Profile,
        *,
        history: Iterable[HistoryEntry] = (),
        others: Iterable[Service] = (),
        record: Mapping[RecordKey, int] | None = None,
        seq: int = 0,
    ) -> Ledger:
        """The ledger of the claim's beneficiary.

        ``history`` is more of the record (the ``history=`` argument of ``check``). A batch adds
        ``others`` (the beneficiary's other claims' lines; the claim's own, same ``seq``, are taken
        from ``claim`` instead) and ``record`` (the services on record its claims list, merged).
        A service on record under a referral id that a line of the ledger is billed under has that
        referral's training (not known when the beneficiary's claims disagree about it).
        """
        own_history = (*claim.history, *history)
        merged = dict(record or {})
        merge_record(merged, record_counts(claim.history, profile))
        merge_record(merged, record_counts(history, profile))
        own = list(services_of(claim, profile, seq))
        lines = [*(s for s in others if s.seq != seq), *own]
        trainings: dict[str, Training | None] = {}
        for s in lines:
            if s.referral_id is not None:
                known = trainings.setdefault(s.referral_id, s.training)
                if known is not s.training:
                    trainings[s.referral_id] = None
        on_record = _unmatched(merged, lines, trainings)
        return cls([*lines, *on_record], profile, seq=seq, own_history=own_history)

    # --- the claim's own lines ---------------------------------------------------------------

    def is_own(self, service: Service) -> bool:
        """Whether a service is a line of the claim under check."""
        return service.seq == self.seq and service.claim_id != RECORD

    @functools.cached_property
    def _own_index(self) -> dict[int, int]:
        return {s.line: k for k, s in enumerate(self.services) if self.is_own(s)}

    # --- phase ----------------------------------------------------------------------------------

    @functools.cached_property
    def _phases(self) -> _Phases:
        """One walk over the services: each DSMT service's phase, and the members of each window."""
        dsmt = self.profile.dsmt_codes
        individual = self.profile.individual_code
        months = self.profile.initial_period_months
        period: Period | None = None
        phases: list[Phase | None] = []
        initial: list[int] = []
        initial_individual: list[int] = []
        follow_up: list[int] = []
        for k, s in enumerate(self.services):
            if s.hcpcs not in dsmt:
                phases.append(None)
                continue
            if period is None and s.training is not Training.FOLLOW_UP:
                period = initial_period_from(s.service_date, months)
            if period is not None and period.start <= s.service_date <= period.end:
                phases.append(_INITIAL)
                initial.append(k)
                if s.hcpcs == individual:
                    initial_individual.append(k)
            else:
                phases.append(Phase(Training.FOLLOW_UP, s.service_date.year))
                follow_up.append(k)
        return _Phases(tuple(phases), period, initial, initial_individual, follow_up)

    @property
    def initial_period(self) -> Period | None:
        """The beneficiary's initial period, or None when no initial training is on record."""
        return self._phases.period

    def phase_of_line(self, line: int) -> Phase | None:
        """The phase of the claim's DSMT line ``line`` (index in ``claim.lines``); None if not DSMT."""
        k = self._own_index.get(line)
        return None if k is None else self._phases.phases[k]

    def follow_up_cap(self, year: int) -> int:
        """Follow-up units allowed in a calendar year.

        With ``follow_up_in_initial_end_year`` false, none in the calendar year in which the
        initial period ends (follow-up starts on January 1 of the next year).
        """
        period = self.initial_period
        if (
            not self.profile.follow_up_in_initial_end_year
            and period is not None
            and year == period.end.year
        ):
            return 0
        return self.profile.follow_up_max_units_per_year

    # --- caps -------------------------------------------------------------------------------------

    def _overages(
        self, members: Iterable[int], cap: int | Callable[[int], int], *, by_year: bool = False
    ) -> list[Overage]:
        """Walk services (indices into ``services``, in order) against a cap, per year if asked."""
        totals: dict[int | None, int] = {}
        out: list[Overage] = []
        for k in members:
            s = self.services[k]
            year = s.service_date.year if by_year else None
            limit = cap(year or 0) if callable(cap) else cap
            units = max(s.units, 0)
            before = totals.get(year, 0)
            total = before + units
            totals[year] = total
            if units and total > limit and self.is_own(s):
                out.append(Overage(s.line, total, limit, total - max(before, limit), year))
        return out

    def initial_overages(self) -> list[Overage]:
        """The claim's lines past ``initial_max_units`` in the initial period (DS401)."""
        return self._overages(self._phases.initial, self.profile.initial_max_units)

    def individual_overages(self) -> list[Overage]:
        """The claim's individual-code lines past ``initial_individual_max_units`` (DS402)."""
        members = self._phases.initial_individual
        return self._overages(members, self.profile.initial_individual_max_units)

    def follow_up_overages(self) -> list[Overage]:
        """The claim's lines past the follow-up units of their calendar year (DS403)."""
        return self._overages(self._phases.follow_up, self.follow_up_cap, by_year=True)

    def referral_overages(self, referral_id: str | None, cap: int) -> list[Overage]:
        """The claim's DSMT lines past ``cap`` units billed under one referral (DS305).

        Without a referral id only the claim's own lines are known to be under it.
        """
        dsmt = self.profile.dsmt_codes
        members = (
            k
            for k, s in enumerate(self.services)
            if s.hcpcs in dsmt
            and (self.is_own(s) or (referral_id is not None and s.referral_id == referral_id))
        )
        return self._overages(members, cap)

    # --- duplicates -----------------------------------------------------------------------------

    def earlier_duplicate(self, line: int) -> Match | None:
        """An earlier service that the claim's line ``line`` repeats (DS110), outside the claim.

        The line repeats a service of its claim's ``history`` (or ``history=``) with the same code
        and date of service (the record has no sessions), or a line of another claim of the
        beneficiary in the batch that comes earlier in ledger order and has the same code and a
        session in common, or, when neither links a session, the same code and date of service.
        """
        k = self._own_index.get(line)
        if k is None:
            return None
        me = self.services[k]
        for entry in self.own_history:
            if entry.hcpcs == me.hcpcs and entry.service_date == me.service_date:
                return Match(_from_record(entry, -1, None), None)
        mine = set(me.session_ids)
        for other in self.services[:k]:
            if other.claim_id == RECORD or self.is_own(other) or other.hcpcs != me.hcpcs:
                continue
            if mine and other.session_ids:
                shared = next((sid for sid in me.session_ids if sid in other.session_ids), None)
                if shared is not None:
                    return Match(other, shared)
            elif not mine and not other.session_ids and other.service_date == me.service_date:
                return Match(other, None)
        return None


def _order(s: Service) -> tuple[dt.date, str, int, int]:
    return s.order


def _from_record(entry: HistoryEntry, rank: int, training: Training | None) -> Service:
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
