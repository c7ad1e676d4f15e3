"""DS2xx: the billing provider: accreditation, NPIs, instructors, RHC and FQHC billing."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, ClassVar

from dsmt_rules._codes import bill_type, npi_is_ten_digits, npi_is_valid
from dsmt_rules.findings import Loc, Scalar, Severity
from dsmt_rules.models import Entity
from dsmt_rules.rules._base import Context, Rule, Screen, Violation, violation

if TYPE_CHECKING:
    from dsmt_rules.models import Claim, Instructor

__all__ = [
    "RULES",
    "AccreditationLapsed",
    "FqhcGroupNotAVisit",
    "InvalidNpi",
    "NoQualifiedInstructor",
    "ProgramNotAccredited",
    "RhcNotBillable",
]


def _claim_bill_type(ctx: Context) -> str | None:
    """The claim's bill-type digits, or None when the claim has no type of bill."""
    tob = ctx.claim.type_of_bill
    return None if tob is None else bill_type(tob)


_ENTITY_RHC = Entity.RHC
_ENTITY_FQHC = Entity.FQHC
"""Enum members as module constants: a member lookup on its class is slow in Python 3.11."""


@functools.lru_cache(maxsize=1024)
def _is_approved(organization: str, approved: frozenset[str]) -> bool:
    """Whether an organization is one of ``approved``, compared stripped and without case.

    Cached: claims name a handful of organizations, and profiles rarely change.
    """
    return organization.strip().upper() in {org.strip().upper() for org in approved}


class ProgramNotAccredited(Rule):
    """No accreditation by an approved organization is on file for the DSMT program.

    ## What it checks
    That the billing provider has an accreditation on file (`billing_provider.accreditation`) and
    that the accrediting organization is one the profile approves (`accrediting_organizations`:
    ADA or ADCES, formerly AADE, under the `medicare` profile; compared without regard to case).
    One finding per claim. An accreditation by an unapproved organization is reported here, not
    by DS202.

    ## Why it matters
    Medicare pays for DSMT only when the entity's program is accredited by a CMS-approved
    organization. A claim from an unaccredited program is denied; the accreditation certificate is
    also the first thing an auditor asks for.

    ## References
    42 CFR 410.141(e), 410.142; MBPM (Pub. 100-02) ch. 15 §300.2 (Medicare Benefit Policy Manual).
    """

    code = "DS201"
    name = "program-not-accredited"
    default_severity = Severity.ERROR
    message = (
        "The billing provider's DSMT program has no accreditation on file; DSMT is payable only "
        "for a program accredited by an approved organization ({approved}). Put the accreditation "
        "on file or hold the claim."
    )
    variants: ClassVar[dict[str, str]] = {
        "not_approved": (
            "The billing provider's DSMT program has an accreditation from an organization that "
            "is not approved; DSMT is payable only for a program accredited by an approved "
            "organization ({approved}). Put the accreditation on file or hold the claim."
        )
    }
    citation = "42 CFR 410.141(e), 410.142; MBPM (Pub. 100-02) ch. 15 §300.2"
    carc_hint = "B7"
    needs = "billing_provider.accreditation"
    facts = frozenset({"accreditation"})
    screen = Screen(
        claim="accreditation is None or not self.approved(accreditation.organization, "
        "P.accrediting_organizations)"
    )
    approved = staticmethod(_is_approved)
    fix = "Record the program's ADA or ADCES accreditation (organization and dates) for the billing provider."
    example: ClassVar[dict[str, object]] = {"billing_provider": {"accreditation": None}}
    use_instead: ClassVar[dict[str, object]] = {
        "billing_provider": {
            "accreditation": {
                "organization": "ADA",
                "effective": "2025-06-01",
                "expires": "2029-06-01",
            }
        }
    }

    def check(self, ctx: Context) -> Iterable[Violation]:
        accreditation = ctx.claim.billing_provider.accreditation
        approved = ctx.profile.accrediting_organizations
        if accreditation is not None and _is_approved(accreditation.organization, approved):
            return ()
        return [
            violation(
                ("billing_provider", "accreditation"),
                None,
                variant=None if accreditation is None else "not_approved",
                approved=", ".join(sorted(approved)),
            )
        ]


