"""DS1xx: coding. Units against time, group size against the code, session records, MUE, duplicates.

Every rule here looks only at the claim's DSMT lines (``ctx.dsmt_lines``) and the sessions they link
(``session_ids``); every number comes from the profile (``unit_minutes``, ``min_session_minutes``,
``group_min``, ``group_max``, ``individual_code``, ``group_code``) or, for DS109, the MUE table.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from dsmt_rules.findings import Fix, Scalar, Severity
from dsmt_rules.rules._base import Context, LedgerContext, Rule, Screen, Violation, violation
from dsmt_rules.rules._examples import base_line, base_session
from dsmt_rules.rules._fixes import SAFE, UNSAFE, remove_line, set_units, swap_code, units_text

if TYPE_CHECKING:
    from dsmt_rules.history._ledger import LineFacts

__all__ = [
    "RULES",
    "DuplicateService",
    "GroupTooLarge",
    "GroupTooSmall",
    "IndividualCodeForGroup",
    "SessionDateMismatch",
    "SessionRecordMissing",
    "SessionTooShort",
    "UnitsExceedMue",
    "UnitsExceedTime",
    "UnitsNotPositive",
]

_SESSION_ID = "S-20260202-AM"
"""The base claim's session (rules/_examples.BASE_CLAIM)."""
_INSTRUCTORS: list[dict[str, Any]] = [{"npi": "1952356107", "credentials": ["RN", "CDCES"]}]


class UnitsNotPositive(Rule):
    """A DSMT line billed with zero or negative units.

    ## What it checks
    That every G0108/G0109 line bills at least 1 unit. A unit is one increment of the profile's
    `unit_minutes` (30 minutes under `medicare`) of training actually furnished.

    ## Why it matters
    G0108 and G0109 are billed "per 30 minutes": a line of 0 units bills no service, and a negative
    count is not a charge at all. Payers reject such lines as invalid; they usually come from a
    units field left empty or a reversal keyed as a new line.

    ## References
    HCPCS G0108 and G0109 descriptors ("per 30 minutes").
    """

    code = "DS101"
    name = "units-not-positive"
    default_severity = Severity.ERROR
    message = (
        "Line {line}: {code} billed with {units} units; bill at least 1 unit "
        "(one per {unit_minutes} minutes of training furnished)."
    )
    citation = "HCPCS G0108/G0109 descriptors (per 30 minutes)"
    carc_hint = "16"
    needs = "line.units"
    screen = Screen(line="units < 1")
    fix = "Bill one unit per full 30 minutes furnished, or remove the line."
    example: ClassVar[dict[str, object]] = {"lines": [base_line(units=0)]}
    use_instead: ClassVar[dict[str, object]] = {"lines": [base_line(units=2)]}

    def check(self, ctx: Context) -> Iterable[Violation]:
        found: list[Violation] = []
        for i, line in ctx.dsmt_lines:
            if line.units < 1:
                found.append(
                    violation(
                        ("lines", i, "units"),
                        line.line_id,
                        line=line.line_id,
                        code=line.hcpcs,
                        units=line.units,
                        unit_minutes=ctx.profile.unit_minutes,
                    )
                )
        return found


