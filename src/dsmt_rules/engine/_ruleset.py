"""Compiled rulesets: a profile and a rule selection, with every rule's effective severity.

A :class:`Ruleset` splits the enabled rules three ways: the claim rules (they read the claim,
through a :class:`~dsmt_rules.rules._base.Context`), the history rules (they read the ledger,
through a :class:`~dsmt_rules.rules._base.LedgerContext`), and DS002 (a claim without DSMT lines).
The claim rules' screens are fused into one generated function (:mod:`._screens`), so a claim
that no screen flags costs one pass over it and builds nothing.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from dsmt_rules._icd10 import CodeSets, shipped
from dsmt_rules.catalog import CATALOG, CODES
from dsmt_rules.engine._screens import ScreenFunction, compile_screens
from dsmt_rules.findings import Severity
from dsmt_rules.profiles import Profile, load_profile
from dsmt_rules.rules._base import Rule, Violation
from dsmt_rules.rules.document import InvalidDocument, X12StructureError
from dsmt_rules.selection import parse_severity_overrides, resolve_selection

__all__ = ["ProfileLike", "Ruleset", "Selectors", "SeverityOverrides", "resolve", "ruleset"]

ProfileLike = str | Path | Profile
Selectors = Sequence[str] | None
SeverityOverrides = Mapping[str, str | Severity] | Sequence[str] | None


@dataclass(frozen=True, slots=True)
class Active:
    """An enabled rule, with what making its findings needs looked up once per ruleset."""

    rule: Rule
    severity: Severity
    name: str
    citation: str
    carc_hint: str | None
    url: str
    code: str
    message: str
    variants: Mapping[str, str]
    check: Callable[[Any], Iterable[Violation]]
    """The rule's bound ``check``."""
    bit: int = 0
    """The rule's bit in the fused screen's mask (claim rules)."""


def active(rule_cls: type[Rule], severity: Severity, bit: int = 0) -> Active:
    """An :class:`Active` of ``rule_cls`` at ``severity``."""
    rule = rule_cls()
    return Active(
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
        bit,
    )


class Unknown(NamedTuple):
    """What a ruleset runs for a claim whose format cannot carry some facts (DS004)."""

    mask: int
    """The fused screen's bits of the claim rules that still run."""
    ledger_rules: tuple[Active, ...]
    """The history rules that still run."""
    skipped: tuple[str, ...]
    """The codes of the enabled rules that do not run, in code order."""


@dataclass(frozen=True, slots=True)
class Ruleset:
    """A compiled selection: the profile and the enabled rules with their effective severities.

    Build one with :func:`ruleset` and pass it to :func:`~dsmt_rules.check` in a hot loop to skip
    re-resolving the selection (``check`` caches compiled rulesets anyway).
    """

    profile: Profile
    mue: Mapping[str, int] | None
    """MUE values by HCPCS code (rule DS109), or None when no MUE table is configured."""
    enabled: frozenset[str]
    severities: Mapping[str, Severity]
    claim_rules: tuple[Active, ...]
    """The enabled rules that read the claim, in code order; ``bit`` is their screen bit."""
    ledger_rules: tuple[Active, ...]
    """The enabled history rules (DS110, DS305, DS310, DS4xx, DS501), in code order."""
    without_lines: tuple[Active, ...]
    """The enabled rules for a claim without DSMT lines (DS002)."""
    screen: ScreenFunction
    """The claim rules' fused screen (:func:`~dsmt_rules.engine._screens.compile_screens`)."""
    code_sets: CodeSets
    """The ICD-10-CM releases by date: the shipped ones and the profile's and caller's files."""
    _unknown: dict[frozenset[str], Unknown] = field(default_factory=dict, compare=False)

    def unknown(self, facts: frozenset[str]) -> Unknown:
        """What not knowing ``facts`` (DS004) takes out of this ruleset (computed once per set)."""
        found = self._unknown.get(facts)
        if found is None:
            skipped = [a for a in (*self.claim_rules, *self.ledger_rules) if a.rule.facts & facts]
            mask = 0
            for a in skipped:
                mask |= a.bit
            codes = tuple(sorted(a.code for a in skipped))
            ledger = tuple(a for a in self.ledger_rules if not a.rule.facts & facts)
            found = self._unknown[facts] = Unknown(~mask, ledger, codes)
        return found

    def severity_of(self, code: str) -> Severity:
        """The effective severity of a rule under this profile and selection."""
        return self.severities[code]

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its data (profile, selection, severities, MUE table, code sets); the fused
        screen is compiled again on load. Spark ships a ruleset to its executors this way."""
        mue = None if self.mue is None else dict(self.mue)
        return (_rebuild, (self.profile, mue, self.enabled, dict(self.severities), self.code_sets))

    @property
    def uses_ledger(self) -> bool:
        """Whether an enabled rule reads the beneficiary's history (a batch is then grouped)."""
        return bool(self.ledger_rules)


