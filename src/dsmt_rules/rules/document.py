"""DS0xx: the record itself. The adapters raise DS001 (a record that cannot be read) and DS003 (an X12
structure error); DS002 is checked here."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import ClassVar

from dsmt_rules.findings import Severity
from dsmt_rules.rules._base import Context, Rule, Violation, violation

__all__ = [
    "RULES",
    "FactsNotOnClaim",
    "InternalError",
    "InvalidDocument",
    "NoDsmtLines",
    "X12StructureError",
]


X12_EXAMPLE = """\
ISA*00*          *00*          *ZZ*DSMTSUBMITTER  *ZZ*MEDICAREMAC    *260301*1200*^*00501*000000001*0*T*:~
GS*HC*DSMTSUBMITTER*MEDICAREMAC*20260301*1200*1*X*005010X222A1~
ST*837*0001*005010X222A1~
BHT*0019*00*BATCH-0001*20260301*1200*CH~
NM1*41*2*DSMT PROGRAM*****46*SUBMITTER01~
PER*IC*BILLING OFFICE*TE*5555550100~
NM1*40*2*MEDICARE MAC*****46*00435~
HL*1**20*1~
NM1*85*2*DSMT PROGRAM*****XX*1234567893~
N3*100 MAIN ST~
N4*SPRINGFIELD*IL*627010001~
REF*EI*123456789~
SE*11*0001~
GE*1*1~
IEA*1*000000001~
"""
"""DS003's example: an 837P transaction set whose billing provider has no subscriber and no claim
(pyx12: mandatory loop 2000B missing). Read with ``dsmt_rules.adapters.x12``."""


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
    companions = frozenset()

    def check(self, ctx: Context) -> Iterable[Violation]:  # raised by adapters, never on a Claim
        return ()


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


class X12StructureError(Rule):
    """An X12 837 file whose structure breaks its implementation guide.

    ## What it checks
    That an X12 837P or 837I file follows its implementation guide (005010X222A1, 005010X223A2; the
    errata 005010X222A2 and 005010X223A3 are read with the same maps) as the maintained parser pyx12
    validates it: the envelope (ISA/GS/ST and their trailers, control numbers and counts), loop and
    segment order and repeats, mandatory segments and elements, element lengths, dates and code
    values. One finding per error, its `source` naming the file, ISA13, ST02, CLM01, loop and segment
    position; the message names the segment and element, never their values. An error inside a claim
    is reported on that claim; one in a billing provider, subscriber or patient level on the claim
    that follows it; one in a transaction set's header or trailer (ST to 1000B, SE) on every claim
    of the transaction set; one in the ISA or GS header on every claim they hold. Errors with no
    claim to report on (a transaction set without claims, a GE or IEA trailer, a functional group
    that is not an 837P/837I, a file that is not X12) make a record of their own. One bad
    interchange or transaction set does not stop the others.

    ## Why it matters
    A payer's front end validates the 837 before any claim in it is adjudicated: a structural error
    rejects the transaction set (999 acknowledgment) or the interchange (TA1), and none of its claims
    is paid. A claim read from a broken structure may also miss data the other rules need, so their
    silence proves less. With a claim selected, DS003 follows the rule selection and severity
    overrides; a record without a claim always reports it.

    ## References
    ASC X12 005010X222A1 (837P) and 005010X223A2 (837I) implementation guides; 999 implementation
    acknowledgment (005010X231A1). Validation by pyx12 (`dsmt-rules[x12]`); docs/formats.md maps the
    837 to the claim document.
    """

    code = "DS003"
    name = "x12-structure-error"
    default_severity = Severity.ERROR
    message = (
        "X12 structure error at {segment}: {problem}. Correct the 837; a payer rejects it before "
        "adjudicating its claims."
    )
    citation = "ASC X12 005010X222A1 / 005010X223A2 implementation guides"
    carc_hint = None
    needs = "raw 837"
    fix = "Correct the 837 where the source points (segment position within the transaction set)."
    example = X12_EXAMPLE
    use_instead: ClassVar[dict[str, object]] = {}
    companions = frozenset()

    def check(self, ctx: Context) -> Iterable[Violation]:  # raised by the X12 adapter
        return ()


X12_CLEAN_EXAMPLE = """\
ISA*00*          *00*          *ZZ*DSMTSUBMITTER  *ZZ*MEDICAREMAC    *260301*1200*^*00501*000000101*0*T*:~
GS*HC*DSMTSUBMITTER*MEDICAREMAC*20260301*1200*1*X*005010X222A1~
ST*837*0001*005010X222A1~
BHT*0019*00*BATCH-0001*20260301*1200*CH~
NM1*41*2*DSMT PROGRAM*****46*SUBMITTER01~
PER*IC*BILLING OFFICE*TE*5555550100~
NM1*40*2*MEDICARE MAC*****46*00435~
HL*1**20*1~
NM1*85*2*DSMT PROGRAM*****XX*1000000012~
N3*100 MAIN ST~
N4*SPRINGFIELD*IL*627010001~
REF*EI*123456789~
HL*2*1*22*0~
SBR*P*18*******MB~
NM1*IL*1*DOE*JANE****MI*MBR001CLEANP~
N3*1 ELM ST~
N4*SPRINGFIELD*IL*627010002~
DMG*D8*19500101*F~
NM1*PR*2*MEDICARE*****PI*00435~
CLM*CLEAN-P*100***11:B:1*Y*A*Y*Y~
REF*9F*R-77~
HI*ABK:E1165*ABF:I10~
NM1*DN*1*REFERRER*RAY****XX*1245319599~
LX*1~
SV1*HC:G0109*100*UN*2*11**1~
DTP*472*D8*20260202~
SE*25*0001~
GE*1*1~
IEA*1*000000101~
"""
"""DS004's example: a clean 837P claim, read without reference data (no sessions, accreditation,
referral content or earlier services on an 837)."""


class FactsNotOnClaim(Rule):
    """The claim's input format cannot carry facts that some rules need; those rules did not run.

    ## What it checks
    An 837 or a FHIR Claim carries the billing facts (codes, units, dates, NPIs, diagnoses, place
    of service, bill type, referring provider, referral number) but not the session roster (time,
    attendance, delivery, instructors), the program's accreditation, the referral's content (its
    date, signature, referrer, training and hours) or the beneficiary's earlier services. Those
    facts are *unknown*, not missing: the rules that need them (the catalog's `facts`) do not run
    for the claim, and this rule names them, once per claim. Reference data (`--reference`)
    supplies a kind of fact for every claim; once it is given, a claim it has no record for is
    missing the fact (DS107, DS201, DS301), not unknown.

    ## Why it matters
    A clearinghouse that checks an 837 without the program's records must not see a rejection for
    every claim it cannot act on (no session record, no accreditation on file); and it must know
    which requirements were not checked, so that a passed claim is not mistaken for a verified one.

    ## References
    RULES.md, notes for implementers ("unknown, not missing"); docs/formats.md, reference data.
    """

    code = "DS004"
    name = "facts-not-on-claim"
    default_severity = Severity.INFO
    message = (
        "The {format} input cannot carry {facts}; these rules did not run for the claim: "
        "{rules}. Give the program's records with --reference to check them."
    )
    citation = "dsmt-rules claim document v1: facts an 837 or a FHIR Claim cannot carry"
    carc_hint = None
    needs = "source format"
    example = X12_CLEAN_EXAMPLE
    use_instead: ClassVar[dict[str, object]] = {}

    def check(self, ctx: Context) -> Iterable[Violation]:  # made by the engine from the record
        return ()


class InternalError(Rule):
    """dsmt-rules itself failed on this record; the record was not (fully) checked.

    ## What it checks
    Nothing about the claim: it reports a defect of dsmt-rules. The engine guards each record: if
    reading, mapping or checking one record raises an exception in our own code, that record gets
    this finding, naming the stage (reading the input, a rule by its code, the history rules) and
    the kind of error, and the batch goes on with the next record. The findings of the rules that
    did run are kept. The message never holds an input value; `--debug` prints the traceback
    (frames only, no values) on stderr.

    ## Why it matters
    A crash must not take a batch down, and a record that was not checked must not pass silently:
    the finding is an error, it cannot be ignored, and the command exits with its own status (3),
    never 1, so a pipeline can tell a defect of the tool from rejected claims. Please report it.

    ## References
    README, "What the batch guarantees"; docs/batch.md.
    """

    code = "DS005"
    name = "internal-error"
    default_severity = Severity.ERROR
    message = (
        "Internal error in {stage} ({error}): this record was not fully checked. This is a "
        "defect in dsmt-rules, not in the claim; please report it (--debug shows the traceback)."
    )
    variants: ClassVar[dict[str, str]] = {
        "reading": (
            "Internal error in {stage} ({error}): reading stopped here and the rest of this input "
            "was not read. This is a defect in dsmt-rules, not in the input; please report it "
            "(--debug shows the traceback)."
        ),
    }
    citation = "dsmt-rules batch guarantees (README)"
    carc_hint = None
    needs = "engine"
    fix = "Report the defect; check the claim by hand or with a fixed release."
    example: ClassVar[dict[str, object]] = {}
    example_faults = ("DS601",)
    """The example is a clean claim checked with rule DS601 made to fail (the engine's fault
    injection for tests); the same claim, checked as it is, passes."""
    use_instead: ClassVar[dict[str, object]] = {}
    companions = frozenset()

    def check(self, ctx: Context) -> Iterable[Violation]:  # made by the engine's guard
        return ()


RULES: tuple[type[Rule], ...] = (
    InvalidDocument,
    NoDsmtLines,
    X12StructureError,
    FactsNotOnClaim,
    InternalError,
)
