"""The kernel: one beneficiary's claims in, one report per claim out.

Checking a claim is two stages, so that a batch never has to hold its claims:

1. :func:`prepare` (one record, on its own): the fused screen, then the claim rules it flags
   (findings), DS001 for a record that is not a claim, DS003 for the faults of the input's
   structure, and the claim's :class:`~dsmt_rules.history.ClaimFacts` when a history rule is
   enabled. The result, a :class:`Prepared`, is small: plain values, no claim.
2. :func:`finish` (one beneficiary's prepared claims): one :class:`~dsmt_rules.history.Book` of
   their facts, then the history rules for each claim whose lines they could report on
   (:meth:`~dsmt_rules.history.Ledger.may_report`), and the report.

:func:`check_alone` runs both for one claim, skipping the book when no history rule can report
(:func:`_quiet_alone`). The engine here is the only maker of findings (:func:`make_finding`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from dsmt_rules.engine._ruleset import Active, Ruleset, active
from dsmt_rules.findings import ClaimSummary, Finding, Loc, Report, SummaryLine
from dsmt_rules.history import Book, ClaimFacts, Ledger, facts_of, initial_period_from
from dsmt_rules.history._ledger import referral_cap
from dsmt_rules.models import Claim, HistoryEntry, Training
from dsmt_rules.records import Failure, Problem, Record, StructureProblem, failure_of
from dsmt_rules.rules._base import Context, LedgerContext, Violation
from dsmt_rules.rules.document import (
    FactsNotOnClaim,
    InternalError,
    InvalidDocument,
    X12StructureError,
)

__all__ = [
    "Prepared",
    "check_alone",
    "finish",
    "finish_with_book",
    "make_finding",
    "prepare",
    "quiet_lines",
]

_FOLLOW_UP = Training.FOLLOW_UP


def make_finding(a: Active, v: Violation, source: str | None) -> Finding:
    """The one place a :class:`Finding` is made: a rule's violation, with its template filled."""
    template = a.message if v.variant is None else a.variants[v.variant]
    # Positional, in Finding's field order (code, name, severity, message, loc, line_id, source,
    # citation, carc_hint, url, ctx, fix): twelve keyword arguments cost a third more per finding.
    return Finding(
        a.code,
        a.name,
        a.severity,
        template.format_map(v.values),
        v.loc,
        v.line_id,
        source,
        a.citation,
        a.carc_hint,
        a.url,
        v.values,
        v.fix,
    )


def rebuild_finding(a: Active, finding: Finding) -> Finding:
    """A finding of ``a``'s rule with ``a``'s metadata (for findings read back from a spill)."""
    return dataclasses.replace(
        finding, name=a.name, citation=a.citation, carc_hint=a.carc_hint, url=a.url
    )


_DS001 = active(InvalidDocument, InvalidDocument.default_severity)
"""DS001 is never deselected or downgraded: a record that cannot be read must not pass silently."""
_DS003 = active(X12StructureError, X12StructureError.default_severity)
_DS004 = active(FactsNotOnClaim, FactsNotOnClaim.default_severity)
_DS005 = active(InternalError, InternalError.default_severity)
"""DS005 is never deselected or downgraded: a record that was not checked must not pass silently."""


def internal_finding(failure: Failure, source: str | None) -> Finding:
    """DS005 for a defect of dsmt-rules on one record (the guard's finding)."""
    values = {"stage": failure.stage, "error": failure.error}
    variant = "reading" if failure.stopped else None
    return make_finding(_DS005, Violation((), None, values, variant), source)


def _internal(stage: str, exc: Exception, source: str | None) -> Finding:
    return internal_finding(failure_of(stage, exc), source)


def _where(loc: Loc) -> str:
    return ".".join(str(part) for part in loc)


def invalid_document_findings(
    record: int, problems: Sequence[Problem], source: str | None
) -> tuple[Finding, ...]:
    """One DS001 finding per problem of a record that could not be read."""
    return tuple(
        make_finding(
            _DS001,
            Violation(
                loc,
                None,
                {
                    "record": record,
                    "problem": problem,
                    "where": _where(loc) if loc else "the record",
                },
            ),
            source,
        )
        for loc, problem in (problems or [((), "unreadable record")])
    )


