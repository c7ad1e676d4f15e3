"""DS5xx: services on the same day. DSMT and medical nutrition therapy (MNT) on one date of service."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import ClassVar

from dsmt_rules.findings import Severity
from dsmt_rules.rules._base import LedgerContext, Rule, Violation, violation
from dsmt_rules.rules._examples import base_line

__all__ = ["RULES", "MntSameDay"]


def _mnt_codes_by_date(ctx: LedgerContext) -> Mapping[dt.date, set[str]]:
    """The beneficiary's MNT codes by date of service, from the ledger: this claim's lines, its
    ``history`` (and ``history=``) and, in a batch, the beneficiary's other claims (computed once
    per beneficiary and shared by its claims: do not modify)."""
    return ctx.ledger.mnt_codes_by_date


class MntSameDay(Rule):
    """DSMT and medical nutrition therapy on the same date of service.

    ## What it checks
    Whether a DSMT line's date of service is also the date of an MNT service (the profile's
    `mnt_codes`: 97802, 97803, 97804, G0270, G0271) for the same beneficiary: on another line of the
    claim, in the claim's `history`, or, in a batch, on a line of another claim of the beneficiary.
    The DSMT line carries the finding, one per line.

    ## Why it matters
    Medicare does not cover DSMT and MNT for the same beneficiary on the same day. Both services may
    be furnished, on different dates; billed together, one of them is denied.

    ## References
    NCA for MNT (CAG-00097N): the CMS national coverage analysis decision memo for medical
    nutrition therapy.
    """

    code = "DS501"
    name = "mnt-same-day"
    default_severity = Severity.ERROR
    message = (
        "Line {line}: {code} on {date} is on the same date of service as MNT ({mnt}); Medicare "
        "does not cover DSMT and MNT for a beneficiary on the same day. Furnish and bill them on "
        "different dates."
    )
    citation = "NCA for MNT (CAG-00097N)"
    carc_hint = "97"
    needs = "lines, history"
    fix = "Bill DSMT and MNT on different dates of service."
    example: ClassVar[dict[str, object]] = {
        "lines": [
            base_line(),
            {
                "line_id": "2",
                "hcpcs": "97803",
                "units": 2,
                "service_date": "2026-02-02",
                "place_of_service": "11",
                "diagnosis_pointers": [1],
            },
        ]
    }
    use_instead: ClassVar[dict[str, object]] = {
        "lines": [
            base_line(),
            {
                "line_id": "2",
                "hcpcs": "97803",
                "units": 2,
                "service_date": "2026-02-03",
                "place_of_service": "11",
                "diagnosis_pointers": [1],
            },
        ]
    }

    uses_ledger = True

    def check(self, ctx: LedgerContext) -> Iterator[Violation]:
        by_date = _mnt_codes_by_date(ctx)
        if not by_date:
            return
        for i, line in ctx.dsmt_lines:
            codes = by_date.get(line.service_date)
            if codes:
                yield violation(
                    ("lines", i, "hcpcs"),
                    line.line_id,
                    line=line.line_id,
                    code=line.hcpcs,
                    date=line.service_date.isoformat(),
                    mnt=", ".join(sorted(codes)),
                )


RULES: tuple[type[Rule], ...] = (MntSameDay,)