class AccreditationLapsed(Rule):
    """A date of service falls outside the program's accreditation dates.

    ## What it checks
    When an approved accreditation is on file (see DS201), every DSMT line's date of service must
    fall between the accreditation's `effective` and `expires` dates, both included. An accreditation
    without `expires` is open-ended. One finding per line outside the dates.

    ## Why it matters
    The program must be accredited on the date the training is furnished: sessions held before the
    accreditation starts, or after it lapses, are not covered even when the program is accredited
    today (or was accredited earlier).

    ## References
    42 CFR 410.141(e).
    """

    code = "DS202"
    name = "accreditation-lapsed"
    default_severity = Severity.ERROR
    message = (
        "Line {line}: date of service {date} is outside the program's accreditation (effective "
        "{effective}, expires {expires}); DSMT is covered only while the program is accredited. "
        "Correct the accreditation dates or do not bill the line."
    )
    variants: ClassVar[dict[str, str]] = {
        "open_ended": (
            "Line {line}: date of service {date} is outside the program's accreditation "
            "(effective {effective}, open-ended); DSMT is covered only while the program is "
            "accredited. Correct the accreditation dates or do not bill the line."
        )
    }
    citation = "42 CFR 410.141(e)"
    carc_hint = "B7"
    needs = "accreditation dates"
    facts = frozenset({"accreditation"})
    screen = Screen(
        line="accreditation is not None and (day < accreditation.effective or "
        "(accreditation.expires is not None and day > accreditation.expires))"
    )
    fix = "Bill only sessions furnished while the accreditation was in force."
    example: ClassVar[dict[str, object]] = {
        "billing_provider": {"accreditation": {"effective": "2022-01-01", "expires": "2026-01-01"}}
    }
    use_instead: ClassVar[dict[str, object]] = {
        "billing_provider": {"accreditation": {"effective": "2026-01-01", "expires": "2030-01-01"}}
    }

    def check(self, ctx: Context) -> Iterable[Violation]:
        accreditation = ctx.claim.billing_provider.accreditation
        approved = ctx.profile.accrediting_organizations
        if accreditation is None or not _is_approved(accreditation.organization, approved):
            return ()  # no approved accreditation: DS201
        effective, expires = accreditation.effective, accreditation.expires
        found: list[Violation] = []
        for i, line in ctx.dsmt_lines:
            day = line.service_date
            if day < effective or (expires is not None and day > expires):
                found.append(
                    violation(
                        ("lines", i, "service_date"),
                        line.line_id,
                        variant="open_ended" if expires is None else None,
                        line=line.line_id,
                        date=day.isoformat(),
                        effective=effective.isoformat(),
                        **({} if expires is None else {"expires": expires.isoformat()}),
                    )
                )
        return found


def _every_npi_valid(claim: Claim) -> bool:
    """Whether every NPI on the claim (those :func:`_npis` lists) is valid: the fast, quiet walk."""
    valid = npi_is_valid
    if not valid(claim.billing_provider.npi):
        return False
    referral = claim.referral
    npi = None if referral is None else referral.practitioner_npi
    if npi is not None and not valid(npi):
        return False
    for line in claim.lines:
        if line.rendering_npi is not None and not valid(line.rendering_npi):
            return False
    for session in claim.sessions:
        for instructor in session.instructors or ():
            if instructor.npi is not None and not valid(instructor.npi):
                return False
    return True


