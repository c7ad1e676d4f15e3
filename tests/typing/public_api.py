"""The public API as an integrator uses it: checked by mypy (``make test``), never executed.

If a change to the library makes this file fail to type-check, integrators' code breaks too.
"""

from __future__ import annotations

from collections.abc import Iterator

from dsmt_rules import (
    CATALOG,
    Claim,
    ConfigError,
    DsmtRulesError,
    Finding,
    Record,
    Report,
    Ruleset,
    Severity,
    Status,
    check,
    check_many,
    check_records,
    iter_findings,
    load_profile,
    rule_for,
    ruleset,
)
from dsmt_rules.findings import Applicability, Edit, Fix, Scalar
from dsmt_rules.fix import FixResult, apply_fixes, fix_inputs


def request_path(document: bytes) -> bool:
    claim = Claim.model_validate_json(document)
    report: Report = check(claim, profile="medicare", select=["DS1", "DS3"], ignore=["DS107"])
    status: Status = report.status
    codes: tuple[str, ...] = report.codes
    return report.ok and status is not Status.REJECT and "DS104" not in codes


def hot_loop(claims: list[Claim]) -> int:
    rules: Ruleset = ruleset(profile=load_profile("medicare"), severity={"DS206": "error"})
    rejected = 0
    for report in check_many(claims, rules=rules):
        rejected += report.status is Status.REJECT
    return rejected


def findings_by_value(claim: Claim) -> dict[str, list[Scalar]]:
    out: dict[str, list[Scalar]] = {}
    for finding in iter_findings(claim, severity=["DS2=warning"]):
        f: Finding = finding
        severity: Severity = f.severity
        loc: tuple[str | int, ...] = f.loc
        if severity is Severity.ERROR and loc and f.url:
            out.setdefault(f.code, []).extend(f.ctx.values())
    return out


def safe_edits(claim: Claim) -> list[tuple[tuple[str | int, ...], Scalar, Scalar]]:
    out: list[tuple[tuple[str | int, ...], Scalar, Scalar]] = []
    for finding in iter_findings(claim):
        fix: Fix | None = finding.fix
        if fix is not None and fix.applicability is Applicability.SAFE:
            edits: tuple[Edit, ...] = fix.edits
            out.extend((e.loc, e.old, e.new) for e in edits if not e.removes)
    return out


def repair(data: bytes, document: dict[str, object], fixes: list[Fix]) -> bytes:
    result: FixResult = fix_inputs([("claims.jsonl", data)], rules=ruleset(), unsafe=True)
    applied: list[int] = apply_fixes(document, fixes)
    return result.fixed[0] if applied or result.changed else data


def records(batch: list[Record]) -> Iterator[dict[str, object]]:
    for report in check_records(batch, rules=ruleset(mue={"G0109": 4})):
        yield report.to_dict()


def catalog() -> list[tuple[str, str, str]]:
    return [(rule.code, rule.name, rule.message) for rule in CATALOG] + [
        (rule_for("DS104").code, "group-too-small", rule_for("DS104").template(None))
    ]


def configuration_errors() -> str:
    try:
        ruleset(select=["DS999"])
    except ConfigError as exc:
        return str(exc)
    except DsmtRulesError:
        raise
    return ""