def _structure_findings(structure: Iterable[StructureProblem], rules: Ruleset) -> list[Finding]:
    """DS003 findings of the faults in the input's structure, under the rules' severity."""
    level = rules.severities.get(_DS003.code, _DS003.severity)
    a = _DS003 if level is _DS003.severity else dataclasses.replace(_DS003, severity=level)
    return [
        make_finding(
            a, Violation((), p.line_id, {"segment": p.segment, "problem": p.problem}), p.source
        )
        for p in structure
    ]


def _by_code(finding: Finding) -> str:
    return finding.code


def _positioned(findings: Iterable[Finding], sources: Mapping[Loc, str]) -> tuple[Finding, ...]:
    """Each finding with the input position of the longest prefix of its ``loc`` that has one."""
    out: list[Finding] = []
    for finding in findings:
        for end in range(len(finding.loc), 0, -1):
            where = sources.get(finding.loc[:end])
            if where is not None:
                finding = dataclasses.replace(finding, source=where)
                break
        out.append(finding)
    return tuple(out)


class Prepared(NamedTuple):
    """A record after the first stage: what its report still needs, and nothing of its claim."""

    seq: int
    """Its sequence number in the batch (0, 1, 2, ... in input order)."""
    position: int | None
    """``Report.record``: its position in its input."""
    claim_id: str | None
    key: str | None
    """The beneficiary (grouping only, never output); None for a record that is not a claim."""
    findings: tuple[Finding, ...]
    """Its findings so far (the claim rules', DS001, DS003), in code order, not yet positioned."""
    facts: ClaimFacts | None
    """The claim as the history rules see it (None: not a claim, or no history rule enabled)."""
    dsmt: bool
    """Whether the claim has a DSMT line (the history rules report only on those)."""
    source: str | None
    """``Record.source``: where the record is in its input (every finding starts with it)."""
    sources: Mapping[Loc, str]
    """Input positions of parts of the claim (X12, FHIR), applied to the findings at the end."""
    unknown: frozenset[str] = frozenset()
    """Facts the input format could not carry (``Record.unknown``): their rules do not run."""
    claim: ClaimSummary | None = None
    """What a batch summary needs of the claim (``Report.claim``)."""


def _claim_findings(
    claim: Claim, rules: Ruleset, source: str | None, mask: int = -1
) -> tuple[list[Finding], bool]:
    """The claim rules' findings (those the fused screen flags and ``mask`` keeps), and whether
    the claim has DSMT lines."""
    hits = rules.screen(claim)
    if hits > 0:
        hits &= mask
    if hits == -1:
        if not rules.without_lines:
            return [], False
        ctx = Context(claim, rules.profile, mue=rules.mue, code_sets=rules.code_sets)
        return [
            make_finding(a, v, source) for a in rules.without_lines for v in a.check(ctx)
        ], False
    if not hits:
        return [], True
    ctx = Context(claim, rules.profile, mue=rules.mue, code_sets=rules.code_sets)
    out: list[Finding] = []
    for a in rules.claim_rules:
        if hits & a.bit:
            for v in a.check(ctx):
                out.append(make_finding(a, v, source))
    return out, True


def prepare(
    record: Record,
    seq: int,
    rules: Ruleset,
    *,
    history: Iterable[HistoryEntry] = (),
    facts: bool = True,
) -> Prepared:
    """The first stage for one record (``history``: more of its beneficiary's record; ``facts``
    false: the caller knows no history rule can report, so none are made).

    The guard: if our own code raises on the record, it is prepared again one step at a time,
    each rule on its own, and every step that fails gives a DS005 finding naming it; the steps
    that work keep their findings. Nothing raised by one record reaches the batch.
    """
    try:
        return _prepare(record, seq, rules, history, facts)
    except Exception:  # the guard: _prepare_guarded reports what fails (DS005)
        return _prepare_guarded(record, seq, rules, history, facts)