class SessionTooShort(Rule):
    """A session billed under DSMT that lasted less than 30 minutes.

    ## What it checks
    Every session linked from a G0108/G0109 line: its `minutes` must be at least the profile's
    `min_session_minutes` (30 under `medicare`). Each short session is reported once, on the first
    line that links it.

    ## Why it matters
    DSMT is billed in 30-minute increments of training actually furnished; a session shorter than
    one increment is not billable. Billing it (or padding a line with it) is a common audit finding.

    ## References
    MBPM (Pub. 100-02) ch. 15 §300.3; Medicare.gov, "Diabetes self-management training".
    """

    code = "DS102"
    name = "session-too-short"
    default_severity = Severity.ERROR
    message = (
        "Line {line}: session {session} on {date} lasted {minutes} minutes; a session shorter "
        "than {min_minutes} minutes is not billable (unlink it, or correct the recorded minutes)."
    )
    citation = "MBPM (Pub. 100-02) ch. 15 §300.3; Medicare.gov DSMT coverage"
    carc_hint = "151"
    needs = "session.minutes"
    facts = frozenset({"sessions"})
    screen = Screen(session="s.minutes < P.min_session_minutes")
    companions = frozenset({"DS103"})
    fix = "Do not bill sessions shorter than 30 minutes; bill only the sessions that qualify."
    example: ClassVar[dict[str, object]] = {
        "lines": [base_line(units=2, session_ids=["S-20260202-AM", "S-20260202-PM"])],
        "sessions": [
            base_session(minutes=20),
            base_session(session_id="S-20260202-PM", minutes=40),
        ],
    }
    use_instead: ClassVar[dict[str, object]] = {
        "lines": [base_line(units=1, session_ids=["S-20260202-PM"])],
        "sessions": [base_session(session_id="S-20260202-PM", minutes=40)],
    }

    def check(self, ctx: Context) -> Iterable[Violation]:
        shortest = ctx.profile.min_session_minutes
        found: list[Violation] = []
        reported: set[int] = set()
        for _, line, sessions in ctx.dsmt_links:
            for j, session in sessions:
                if session.minutes >= shortest or j in reported:
                    continue
                reported.add(j)
                found.append(
                    violation(
                        ("sessions", j, "minutes"),
                        line.line_id,
                        line=line.line_id,
                        session=session.session_id,
                        date=session.date.isoformat(),
                        minutes=session.minutes,
                        min_minutes=shortest,
                    )
                )
        return found


class UnitsExceedTime(Rule):
    """More units billed than the linked sessions' minutes support.

    ## What it checks
    For every G0108/G0109 line with at least 1 unit whose linked sessions are all on the claim:
    units must not exceed floor(total minutes of the linked sessions / `unit_minutes`). Under
    `medicare` 45 minutes support 1 unit and 60 minutes 2. A line that links no session, or links a
    session id with no record, is left to DS107 (its time is not known), a line of fewer than 1
    unit to DS101.

    ## Why it matters
    Units are whole 30-minute increments actually furnished. Rounding 45 minutes up to 2 units, or
    billing a whole course's units against one session, overbills the time on the attendance sheet:
    the excess units are denied and the pattern invites an audit.

    ## References
    MBPM (Pub. 100-02) ch. 15 §300.3; HCPCS G0108/G0109 descriptors ("per 30 minutes").
    """

    code = "DS103"
    name = "units-exceed-time"
    default_severity = Severity.ERROR
    message = (
        "Line {line}: {units} units billed for {minutes} minutes of linked sessions; "
        "{minutes} minutes support at most {supported} units of {unit_minutes} minutes "
        "(reduce the units or link the line's other sessions)."
    )
    citation = "MBPM (Pub. 100-02) ch. 15 §300.3; HCPCS G0108/G0109 descriptors (per 30 minutes)"
    carc_hint = "151"
    needs = "line.units, sessions"
    facts = frozenset({"sessions"})
    screen = Screen(line="units >= 1 and linked and units * P.unit_minutes > minutes")
    fix = "Bill floor(minutes / 30) units at most, or link every session the line covers."
    autofix = (
        "Safe: bill the units the linked sessions' minutes support (the minutes on record divided "
        "by the profile's `unit_minutes`, rounded down); the payer allows no more on this record. "
        "Unsafe: remove the line when they support no unit (the line may link the wrong session)."
    )
    example: ClassVar[dict[str, object]] = {"lines": [base_line(units=3)]}
    use_instead: ClassVar[dict[str, object]] = {"lines": [base_line(units=2)]}

    def check(self, ctx: Context) -> Iterable[Violation]:
        unit = ctx.profile.unit_minutes
        found: list[Violation] = []
        for i, line, sessions in ctx.dsmt_links:
            if line.units < 1 or not sessions:
                continue
            if any(sid not in ctx.session_index for sid in line.session_ids):
                continue  # a linked session has no record: the time is not known (DS107)
            minutes = 0
            for _, session in sessions:
                minutes += session.minutes
            supported = minutes // unit
            if line.units > supported:
                lid = line.line_id
                fix = (
                    set_units(
                        i,
                        line.units,
                        supported,
                        SAFE,
                        f"Bill {units_text(supported)} for the {minutes} minutes of linked sessions",
                    )
                    if supported >= 1
                    else remove_line(
                        i, lid, UNSAFE, f"Remove line {lid}: {minutes} minutes bill no unit"
                    )
                )
                found.append(
                    violation(
                        ("lines", i, "units"),
                        line.line_id,
                        line=line.line_id,
                        units=line.units,
                        minutes=minutes,
                        supported=supported,
                        unit_minutes=unit,
                    )._replace(fix=fix)
                )
        return found


