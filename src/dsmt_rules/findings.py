"""Findings and reports: frozen values, the output contract of DESIGN.md ("The report")."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

__all__ = [
    "Applicability",
    "ClaimSummary",
    "Edit",
    "Finding",
    "Fix",
    "Report",
    "Scalar",
    "Severity",
    "Status",
    "SummaryLine",
    "status_of",
]


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

Scalar = str | int | float | bool | None
"""A value a message is built from: a code, a count, a date of service, an id or a profile number."""


class Applicability(StrEnum):
    """Whether ``dsmt-rules fix`` applies a fix by default (as ruff's fix applicability).

    ``safe``: the repaired claim says what the records on the claim itself already say (the
    payer would read the same service from it), so it is applied by default. ``unsafe``: the
    repair depends on a choice or on facts beyond the claim (other claims, the history), so it is
    applied only with ``--unsafe-fixes``.
    """

    SAFE = "safe"
    UNSAFE = "unsafe"


@dataclass(frozen=True, slots=True)
class Edit:
    """One change to the claim document, at ``loc`` (a path into the claim, as ``Finding.loc``).

    A replacement sets the field at ``loc`` from ``old`` to ``new``. A removal has a ``loc`` that
    ends with a list index (``("lines", 1)``), ``new`` None and, as ``old``, the ``line_id`` of
    the line removed. Whoever applies an edit first checks that the document still holds ``old``
    there, so a stale fix never changes the wrong value. In JSON: ``{"loc", "from", "to"}``.
    """

    loc: Loc
    old: Scalar
    new: Scalar

    @property
    def removes(self) -> bool:
        """True when the edit removes the list element at ``loc`` (a line), not a field value."""
        return self.new is None and bool(self.loc) and isinstance(self.loc[-1], int)

    def to_dict(self) -> dict[str, Any]:
        """The edit as the JSON object of the report contract."""
        return {"loc": list(self.loc), "from": self.old, "to": self.new}


@dataclass(frozen=True, slots=True)
class Fix:
    """A mechanical repair of a finding: a title for people and the edits that make it."""

    applicability: Applicability
    title: str
    """What the fix does, e.g. ``Bill G0108 (individual) for a session of 1`` (codes, counts
    and line ids only: never PHI)."""
    edits: tuple[Edit, ...]

    def to_dict(self) -> dict[str, Any]:
        """The fix as the JSON object of the report contract."""
        return {
            "applicability": self.applicability._value_,
            "title": self.title,
            "edits": [e.to_dict() for e in self.edits],
        }


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
    ctx: Mapping[str, Scalar] = field(default_factory=dict, hash=False)
    """The scalar values the message was built from, by the name of its template field (added in
    0.2): the message is one of the rule's literal templates filled with exactly these values
    (``dsmt-rules rules --format json`` lists the templates). Values are codes, counts, dates of
    service, claim, line, session and referral ids and profile numbers: rules never read the
    beneficiary id, the one PHI field of the claim document (docs/index.md, "PHI")."""
    fix: Fix | None = None
    """The rule's mechanical repair of this finding, if it has one (added in 0.2; docs/fixes.md)."""

    def to_dict(self) -> dict[str, Any]:
        """The finding as the JSON object of the report contract."""
        return {
            "code": self.code,
            "name": self.name,
            "severity": self.severity._value_,
            "message": self.message,
            "loc": list(self.loc),
            "line_id": self.line_id,
            "source": self.source,
            "citation": self.citation,
            "carc_hint": self.carc_hint,
            "url": self.url,
            "ctx": dict(self.ctx),
            "fix": None if self.fix is None else self.fix.to_dict(),
        }


# Enum members as module constants: a member lookup on its class is slow in Python 3.11, and
# status_of runs once per claim checked.
_ERROR, _WARNING = Severity.ERROR, Severity.WARNING
_PASS, _REVIEW, _REJECT = Status.PASS, Status.REVIEW, Status.REJECT
_set = object.__setattr__


def status_of(findings: Iterable[Finding]) -> Status:
    """The verdict that a set of findings gives a claim."""
    status = _PASS
    for finding in findings:
        if finding.severity is _ERROR:
            return _REJECT
        if finding.severity is _WARNING:
            status = _REVIEW
    return status


class SummaryLine(NamedTuple):
    """A DSMT line as a batch summary counts it (plain values: no PHI)."""

    line_id: str
    hcpcs: str
    service_date: str
    """ISO date of service."""
    charge: str | None
    """The billed amount (``ServiceLine.charge``), when the input carries it."""


class ClaimSummary(NamedTuple):
    """What a batch summary needs of a claim besides its findings (not part of the JSON report)."""

    billing_npi: str
    lines: tuple[SummaryLine, ...]
    """The claim's DSMT lines, in claim order."""


@dataclass(frozen=True, slots=True)
class Report:
    """The verdict on one input record."""

    claim_id: str | None
    findings: tuple[Finding, ...] = ()
    record: int | None = None
    """1-based position of the record in its input, when it came from a file or stream."""
    status: Status = field(default=Status.PASS)
    """Derived from the findings (:func:`status_of`); a value passed in is ignored."""
    claim: ClaimSummary | None = field(default=None, compare=False)
    """The billing NPI, dates of service and charges of the claim's DSMT lines (for the HTML
    summary and statistics by provider, month and dollars); not in the JSON report. None for a
    record that is not a claim."""

    def __init__(
        self,
        claim_id: str | None,
        findings: tuple[Finding, ...] = (),
        record: int | None = None,
        status: Status = Status.PASS,  # accepted and ignored: the verdict is always derived
        claim: ClaimSummary | None = None,
    ) -> None:
        # Written out rather than generated: a frozen dataclass's __init__ and __post_init__ cost
        # twice as much, and check() builds one report per claim.
        _set(self, "claim_id", claim_id)
        _set(self, "findings", findings)
        _set(self, "record", record)
        _set(self, "status", status_of(findings) if findings else _PASS)
        _set(self, "claim", claim)

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
            "status": self.status._value_,
            "findings": [f.to_dict() for f in self.findings],
        }