def _prepare(
    record: Record,
    seq: int,
    rules: Ruleset,
    history: Iterable[HistoryEntry],
    facts: bool,
) -> Prepared:
    claim = record.claim
    if record.failure is not None:
        raise _Failed
    source = record.source
    if claim is None:
        return _not_a_claim(record, seq, rules, [])
    unknown = record.unknown
    if unknown:
        taken = rules.unknown(unknown)
        findings, dsmt = _claim_findings(claim, rules, source, taken.mask)
        if dsmt and taken.skipped and _DS004.code in rules.enabled:
            findings.insert(0, _facts_finding(record, unknown, taken.skipped, rules, source))
    else:
        findings, dsmt = _claim_findings(claim, rules, source)
    if record.structure and _DS003.code in rules.enabled:
        findings.extend(_structure_findings(record.structure, rules))
        findings.sort(key=_by_code)
    kept = (
        facts_of(claim, rules.profile, seq=seq, history=history)
        if facts and rules.ledger_rules
        else None
    )
    return _prepared(record, seq, claim, findings, kept, dsmt, summary_of(claim, rules))


def _not_a_claim(record: Record, seq: int, rules: Ruleset, findings: list[Finding]) -> Prepared:
    """A record without a claim: DS001 for its problems (or for nothing else to report), DS003
    for its structure, after ``findings`` (DS005), in code order."""
    if record.problems or not (record.structure or findings):
        findings.extend(invalid_document_findings(record.position, record.problems, record.source))
    if record.structure:
        findings.extend(_structure_findings(record.structure, rules))
    findings.sort(key=_by_code)
    return Prepared(
        seq,
        record.position,
        record.claim_id,
        None,
        tuple(findings),
        None,
        False,
        record.source,
        record.sources,
    )


def _prepared(
    record: Record,
    seq: int,
    claim: Claim,
    findings: list[Finding],
    facts: ClaimFacts | None,
    dsmt: bool,
    summary: ClaimSummary | None,
) -> Prepared:
    return Prepared(
        seq,
        record.position,
        claim.claim_id,
        claim.beneficiary_id,
        tuple(findings),
        facts,
        dsmt,
        record.source,
        record.sources,
        record.unknown,
        summary,
    )


class _Failed(Exception):
    """A record that an adapter could not finish reading: prepared by the guarded path."""


def _prepare_guarded(
    record: Record,
    seq: int,
    rules: Ruleset,
    history: Iterable[HistoryEntry],
    facts: bool,
) -> Prepared:
    """:func:`prepare` one step at a time, each step guarded (DS005 for each that fails)."""
    claim = record.claim
    source = record.source
    findings: list[Finding] = []
    if record.failure is not None:
        findings.append(internal_finding(record.failure, source))
    if claim is None:
        return _not_a_claim(record, seq, rules, findings)
    dsmt_codes = rules.profile.dsmt_codes
    dsmt = any(line.hcpcs in dsmt_codes for line in claim.lines)
    unknown = record.unknown
    taken = rules.unknown(unknown) if unknown else None
    try:
        ctx = Context(claim, rules.profile, mue=rules.mue, code_sets=rules.code_sets)
    except Exception as exc:  # the guard
        findings.append(_internal("the claim rules", exc, source))
    else:
        for a in rules.claim_rules if dsmt else rules.without_lines:
            if taken is not None and a.bit and not taken.mask & a.bit:
                continue
            try:
                made = [make_finding(a, v, source) for v in a.check(ctx)]
            except Exception as exc:  # the guard
                made = [_internal(f"rule {a.code}", exc, source)]
            findings.extend(made)
    if taken is not None and dsmt and taken.skipped and _DS004.code in rules.enabled:
        findings.insert(0, _facts_finding(record, unknown, taken.skipped, rules, source))
    if record.structure and _DS003.code in rules.enabled:
        findings.extend(_structure_findings(record.structure, rules))
    kept = None
    if facts and rules.ledger_rules:
        try:
            kept = facts_of(claim, rules.profile, seq=seq, history=history)
        except Exception as exc:  # the guard: the history rules cannot run for this claim
            if dsmt:
                findings.append(_internal("the history rules", exc, source))
    summary = None
    try:
        summary = summary_of(claim, rules)
    except Exception as exc:  # the guard
        findings.append(_internal("the claim summary", exc, source))
    findings.sort(key=_by_code)
    return _prepared(record, seq, claim, findings, kept, dsmt, summary)


