"""The engine: pure functions from (claim, profile, selection, history) to findings.

``iter_findings`` is the lazy core; ``check`` and ``check_many`` are eager wrappers that build
:class:`~dsmt_rules.findings.Report` values. No clock reads, no I/O, no global mutable state: the
same input, profile and history give the same findings, in the same order (catalog code order, then
the order in which each rule meets the claim's lines).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

from dsmt_rules.catalog import CATALOG, CODES
from dsmt_rules.findings import Finding, Loc, Report, Severity
from dsmt_rules.history import BatchIndex, Ledger
from dsmt_rules.models import Claim, HistoryEntry
from dsmt_rules.profiles import Profile, load_profile
from dsmt_rules.records import Problem, Record, StructureProblem
from dsmt_rules.rules._base import Context, Rule, Violation
from dsmt_rules.rules.document import InvalidDocument, X12StructureError
from dsmt_rules.selection import parse_severity_overrides, resolve_selection

__all__ = [
    "Ruleset",
    "check",
    "check_many",
    "check_records",
    "iter_findings",
    "ruleset",
]

ProfileLike = str | Path | Profile
Selectors = Sequence[str] | None
SeverityOverrides = Mapping[str, str | Severity] | Sequence[str] | None


@dataclass(frozen=True, slots=True)
class _Active:
    rule: Rule
    severity: Severity
    name: str
    citation: str
    carc_hint: str | None
    url: str
    code: str
    message: str
    variants: Mapping[str, str]
    check: Callable[[Context], Iterable[Violation]]
    """The rule's bound ``check`` (looked up once per ruleset, not once per claim)."""


def _active(rule_cls: type[Rule], severity: Severity) -> _Active:
    rule = rule_cls()
    return _Active(
        rule,
        severity,
        rule_cls.name,
        rule_cls.citation,
        rule_cls.carc_hint,
        rule_cls.doc_url(),
        rule_cls.code,
        rule_cls.message,
        rule_cls.variants,
        rule.check,
    )


@dataclass(frozen=True, slots=True)
class Ruleset:
    """A compiled selection: the profile and the enabled rules with their effective severities.

    Build one with :func:`ruleset` and pass it to :func:`check` in a hot loop to skip re-resolving
    the selection (``check`` caches compiled rulesets anyway).
    """

    profile: Profile
    mue: Mapping[str, int] | None
    """MUE values by HCPCS code (rule DS109), or None when no MUE table is configured."""
    enabled: frozenset[str]
    severities: Mapping[str, Severity]
    _with_lines: tuple[_Active, ...]
    _without_lines: tuple[_Active, ...]

    def severity_of(self, code: str) -> Severity:
        """The effective severity of a rule under this profile and selection."""
        return self.severities[code]

    @property
    def uses_ledger(self) -> bool:
        """Whether an enabled rule reads the beneficiary's history (a batch is then read twice)."""
        return any(a.rule.uses_ledger for a in self._with_lines)


_RAISED_BY_ADAPTERS = (InvalidDocument, X12StructureError)
"""Rules that adapters report while reading (DS001, DS003): never run on a claim."""


def _compile(
    profile: Profile,
    select: tuple[str, ...] | None,
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    severity: tuple[str, ...],
) -> Ruleset:
    enabled = resolve_selection(CODES, select=select, extend_select=extend_select, ignore=ignore)
    levels = {rule.code: rule.default_severity for rule in CATALOG}
    levels.update(parse_severity_overrides(dict(profile.severity), CODES))
    levels.update(parse_severity_overrides(list(severity), CODES))
    with_lines: list[_Active] = []
    without_lines: list[_Active] = []
    for rule_cls in CATALOG:
        if rule_cls.code not in enabled or rule_cls in _RAISED_BY_ADAPTERS:
            continue
        active = _active(rule_cls, levels[rule_cls.code])
        (without_lines if rule_cls.runs_without_dsmt_lines else with_lines).append(active)
    return Ruleset(profile, None, enabled, levels, tuple(with_lines), tuple(without_lines))


@functools.lru_cache(maxsize=128)
def _cached_ruleset(
    profile: ProfileLike,
    select: tuple[str, ...] | None,
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    severity: tuple[str, ...],
) -> Ruleset:
    return _compile(load_profile(profile), select, extend_select, ignore, severity)


def _severity_items(severity: SeverityOverrides) -> tuple[str, ...]:
    if not severity:
        return ()
    if isinstance(severity, Mapping):
        return tuple(f"{k}={v}" for k, v in severity.items())
    return tuple(severity)


