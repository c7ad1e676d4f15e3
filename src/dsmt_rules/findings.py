"""Findings and reports: frozen values, the output contract of DESIGN.md ("The report")."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["Finding", "Report", "Severity", "Status", "status_of"]


class Severity(StrEnum):
    """How serious a finding is.

    ``error``: the line or claim would be denied or rejected as billed. ``warning``: audit or
    down-coding risk. ``info``: something the scrubber could not verify.
    """

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Status(StrEnum):
    """A claim's verdict: ``reject`` if any error, ``review`` if any warning, else ``pass``."""

    PASS = "pass"
    REVIEW = "review"
    REJECT = "reject"


Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Finding:
    """One requirement a claim does not meet (or could not be shown to meet)."""

    code: str
    name: str
    severity: Severity
    message: str
    loc: Loc = ()
    """Path into the claim model, the same whatever the input format (e.g. ``("lines", 0, "units")``)."""
    line_id: str | None = None
    source: str | None = None
    """Position in the original input (JSONL record, X12 loop/segment, FHIRPath), when known."""
    citation: str | None = None
    carc_hint: str | None = None
    """A *likely* X12 claim adjustment reason code: a hint for billing staff, not a payer's promise."""
    url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The finding as the JSON object of the report contract."""
        return {
            "code": self.code,
            "name": self.name,
            "severity": self.severity.value,
            "message": self.message,
            "loc": list(self.loc),
            "line_id": self.line_id,
            "source": self.source,
            "citation": self.citation,
            "carc_hint": self.carc_hint,
            "url": self.url,
        }


def status_of(findings: Iterable[Finding]) -> Status:
    """The verdict that a set of findings gives a claim."""
    status = Status.PASS
    for finding in findings:
        if finding.severity is Severity.ERROR:
            return Status.REJECT
        if finding.severity is Severity.WARNING:
            status = Status.REVIEW
    return status


@dataclass(frozen=True, slots=True)
class Report:
    """The verdict on one input record."""

    claim_id: str | None
    findings: tuple[Finding, ...] = ()
    record: int | None = None
    """1-based position of the record in its input, when it came from a file or stream."""
    status: Status = field(default=Status.PASS)

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", status_of(self.findings))

    @property
    def ok(self) -> bool:
        """True when the claim can be submitted as is: no finding of severity ``error``."""
        return self.status is not Status.REJECT

    @property
    def codes(self) -> tuple[str, ...]:
        """The finding codes, in report order (handy in tests and logs)."""
        return tuple(f.code for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        """The report as the JSON object of the report contract."""
        return {
            "record": self.record,
            "claim_id": self.claim_id,
            "status": self.status.value,
            "findings": [f.to_dict() for f in self.findings],
        }