def _ledger_findings(
    facts: ClaimFacts,
    ledger: Ledger,
    rules: Ruleset,
    source: str | None,
    unknown: frozenset[str] = frozenset(),
) -> list[Finding]:
    ctx = LedgerContext(facts, ledger, rules.profile)
    active = rules.unknown(unknown).ledger_rules if unknown else rules.ledger_rules
    try:
        return [make_finding(a, v, source) for a in active for v in a.check(ctx)]
    except Exception:  # the guard: each rule on its own, DS005 for each that fails
        out: list[Finding] = []
        for a in active:
            try:
                made = [make_finding(a, v, source) for v in a.check(ctx)]
            except Exception as exc:  # the guard
                made = [_internal(f"rule {a.code}", exc, source)]
            out.extend(made)
        return out


_FACT_NAMES = (
    ("sessions", "session records (time, attendance, delivery, instructors)"),
    ("accreditation", "the program's accreditation"),
    ("referral", "the referral's content"),
    ("history", "earlier services"),
)


def _facts_finding(
    record: Record,
    unknown: frozenset[str],
    skipped: Sequence[str],
    rules: Ruleset,
    source: str | None,
) -> Finding:
    """DS004: the facts the record's format cannot carry, and the rules that did not run."""
    level = rules.severities.get(_DS004.code, _DS004.severity)
    a = _DS004 if level is _DS004.severity else dataclasses.replace(_DS004, severity=level)
    names = [name for fact, name in _FACT_NAMES if fact in unknown]
    facts = ", ".join(names[:-1]) + (" or " if len(names) > 1 else "") + names[-1]
    values = {"format": record.format or "input", "facts": facts, "rules": ", ".join(skipped)}
    return make_finding(a, Violation((), None, values), source)


def _report(p: Prepared, extra: list[Finding]) -> Report:
    findings: Sequence[Finding] = p.findings
    if extra:
        findings = sorted((*findings, *extra), key=_by_code)  # stable: each rule's order kept
    if p.sources and findings:
        findings = _positioned(findings, p.sources)
    return Report(p.claim_id, tuple(findings), p.position, claim=p.claim)


def summary_of(claim: Claim, rules: Ruleset) -> ClaimSummary:
    """The claim's billing NPI and DSMT lines (with their charges) for ``Report.claim``."""
    dsmt = rules.profile.dsmt_codes
    return ClaimSummary(
        claim.billing_provider.npi,
        tuple(
            SummaryLine(line.line_id, line.hcpcs, line.service_date.isoformat(), line.charge)
            for line in claim.lines
            if line.hcpcs in dsmt
        ),
    )


def finish(group: Sequence[Prepared], rules: Ruleset) -> list[Report]:
    """The second stage for one beneficiary's prepared claims: one report each, in their order."""
    if not rules.ledger_rules:
        return [_report(p, []) for p in group]
    facts = [p.facts for p in group if p.facts is not None]
    try:
        if not facts or (len(facts) == 1 and _quiet(facts[0], rules)):
            return [_report(p, []) for p in group]
        book = Book.of(facts, rules.profile)
    except Exception as exc:  # the guard: no history rule can run for the group
        return unbooked(group, failure_of("the history rules", exc))
    return [finish_with_book(p, book, rules) for p in group]


def unbooked(group: Iterable[Prepared], failure: Failure) -> list[Report]:
    """The reports of a group whose book could not be made: DS005 on each claim that the history
    rules would have read."""
    return [
        _report(p, [internal_finding(failure, p.source)] if p.key is not None and p.dsmt else [])
        for p in group
    ]


def finish_with_book(p: Prepared, book: Book, rules: Ruleset) -> Report:
    """The second stage for one prepared claim, with its beneficiary's book already made."""
    extra: list[Finding] = []
    if p.facts is not None and p.dsmt and rules.ledger_rules:
        try:
            ledger = Ledger(book, p.facts)
            reports = ledger.may_report()
        except Exception as exc:  # the guard
            extra = [_internal("the history rules", exc, p.source)]
        else:
            if reports:
                extra = _ledger_findings(p.facts, ledger, rules, p.source, p.unknown)
    return _report(p, extra)