def ruleset(
    *,
    profile: ProfileLike = "medicare",
    select: Selectors = None,
    extend_select: Selectors = None,
    ignore: Selectors = None,
    severity: SeverityOverrides = None,
    mue: Mapping[str, int] | None = None,
) -> Ruleset:
    """Compile a profile and a rule selection (ruff semantics) into a :class:`Ruleset`.

    ``mue`` maps HCPCS codes to Medically Unlikely Edit values (DS109 runs only when it is given).

    Raises:
        ConfigError: unknown profile, selector matching no rule, or a bad severity override.
    """
    key_profile: ProfileLike = str(profile) if isinstance(profile, Path) else profile
    compiled = _cached_ruleset(
        key_profile,
        tuple(select) if select is not None else None,
        tuple(extend_select or ()),
        tuple(ignore or ()),
        _severity_items(severity),
    )
    if mue is None:
        return compiled
    return dataclasses.replace(compiled, mue=MappingProxyType(dict(mue)))


def _resolve(
    rules: Ruleset | None,
    profile: ProfileLike,
    select: Selectors,
    extend_select: Selectors,
    ignore: Selectors,
    severity: SeverityOverrides,
) -> Ruleset:
    if rules is not None:
        return rules
    return ruleset(
        profile=profile,
        select=select,
        extend_select=extend_select,
        ignore=ignore,
        severity=severity,
    )


def _finding(a: _Active, v: Violation, source: str | None) -> Finding:
    """The one place a :class:`Finding` is made: a rule's violation, with its template filled."""
    template = a.message if v.variant is None else a.variants[v.variant]
    # Positional, in Finding's field order (code, name, severity, message, loc, line_id, source,
    # citation, carc_hint, url, ctx): eleven keyword arguments cost a third more per finding.
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
    )


def _findings(ctx: Context, active: Iterable[_Active], source: str | None) -> Iterator[Finding]:
    """The lazy core: one rule at a time, in catalog order."""
    for a in active:
        for v in a.check(ctx):
            yield _finding(a, v, source)


def _all_findings(
    ctx: Context, active: Iterable[_Active], source: str | None
) -> tuple[Finding, ...]:
    """The same findings as :func:`_findings`, collected eagerly (no generator per claim)."""
    out: list[Finding] = []
    for a in active:
        for v in a.check(ctx):
            out.append(_finding(a, v, source))
    return tuple(out)


LedgerFactory = Callable[[Claim, Profile], Ledger]


def _context(
    claim: Claim,
    rules: Ruleset,
    history: Iterable[HistoryEntry] | None,
    ledger_factory: LedgerFactory | None = None,
) -> Context:
    if ledger_factory is not None:
        return Context(claim, rules.profile, ledger_factory=ledger_factory, mue=rules.mue)
    if history is None:
        return Context(claim, rules.profile, mue=rules.mue)
    extra = tuple(history)

    def factory(c: Claim, p: Profile) -> Ledger:
        return Ledger.for_claim(c, p, history=extra)

    return Context(claim, rules.profile, ledger_factory=factory, mue=rules.mue)


def _report(
    claim: Claim,
    rules: Ruleset,
    *,
    history: Iterable[HistoryEntry] | None = None,
    ledger_factory: LedgerFactory | None = None,
    record: int | None = None,
    source: str | None = None,
) -> Report:
    ctx = _context(claim, rules, history, ledger_factory)
    active = rules._with_lines if ctx.dsmt_lines else rules._without_lines
    return Report(claim.claim_id, _all_findings(ctx, active, source), record)


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
    """Lazily yield the findings for one claim, in catalog code order.

    ``history`` is more of the beneficiary's record of earlier services, merged with the claim's own
    ``history`` array (the same service listed by both counts once; docs/batch.md).
    ``rules`` (from :func:`ruleset`) replaces ``profile``/``select``/``ignore``/``severity``.
    """
    rs = _resolve(rules, profile, select, extend_select, ignore, severity)
    ctx = _context(claim, rs, history)
    active = rs._with_lines if ctx.dsmt_lines else rs._without_lines
    return _findings(ctx, active, source)


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
    """Check one claim and return its :class:`Report` (status, findings)."""
    rs = _resolve(rules, profile, select, extend_select, ignore, severity)
    return _report(claim, rs, history=history, record=record, source=source)


_T = TypeVar("_T")


def _passes(
    source: Iterable[_T] | Callable[[], Iterable[_T]], twice: bool
) -> Iterator[Iterable[_T]]:
    """The source as one pass, or as two passes over the same items (docs/batch.md).

    A function is called once per pass; a collection (list, tuple) is iterated twice; any other
    iterable can be read only once, so it is materialised first.
    """
    if not twice:
        yield source() if callable(source) else source
        return
    if callable(source):
        yield source()
        yield source()
        return
    items = source if isinstance(source, Collection) else list(source)
    yield items
    yield items