class GroupTooSmall(Rule):
    """G0109 (group) billed for a session with fewer than 2 attendees.

    ## What it checks
    For every G0109 line (the profile's `group_code`), each linked session's `attendees` must be at
    least the profile's `group_min` (2 under `medicare`). `attendees` counts everyone present. One
    finding per line, for its first such session.

    ## Why it matters
    G0109 is a "group session (2 or more)". When only one person attended, the training furnished was
    individual and the line must be billed as G0108, which counts against the beneficiary's
    individual-training allowance.

    ## References
    HCPCS G0109 descriptor ("group session (2 or more)").
    """

    code = "DS104"
    name = "group-too-small"
    default_severity = Severity.ERROR
    message = (
        "Line {line}: {code} billed for a session with {attendees} attendees; "
        "a group needs at least {group_min} (bill {individual_code})."
    )
    variants: ClassVar[dict[str, str]] = {
        "one_attendee": (
            "Line {line}: {code} billed for a session with {attendees} attendee; "
            "a group needs at least {group_min} (bill {individual_code})."
        )
    }
    citation = "HCPCS G0109 descriptor"
    carc_hint = "16"
    needs = "session.attendees"
    facts = frozenset({"sessions"})
    screen = Screen(session="code == P.group_code and s.attendees < P.group_min")
    fix = "Bill G0108 (individual) for a session with one attendee."
    autofix = (
        "Safe: bill the profile's `individual_code` instead, when every session the line links "
        "had at least 1 and fewer than `group_min` attendees: the attendance on record makes the "
        "training individual. No fix when the line also links a group session (split the line)."
    )
    example: ClassVar[dict[str, object]] = {"sessions": [base_session(attendees=1)]}
    use_instead: ClassVar[dict[str, object]] = {
        "lines": [base_line(hcpcs="G0108")],
        "sessions": [base_session(attendees=1, format="individual")],
    }

    def check(self, ctx: Context) -> Iterable[Violation]:
        profile = ctx.profile
        group_code, group_min = profile.group_code, profile.group_min
        found: list[Violation] = []
        for i, line, sessions in ctx.dsmt_links:
            if line.hcpcs != group_code:
                continue
            for _, session in sessions:
                if session.attendees < group_min:
                    individual = profile.individual_code
                    fix = (
                        swap_code(
                            i,
                            line.hcpcs,
                            individual,
                            f"Bill {individual} (individual) for a session of {session.attendees}",
                        )
                        if all(1 <= s.attendees < group_min for _, s in sessions)
                        else None
                    )
                    found.append(
                        violation(
                            ("lines", i, "hcpcs"),
                            line.line_id,
                            variant="one_attendee" if session.attendees == 1 else None,
                            line=line.line_id,
                            code=line.hcpcs,
                            attendees=session.attendees,
                            group_min=group_min,
                            individual_code=individual,
                        )._replace(fix=fix)
                    )
                    break
        return found