class InvalidNpi(Rule):
    """An NPI on the claim is not a valid National Provider Identifier.

    ## What it checks
    Every NPI the claim carries: the billing provider's, the referring practitioner's, each line's
    rendering NPI and each instructor's NPI (those that are present). An NPI is 10 digits and its
    last digit is a Luhn check digit computed over the digits prefixed with `80840`. One finding
    per invalid NPI; the message names the field, never the NPI itself.

    ## Why it matters
    A claim with an invalid billing, rendering or referring NPI is returned as unprocessable
    before any coverage decision. Instructor NPIs back the credentials an audit checks.

    ## References
    CMS NPI standard (Luhn check digit with prefix 80840): 10 digits, the last a check digit.
    """

    code = "DS203"
    name = "invalid-npi"
    default_severity = Severity.ERROR
    message = (
        "Invalid NPI in billing_provider.npi: its check digit is wrong (Luhn with prefix 80840). "
        "Correct it (NPPES lists every provider's NPI)."
    )
    variants: ClassVar[dict[str, str]] = {
        "billing_provider_length": (
            "Invalid NPI in billing_provider.npi: it is not 10 digits. Correct it (NPPES lists "
            "every provider's NPI)."
        ),
        "referral_check_digit": (
            "Invalid NPI in referral.practitioner_npi: its check digit is wrong (Luhn with prefix "
            "80840). Correct it (NPPES lists every provider's NPI)."
        ),
        "referral_length": (
            "Invalid NPI in referral.practitioner_npi: it is not 10 digits. Correct it (NPPES "
            "lists every provider's NPI)."
        ),
        "rendering_check_digit": (
            "Invalid NPI in rendering_npi of line {line}: its check digit is wrong (Luhn with "
            "prefix 80840). Correct it (NPPES lists every provider's NPI)."
        ),
        "rendering_length": (
            "Invalid NPI in rendering_npi of line {line}: it is not 10 digits. Correct it (NPPES "
            "lists every provider's NPI)."
        ),
        "instructor_check_digit": (
            "Invalid NPI in npi of instructor {instructor} of the session on {date}: its check "
            "digit is wrong (Luhn with prefix 80840). Correct it (NPPES lists every provider's "
            "NPI)."
        ),
        "instructor_length": (
            "Invalid NPI in npi of instructor {instructor} of the session on {date}: it is not "
            "10 digits. Correct it (NPPES lists every provider's NPI)."
        ),
    }
    citation = "CMS NPI standard (Luhn check digit with prefix 80840)"
    carc_hint = "16"
    needs = "any NPI"
    screen = Screen(claim="not self.every_npi_valid(claim)")
    every_npi_valid = staticmethod(_every_npi_valid)
    fix = "Look the provider up in NPPES and copy the NPI exactly."
    example: ClassVar[dict[str, object]] = {"billing_provider": {"npi": "1234567890"}}
    use_instead: ClassVar[dict[str, object]] = {"billing_provider": {"npi": "1234567893"}}

    def check(self, ctx: Context) -> Iterable[Violation]:
        claim = ctx.claim
        if _every_npi_valid(claim):  # the usual claim: no field label to write
            return ()
        found: list[Violation] = []
        for loc, line_id, field, values, npi in _npis(claim):
            if npi_is_valid(npi):
                continue
            problem = "check_digit" if npi_is_ten_digits(npi) else "length"
            variant = f"{field}_{problem}"
            found.append(
                violation(loc, line_id, variant=None if variant == _DEFAULT else variant, **values)
            )
        return found


_DEFAULT = "billing_provider_check_digit"
"""DS203's ``message``: the billing NPI's check digit is wrong (the other cases are variants)."""


def _npis(claim: Claim) -> Iterator[tuple[Loc, str | None, str, dict[str, Scalar], str]]:
    """Every NPI on the claim, in document order: (loc, line id, field, template values, NPI)."""
    billing = claim.billing_provider.npi
    yield ("billing_provider", "npi"), None, "billing_provider", {}, billing
    if claim.referral is not None and claim.referral.practitioner_npi is not None:
        npi = claim.referral.practitioner_npi
        yield ("referral", "practitioner_npi"), None, "referral", {}, npi
    for i, line in enumerate(claim.lines):
        if line.rendering_npi is not None:
            loc: Loc = ("lines", i, "rendering_npi")
            yield loc, line.line_id, "rendering", {"line": line.line_id}, line.rendering_npi
    for s, session in enumerate(claim.sessions):
        for j, instructor in enumerate(session.instructors or ()):
            if instructor.npi is not None:
                values: dict[str, Scalar] = {"instructor": j + 1, "date": session.date.isoformat()}
                loc = ("sessions", s, "instructors", j, "npi")
                yield loc, None, "instructor", values, instructor.npi


def _any_qualified(instructors: Iterable[Instructor], qualified: frozenset[str]) -> bool:
    """Whether an instructor holds a credential of ``qualified``."""
    for instructor in instructors:  # noqa: SIM110 - a loop: any() over a generator costs 3x
        if not qualified.isdisjoint(instructor.credentials):
            return True
    return False


