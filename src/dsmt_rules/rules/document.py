"""DS0xx: the record itself. DS001 is raised by the adapters (a record that cannot be read), DS002 here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from dsmt_rules.findings import Severity
from dsmt_rules.rules._base import Context, Rule, Violation, violation

__all__ = ["RULES", "InvalidDocument", "NoDsmtLines"]


class InvalidDocument(Rule):
    """A record that is not a valid claim document.

    ## What it checks
    That the record is valid JSON (or X12 / FHIR), is one object, and satisfies the claim document
    model: required fields present, no unknown fields, dates written `YYYY-MM-DD`, codes and
    enumerations spelled as documented. One finding per model error, with its location.

    ## Why it matters
    A record that cannot be read cannot be checked. Reporting it, with its position, instead of
    dropping it keeps every record of a batch accounted for: records in equals results out. DS001
    cannot be ignored or downgraded by selection; a claim with DS001 is never silently passed.

    ## References
    The canonical claim document (DESIGN.md; `dsmt-rules schema` prints its JSON Schema).
    """

    code = "DS001"
    name = "invalid-document"
    default_severity = Severity.ERROR
    message = "Record {record}: {problem} (at {where})."
    citation = "dsmt-rules claim document v1 (dsmt-rules schema)"
    carc_hint = "16"
    needs = "raw record"
    fix = "Correct the record so that it matches the claim document schema."
    example = '{"claim_id": "C-1001", "form": "professional", "lines": "G0109"}'
    use_instead: ClassVar[dict[str, object]] = {}
    example_companions = frozenset()

    def check(self, ctx: Context) -> Iterator[Violation]:  # raised by adapters, never on a Claim
        return iter(())


class NoDsmtLines(Rule):
    """A claim with no G0108 or G0109 line.

    ## What it checks
    Whether any line of the claim bills a DSMT code (the profile's `individual_code` and
    `group_code`). When none does, no other rule runs on the claim.

    ## Why it matters
    A DSMT scrubber has nothing to say about other services. The finding is informational: it tells
    a pipeline that the claim was read and deliberately not checked, rather than checked and clean.

    ## References
    HCPCS G0108 and G0109 descriptors.
    """

    code = "DS002"
    name = "no-dsmt-lines"
    default_severity = Severity.INFO
    message = "No G0108/G0109 line on the claim ({lines} line(s)); no DSMT rule was checked."
    citation = "HCPCS G0108/G0109 descriptors"
    carc_hint = None
    needs = "lines"
    example: ClassVar[dict[str, object]] = {
        "lines": [
            {
                "line_id": "1",
                "hcpcs": "99213",
                "units": 1,
                "service_date": "2026-02-02",
                "place_of_service": "11",
                "diagnosis_pointers": [1],
            }
        ],
        "sessions": [],
    }
    use_instead: ClassVar[dict[str, object]] = {}
    runs_without_dsmt_lines = True

    def check(self, ctx: Context) -> Iterator[Violation]:
        if not ctx.dsmt_lines:
            yield violation(("lines",), None, lines=len(ctx.claim.lines))


RULES: tuple[type[Rule], ...] = (InvalidDocument, NoDsmtLines)
