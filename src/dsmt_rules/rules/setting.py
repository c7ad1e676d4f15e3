"""DS6xx: the setting: place of service, bill type, telehealth coding."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from dsmt_rules._codes import bill_type
from dsmt_rules.findings import Loc, Severity
from dsmt_rules.models import ClaimForm, Delivery
from dsmt_rules.rules._base import Context, Rule, Screen, Violation, violation
from dsmt_rules.rules._examples import base_line

__all__ = [
    "RULES",
    "BillTypeNotAllowed",
    "InpatientPlaceOfService",
    "TelehealthCodingInconsistent",
]

_INSTITUTIONAL_LINE: dict[str, object] = {
    "line_id": "1",
    "hcpcs": "G0109",
    "units": 2,
    "service_date": "2026-02-02",
    "revenue_code": "0942",
    "diagnosis_pointers": [1],
    "session_ids": ["S-20260202-AM"],
}
"""The base claim's G0109 line as an institutional (837I / UB-04) line: revenue code, no POS."""


class InpatientPlaceOfService(Rule):
    """DSMT billed with an inpatient place of service.

    ## What it checks
    Whether a DSMT line's place of service is an inpatient one (the profile's
    `inpatient_places_of_service`: 21 inpatient hospital, 51 inpatient psychiatric facility,
    61 comprehensive inpatient rehabilitation facility). One finding per line.

    ## Why it matters
    DSMT is an outpatient benefit. Training furnished during an inpatient stay is part of the stay,
    not separately payable DSMT.

    ## References
    SSA §1861(qq) (Social Security Act).
    """

    code = "DS601"
    name = "inpatient-place-of-service"
    default_severity = Severity.ERROR
    message = (
        "Line {line}: {code} on {date} is billed with place of service {pos} (inpatient); DSMT is "
        "an outpatient benefit and is not payable during an inpatient stay."
    )
    citation = "SSA §1861(qq)"
    carc_hint = "58"
    needs = "line.place_of_service"
    screen = Screen(line="pos is not None and pos in P.inpatient_places_of_service")
    fix = (
        "Bill DSMT only for outpatient training, with the place of service where it was furnished."
    )
    example: ClassVar[dict[str, object]] = {"lines": [base_line(place_of_service="21")]}
    use_instead: ClassVar[dict[str, object]] = {"lines": [base_line(place_of_service="22")]}

    def check(self, ctx: Context) -> Iterator[Violation]:
        inpatient = ctx.profile.inpatient_places_of_service
        for i, line in ctx.dsmt_lines:
            if line.place_of_service is not None and line.place_of_service in inpatient:
                yield violation(
                    ("lines", i, "place_of_service"),
                    line.line_id,
                    line=line.line_id,
                    code=line.hcpcs,
                    date=line.service_date.isoformat(),
                    pos=line.place_of_service,
                )


class BillTypeNotAllowed(Rule):
    """An institutional claim with a type of bill not accepted for DSMT.

    ## What it checks
    On an institutional claim (`form` `institutional`), that the bill type (the first two digits of
    `type_of_bill`, after the meaningless leading `0` of a 4-digit type of bill) is one the profile
    accepts (`allowed_bill_types`: 12x, 13x, 22x, 23x, 34x, 77x, 85x under `medicare`). 11x
    (inpatient) is not accepted; 71x (RHC, the profile's `rhc_bill_types`) is not either, but
    DS205 alone reports it (one fact, one finding). One finding per claim. An institutional claim without
    a `type_of_bill` is not checked: the rule does not guess a missing input.

    ## Why it matters
    The claims processing manual lists the types of bill under which DSMT is paid to institutional
    providers. A claim under any other type of bill is returned or denied.

    ## References
    MCPM (Pub. 100-04) ch. 18 §120.1 (Medicare Claims Processing Manual).
    """

    code = "DS602"
    name = "bill-type-not-allowed"
    default_severity = Severity.ERROR
    message = (
        "Type of bill {type_of_bill} (bill type {bill_type}x) is not accepted for DSMT; bill it "
        "under one of {allowed}."
    )
    citation = "MCPM (Pub. 100-04) ch. 18 §120.1"
    carc_hint = "5"
    needs = "type_of_bill"
    screen = Screen(
        claim="claim.form is self.INSTITUTIONAL and claim.type_of_bill is not None and "
        "self.bill_type(claim.type_of_bill) not in P.allowed_bill_types"
        " and self.bill_type(claim.type_of_bill) not in P.rhc_bill_types"
    )
    INSTITUTIONAL = ClaimForm.INSTITUTIONAL
    bill_type = staticmethod(bill_type)
    fix = "Bill DSMT under an accepted type of bill, e.g. 131 for hospital outpatient."
    example: ClassVar[dict[str, object]] = {
        "form": "institutional",
        "type_of_bill": "111",
        "lines": [_INSTITUTIONAL_LINE],
    }
    use_instead: ClassVar[dict[str, object]] = {
        "form": "institutional",
        "type_of_bill": "131",
        "lines": [_INSTITUTIONAL_LINE],
    }

    def check(self, ctx: Context) -> Iterator[Violation]:
        claim = ctx.claim
        if claim.form is not ClaimForm.INSTITUTIONAL or claim.type_of_bill is None:
            return
        digits = bill_type(claim.type_of_bill)
        allowed = ctx.profile.allowed_bill_types
        if digits not in allowed and digits not in ctx.profile.rhc_bill_types:  # RHC: DS205
            yield violation(
                ("type_of_bill",),
                None,
                type_of_bill=claim.type_of_bill,
                bill_type=digits,
                allowed=", ".join(f"{t}x" for t in sorted(allowed)),
            )


