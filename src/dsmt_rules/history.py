"""The beneficiary ledger (placeholder until the history rules land)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dsmt_rules.models import Claim, HistoryEntry
    from dsmt_rules.profiles import Profile

__all__ = ["Ledger"]


class Ledger:
    """A beneficiary's DSMT and MNT services, by date of service."""

    def __init__(self, entries: Iterable[HistoryEntry]) -> None:
        self.entries = sorted(entries, key=lambda e: e.service_date)

    @classmethod
    def for_claim(
        cls, claim: Claim, profile: Profile, *, history: Iterable[HistoryEntry] = ()
    ) -> Ledger:
        """The ledger of the claim's beneficiary: the claim's own history plus ``history``."""
        del profile
        return cls([*claim.history, *history])
