"""The engine: pure functions from (claim, profile, selection, history) to findings.

The unit of work is one beneficiary's claims (DESIGN.md, "the kernel": :mod:`._kernel`); every
public function is a driver of it. :func:`check` checks one claim (the request path: no batch, and
no ledger unless a history rule could report); :func:`check_many` and :func:`check_records` check a
batch in one pass, grouped by beneficiary, in bounded memory (:mod:`._batch`); Spark runs the same
kernel per group (:mod:`dsmt_rules.spark`). :func:`iter_findings` is the lazy view of one claim.

No clock reads, no I/O but the batch's own spill files, no global mutable state: the same input,
profile and history give the same findings, in the same order (catalog code order, then the order
in which each rule meets the claim's lines), whichever driver runs them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

from dsmt_rules.engine._batch import DEFAULT_MEMORY, finish_packed, prepare_packed, run
from dsmt_rules.engine._kernel import Prepared, check_alone, finish, prepare
from dsmt_rules.engine._ruleset import (
    ProfileLike,
    Ruleset,
    Selectors,
    SeverityOverrides,
    resolve,
    ruleset,
)
from dsmt_rules.findings import Finding, Report
from dsmt_rules.models import Claim, HistoryEntry
from dsmt_rules.records import Record

__all__ = [
    "DEFAULT_MEMORY",
    "Prepared",
    "Ruleset",
    "check",
    "check_group",
    "check_many",
    "check_records",
    "finish",
    "finish_packed",
    "iter_findings",
    "prepare",
    "prepare_packed",
    "ruleset",
]


def check(
    claim: Claim,
    *,
    profile: ProfileLike = "medicare",
    history: Iterable[HistoryEntry] | None = None,
    select: Selectors = None,
    extend_select: Selectors = None,
    ignore: Selectors = None,
    severity: SeverityOverrides = None,
    rules: Ruleset | None = None,
    record: int | None = None,
    source: str | None = None,
) -> Report:
    """Check one claim and return its :class:`Report` (status, findings).

    ``history`` is more of the beneficiary's record of earlier services, merged with the claim's
    own ``history`` array (the same service listed by both counts once; docs/batch.md).
    ``rules`` (from :func:`ruleset`) replaces ``profile``/``select``/``ignore``/``severity``.
    """
    rs = resolve(rules, profile, select, extend_select, ignore, severity)
    report = check_alone(Record(0, claim, source=source), rs, history=history or ())
    return Report(report.claim_id, report.findings, record, claim=report.claim)


def iter_findings(
    claim: Claim,
    *,
    profile: ProfileLike = "medicare",
    history: Iterable[HistoryEntry] | None = None,
    select: Selectors = None,
    extend_select: Selectors = None,
    ignore: Selectors = None,
    severity: SeverityOverrides = None,
    rules: Ruleset | None = None,
    source: str | None = None,
) -> Iterator[Finding]:
    """The findings for one claim, in catalog code order, one at a time (as :func:`check`)."""
    rs = resolve(rules, profile, select, extend_select, ignore, severity)
    return iter(check(claim, history=history, rules=rs, source=source).findings)


def check_group(
    records: Sequence[tuple[int, Record]], *, rules: Ruleset
) -> list[tuple[int, Report]]:
    """The kernel: one beneficiary's records, each with its sequence number in the batch, checked
    as one group (they are history for each other); one ``(seq, report)`` each, in their order."""
    prepared = [prepare(record, seq, rules) for seq, record in records]
    claims = [p for p in prepared if p.key is not None]
    reports = dict(zip((p.seq for p in claims), finish(claims, rules), strict=True))
    out: list[tuple[int, Report]] = []
    for p in prepared:
        out.append((p.seq, reports[p.seq] if p.key is not None else finish((p,), rules)[0]))
    return out


def _source(items: Iterable[Claim] | Callable[[], Iterable[Claim]]) -> Iterable[Claim]:
    return items() if callable(items) else items


def check_many(
    claims: Iterable[Claim] | Callable[[], Iterable[Claim]],
    *,
    profile: ProfileLike = "medicare",
    select: Selectors = None,
    extend_select: Selectors = None,
    ignore: Selectors = None,
    severity: SeverityOverrides = None,
    rules: Ruleset | None = None,
    memory: int = DEFAULT_MEMORY,
    temp_dir: str | None = None,
) -> Iterator[Report]:
    """Check a batch of claims, yielding one report per claim in input order.

    Batch semantics (docs/batch.md): a beneficiary's claims in the batch are history for each
    other, and a claim's findings do not depend on the order of the claims. The claims are read
    once; what is kept of each until its beneficiary's group is checked is small (its findings
    and facts, never the claim), held in memory up to ``memory`` bytes and spilled past it to a
    temporary directory (``temp_dir``, default: the system's). A function that returns the
    claims is called once.
    """
    rs = resolve(rules, profile, select, extend_select, ignore, severity)
    records = (Record(i, claim, (), claim.claim_id) for i, claim in enumerate(_source(claims), 1))
    for report in run(records, rs, memory=memory, temp_dir=temp_dir):
        yield Report(report.claim_id, report.findings, None, claim=report.claim)


def check_records(
    records: Iterable[Record] | Callable[[], Iterable[Record]],
    *,
    profile: ProfileLike = "medicare",
    select: Selectors = None,
    extend_select: Selectors = None,
    ignore: Selectors = None,
    severity: SeverityOverrides = None,
    rules: Ruleset | None = None,
    memory: int = DEFAULT_MEMORY,
    temp_dir: str | None = None,
) -> Iterator[Report]:
    """One report per record, in input order; unreadable records get DS001 with their position.

    Batch semantics and memory as :func:`check_many`. ``records`` is an iterable, or a function
    that returns one (called once).
    """
    rs = resolve(rules, profile, select, extend_select, ignore, severity)
    items: Iterable[Record] = records() if callable(records) else records
    return run(items, rs, memory=memory, temp_dir=temp_dir)
