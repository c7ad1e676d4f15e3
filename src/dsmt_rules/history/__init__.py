"""The beneficiary's history: every DSMT and MNT service on record, the initial period, follow-up years.

- :class:`Ledger`: the beneficiary's services as one claim under check sees them (rules reach it as
  ``ctx.ledger``): phases, the initial period, the claim's lines past each cap, earlier duplicates,
  MNT dates.
- :class:`BatchIndex`: a batch's beneficiaries, so that their claims are history for each other.
- :func:`initial_period_from`: the initial 12-month period a first service opens.

The books behind a ledger (``_ledger.Book``, the per-service tuples) are internal.
"""

from dsmt_rules.history._batch import BatchIndex
from dsmt_rules.history._ledger import (
    Ledger,
    Match,
    Overage,
    Period,
    Phase,
    initial_period_from,
)

__all__ = ["BatchIndex", "Ledger", "Match", "Overage", "Period", "Phase", "initial_period_from"]