class GroupTooLarge(Rule):
    """G0109 (group) billed for a session with more than 20 attendees.

    ## What it checks
    For every G0109 line (the profile's `group_code`), each linked session's `attendees` must be at
    most the profile's `group_max` (20 under `medicare`; everyone present counts, Medicare or not).
    One finding per line, pointing at its first such session.

    ## Why it matters
    Medicare covers group DSMT for groups of 2 to 20 people. A class of more than 20 is not a covered
    group session: the line is denied, and an attendance count over the limit is an audit flag.

    ## References
    42 CFR 410.141(c); Medicare.gov, "Diabetes self-management training".
    """

    code = "DS105"
    name = "group-too-large"
    default_severity = Severity.ERROR
    message = (
        "Line {line}: {code} billed for session {session} with {attendees} attendees; "
        "a DSMT group has at most {group_max} (a larger class is not a billable group session; "
        "check the attendance count)."
    )
    citation = "42 CFR 410.141(c); Medicare.gov DSMT coverage"
    carc_hint = "16"
    needs = "session.attendees"
    facts = frozenset({"sessions"})
    screen = Screen(session="code == P.group_code and s.attendees > P.group_max")
    fix = "Teach groups of at most 20; bill only sessions whose attendance is within the limit."
    example: ClassVar[dict[str, object]] = {"sessions": [base_session(attendees=21)]}
    use_instead: ClassVar[dict[str, object]] = {"sessions": [base_session(attendees=20)]}

    def check(self, ctx: Context) -> Iterable[Violation]:
        profile = ctx.profile
        group_code, group_max = profile.group_code, profile.group_max
        found: list[Violation] = []
        for _, line, sessions in ctx.dsmt_links:
            if line.hcpcs != group_code:
                continue
            for j, session in sessions:
                if session.attendees > group_max:
                    found.append(
                        violation(
                            ("sessions", j, "attendees"),
                            line.line_id,
                            line=line.line_id,
                            code=line.hcpcs,
                            session=session.session_id,
                            attendees=session.attendees,
                            group_max=group_max,
                        )
                    )
                    break
        return found


class IndividualCodeForGroup(Rule):
    """G0108 (individual) billed for a group session.

    ## What it checks
    For every G0108 line (the profile's `individual_code`), no linked session may have `group_min`
    (2 under `medicare`) or more attendees. The attendance count decides, whatever the session's
    recorded `format`: a class planned as a group that only one person attended is individual
    training (and G0109 would raise DS104), while a session recorded as individual with several
    people present was a group. One finding per line, for its first such session.

    ## Why it matters
    G0108 pays the individual rate and counts against the beneficiary's limited individual
    allowance (1 hour of the initial 10 unless an exception is documented). Training given to a
    group must be billed as G0109; billing it as individual overpays and is recouped on audit.

    ## References
    HCPCS G0108 and G0109 descriptors.
    """

    code = "DS106"
    name = "individual-code-for-group"
    default_severity = Severity.ERROR
    message = (
        "Line {line}: {code} (individual) billed for a session with {attendees} attendees "
        "(recorded as {format}); {group_min} or more people make a group (bill {group_code})."
    )
    variants: ClassVar[dict[str, str]] = {
        "one_attendee": (
            "Line {line}: {code} (individual) billed for a session with {attendees} attendee "
            "(recorded as {format}); {group_min} or more people make a group (bill {group_code})."
        )
    }
    citation = "HCPCS G0108/G0109 descriptors"
    carc_hint = "16"
    needs = "session.format/attendees"
    facts = frozenset({"sessions"})
    screen = Screen(session="code == P.individual_code and s.attendees >= P.group_min")
    fix = "Bill G0109 (group) for a session with 2 or more attendees."
    autofix = (
        "Safe: bill the profile's `group_code` instead, when every session the line links had "
        "from `group_min` to `group_max` attendees: the attendance on record makes the training "
        "a group. No fix when a linked session was individual or over `group_max` (DS105)."
    )
    example: ClassVar[dict[str, object]] = {"lines": [base_line(hcpcs="G0108")]}
    use_instead: ClassVar[dict[str, object]] = {"lines": [base_line(hcpcs="G0109")]}

    def check(self, ctx: Context) -> Iterable[Violation]:
        profile = ctx.profile
        individual_code, group_min = profile.individual_code, profile.group_min
        group_code, group_max = profile.group_code, profile.group_max
        found: list[Violation] = []
        for i, line, sessions in ctx.dsmt_links:
            if line.hcpcs != individual_code:
                continue
            for _, session in sessions:
                if session.attendees >= group_min:
                    fix = (
                        swap_code(
                            i,
                            line.hcpcs,
                            group_code,
                            f"Bill {group_code} (group) for a session of {session.attendees}",
                        )
                        if all(group_min <= s.attendees <= group_max for _, s in sessions)
                        else None
                    )
                    found.append(
                        violation(
                            ("lines", i, "hcpcs"),
                            line.line_id,
                            variant="one_attendee" if session.attendees == 1 else None,
                            line=line.line_id,
                            code=line.hcpcs,
                            attendees=session.attendees,
                            format=session.format.value,
                            group_min=group_min,
                            group_code=group_code,
                        )._replace(fix=fix)
                    )
                    break
        return found


