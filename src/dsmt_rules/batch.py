"""Batch semantics: a beneficiary's claims in one batch are history for each other.

The result for a claim does not depend on the order of the records (DESIGN.md, "Batch semantics").
The engine reads a batch twice (docs/batch.md):

1. :class:`BatchIndex` reads every claim and keeps, per beneficiary, only small
   :class:`~dsmt_rules.history.Service` tuples (one per DSMT/MNT line) and the services on record
   its claims list (merged: one count per distinct service).
2. Each claim is read again and checked against a ledger built from its beneficiary's entry, minus
   its own lines, which the ledger takes from the claim itself.

Memory is bounded by the services, not by the claims. A source that can only be read once is
materialised by the engine first (the whole batch in memory).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, TypeVar

from dsmt_rules.history import (
    Ledger,
    RecordKey,
    Service,
    merge_record,
    record_counts,
    services_of,
)

if TYPE_CHECKING:
    from dsmt_rules.models import Claim
    from dsmt_rules.profiles import Profile

__all__ = ["BatchIndex"]

_V = TypeVar("_V", bound=Hashable)


class BatchIndex:
    """Pass 1 of a batch: the beneficiaries' services, keyed by beneficiary (never printed).

    ``add`` every claim with its sequence number in the batch (0, 1, 2, ... in reading order, the
    same in both passes), then build each claim's ledger with :meth:`ledger_for`. Per beneficiary
    it keeps a list of :class:`~dsmt_rules.history.Service` tuples and, only when its claims carry
    a ``history``, the merged services on record.
    """

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self._lines: dict[str, list[Service]] = {}
        self._record: dict[str, dict[RecordKey, int]] = {}
        self._shared: dict[object, object] = {}
        self.claims = 0
        """Claims added."""
        self.services = 0
        """Service tuples held."""

    def _share(self, value: _V) -> _V:
        """One object for equal small values (codes, line ids, dates) across the batch."""
        return self._shared.setdefault(value, value)  # type: ignore[return-value]

    @property
    def beneficiaries(self) -> int:
        """Beneficiaries seen."""
        return len(self._lines)

    def add(self, seq: int, claim: Claim) -> None:
        """Record one claim of the batch."""
        lines = self._lines.get(claim.beneficiary_id)
        if lines is None:
            lines = self._lines[claim.beneficiary_id] = []
        self.claims += 1
        before = len(lines)
        lines.extend(services_of(claim, self.profile, seq, self._share, self._share))
        self.services += len(lines) - before
        if claim.history:
            view = record_counts(claim.history, self.profile)
            if view:
                record = self._record.setdefault(claim.beneficiary_id, {})
                merge_record(record, {(self._share(k[0]), *k[1:]): n for k, n in view.items()})

    def ledger_for(self, seq: int, claim: Claim, profile: Profile) -> Ledger:
        """The ledger of a claim of the batch (its own lines come from ``claim``)."""
        return Ledger.for_claim(
            claim,
            profile,
            others=self._lines.get(claim.beneficiary_id, ()),
            record=self._record.get(claim.beneficiary_id),
            seq=seq,
        )

    def factory(self, seq: int) -> Callable[[Claim, Profile], Ledger]:
        """A ``Context`` ledger factory for the claim with sequence number ``seq``."""

        def build(claim: Claim, profile: Profile) -> Ledger:
            return self.ledger_for(seq, claim, profile)

        return build