class TelehealthCodingInconsistent(Rule):
    """Telehealth coding does not match how the session was delivered.

    ## What it checks
    For each DSMT line with linked sessions: when a session was delivered by telehealth, the line
    must carry a telehealth place of service (`telehealth_places_of_service`: 02, 10) or a telehealth
    modifier (`telehealth_modifiers`: 95 video, 93 audio-only; on an institutional claim also
    `institutional_telehealth_modifiers`: GT, for critical access hospitals under method II); when
    a session was delivered in person, the line must carry neither. GQ is not a DSMT telehealth
    modifier: it codes nothing. One finding per line. Lines without a linked session are not
    checked (DS107).

    ## Why it matters
    DSMT is on the Medicare telehealth services list, but a telehealth service is paid only when it
    is coded as one, and coding an in-person session as telehealth misstates where it was furnished
    and can change the payment. Either mismatch invites an audit or a return.

    ## References
    Medicare telehealth services list (CMS); CMS transmittal 12671 (POS 02 and 10, modifiers 95
    and 93; GT on institutional claims); NGS DSMT and MNT guides.
    """

    code = "DS603"
    name = "telehealth-coding-inconsistent"
    default_severity = Severity.WARNING
    message = (
        "Line {line}: the session on {date} was delivered by telehealth but the line is coded as "
        "in person (POS {pos}, no telehealth modifier); add a telehealth place of service "
        "({places}) or modifier ({modifiers})."
    )
    variants: ClassVar[dict[str, str]] = {
        "telehealth_without_pos": (
            "Line {line}: the session on {date} was delivered by telehealth but the line is coded "
            "as in person (no telehealth modifier); add a telehealth place of service ({places}) "
            "or modifier ({modifiers})."
        ),
        "in_person": (
            "Line {line}: the session on {date} was delivered in person but the line is coded as "
            "telehealth ({coded}); remove the telehealth place of service and modifier."
        ),
    }
    citation = "Medicare telehealth services list; CMS transmittal 12671"
    carc_hint = "4"
    needs = "session.delivery, POS, modifiers"
    facts = frozenset({"sessions"})
    screen = Screen(
        session="(s.delivery is self.TELEHEALTH) != ((pos is not None and pos in "
        "P.telehealth_places_of_service) or not P.telehealth_modifiers.isdisjoint(line.modifiers)"
        " or (claim.form is self.INSTITUTIONAL and "
        "not P.institutional_telehealth_modifiers.isdisjoint(line.modifiers)))"
    )
    INSTITUTIONAL = ClaimForm.INSTITUTIONAL
    TELEHEALTH = Delivery.TELEHEALTH
    fix = (
        "Code telehealth sessions with POS 02/10 or modifier 95 (93 audio-only); code in-person "
        "sessions without."
    )
    example: ClassVar[dict[str, object]] = {
        "sessions": [
            {
                "session_id": "S-20260202-AM",
                "date": "2026-02-02",
                "minutes": 60,
                "format": "group",
                "attendees": 8,
                "delivery": "telehealth",
                "instructors": [{"npi": "1952356107", "credentials": ["RN", "CDCES"]}],
            }
        ]
    }
    use_instead: ClassVar[dict[str, object]] = {
        "lines": [
            {
                "line_id": "1",
                "hcpcs": "G0109",
                "modifiers": ["95"],
                "units": 2,
                "service_date": "2026-02-02",
                "place_of_service": "10",
                "diagnosis_pointers": [1],
                "session_ids": ["S-20260202-AM"],
            }
        ],
        "sessions": example["sessions"],
    }

    def check(self, ctx: Context) -> Iterator[Violation]:
        places = ctx.profile.telehealth_places_of_service
        modifiers = ctx.profile.telehealth_modifiers
        if ctx.claim.form is ClaimForm.INSTITUTIONAL:
            modifiers = modifiers | ctx.profile.institutional_telehealth_modifiers
        for i, line in ctx.dsmt_lines:
            sessions = ctx.linked_sessions(line)
            if not sessions:
                continue
            pos_coded = line.place_of_service is not None and line.place_of_service in places
            coded_modifiers = [m for m in line.modifiers if m in modifiers]
            telehealth = [s for _, s in sessions if s.delivery is Delivery.TELEHEALTH]
            in_person = [s for _, s in sessions if s.delivery is Delivery.IN_PERSON]
            pos = line.place_of_service
            if telehealth and not pos_coded and not coded_modifiers:
                session = telehealth[0]
                loc: Loc = ("lines", i, "place_of_service" if pos else "modifiers")
                yield violation(
                    loc,
                    line.line_id,
                    variant=None if pos else "telehealth_without_pos",
                    line=line.line_id,
                    date=session.date.isoformat(),
                    places=", ".join(sorted(places)),
                    modifiers=", ".join(sorted(modifiers)),
                    **({"pos": pos} if pos else {}),
                )
            elif in_person and (pos_coded or coded_modifiers):
                session = in_person[0]
                loc = ("lines", i, "place_of_service" if pos_coded else "modifiers")
                coded = ([f"POS {pos}"] if pos_coded else []) + [
                    f"modifier {m}" for m in coded_modifiers
                ]
                yield violation(
                    loc,
                    line.line_id,
                    variant="in_person",
                    line=line.line_id,
                    date=session.date.isoformat(),
                    coded=", ".join(coded),
                )


RULES: tuple[type[Rule], ...] = (
    InpatientPlaceOfService,
    BillTypeNotAllowed,
    TelehealthCodingInconsistent,
)
