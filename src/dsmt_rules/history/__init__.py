"""The beneficiary's history: every DSMT and MNT service on record, the initial period, follow-up years.

- :func:`facts_of`: a claim as the ledger sees it (:class:`ClaimFacts`: plain values, no PHI).
- :class:`Book`: one beneficiary's services (the lines of all its claims and the services on
  record), with the phases, the initial period and every cap's running totals, computed once.
- :class:`Ledger`: a book as one claim under check sees it (history rules reach it as
  ``ctx.ledger``): phases, the claim's lines past each cap, earlier duplicates, MNT dates.
- :func:`initial_period_from`: the initial 12-month period a first service opens.

The engine's kernel makes one book per beneficiary of a batch; a claim checked alone gets a book
of its own (:meth:`Ledger.for_claim`).
"""

from dsmt_rules.history._ledger import (
    Book,
    ClaimFacts,
    Ledger,
    Match,
    Overage,
    Period,
    Phase,
    facts_of,
    initial_period_from,
    referral_cap,
)

__all__ = [
    "Book",
    "ClaimFacts",
    "Ledger",
    "Match",
    "Overage",
    "Period",
    "Phase",
    "facts_of",
    "initial_period_from",
    "referral_cap",
]
