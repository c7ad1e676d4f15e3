"""The rules that need the beneficiary's history (``ctx.ledger``): hour caps and the training phase.

- DS305 referral-hours-exceeded: units billed under one order past the hours it orders.
- DS310 referral-phase-mismatch: an initial order in the follow-up phase, or the reverse.
- DS401 initial-hours-exceeded, DS402 initial-individual-exceeded: the initial period's caps.
- DS403 follow-up-hours-exceeded: follow-up units per calendar year.

The ledger (:mod:`dsmt_rules.history`) holds the beneficiary's DSMT and MNT services: the claim's
lines, its ``history`` array, the ``history=`` argument of ``check`` and, in a batch, the
beneficiary's other claims (:mod:`dsmt_rules.batch`). It derives the initial period and follow-up
years; these rules report the claim's lines past a cap, with the window and the units over. Every
number comes from the profile (``initial_period_months``, ``initial_max_units``,
``initial_individual_max_units``, ``follow_up_max_units_per_year``,
``follow_up_in_initial_end_year``, ``unit_minutes``, ``individual_code``, ``group_code``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from dsmt_rules.findings import Severity
from dsmt_rules.models import IndividualReason, Training
from dsmt_rules.rules._base import Context, Rule, Violation, violation
from dsmt_rules.rules._examples import base_line

if TYPE_CHECKING:
    from dsmt_rules.history import Overage, Period
    from dsmt_rules.models import Referral

__all__ = [
    "RULES",
    "FollowUpHoursExceeded",
    "InitialHoursExceeded",
    "InitialIndividualExceeded",
    "ReferralHoursExceeded",
    "ReferralPhaseMismatch",
]

_MBPM = "MBPM (Pub. 100-02) ch. 15"
_MGOV = "Medicare.gov DSMT coverage"
_MINUTES_PER_HOUR = 60


def _history(*entries: tuple[str, str, int, str | None]) -> list[dict[str, Any]]:
    """History entries for the examples: (date of service, code, units, referral id)."""
    return [
        {"service_date": day, "hcpcs": code, "units": units, "referral_id": referral}
        for day, code, units, referral in entries
    ]


_FOLLOW_UP_ORDER: dict[str, Any] = {"training": "follow_up", "hours_ordered": 2}
"""The base claim's referral as a follow-up order for 2 hours."""


def _by_line(overages: list[Overage]) -> list[Overage]:
    return sorted(overages, key=lambda o: o.line)


def _overage_violations(
    ctx: Context, overages: list[Overage], **values: object
) -> Iterator[Violation]:
    """One violation per line past a cap, in line order, on ``("lines", i, "units")``.

    Every cap rule's message gets ``line``, ``total``, ``cap`` and ``over``, plus ``values``.
    """
    for o in _by_line(overages):
        line = ctx.claim.lines[o.line]
        yield violation(
            ("lines", o.line, "units"),
            line.line_id,
            line=line.line_id,
            total=o.total,
            cap=o.cap,
            over=o.over,
            **values,
        )


def _dates(period: Period | None) -> dict[str, str]:
    if period is None:  # pragma: no cover - an initial overage implies an initial period
        return {"start": "?", "end": "?"}
    return {"start": period.start.isoformat(), "end": period.end.isoformat()}


