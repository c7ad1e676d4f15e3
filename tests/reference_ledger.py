"""The per-claim ledger as it was first written: the reference for the book-and-view ledger.

``ReferenceLedger`` builds a claim's ledger from all of its beneficiary's services, for every claim
(O(n^2) for a beneficiary with n claims in a batch): sort, phases, and a walk over each window with
the claim's lines picked out. It is kept here, changed only where the rules' meaning changed
(0.2: a session is its id and its date, a line of 0 units is no service, no initial period opens
after follow-up training) and for its name and the MNT dates that DS501 used to compute from
``services``, so that property tests can compare
:class:`dsmt_rules.history.Ledger` (and whole batch reports) with it. ``reference_reports`` checks a
batch with it the way ``check_many`` did (one ledger built per claim), and with no screen: every
enabled rule runs on every claim (``reference_report``), so the comparison also covers the
engine's fused screens, the book's suspects and the lone-claim shortcut.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from dsmt_rules.engine import Ruleset, ruleset
from dsmt_rules.engine._kernel import make_finding
from dsmt_rules.findings import Finding, Report
from dsmt_rules.history import facts_of
from dsmt_rules.history._ledger import (
    RECORD,
    Match,
    Overage,
    Period,
    Phase,
    RecordKey,
    Service,
    _from_record,
    _unmatched,
    initial_period_from,
    line_services,
    merge_record,
    record_counts,
)
from dsmt_rules.models import Training
from dsmt_rules.rules._base import Context, LedgerContext

if TYPE_CHECKING:
    from dsmt_rules import Claim, Profile
    from dsmt_rules.models import HistoryEntry

__all__ = ["ReferenceLedger", "reference_ledgers", "reference_report", "reference_reports"]


class _Phases(NamedTuple):
    phases: tuple[Phase | None, ...]
    period: Period | None
    initial: list[int]
    initial_individual: list[int]
    follow_up: list[int]
    first: dt.date | None


_INITIAL = Phase(Training.INITIAL)


class ReferenceLedger:
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
    ) -> ReferenceLedger:
        """The ledger of the claim's beneficiary.

        ``history`` is more of the record (the ``history=`` argument of ``check``). A batch adds
        ``others`` (the beneficiary's other claims' lines; the claim's own, same ``seq``, are taken
        from ``claim`` instead) and ``record`` (the services on record its claims list, merged).
        A service on record under a referral id that a line of the ledger is billed under has that
        referral's training (not known when the beneficiary's claims disagree about it).
        """
        own_history = tuple(e for e in (*claim.history, *history) if e.units >= 1)
        merged = dict(record or {})
        merge_record(merged, record_counts(claim.history, profile))
        merge_record(merged, record_counts(history, profile))
        own = line_services(claim, profile, seq)
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
        first: dt.date | None = None
        phases: list[Phase | None] = []
        initial: list[int] = []
        initial_individual: list[int] = []
        follow_up: list[int] = []
        for k, s in enumerate(self.services):
            if s.hcpcs not in dsmt:
                phases.append(None)
                continue
            if first is None:  # the first DSMT service opens the period unless it is follow-up
                first = s.service_date
                if s.training is not Training.FOLLOW_UP:
                    period = initial_period_from(s.service_date, months)
            if period is not None and period.start <= s.service_date <= period.end:
                phases.append(_INITIAL)
                initial.append(k)
                if s.hcpcs == individual:
                    initial_individual.append(k)
            else:
                phases.append(Phase(Training.FOLLOW_UP, s.service_date.year))
                follow_up.append(k)
        return _Phases(tuple(phases), period, initial, initial_individual, follow_up, first)

    @property
    def initial_period(self) -> Period | None:
        """The beneficiary's initial period, or None when no initial training is on record."""
        return self._phases.period

    @property
    def first_service(self) -> dt.date | None:
        """The date of the first DSMT service on record."""
        return self._phases.first

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
                if other.service_date != me.service_date:
                    continue  # a session is its id and its date
                shared = next((sid for sid in me.session_ids if sid in other.session_ids), None)
                if shared is not None:
                    return Match(other, shared)
            elif not mine and not other.session_ids and other.service_date == me.service_date:
                return Match(other, None)
        return None

    # --- MNT (DS501 computed this from ``services`` itself) ------------------------------------

    @property
    def mnt_codes_by_date(self) -> dict[dt.date, set[str]]:
        mnt = self.profile.mnt_codes
        by_date: dict[dt.date, set[str]] = {}
        for service in self.services:
            if service.hcpcs in mnt:
                by_date.setdefault(service.service_date, set()).add(service.hcpcs)
        return by_date


def _order(s: Service) -> tuple[dt.date, str, int, int]:
    return s.order


def reference_ledgers(
    claims: Sequence[Claim], profile: Profile
) -> list[Callable[[Claim, Profile], ReferenceLedger]]:
    """Per claim of a batch, a ledger factory that builds its ledger the original way."""
    lines: dict[str, list[Service]] = {}
    record: dict[str, dict[RecordKey, int]] = {}
    for seq, claim in enumerate(claims):
        lines.setdefault(claim.beneficiary_id, []).extend(line_services(claim, profile, seq))
        if claim.history:
            view = record_counts(claim.history, profile)
            if view:
                merge_record(record.setdefault(claim.beneficiary_id, {}), view)

    def factory(seq: int) -> Callable[[Claim, Profile], ReferenceLedger]:
        def build(claim: Claim, p: Profile) -> ReferenceLedger:
            b = claim.beneficiary_id
            return ReferenceLedger.for_claim(
                claim, p, others=lines.get(b, ()), record=record.get(b), seq=seq
            )

        return build

    return [factory(seq) for seq in range(len(claims))]


def _unscreened(
    claim: Claim,
    rules: Ruleset,
    ledger: Callable[[Claim, Profile], ReferenceLedger],
    seq: int,
    history: Sequence[HistoryEntry] = (),
) -> Report:
    """The report of a claim with every enabled rule run on it, in code order (no screens)."""
    profile = rules.profile
    ctx = Context(claim, profile, mue=rules.mue)
    active = (
        sorted((*rules.claim_rules, *rules.ledger_rules), key=lambda a: a.code)
        if ctx.dsmt_lines
        else list(rules.without_lines)
    )
    findings: list[Finding] = []
    for a in active:
        if a.rule.uses_ledger:
            facts = facts_of(claim, profile, seq=seq, history=history)
            lctx = LedgerContext(facts, ledger(claim, profile), profile)  # type: ignore[arg-type]
            findings.extend(make_finding(a, v, None) for v in a.check(lctx))
        else:
            findings.extend(make_finding(a, v, None) for v in a.check(ctx))
    return Report(claim.claim_id, tuple(findings))


def reference_reports(claims: Sequence[Claim], **options: object) -> list[Report]:
    """The reports ``check_many(claims, **options)`` gave with the per-claim reference ledger."""
    rules = ruleset(**options)  # type: ignore[arg-type]
    factories = reference_ledgers(claims, rules.profile)
    return [
        _unscreened(claim, rules, factory, seq)
        for seq, (claim, factory) in enumerate(zip(claims, factories, strict=True))
    ]


def reference_report(
    claim: Claim, history: Iterable[HistoryEntry] = (), **options: object
) -> Report:
    """The report ``check(claim, history=history, **options)`` gave with the reference ledger."""
    rules = ruleset(**options)  # type: ignore[arg-type]
    extra = tuple(history)

    def build(c: Claim, p: Profile) -> ReferenceLedger:
        return ReferenceLedger.for_claim(c, p, history=extra)

    return _unscreened(claim, rules, build, 0, extra)
