"""DS4xx: the hour limits across the beneficiary's history (``ctx.ledger``).

- DS401 initial-hours-exceeded, DS402 initial-individual-exceeded: the initial period's caps.
- DS403 follow-up-hours-exceeded: follow-up units per calendar year.

The ledger (:mod:`dsmt_rules.history`) holds the beneficiary's DSMT and MNT services: the claim's
lines, its ``history`` array, the ``history=`` argument of ``check`` and, in a batch, the
beneficiary's other claims. It derives the initial period and follow-up years; these rules report
the claim's lines past a cap, with the window and the units over. Every number comes from the
profile (``initial_period_months``, ``initial_max_units``, ``initial_individual_max_units``,
``follow_up_max_units_per_year``, ``follow_up_in_initial_end_year``, ``individual_code``,
``group_code``). DS305 and DS310, the referral's hours and phase, read the ledger too; they are
referral rules (:mod:`dsmt_rules.rules.referral`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from dsmt_rules.findings import Scalar, Severity
from dsmt_rules.models import IndividualReason
from dsmt_rules.rules._base import LedgerContext, Rule, Violation, violation
from dsmt_rules.rules._caps import MBPM, MGOV, by_line, overage_violations, period_dates
from dsmt_rules.rules._examples import FOLLOW_UP_ORDER, base_line, history_entries
from dsmt_rules.rules._fixes import cut_units

if TYPE_CHECKING:
    from dsmt_rules.history._ledger import ReferralFacts

__all__ = [
    "RULES",
    "FollowUpHoursExceeded",
    "InitialHoursExceeded",
    "InitialIndividualExceeded",
]


class InitialHoursExceeded(Rule):
    """Units in the initial 12-month period past the initial training limit (10 hours).

    ## What it checks
    The DSMT units (G0108 and G0109) in the beneficiary's initial period, from the history, the
    claim and, in a batch, the beneficiary's other claims, against the profile's
    `initial_max_units` (20 units of 30 minutes). The period starts on the first DSMT date of
    service on record and lasts `initial_period_months` (12): a first service on 2025-10-06 opens a
    period that ends 2026-10-05. The line whose units take the total past the cap carries the
    finding, with the units over; each later line of the period is over by all of its units.

    ## Why it matters
    Medicare covers at most 10 hours of initial training, within the 12 months that start with the
    first DSMT service ever billed; hours not used lapse when the 12 months end. Units past the
    limit are denied.

    ## References
    Medicare Benefit Policy Manual (Pub. 100-02), chapter 15, §300.3; Medicare.gov, "Diabetes
    self-management training".
    """

    code = "DS401"
    name = "initial-hours-exceeded"
    default_severity = Severity.ERROR
    message = (
        "Line {line}: initial period {start} to {end}: {total} of {cap} units ({over} over). "
        "Initial training is limited to {cap} units in the {months} months from the first DSMT "
        "service; reduce the line by {over} unit(s)."
    )
    citation = f"{MBPM} §300.3; {MGOV}"
    carc_hint = "119"
    needs = "history"
    facts = frozenset({"history"})
    fix = "Bill only the units left in the initial period; later training needs a follow-up order."
    autofix = (
        "Unsafe: bill the line's units less the units over (remove the line when all of them are "
        "over). The total counts the history and the beneficiary's other claims, and which "
        "service gives up its units is a choice the claim alone does not make."
    )
    example: ClassVar[dict[str, Any]] = {
        "history": history_entries(
            ("2025-10-06", "G0109", 4, "R-70"),
            ("2025-10-20", "G0109", 4, "R-70"),
            ("2025-11-03", "G0109", 4, "R-70"),
            ("2025-11-17", "G0109", 4, "R-70"),
            ("2025-12-01", "G0109", 3, "R-70"),
        ),
    }
    use_instead: ClassVar[dict[str, Any]] = {
        "lines": [base_line(units=1)],
        "history": history_entries(
            ("2025-10-06", "G0109", 4, "R-70"),
            ("2025-10-20", "G0109", 4, "R-70"),
            ("2025-11-03", "G0109", 4, "R-70"),
            ("2025-11-17", "G0109", 4, "R-70"),
            ("2025-12-01", "G0109", 3, "R-70"),
        ),
    }
    uses_ledger = True

    def check(self, ctx: LedgerContext) -> Iterator[Violation]:
        ledger = ctx.ledger
        yield from overage_violations(
            ctx,
            ledger.initial_overages(),
            "the initial training limit",
            **period_dates(ledger.initial_period),
            months=ctx.profile.initial_period_months,
        )


def _documents_exception(referral: ReferralFacts | None) -> bool:
    """Whether the referral documents why individual training is needed (MBPM §300.4).

    No group session within 2 months of the order, or additional insulin training: the reason
    suffices. Special needs: at least one need must be listed (a listed need documents it even
    when ``individual_reason`` is empty; the reason alone, with no need listed, does not).
    """
    if referral is None:
        return False
    if referral.individual_reason in (
        IndividualReason.NO_GROUP_WITHIN_2_MONTHS,
        IndividualReason.ADDITIONAL_INSULIN_TRAINING,
    ):
        return True
    return bool(referral.special_needs)


class InitialIndividualExceeded(Rule):
    """Individual (G0108) units in the initial period past the individual allowance (1 hour).

    ## What it checks
    The individual-code units (the profile's `individual_code`, G0108) in the beneficiary's
    initial period, from the history, the claim and, in a batch, the beneficiary's other claims,
    against `initial_individual_max_units` (2 units), when the claim's referral documents no
    exception. An exception is documented by `individual_reason` `no_group_within_2_months` or
    `additional_insulin_training`, or by a non-empty `special_needs` list (the reason
    `special_needs` with no need listed does not document one). The line whose units take the
    total past the allowance carries the finding, with the units over.

    ## Why it matters
    Of the 10 initial hours, at most 1 hour may be individual training unless the order documents
    why the beneficiary needs it. Excess individual time is not denied but paid at the group rate
    (down-coded), so this is a warning: bill the excess as group training or document the
    exception.

    ## References
    Medicare Benefit Policy Manual (Pub. 100-02), chapter 15, §300.4 (individual training and its
    exceptions; the note on paying excess individual time at the group rate).
    """

    code = "DS402"
    name = "initial-individual-exceeded"
    default_severity = Severity.WARNING
    message = (
        "Line {line}: initial period {start} to {end}: {total} of {cap} individual ({code}) units "
        "({over} over) and the referral documents no exception; the excess is paid at the group "
        "rate: bill it as {group} or document the reason for individual training on the referral."
    )
    citation = f"{MBPM} §300.4"
    carc_hint = "119"
    needs = "history, referral exceptions"
    facts = frozenset({"history", "referral"})
    fix = "Bill individual time past the allowance as group, or document the exception."
    example: ClassVar[dict[str, Any]] = {
        "lines": [base_line(hcpcs="G0108")],
        "sessions": [
            {
                "session_id": "S-20260202-AM",
                "date": "2026-02-02",
                "minutes": 60,
                "format": "individual",
                "attendees": 1,
                "delivery": "in_person",
                "instructors": [{"npi": "1952356107", "credentials": ["RN", "CDCES"]}],
            }
        ],
        "history": history_entries(("2026-01-12", "G0108", 2, "R-77")),
    }
    use_instead: ClassVar[dict[str, Any]] = {
        **example,
        "referral": {"individual_reason": "special_needs", "special_needs": ["vision"]},
    }
    uses_ledger = True

    def check(self, ctx: LedgerContext) -> Iterator[Violation]:
        if _documents_exception(ctx.referral):
            return
        ledger = ctx.ledger
        yield from overage_violations(
            ctx,
            ledger.individual_overages(),
            **period_dates(ledger.initial_period),
            code=ctx.profile.individual_code,
            group=ctx.profile.group_code,
        )


class FollowUpHoursExceeded(Rule):
    """Follow-up units in a calendar year past the follow-up limit (2 hours).

    ## What it checks
    The DSMT units in the beneficiary's follow-up phase, per calendar year, from the history, the
    claim and, in a batch, the beneficiary's other claims, against the profile's
    `follow_up_max_units_per_year` (4 units). Follow-up is every DSMT service after the initial
    period, and services under a follow-up order when no initial training is on record. When the
    profile's `follow_up_in_initial_end_year` is false, no follow-up units are allowed in the
    calendar year in which the initial period ends (medicare: true, follow-up may start the day
    after the period ends). The line whose units take the year past the cap carries the finding.

    ## Why it matters
    After the initial period, Medicare covers at most 2 hours of follow-up training per calendar
    year, individual or group. Units past the limit are denied.

    ## References
    Medicare Benefit Policy Manual (Pub. 100-02), chapter 15, §300.3; Medicare.gov, "Diabetes
    self-management training".
    """

    code = "DS403"
    name = "follow-up-hours-exceeded"
    default_severity = Severity.ERROR
    message = (
        "Line {line}: follow-up year {year}: {total} of {cap} units ({over} over). Follow-up "
        "training is limited to {per_year} units per calendar year after the initial period; "
        "reduce the line by {over} unit(s)."
    )
    variants: ClassVar[dict[str, str]] = {
        "initial_end_year": (
            "Line {line}: follow-up year {year} (the initial period ended {end}; this profile "
            "allows follow-up from {first_year}): {total} of {cap} units ({over} over). Follow-up "
            "training is limited to {per_year} units per calendar year after the initial period; "
            "reduce the line by {over} unit(s)."
        )
    }
    citation = f"{MBPM} §300.3; {MGOV}"
    carc_hint = "119"
    needs = "history"
    facts = frozenset({"history"})
    fix = "Bill at most the follow-up units left in the calendar year."
    autofix = (
        "Unsafe: bill the line's units less the units over (remove the line when all of them are "
        "over). The year's total counts the history and the beneficiary's other claims, and which "
        "service gives up its units is a choice the claim alone does not make."
    )
    example: ClassVar[dict[str, Any]] = {
        "referral": FOLLOW_UP_ORDER,
        "history": history_entries(
            ("2024-03-04", "G0109", 4, "R-12"),
            ("2024-03-11", "G0109", 4, "R-12"),
            ("2026-01-12", "G0109", 3, None),
        ),
    }
    use_instead: ClassVar[dict[str, Any]] = {**example, "lines": [base_line(units=1)]}
    uses_ledger = True

    def check(self, ctx: LedgerContext) -> Iterator[Violation]:
        ledger = ctx.ledger
        period = ledger.initial_period
        for o in by_line(ledger.follow_up_overages()):
            line_id = ctx.line_id(o.line)
            units = ctx.line(o.line).units
            in_end_year = o.cap == 0 and period is not None and o.year == period.end.year
            when: dict[str, Scalar] = {}
            if in_end_year and period is not None:
                when = {"end": period.end.isoformat(), "first_year": period.end.year + 1}
            yield violation(
                ("lines", o.line, "units"),
                line_id,
                variant="initial_end_year" if in_end_year else None,
                line=line_id,
                year=o.year,
                total=o.total,
                cap=o.cap,
                over=o.over,
                per_year=ctx.profile.follow_up_max_units_per_year,
                **when,
            )._replace(fix=cut_units(o.line, line_id, units, o.over, "the follow-up limit"))


RULES: tuple[type[Rule], ...] = (
    InitialHoursExceeded,
    InitialIndividualExceeded,
    FollowUpHoursExceeded,
)