class SessionRecordMissing(Rule):
    """A DSMT line without its session record.

    ## What it checks
    That every G0108/G0109 line links at least one session (`session_ids`) and that every session
    it links is in the claim's `sessions`. One finding per line: either no session is linked, or
    some linked ids are not on the claim (the message counts and names them).

    ## Why it matters
    The session record (the program's attendance sheet) is what shows how long the training lasted,
    how many people attended and who taught it. Without it DS102-DS106, DS108 and the instructor
    rule cannot verify the line, and an auditor asks for exactly this record. The finding is a
    warning: the claim may be right, but it cannot be shown to be.

    ## References
    MBPM (Pub. 100-02) ch. 15 §300 (attendance records of the accredited program).
    """

    code = "DS107"
    name = "session-record-missing"
    default_severity = Severity.WARNING
    message = (
        "Line {line}: {code} has no linked session record; time, group size and instructors "
        "cannot be verified without the attendance-sheet session (add it to sessions and link it "
        "in session_ids)."
    )
    variants: ClassVar[dict[str, str]] = {
        "missing": (
            "Line {line}: {code} has {missing} of {linked} linked session record(s) missing from "
            "the claim ({session_ids}); time, group size and instructors cannot be verified "
            "without the attendance-sheet session (add it to sessions and link it in session_ids)."
        )
    }
    citation = "MBPM (Pub. 100-02) ch. 15 §300"
    carc_hint = "16"
    needs = "line.session_ids"
    facts = frozenset({"sessions"})
    screen = Screen(line="not ids or len(linked) != len(ids)")
    fix = "Send the session record (date, minutes, format, attendees, instructors) with the line."
    example: ClassVar[dict[str, object]] = {"lines": [base_line(session_ids=[])]}
    use_instead: ClassVar[dict[str, object]] = {"lines": [base_line(session_ids=[_SESSION_ID])]}

    def check(self, ctx: Context) -> Iterable[Violation]:
        found: list[Violation] = []
        for i, line, sessions in ctx.dsmt_links:
            if sessions and len(sessions) == len(line.session_ids):
                continue  # every id found, each once: nothing missing
            linked = list(dict.fromkeys(line.session_ids))
            missing = [sid for sid in linked if sid not in ctx.session_index]
            loc = ("lines", i, "session_ids")
            if not linked:
                found.append(violation(loc, line.line_id, line=line.line_id, code=line.hcpcs))
            elif missing:
                found.append(
                    violation(
                        loc,
                        line.line_id,
                        variant="missing",
                        line=line.line_id,
                        code=line.hcpcs,
                        missing=len(missing),
                        linked=len(linked),
                        session_ids=", ".join(missing),
                    )
                )
        return found