class ReferralHoursExceeded(Rule):
    """More units billed under a referral than the hours it orders.

    ## What it checks
    The DSMT units billed under the claim's referral: this claim's G0108/G0109 lines plus the
    services on record (`history`) and, in a batch, the beneficiary's other claims that name the
    same `referral_id`, in date-of-service order, against `hours_ordered` x 60 / the profile's
    `unit_minutes` (10 hours = 20 units). The line whose units take the total past the order
    carries the finding, with the units over; each later line under the order is over by all of
    its units.

    ## Why it matters
    The order states how many hours of training are ordered. Training past the ordered hours is
    not covered by that order: the excess is denied, and the program needs a new or amended order
    before it furnishes more.

    ## References
    Medicare Benefit Policy Manual (Pub. 100-02), chapter 15, §300 (the order states the number
    of hours ordered).
    """

    code = "DS305"
    name = "referral-hours-exceeded"
    default_severity = Severity.ERROR
    message = (
        "Line {line}: the referral orders {hours:g} hours ({cap} units) and {total} units are "
        "billed under it up to this line ({over} over); reduce the line by {over} unit(s) or "
        "obtain an amended order for more hours."
    )
    citation = f"{_MBPM} §300"
    carc_hint = "119"
    needs = "referral.hours_ordered, history"
    fix = "Bill no more units under an order than the hours it orders; get a new order for more."
    example: ClassVar[dict[str, Any]] = {
        "referral": {"hours_ordered": 1.5},
        "history": _history(("2026-01-12", "G0109", 2, "R-77")),
    }
    use_instead: ClassVar[dict[str, Any]] = {
        "referral": {"hours_ordered": 2},
        "history": _history(("2026-01-12", "G0109", 2, "R-77")),
    }
    uses_ledger = True

    def check(self, ctx: Context) -> Iterator[Violation]:
        referral = ctx.claim.referral
        if referral is None:
            return
        cap = int(referral.hours_ordered * _MINUTES_PER_HOUR // ctx.profile.unit_minutes)
        overages = ctx.ledger.referral_overages(referral.referral_id, cap)
        yield from _overage_violations(ctx, overages, hours=referral.hours_ordered)


class ReferralPhaseMismatch(Rule):
    """A referral for the wrong phase: initial training ordered in the follow-up phase, or the reverse.

    ## What it checks
    For each G0108/G0109 line, whether the referral's `training` (initial or follow-up) matches the
    beneficiary's phase on the line's date of service, derived from the history (never trusted
    from the input): the initial period starts on the first DSMT service on record and lasts the
    profile's `initial_period_months` (12); later services are follow-up. An initial order used
    after the initial period has ended, or a follow-up order used while it runs, is reported.
    With no DSMT on record before the claim, a follow-up order is accepted as follow-up (a
    missing record of initial training is no reason to deny follow-up) and starts no initial period.

    ## Why it matters
    Initial and follow-up training are different benefits with different limits, each needing its
    own order. A claim billed under an order for the other phase does not have a valid order for
    the service furnished and is returned or denied.

    ## References
    Medicare Benefit Policy Manual (Pub. 100-02), chapter 15, §300 (the order states initial or
    follow-up training) and §300.3 (the initial 12-month period and follow-up years; §300.1 on
    follow-up without a record of initial training).
    """

    code = "DS310"
    name = "referral-phase-mismatch"
    default_severity = Severity.ERROR
    message = (
        "Line {line}: the referral orders {ordered} training, but on {date} the beneficiary is "
        "in {phase}; {advice}"
    )
    citation = f"{_MBPM} §300, §300.3"
    carc_hint = "16"
    needs = "referral.training, history"
    fix = "Bill the training under an order for the beneficiary's phase (initial or follow-up)."
    example: ClassVar[dict[str, Any]] = {
        "history": _history(("2024-03-04", "G0109", 4, "R-12"), ("2024-03-11", "G0109", 4, "R-12")),
    }
    use_instead: ClassVar[dict[str, Any]] = {
        "referral": _FOLLOW_UP_ORDER,
        "history": _history(("2024-03-04", "G0109", 4, "R-12"), ("2024-03-11", "G0109", 4, "R-12")),
    }
    uses_ledger = True

    def check(self, ctx: Context) -> Iterator[Violation]:
        referral = ctx.claim.referral
        if referral is None:
            return
        ledger = ctx.ledger
        for i, line in ctx.dsmt_lines:
            phase = ledger.phase_of_line(i)
            if phase is None or phase.training is referral.training:
                continue
            dates = _dates(ledger.initial_period)
            if referral.training is Training.INITIAL:
                ordered = "initial"
                where = (
                    f"follow-up (the initial period {dates['start']} to {dates['end']} has ended)"
                )
                advice = "bill follow-up training under a follow-up order."
            else:
                ordered = "follow-up"
                where = f"the initial period {dates['start']} to {dates['end']}"
                advice = (
                    "bill it under the initial training order (follow-up training comes after "
                    f"{dates['end']})."
                )
            yield violation(
                ("referral", "training"),
                line.line_id,
                line=line.line_id,
                ordered=ordered,
                date=line.service_date.isoformat(),
                phase=where,
                advice=advice,
            )


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
    citation = f"{_MBPM} §300.3; {_MGOV}"
    carc_hint = "119"
    needs = "history"
    fix = "Bill only the units left in the initial period; later training needs a follow-up order."
    example: ClassVar[dict[str, Any]] = {
        "history": _history(
            ("2025-10-06", "G0109", 4, "R-70"),
            ("2025-10-20", "G0109", 4, "R-70"),
            ("2025-11-03", "G0109", 4, "R-70"),
            ("2025-11-17", "G0109", 4, "R-70"),
            ("2025-12-01", "G0109", 3, "R-70"),
        ),
    }
    use_instead: ClassVar[dict[str, Any]] = {
        "lines": [base_line(units=1)],
        "history": _history(
            ("2025-10-06", "G0109", 4, "R-70"),
            ("2025-10-20", "G0109", 4, "R-70"),
            ("2025-11-03", "G0109", 4, "R-70"),
            ("2025-11-17", "G0109", 4, "R-70"),
            ("2025-12-01", "G0109", 3, "R-70"),
        ),
    }
    uses_ledger = True

    def check(self, ctx: Context) -> Iterator[Violation]:
        ledger = ctx.ledger
        yield from _overage_violations(
            ctx,
            ledger.initial_overages(),
            **_dates(ledger.initial_period),
            months=ctx.profile.initial_period_months,
        )


def _documents_exception(referral: Referral | None) -> bool:
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
    citation = f"{_MBPM} §300.4"
    carc_hint = "119"
    needs = "history, referral exceptions"
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
        "history": _history(("2026-01-12", "G0108", 2, "R-77")),
    }
    use_instead: ClassVar[dict[str, Any]] = {
        **example,
        "referral": {"individual_reason": "special_needs", "special_needs": ["vision"]},
    }
    uses_ledger = True

    def check(self, ctx: Context) -> Iterator[Violation]:
        if _documents_exception(ctx.claim.referral):
            return
        ledger = ctx.ledger
        yield from _overage_violations(
            ctx,
            ledger.individual_overages(),
            **_dates(ledger.initial_period),
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
        "Line {line}: {window}: {total} of {cap} units ({over} over). Follow-up training is "
        "limited to {per_year} units per calendar year after the initial period; reduce the line "
        "by {over} unit(s)."
    )
    citation = f"{_MBPM} §300.3; {_MGOV}"
    carc_hint = "119"
    needs = "history"
    fix = "Bill at most the follow-up units left in the calendar year."
    example: ClassVar[dict[str, Any]] = {
        "referral": _FOLLOW_UP_ORDER,
        "history": _history(
            ("2024-03-04", "G0109", 4, "R-12"),
            ("2024-03-11", "G0109", 4, "R-12"),
            ("2026-01-12", "G0109", 3, None),
        ),
    }
    use_instead: ClassVar[dict[str, Any]] = {**example, "lines": [base_line(units=1)]}
    uses_ledger = True

    def check(self, ctx: Context) -> Iterator[Violation]:
        ledger = ctx.ledger
        period = ledger.initial_period
        for o in _by_line(ledger.follow_up_overages()):
            line = ctx.claim.lines[o.line]
            window = f"follow-up year {o.year}"
            if o.cap == 0 and period is not None and o.year == period.end.year:
                window += (
                    f" (the initial period ended {period.end.isoformat()}; this profile allows "
                    f"follow-up from {period.end.year + 1})"
                )
            yield violation(
                ("lines", o.line, "units"),
                line.line_id,
                line=line.line_id,
                window=window,
                total=o.total,
                cap=o.cap,
                over=o.over,
                per_year=ctx.profile.follow_up_max_units_per_year,
            )


RULES: tuple[type[Rule], ...] = (
    ReferralHoursExceeded,
    ReferralPhaseMismatch,
    InitialHoursExceeded,
    InitialIndividualExceeded,
    FollowUpHoursExceeded,
)
