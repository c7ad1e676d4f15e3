"""What the rules that count units against a cap share: overages as violations, period dates.

DS305 (the referral's hours), DS401 (the initial period), DS402 (its individual units) and DS403
(a follow-up year) all report the claim's lines past a cap the same way: one violation per line, in
line order, on ``("lines", i, "units")``, with the running total, the cap and the units over.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from dsmt_rules.findings import Scalar
from dsmt_rules.rules._base import LedgerContext, Violation
from dsmt_rules.rules._fixes import cut_units

if TYPE_CHECKING:
    from dsmt_rules.history import Overage, Period

__all__ = ["MBPM", "MGOV", "by_line", "overage_violations", "period_dates"]

MBPM = "MBPM (Pub. 100-02) ch. 15"
MGOV = "Medicare.gov DSMT coverage"


def by_line(overages: list[Overage]) -> list[Overage]:
    """Overages in the order of their lines in the claim."""
    return sorted(overages, key=lambda o: o.line)


def overage_violations(
    ctx: LedgerContext, overages: list[Overage], limit: str | None = None, /, **values: Scalar
) -> Iterator[Violation]:
    """One violation per line past a cap, in line order, on ``("lines", i, "units")``.

    Every cap rule's message gets ``line``, ``total``, ``cap`` and ``over``, plus ``values``.
    With ``limit`` (the cap's name in a fix title; positional), each carries the unsafe fix that cuts the
    units over (:func:`~dsmt_rules.rules._fixes.cut_units`).
    """
    for o in by_line(overages):
        line_id = ctx.line_id(o.line)
        fix = (
            None
            if limit is None
            else cut_units(o.line, line_id, ctx.line(o.line).units, o.over, limit)
        )
        yield Violation(
            ("lines", o.line, "units"),
            line_id,
            {"line": line_id, "total": o.total, "cap": o.cap, "over": o.over, **values},
            None,
            fix,
        )


def period_dates(period: Period | None) -> dict[str, Scalar]:
    """``start`` and ``end`` of the initial period, for a message."""
    if period is None:  # pragma: no cover - an initial overage implies an initial period
        return {"start": "?", "end": "?"}
    return {"start": period.start.isoformat(), "end": period.end.isoformat()}