class SessionDateMismatch(Rule):
    """A line's date of service differs from the date of a session it bills.

    ## What it checks
    For every G0108/G0109 line, each linked session's `date` must equal the line's `service_date`.
    One finding per line and mismatching session (the message gives both dates).

    ## Why it matters
    The date of service is the date the training was furnished, as recorded on the attendance sheet.
    A mismatch means the line bills a session on the wrong date (or one line bills sessions of
    several dates): the yearly and 12-month limits, the referral date and the accreditation period
    are then checked against the wrong day, and an audit finds the records do not match.

    ## References
    Claim integrity: sessions are dated on the attendance sheet, and a line's date of service is the
    date the session took place (one line per date of service).
    """

    code = "DS108"
    name = "session-date-mismatch"
    default_severity = Severity.ERROR
    message = (
        "Line {line}: date of service {service_date} but linked session {session} is dated "
        "{session_date}; bill each session on a line dated the day it took place."
    )
    citation = "claim integrity (sessions are dated on the attendance sheet)"
    carc_hint = "16"
    needs = "session.date, line.service_date"
    facts = frozenset({"sessions"})
    screen = Screen(session="s.date != day")
    fix = "Correct the line's date of service, or split the line by session date."
    example: ClassVar[dict[str, object]] = {"sessions": [base_session(date="2026-02-03")]}
    use_instead: ClassVar[dict[str, object]] = {
        "lines": [base_line(service_date="2026-02-03")],
        "sessions": [base_session(date="2026-02-03")],
    }

    def check(self, ctx: Context) -> Iterable[Violation]:
        found: list[Violation] = []
        for i, line, sessions in ctx.dsmt_links:
            day = line.service_date
            for _, session in sessions:
                if session.date != day:
                    found.append(
                        violation(
                            ("lines", i, "service_date"),
                            line.line_id,
                            line=line.line_id,
                            service_date=day.isoformat(),
                            session=session.session_id,
                            session_date=session.date.isoformat(),
                        )
                    )
        return found


class UnitsExceedMue(Rule):
    """More units of one code on one date of service than the configured MUE allows.

    ## What it checks
    Only when an MUE table is configured (`ruleset(mue=...)`, `--mue-file`) and it has a value for
    the line's code: the units of that code on one date of service, summed over the claim's lines in
    order, must not exceed the MUE value. The line whose units cross the value carries the finding
    and says how many of its units are over; any later line of the same code and date is over by
    all its units. Lines of fewer than 1 unit (DS101) are not counted.

    ## Why it matters
    Medically Unlikely Edits are CMS's per-day unit ceilings for a code. Units over the MUE are
    denied automatically (line or date-of-service edit) and can only be recovered on appeal with
    records; splitting them over several lines does not help, since the units are summed.

    ## References
    CMS National Correct Coding Initiative (NCCI), Medically Unlikely Edits (quarterly MUE tables).
    No MUE values are built in: load the CMS file.
    """

    code = "DS109"
    name = "units-exceed-mue"
    default_severity = Severity.ERROR
    message = (
        "Line {line}: {units} units of {code} on {service_date} bring this claim's total for the "
        "date to {total} against an MUE of {mue}: {over} unit(s) over "
        "(bill at most {mue} units of {code} per date of service)."
    )
    citation = "NCCI MUE (CMS Medically Unlikely Edits)"
    carc_hint = "151"
    needs = "MUE table"
    screen = Screen(line="MUE is not None and code in MUE")
    fix = "Bill no more units per code and date of service than the MUE value."
    example_options: ClassVar[dict[str, object]] = {"mue": {"G0109": 2}}
    example: ClassVar[dict[str, object]] = {
        "lines": [base_line(units=3)],
        "sessions": [base_session(minutes=90)],
    }
    use_instead: ClassVar[dict[str, object]] = {
        "lines": [base_line(units=2)],
        "sessions": [base_session(minutes=90)],
    }

    def check(self, ctx: Context) -> Iterable[Violation]:
        table: Mapping[str, int] | None = ctx.mue
        if table is None:
            return ()
        found: list[Violation] = []
        totals: dict[tuple[str, object], int] = {}
        for i, line in ctx.dsmt_lines:
            limit = table.get(line.hcpcs)
            if limit is None or line.units < 1:
                continue
            key = (line.hcpcs, line.service_date)
            before = totals.get(key, 0)
            after = before + line.units
            totals[key] = after
            if after > limit:
                found.append(
                    violation(
                        ("lines", i, "units"),
                        line.line_id,
                        line=line.line_id,
                        units=line.units,
                        code=line.hcpcs,
                        service_date=line.service_date.isoformat(),
                        total=after,
                        mue=limit,
                        over=after - max(before, limit),
                    )
                )
        return found