class NoQualifiedInstructor(Rule):
    """No instructor of a billed session holds a qualifying credential.

    ## What it checks
    For each session linked by a DSMT line whose instructor roster is known (`instructors` is a
    list), that at least one instructor holds a credential the profile qualifies
    (`qualified_credentials`: RN, RD/RDN, pharmacist, CDCES/CDE or BC-ADM under `medicare`). An empty
    roster is a finding; an unknown roster (`instructors` null) is not checked. One finding per
    session, on the first DSMT line that links it.

    ## Why it matters
    Accreditation standards require DSMT to be taught by licensed, qualified staff: at least one
    registered nurse, registered dietitian or pharmacist, or a certified diabetes educator. Training
    delivered only by other staff does not meet the standards the payment depends on.

    ## References
    42 CFR 410.144; DSMT accreditation standards (ADA, ADCES).
    """

    code = "DS204"
    name = "no-qualified-instructor"
    default_severity = Severity.ERROR
    message = (
        "Line {line}: the session on {date} lists {instructors} instructors, none with a "
        "qualifying credential ({credentials}); a qualified instructor must teach the session."
    )
    variants: ClassVar[dict[str, str]] = {
        "one_instructor": (
            "Line {line}: the session on {date} lists {instructors} instructor, none with a "
            "qualifying credential ({credentials}); a qualified instructor must teach the session."
        ),
        "no_instructor": (
            "Line {line}: the session on {date} lists no instructor, none with a qualifying "
            "credential ({credentials}); a qualified instructor must teach the session."
        ),
    }
    citation = "42 CFR 410.144; DSMT accreditation standards"
    carc_hint = "185"
    needs = "session.instructors"
    facts = frozenset({"sessions"})
    screen = Screen(
        session="s.instructors is not None and "
        "not self.any_qualified(s.instructors, P.qualified_credentials)"
    )
    any_qualified = staticmethod(_any_qualified)
    fix = (
        "Record the qualified instructor (RN, RD/RDN, pharmacist, CDCES/CDE or BC-ADM) who taught."
    )
    example: ClassVar[dict[str, object]] = {
        "sessions": [
            {
                "session_id": "S-20260202-AM",
                "date": "2026-02-02",
                "minutes": 60,
                "format": "group",
                "attendees": 8,
                "delivery": "in_person",
                "instructors": [{"npi": "1952356107", "credentials": ["LPN"]}],
            }
        ]
    }
    use_instead: ClassVar[dict[str, object]] = {
        "sessions": [
            {
                "session_id": "S-20260202-AM",
                "date": "2026-02-02",
                "minutes": 60,
                "format": "group",
                "attendees": 8,
                "delivery": "in_person",
                "instructors": [{"npi": "1952356107", "credentials": ["LPN", "RD"]}],
            }
        ]
    }

    def check(self, ctx: Context) -> Iterable[Violation]:
        qualified = ctx.profile.qualified_credentials
        found: list[Violation] = []
        seen: set[int] = set()
        for _, line, sessions in ctx.dsmt_links:
            for s, session in sessions:
                instructors = session.instructors
                if instructors is None or s in seen:
                    continue
                seen.add(s)
                if _any_qualified(instructors, qualified):
                    continue
                count = len(instructors)
                found.append(
                    violation(
                        ("sessions", s, "instructors"),
                        line.line_id,
                        variant=_ROSTER_VARIANTS.get(count),
                        line=line.line_id,
                        date=session.date.isoformat(),
                        credentials=", ".join(sorted(qualified)),
                        **({"instructors": count} if count else {}),
                    )
                )
        return found


_ROSTER_VARIANTS = {0: "no_instructor", 1: "one_instructor"}


class RhcNotBillable(Rule):
    """A rural health clinic bills DSMT.

    ## What it checks
    Whether the billing provider is a rural health clinic: entity `rhc`, or a type of bill whose
    bill type is an RHC bill type (`rhc_bill_types`: 71x under `medicare`; a leading `0` of a 4-digit
    type of bill is ignored). One finding per claim.

    ## Why it matters
    DSMT is not an RHC visit: an RHC cannot bill it as one, so a DSMT claim from an RHC is denied.
    On an institutional claim the 71x bill type is also not an accepted DSMT bill type (DS602).

    ## References
    42 CFR 405.2463.
    """

    code = "DS205"
    name = "rhc-not-billable"
    default_severity = Severity.ERROR
    message = (
        "The claim is billed by a rural health clinic (entity rhc); an RHC cannot bill DSMT as a "
        "visit. Remove the DSMT lines from the RHC claim."
    )
    variants: ClassVar[dict[str, str]] = {
        "bill_type": (
            "The claim is billed by a rural health clinic (type of bill {bill_type}x); an RHC "
            "cannot bill DSMT as a visit. Remove the DSMT lines from the RHC claim."
        )
    }
    citation = "42 CFR 405.2463"
    carc_hint = "5"
    needs = "billing_provider.entity, type_of_bill"
    screen = Screen(
        claim="provider.entity is self.RHC or (claim.type_of_bill is not None and "
        "self.bill_type(claim.type_of_bill) in P.rhc_bill_types)"
    )
    RHC = Entity.RHC
    bill_type = staticmethod(bill_type)
    fix = "Do not bill DSMT (G0108/G0109) under the RHC."
    example: ClassVar[dict[str, object]] = {"billing_provider": {"entity": "rhc"}}
    use_instead: ClassVar[dict[str, object]] = {"billing_provider": {"entity": "physician"}}

    def check(self, ctx: Context) -> Iterable[Violation]:
        if ctx.claim.billing_provider.entity is _ENTITY_RHC:
            return [violation(("billing_provider", "entity"), None)]
        digits = _claim_bill_type(ctx)
        if digits is not None and digits in ctx.profile.rhc_bill_types:
            return [violation(("type_of_bill",), None, variant="bill_type", bill_type=digits)]
        return ()