def check_many(
    claims: Iterable[Claim] | Callable[[], Iterable[Claim]],
    *,
    profile: ProfileLike = "medicare",
    select: Selectors = None,
    extend_select: Selectors = None,
    ignore: Selectors = None,
    severity: SeverityOverrides = None,
    rules: Ruleset | None = None,
) -> Iterator[Report]:
    """Check a batch of claims, yielding one report per claim in input order.

    Batch semantics (docs/batch.md): a beneficiary's claims in the batch are history for each
    other, and a claim's findings do not depend on the order of the claims. When a rule that reads
    history is enabled the claims are read twice: pass ``claims`` as a function that returns a fresh
    iterable each time to keep memory bounded; a one-shot iterator is materialised first.
    """
    rs = _resolve(rules, profile, select, extend_select, ignore, severity)
    passes = _passes(claims, rs.uses_ledger)
    if not rs.uses_ledger:
        for claim in next(passes):
            yield _report(claim, rs)
        return
    index = BatchIndex(rs.profile)
    for seq, claim in enumerate(next(passes)):
        index.add(seq, claim)
    for seq, claim in enumerate(next(passes)):
        yield _report(claim, rs, ledger_factory=index.factory(seq))


# --- records: what adapters read, including what could not be read -------------------------------

_DS001 = _active(InvalidDocument, InvalidDocument.default_severity)
"""DS001 is never deselected or downgraded: a record that cannot be read must not pass silently."""
_DS003 = _active(X12StructureError, X12StructureError.default_severity)


def _invalid_document_report(
    *,
    record: int,
    problems: Sequence[Problem],
    claim_id: str | None = None,
    source: str | None = None,
) -> Report:
    """The report of a record that could not be read: one DS001 finding per problem."""
    findings = tuple(
        _finding(
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
    return Report(claim_id=claim_id, findings=findings, record=record)


def _where(loc: Loc) -> str:
    return ".".join(str(part) for part in loc)


def _structure_findings(structure: Iterable[StructureProblem], rules: Ruleset) -> list[Finding]:
    """DS003 findings of the faults in the input's structure, under the rules' severity."""
    level = rules.severities.get(_DS003.code, _DS003.severity)
    active = _DS003 if level is _DS003.severity else dataclasses.replace(_DS003, severity=level)
    return [
        _finding(
            active,
            Violation((), p.line_id, {"segment": p.segment, "problem": p.problem}),
            p.source,
        )
        for p in structure
    ]


def check_records(
    records: Iterable[Record] | Callable[[], Iterable[Record]],
    *,
    profile: ProfileLike = "medicare",
    select: Selectors = None,
    extend_select: Selectors = None,
    ignore: Selectors = None,
    severity: SeverityOverrides = None,
    rules: Ruleset | None = None,
) -> Iterator[Report]:
    """One report per record, in input order; unreadable records get DS001 with their position.

    ``records`` is an iterable, or a function that returns a fresh iterable each time it is called
    (so that a batch can be read twice: once for the beneficiaries' ledgers, once to check). Batch
    semantics as in :func:`check_many` (docs/batch.md); a one-shot iterable is materialised when
    history rules are enabled.
    """
    rs = _resolve(rules, profile, select, extend_select, ignore, severity)
    passes = _passes(records, rs.uses_ledger)
    index: BatchIndex | None = None
    if rs.uses_ledger:
        index = BatchIndex(rs.profile)
        for seq, rec in enumerate(next(passes)):
            if rec.claim is not None:
                index.add(seq, rec.claim)
    for seq, rec in enumerate(next(passes)):
        if rec.claim is not None:
            report = _report(
                rec.claim,
                rs,
                ledger_factory=None if index is None else index.factory(seq),
                record=rec.position,
                source=rec.source,
            )
        elif rec.problems or not rec.structure:
            report = _invalid_document_report(
                record=rec.position, problems=rec.problems, claim_id=rec.claim_id, source=rec.source
            )
        else:
            report = Report(claim_id=rec.claim_id, record=rec.position)
        yield (_with_adapter_output(report, rec, rs) if rec.structure or rec.sources else report)


def _with_adapter_output(report: Report, rec: Record, rules: Ruleset) -> Report:
    """Add the structure's faults (DS003) to a report and give findings their input positions."""
    extra: list[Finding] = []
    if rec.structure and (rec.claim is None or _DS003.code in rules.enabled):
        extra = _structure_findings(rec.structure, rules)
    findings = sorted((*report.findings, *extra), key=lambda f: f.code)  # stable: rule order kept
    if rec.sources:
        findings = [_positioned(f, rec.sources) for f in findings]
    return Report(claim_id=report.claim_id, findings=tuple(findings), record=report.record)


def _positioned(finding: Finding, sources: Mapping[Loc, str]) -> Finding:
    for end in range(len(finding.loc), 0, -1):
        where = sources.get(finding.loc[:end])
        if where is not None:
            return dataclasses.replace(finding, source=where)
    return finding