class _Duplicate(NamedTuple):
    """A later line that bills a service an earlier one already bills."""

    position: int
    """The line's index in ``claim.lines``."""
    line: LineFacts
    variant: str | None
    """Which of DS110's templates says what is billed twice and where it was billed first."""
    values: dict[str, Scalar]
    """The template's values besides the line and its code: the session or date, the other line."""
    copy: bool = False
    """Whether the line is an exact copy of the earlier line of the claim it repeats."""


def _duplicates_within_claim(ctx: LedgerContext) -> list[_Duplicate]:
    """Later DSMT lines of this claim that repeat an earlier line's code and session.

    Two lines are the same service when they have the same code and date of service and link the
    same session id (a session is its id and its date), or, when neither links a session, the same
    code and date of service. Each later line is reported once, against the first line it repeats.
    A claim of one DSMT line repeats nothing; a line of fewer than 1 unit bills no service.
    """
    duplicates: list[_Duplicate] = []
    if len(ctx.dsmt_lines) < 2:
        return duplicates
    first: dict[tuple[str, str | None, str], LineFacts] = {}
    for i, line in ctx.dsmt_lines:
        # A session is its id and its date: the same id on another day is another session.
        day = line.service_date.isoformat()
        if line.session_ids:
            keys: list[tuple[str, str | None, str]] = [
                (line.hcpcs, sid, day) for sid in line.session_ids
            ]
        else:
            keys = [(line.hcpcs, None, day)]
        found: _Duplicate | None = None
        for key in keys:
            earlier = first.setdefault(key, line)
            if earlier is not line and found is None:
                _, sid, _ = key
                if sid is not None:
                    variant, values = None, {"session": sid}
                else:
                    variant, values = "date_in_claim", {"date": day}
                copy = (
                    earlier.hcpcs == line.hcpcs
                    and earlier.units == line.units
                    and earlier.service_date == line.service_date
                    and sorted(earlier.session_ids) == sorted(line.session_ids)
                )
                found = _Duplicate(
                    i, line, variant, {**values, "other_line": earlier.line_id}, copy
                )
        if found is not None:
            duplicates.append(found)
    return duplicates


def _duplicates_outside_claim(ctx: LedgerContext, skip: Collection[int]) -> list[_Duplicate]:
    """DSMT lines that repeat a service on record or a line of the beneficiary's other claims.

    The ledger (``ctx.ledger``) decides: a service in the claim's ``history`` with the same code
    and date, or an earlier line of another claim of the batch with the same code and session (or
    code and date when neither links a session). Lines in ``skip`` are already reported.
    """
    duplicates: list[_Duplicate] = []
    ledger = ctx.ledger
    for i, line in ctx.dsmt_lines:
        match = None if i in skip else ledger.earlier_duplicate(i)
        if match is None:
            continue
        other = match.service
        day = line.service_date.isoformat()
        if match.on_record:
            duplicates.append(_Duplicate(i, line, "date_on_record", {"date": day}))
            continue
        where: dict[str, Scalar] = {"other_claim": other.claim_id, "other_line": other.line_id}
        if match.session_id is not None:
            duplicates.append(
                _Duplicate(i, line, "session_other_claim", {"session": match.session_id, **where})
            )
        else:
            duplicates.append(_Duplicate(i, line, "date_other_claim", {"date": day, **where}))
    return duplicates


def _position(dup: _Duplicate) -> int:
    """A duplicate's sort key: its line's index in ``claim.lines``."""
    return dup.position


