"""Batch semantics: a beneficiary's claims in one batch are history for each other.

The result for a claim does not depend on the order of the records (DESIGN.md, "Batch semantics").
The engine reads a batch twice (docs/batch.md):

1. :class:`BatchIndex` reads every claim and keeps, per beneficiary, only small
   :class:`~dsmt_rules.history.Service` tuples (one per DSMT/MNT line) and the services on record
   its claims list (merged: one count per distinct service).
2. Each claim is read again and checked against a view of its beneficiary's
   :class:`~dsmt_rules.history.Book`: the beneficiary-level results (sorted services, phases, cap
   totals, duplicate candidates), computed on the beneficiary's first claim and, when it has at
   least :data:`KEEP_BOOKS_FROM` services, kept until its last claim has been read (a smaller book
   is rebuilt per claim). A claim costs in proportion to its own lines, so a beneficiary with n
   claims costs O(n log n), not O(n^2).

Memory is bounded by the services, not by the claims. A source that can only be read once is
materialised by the engine first (the whole batch in memory).
"""

from __future__ import annotations

import heapq
import operator
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, TypeVar

from dsmt_rules.history._ledger import (
    Book,
    Ledger,
    RecordKey,
    Service,
    line_services,
    merge_record,
    record_counts,
    services_of,
)

if TYPE_CHECKING:
    from dsmt_rules.models import Claim
    from dsmt_rules.profiles import Profile

__all__ = ["BatchIndex"]

_V = TypeVar("_V", bound=Hashable)
_LINE = operator.attrgetter("line")

KEEP_BOOKS_FROM = 16
"""A beneficiary's book is kept between its claims when it has at least this many services.

Smaller books are rebuilt for each claim: that costs little (a few services) and keeps pass 2's
memory at the index's size when most beneficiaries have a few claims spread over the batch.
"""


class BatchIndex:
    """Pass 1 of a batch: the beneficiaries' services, keyed by beneficiary (never printed).

    ``add`` every claim with its sequence number in the batch (0, 1, 2, ... in reading order, the
    same in both passes), then get each claim's ledger with :meth:`ledger_for`. Per beneficiary
    it keeps a list of :class:`~dsmt_rules.history.Service` tuples and, only when its claims carry
    a ``history``, the merged services on record.

    In pass 2 a beneficiary's :class:`~dsmt_rules.history.Book` is built on its first claim and,
    when it has at least :data:`KEEP_BOOKS_FROM` services, kept until the claim with the
    beneficiary's last sequence number has been read; each claim gets a view of it. A claim that
    differs from what pass 1 read (its lines or its ``history``) gets a ledger of its own, built
    the long way (:meth:`~dsmt_rules.history.Ledger.for_claim`), with the same result as before.
    """

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self._lines: dict[str, list[Service]] = {}
        self._record: dict[str, dict[RecordKey, int]] = {}
        self._shared: dict[object, object] = {}
        self._books: dict[str, Book] = {}
        self._open: list[tuple[int, str]] = []
        """Kept books: (the beneficiary's last sequence number, beneficiary), a heap."""
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
        self._release(seq)
        beneficiary = claim.beneficiary_id
        lines = self._lines.get(beneficiary, [])
        record = self._record.get(beneficiary)
        if profile is self.profile:
            book = self._books.get(beneficiary)
            if book is None:
                book = Book.of(lines, record or {}, profile)
                if lines and len(lines) >= KEEP_BOOKS_FROM:
                    self._books[beneficiary] = book
                    heapq.heappush(self._open, (max(s.seq for s in lines), beneficiary))
            if self._as_indexed(book, seq, claim, record):
                return Ledger.view(book, seq=seq, own_history=claim.history)
        return Ledger.for_claim(claim, profile, others=lines, record=record, seq=seq)

    def _as_indexed(
        self, book: Book, seq: int, claim: Claim, record: dict[RecordKey, int] | None
    ) -> bool:
        """Whether the claim is what pass 1 read: the same services, its record already merged."""
        own = line_services(claim, self.profile, seq)
        positions = book.positions(seq)
        if len(own) != len(positions):
            return False
        if own and sorted((book.services[k] for k in positions), key=_LINE) != own:
            return False
        if claim.history:
            view = record_counts(claim.history, self.profile)
            if view and (record is None or any(n > record.get(k, 0) for k, n in view.items())):
                return False
        return True

    def _release(self, seq: int) -> None:
        """Drop the kept books of the beneficiaries whose last claim comes before ``seq``."""
        while self._open and self._open[0][0] < seq:
            _, beneficiary = heapq.heappop(self._open)
            self._books.pop(beneficiary, None)

    def factory(self, seq: int) -> Callable[[Claim, Profile], Ledger]:
        """A ``Context`` ledger factory for the claim with sequence number ``seq``."""
        self._release(seq)

        def build(claim: Claim, profile: Profile) -> Ledger:
            return self.ledger_for(seq, claim, profile)

        return build