_RAISED_BY_ADAPTERS = (InvalidDocument, X12StructureError)
"""Rules that adapters report while reading (DS001, DS003): never run on a claim."""


def _build(
    profile: Profile,
    mue: Mapping[str, int] | None,
    enabled: frozenset[str],
    levels: Mapping[str, Severity],
    code_sets: CodeSets,
) -> Ruleset:
    claim_rules: list[type[Rule]] = []
    ledger: list[Active] = []
    without: list[Active] = []
    for rule_cls in CATALOG:
        if rule_cls.code not in enabled or rule_cls in _RAISED_BY_ADAPTERS:
            continue
        if rule_cls.runs_without_dsmt_lines:
            without.append(active(rule_cls, levels[rule_cls.code]))
        elif rule_cls.uses_ledger:
            ledger.append(active(rule_cls, levels[rule_cls.code]))
        else:
            claim_rules.append(rule_cls)
    claim = tuple(
        active(rule_cls, levels[rule_cls.code], 1 << k) for k, rule_cls in enumerate(claim_rules)
    )
    screen = compile_screens(claim_rules, profile, mue, code_sets)
    return Ruleset(
        profile,
        mue,
        enabled,
        MappingProxyType(dict(levels)),
        claim,
        tuple(ledger),
        tuple(without),
        screen,
        code_sets,
    )


def _rebuild(
    profile: Profile,
    mue: dict[str, int] | None,
    enabled: frozenset[str],
    levels: dict[str, Severity],
    code_sets: CodeSets,
) -> Ruleset:
    table = None if mue is None else MappingProxyType(mue)
    return _build(profile, table, enabled, levels, code_sets)


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
    return _build(profile, None, enabled, levels, _code_sets(profile, ()))


@functools.lru_cache(maxsize=32)
def _cached_code_sets(files: tuple[str, ...]) -> CodeSets:
    sets = shipped()
    return sets.with_files(files) if files else sets


def _code_sets(profile: Profile, files: Sequence[str | Path]) -> CodeSets:
    return _cached_code_sets((*profile.icd10cm_files, *(str(f) for f in files)))


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
    icd10cm_files: Sequence[str | Path] = (),
    _faults: Sequence[str] = (),
) -> Ruleset:
    """Compile a profile and a rule selection (ruff semantics) into a :class:`Ruleset`.

    ``mue`` maps HCPCS codes to Medically Unlikely Edit values (DS109 runs only when it is given).
    ``icd10cm_files`` are CMS ICD-10-CM code files (``FY=PATH`` or a path whose name holds the
    fiscal year) loaded on top of the shipped releases and the profile's ``icd10cm_files``.

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
    if mue is not None or icd10cm_files:
        table = None if mue is None else MappingProxyType(dict(mue))
        sets = _code_sets(compiled.profile, icd10cm_files)
        compiled = _build(compiled.profile, table, compiled.enabled, compiled.severities, sets)
    return _with_faults(compiled, frozenset(_faults)) if _faults else compiled


class InjectedFault(Exception):
    """Raised by a rule made to fail (``ruleset(_faults=...)``), to test the engine's guard."""


def _fail(ctx: Any) -> Iterable[Violation]:
    raise InjectedFault


def _with_faults(rules: Ruleset, codes: frozenset[str]) -> Ruleset:
    """``rules`` with the rules of ``codes`` made to raise whenever they run, and the fused screen
    flagging them on every claim with DSMT lines (fault injection for the guard's tests and
    DS005's example; not a user option)."""
    if not codes <= frozenset(CODES):
        raise ValueError(f"unknown rule codes: {sorted(codes - frozenset(CODES))}")

    def faulty(a: Active) -> Active:
        return dataclasses.replace(a, check=_fail) if a.code in codes else a

    bits = 0
    for a in rules.claim_rules:
        if a.code in codes:
            bits |= a.bit
    screen = rules.screen

    def flagged(claim: Any) -> int:
        hits = screen(claim)
        return hits if hits == -1 else hits | bits

    return dataclasses.replace(
        rules,
        claim_rules=tuple(map(faulty, rules.claim_rules)),
        ledger_rules=tuple(map(faulty, rules.ledger_rules)),
        without_lines=tuple(map(faulty, rules.without_lines)),
        screen=flagged,
        _unknown={},
    )


def resolve(
    rules: Ruleset | None,
    profile: ProfileLike,
    select: Selectors,
    extend_select: Selectors,
    ignore: Selectors,
    severity: SeverityOverrides,
) -> Ruleset:
    """``rules`` as given, else the ruleset the other options compile to."""
    if rules is not None:
        return rules
    return ruleset(
        profile=profile,
        select=select,
        extend_select=extend_select,
        ignore=ignore,
        severity=severity,
    )