class FqhcGroupNotAVisit(Rule):
    """A federally qualified health center bills group DSMT (G0109).

    ## What it checks
    Whether the billing provider is a federally qualified health center (entity `fqhc`, or a type of
    bill whose bill type is in `fqhc_bill_types`: 77x under `medicare`) and the claim has a group
    DSMT line (the profile's `group_code`, G0109). One finding per group line.

    ## Why it matters
    In an FQHC an individual, face-to-face DSMT session can be a billable visit, but a group session
    is not a separately billable visit: the line is likely to be denied or bundled. The source is a
    fact sheet rather than the regulation's text, so this is a warning.

    ## References
    42 CFR 405.2463; MLN FQHC fact sheet.
    """

    code = "DS206"
    name = "fqhc-group-not-a-visit"
    default_severity = Severity.WARNING
    message = (
        "Line {line}: an FQHC bills {code} (group DSMT) on {date}; a group session is not a "
        "separately billable FQHC visit. Only an individual face-to-face session ({individual}) can "
        "be billed as a visit."
    )
    citation = "42 CFR 405.2463; MLN FQHC fact sheet"
    carc_hint = "5"
    needs = "billing_provider.entity, type_of_bill"
    screen = Screen(
        line="code == P.group_code and (provider.entity is self.FQHC or (claim.type_of_bill "
        "is not None and self.bill_type(claim.type_of_bill) in P.fqhc_bill_types))"
    )
    FQHC = Entity.FQHC
    bill_type = staticmethod(bill_type)
    fix = "Do not bill group DSMT as an FQHC visit."
    example: ClassVar[dict[str, object]] = {
        "form": "institutional",
        "type_of_bill": "771",
        "billing_provider": {"entity": "fqhc"},
        "lines": [
            {
                "line_id": "1",
                "hcpcs": "G0109",
                "units": 2,
                "service_date": "2026-02-02",
                "diagnosis_pointers": [1],
                "session_ids": ["S-20260202-AM"],
            }
        ],
    }
    use_instead: ClassVar[dict[str, object]] = {
        "form": "institutional",
        "type_of_bill": "771",
        "billing_provider": {"entity": "fqhc"},
        "lines": [
            {
                "line_id": "1",
                "hcpcs": "G0108",
                "units": 2,
                "service_date": "2026-02-02",
                "diagnosis_pointers": [1],
                "session_ids": ["S-20260202-IND"],
            }
        ],
        "sessions": [
            {
                "session_id": "S-20260202-IND",
                "date": "2026-02-02",
                "minutes": 60,
                "format": "individual",
                "attendees": 1,
                "delivery": "in_person",
                "instructors": [{"npi": "1952356107", "credentials": ["RN", "CDCES"]}],
            }
        ],
    }

    def check(self, ctx: Context) -> Iterable[Violation]:
        digits = _claim_bill_type(ctx)
        is_fqhc = ctx.claim.billing_provider.entity is _ENTITY_FQHC or (
            digits is not None and digits in ctx.profile.fqhc_bill_types
        )
        if not is_fqhc:
            return ()
        return [
            violation(
                ("lines", i, "hcpcs"),
                line.line_id,
                line=line.line_id,
                code=line.hcpcs,
                date=line.service_date.isoformat(),
                individual=ctx.profile.individual_code,
            )
            for i, line in ctx.dsmt_lines
            if line.hcpcs == ctx.profile.group_code
        ]


RULES: tuple[type[Rule], ...] = (
    ProgramNotAccredited,
    AccreditationLapsed,
    InvalidNpi,
    NoQualifiedInstructor,
    RhcNotBillable,
    FqhcGroupNotAVisit,
)