class DuplicateService(Rule):
    """The same DSMT service billed twice.

    ## What it checks
    The same service is the same beneficiary, code, date of service and session; a session is its
    id *and* its date, so a weekly class that reuses one id is a new session each week. Within the
    claim: two G0108/G0109 lines with the same code and date of service that link the same session
    id, or, when neither line links a session, the same code and date of service. The later line
    carries the finding. Outside the claim (the beneficiary's ledger): a line with the same code
    and date of service as a service in the claim's `history` (the history records no sessions),
    and, in a batch, a line that repeats a line of another claim of the same beneficiary by the
    same test; the line that comes later (date of service, then claim id, then line order) carries
    the finding. A line of fewer than 1 unit bills no service and repeats nothing (DS101).

    ## Why it matters
    One session of training is one service: billing it on two lines (a resubmitted line, a copied
    line, two staff members billing the same class) is a duplicate payment. Payers deny the second
    line as a duplicate, and repeated duplicates are a compliance problem. Calling next week's
    class a duplicate because it reuses this week's id would reject every week after the first.

    ## References
    MCPM (Pub. 100-04) ch. 1 §120 (duplicate claims); claim integrity: one claim line per service
    furnished (CARC 18, exact duplicate claim/service).
    """

    code = "DS110"
    name = "duplicate-service"
    default_severity = Severity.ERROR
    message = (
        "Line {line}: {code} for session {session} is already billed on line {other_line} of "
        "this claim; bill each service once (remove the duplicate line)."
    )
    variants: ClassVar[dict[str, str]] = {
        "date_in_claim": (
            "Line {line}: {code} on {date} with no session linked is already billed on line "
            "{other_line} of this claim; bill each service once (remove the duplicate line)."
        ),
        "session_other_claim": (
            "Line {line}: {code} for session {session} is already billed on claim {other_claim}, "
            "line {other_line}; bill each service once (remove the duplicate line)."
        ),
        "date_other_claim": (
            "Line {line}: {code} on {date} with no session linked is already billed on claim "
            "{other_claim}, line {other_line}; bill each service once (remove the duplicate line)."
        ),
        "date_on_record": (
            "Line {line}: {code} on {date} is already billed on an earlier claim (the "
            "beneficiary's history); bill each service once (remove the duplicate line)."
        ),
    }
    citation = "MCPM (Pub. 100-04) ch. 1 §120; claim integrity (one line per service furnished)"
    carc_hint = "18"
    needs = "lines, history"
    fix = "Remove the duplicate line, or link it to the session it actually bills."
    autofix = (
        "Remove the later line. Safe when it is an exact copy of an earlier line of the same "
        "claim (code, date of service, units and sessions); unsafe otherwise: a line that differs "
        "may bill another session under the wrong id, and a repeat of another claim or of the "
        "history leaves the choice of which claim to correct."
    )
    example: ClassVar[dict[str, object]] = {
        "lines": [base_line(line_id="1"), base_line(line_id="2")]
    }
    use_instead: ClassVar[dict[str, object]] = {
        "lines": [
            base_line(line_id="1"),
            base_line(line_id="2", session_ids=["S-20260202-PM"]),
        ],
        "sessions": [base_session(), base_session(session_id="S-20260202-PM")],
    }

    uses_ledger = True

    def check(self, ctx: LedgerContext) -> Iterable[Violation]:
        found = _duplicates_within_claim(ctx)
        found += _duplicates_outside_claim(ctx, skip={dup.position for dup in found})
        if not found:
            return ()
        found.sort(key=_position)
        return [
            violation(
                ("lines", dup.position),
                dup.line.line_id,
                variant=dup.variant,
                line=dup.line.line_id,
                code=dup.line.hcpcs,
                **dup.values,
            )._replace(fix=_removal(dup))
            for dup in found
        ]


def _removal(dup: _Duplicate) -> Fix:
    """DS110's fix: remove the later line (safe for an exact copy within the claim)."""
    lid = dup.line.line_id
    other = dup.values.get("other_line")
    claim = dup.values.get("other_claim")
    where = f"line {other}" if claim is None else f"line {other} of claim {claim}"
    title = (
        f"Remove line {lid} (a repeat of a service in the history)"
        if dup.variant == "date_on_record"
        else f"Remove line {lid} (a repeat of {where})"
    )
    return remove_line(dup.position, lid, SAFE if dup.copy else UNSAFE, title)


RULES: tuple[type[Rule], ...] = (
    UnitsNotPositive,
    SessionTooShort,
    UnitsExceedTime,
    GroupTooSmall,
    GroupTooLarge,
    IndividualCodeForGroup,
    SessionRecordMissing,
    SessionDateMismatch,
    UnitsExceedMue,
    DuplicateService,
)