def _quiet(facts: ClaimFacts, rules: Ruleset) -> bool:
    """Whether no history rule can report on a claim that is its beneficiary's only one.

    True when the claim's services (its DSMT lines and the services on its own record) are all
    DSMT, no line repeats another or a service on record, and, unless the claim is billed under a
    follow-up order, they all fall in the initial period the earliest of them opens and pass no
    cap even all counted: the book of the claim alone would have no suspects and DS305's bound
    would hold. A follow-up order with a record of its own goes to the book. (A property test
    checks every answer against the reference ledger.)
    """
    r = facts.referral
    training = None if r is None else r.training
    if facts.history and training is _FOLLOW_UP:
        return False
    return quiet_lines(
        [(s.hcpcs, s.units, s.service_date, s.session_ids) for s in facts.services],
        [(e.hcpcs, e.units, e.service_date) for e in facts.history],
        training,
        None if r is None else r.hours_ordered,
        rules,
    )


def _quiet_claim(claim: Claim, rules: Ruleset) -> bool:
    """:func:`_quiet`, read from the claim itself (a claim checked alone makes no facts then)."""
    codes = rules.profile.ledger_codes
    r = claim.referral
    training = None if r is None else r.training
    if claim.history and training is _FOLLOW_UP:
        return False
    return quiet_lines(
        [
            (line.hcpcs, line.units, line.service_date, line.session_ids)
            for line in claim.lines
            if line.hcpcs in codes and line.units >= 1
        ],
        [
            (e.hcpcs, e.units, e.service_date)
            for e in claim.history
            if e.hcpcs in codes and e.units >= 1
        ],
        training,
        None if r is None else r.hours_ordered,
        rules,
    )


def quiet_lines(
    lines: Sequence[tuple[str, int, Any, Sequence[str]]],
    record: Sequence[tuple[str, int, Any]],
    training: Training | None,
    hours: float | None,
    rules: Ruleset,
) -> bool:
    """The test of :func:`_quiet` over lines (code, units, day, session ids) and services on
    record (code, units, day); days are dates, or their ordinals (a packed group)."""
    if not lines:
        return not record
    profile = rules.profile
    dsmt = profile.dsmt_codes
    individual_code = profile.individual_code
    total = individual = 0
    first = last = lines[0][2]
    keys: set[tuple[str, str | None, Any]] = set()
    on_record: set[tuple[str, Any]] = set()
    for code, units, day in record:
        if code not in dsmt:
            return False  # MNT on record: DS501 decides
        on_record.add((code, day))
        if units > 0:
            total += units
            if code == individual_code:
                individual += units
        if day < first:
            first = day
        elif day > last:
            last = day
    for code, units, day, ids in lines:
        if code not in dsmt:
            return False  # MNT on the claim: DS501 decides
        if (code, day) in on_record:
            return False  # DS110: the line may repeat its own record
        for key in [(code, sid, day) for sid in dict.fromkeys(ids)] if ids else [(code, None, day)]:
            if key in keys:
                return False
            keys.add(key)
        if units > 0:
            total += units
            if code == individual_code:
                individual += units
        if day < first:
            first = day
        elif day > last:
            last = day
    if hours is not None and total > referral_cap(hours, profile):
        return False
    if training is _FOLLOW_UP:
        return total <= profile.follow_up_max_units_per_year  # all follow-up, no initial period
    if isinstance(first, int):
        first, last = dt.date.fromordinal(first), dt.date.fromordinal(last)
    if last > initial_period_from(first, profile.initial_period_months).end:
        return False
    return total <= profile.initial_max_units and individual <= profile.initial_individual_max_units


def check_alone(
    record: Record, rules: Ruleset, *, history: Iterable[HistoryEntry] = (), seq: int = 0
) -> Report:
    """Both stages for one record checked on its own (``check``): no batch, no other claims.

    A claim that no history rule can report on (:func:`_quiet_claim`) makes no facts and no book.
    """
    extra = tuple(history)
    claim = record.claim
    try:
        quiet = (
            bool(rules.ledger_rules)
            and claim is not None
            and not extra
            and _quiet_claim(claim, rules)
        )
    except Exception:  # a shortcut only: the full path below runs, guarded, and reports DS005
        quiet = False
    p = prepare(record, seq, rules, history=extra, facts=not quiet)
    return finish((p,), rules)[0]
