"""``check --statistics``: counts by rule instead of findings, as ruff's ``--statistics``.

One row per rule that found something: code, name, severity (as the findings carry it, after any
``--severity`` override), findings and claims (reports with at least one such finding), most
findings first. ``text`` is a table; ``json`` an array of objects with those keys. Memory: one
counter per rule, whatever the size of the batch.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from dsmt_rules.findings import Report
from dsmt_rules.reporters import TextSink

__all__ = ["RuleCount", "RuleStatistics", "write_statistics"]


@dataclass(slots=True)
class RuleCount:
    """The counts of one rule."""

    code: str
    name: str
    severity: str
    url: str | None
    carc_hint: str | None
    findings: int = 0
    claims: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``--statistics --format json``."""
        return {
            "code": self.code,
            "name": self.name,
            "severity": self.severity,
            "findings": self.findings,
            "claims": self.claims,
        }


@dataclass(slots=True)
class RuleStatistics:
    """Findings and claims by rule, added one report at a time."""

    by_code: dict[str, RuleCount] = field(default_factory=dict)

    def add(self, report: Report) -> None:
        """Count one report's findings."""
        seen: set[str] = set()
        for f in report.findings:
            count = self.by_code.get(f.code)
            if count is None:
                count = self.by_code[f.code] = RuleCount(
                    f.code, f.name, f.severity.value, f.url, f.carc_hint
                )
            count.findings += 1
            if f.code not in seen:
                seen.add(f.code)
                count.claims += 1

    def rows(self) -> list[RuleCount]:
        """The rules that found something: most findings first, then by code."""
        return sorted(self.by_code.values(), key=lambda c: (-c.findings, c.code))


def write_statistics(
    reports: Iterable[Report], out: TextSink, *, fmt: Literal["text", "json"] = "text"
) -> None:
    """Count the reports by rule and write the table (``text``) or the array (``json``)."""
    stats = RuleStatistics()
    for report in reports:
        stats.add(report)
    rows = stats.rows()
    if fmt == "json":
        out.write(json.dumps([row.to_dict() for row in rows], indent=2) + "\n")
        return
    if not rows:
        out.write("No findings.\n")
        return
    name_width = max(len(row.name) for row in rows)
    code_width = max(5, *(len(row.code) for row in rows))
    out.write(f"{'FINDINGS':>8}  {'CLAIMS':>6}  {'CODE':<{code_width}}  {'SEVERITY':<8}  NAME\n")
    for row in rows:
        out.write(
            f"{row.findings:>8}  {row.claims:>6}  {row.code:<{code_width}}  "
            f"{row.severity:<8}  {row.name:<{name_width}}".rstrip()
            + "\n"
        )
