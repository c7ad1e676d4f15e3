"""The canonical claim document, version 1, as pydantic models.

Field names are a public contract (DESIGN.md, "The canonical claim document"). Unknown fields are
an error (``extra="forbid"``) so that a typo surfaces as a DS001 finding instead of silently missing
data. Dates are ISO ``YYYY-MM-DD`` strings (or :class:`datetime.date` values from Python); numbers are
strict (``"2"`` is not a unit count); enumerations accept only their documented values.

The models validate *shape*; they do not judge billing correctness. An NPI with a bad check digit, a
unit count of zero or a non-diabetes diagnosis is well-formed data that a rule reports on.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
)

__all__ = [
    "Accreditation",
    "BillingProvider",
    "Claim",
    "ClaimForm",
    "Credential",
    "Delivery",
    "Entity",
    "HistoryEntry",
    "IndividualReason",
    "Instructor",
    "PractitionerRole",
    "Referral",
    "ServiceLine",
    "Session",
    "SessionFormat",
    "SpecialNeed",
    "Training",
    "claim_schema",
]

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: Any) -> Any:
    """Accept a ``date`` or an ISO ``YYYY-MM-DD`` string, nothing looser (no timestamps, no times)."""
    if isinstance(value, str):
        if not _ISO_DATE.fullmatch(value):
            raise ValueError("expected an ISO date YYYY-MM-DD")
        return dt.date.fromisoformat(value)
    if isinstance(value, dt.datetime):
        raise ValueError("expected a date, not a date and time")
    if isinstance(value, dt.date):
        return value
    raise ValueError("expected an ISO date YYYY-MM-DD")


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
"""A calendar date written ``YYYY-MM-DD``."""

_Id = Annotated[str, Field(min_length=1, max_length=64)]
_Npi = Annotated[str, Field(min_length=1, max_length=32)]  # validity is rule DS203, not the model
_Code = Annotated[str, Field(pattern=r"^[A-Z0-9]{5}$")]
_Modifier = Annotated[str, Field(pattern=r"^[A-Z0-9]{2}$")]
_Pointer = Annotated[StrictInt, Field(ge=1, le=12)]


class ClaimForm(StrEnum):
    """The claim form: 837P / CMS-1500 or 837I / UB-04."""

    PROFESSIONAL = "professional"
    INSTITUTIONAL = "institutional"


class Entity(StrEnum):
    """What kind of entity the billing provider is."""

    PHYSICIAN = "physician"
    NPP = "npp"
    HOSPITAL_OUTPATIENT = "hospital_outpatient"
    CRITICAL_ACCESS_HOSPITAL = "critical_access_hospital"
    FQHC = "fqhc"
    RHC = "rhc"
    DME_SUPPLIER = "dme_supplier"
    PHARMACY = "pharmacy"
    OTHER = "other"


class PractitionerRole(StrEnum):
    """The referring practitioner's role."""

    PHYSICIAN = "physician"
    NURSE_PRACTITIONER = "nurse_practitioner"
    PHYSICIAN_ASSISTANT = "physician_assistant"
    CLINICAL_NURSE_SPECIALIST = "clinical_nurse_specialist"
    OTHER = "other"


class Training(StrEnum):
    """The kind of training a referral orders."""

    INITIAL = "initial"
    FOLLOW_UP = "follow_up"


class IndividualReason(StrEnum):
    """The documented exception that allows more than the individual allowance (MBPM §300.4)."""

    NO_GROUP_WITHIN_2_MONTHS = "no_group_within_2_months"
    SPECIAL_NEEDS = "special_needs"
    ADDITIONAL_INSULIN_TRAINING = "additional_insulin_training"


class SpecialNeed(StrEnum):
    """A special need that hinders group participation."""

    VISION = "vision"
    HEARING = "hearing"
    LANGUAGE = "language"
    COGNITIVE = "cognitive"
    PHYSICAL = "physical"
    OTHER = "other"


class SessionFormat(StrEnum):
    """Whether a session was furnished to a group or to one person."""

    GROUP = "group"
    INDIVIDUAL = "individual"


class Delivery(StrEnum):
    """How a session was delivered."""

    IN_PERSON = "in_person"
    TELEHEALTH = "telehealth"


class Credential(StrEnum):
    """An instructor's licence or certification."""

    RN = "RN"
    RD = "RD"
    RDN = "RDN"
    PHARMACIST = "PHARMACIST"
    CDCES = "CDCES"
    CDE = "CDE"
    BC_ADM = "BC_ADM"
    MD = "MD"
    DO = "DO"
    NP = "NP"
    PA = "PA"
    LPN = "LPN"
    MA = "MA"
    OTHER = "OTHER"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


class Accreditation(_Model):
    """The accreditation of the billing entity's DSMT program."""

    organization: Annotated[str, Field(min_length=1, max_length=40)]
    """Accrediting organization, e.g. ``ADA`` or ``ADCES`` (the profile lists the approved ones)."""
    effective: IsoDate
    expires: IsoDate | None = None
    """``None`` means open-ended."""


class BillingProvider(_Model):
    """The entity that bills the claim."""

    npi: _Npi
    entity: Entity | None = None
    """``None`` when the kind of entity is not known (rules that need it stay silent)."""
    accreditation: Accreditation | None = None
    """``None`` when no accreditation is on file (rule DS201)."""


class Referral(_Model):
    """The written order for the training."""

    referral_id: _Id | None = None
    date: IsoDate
    practitioner_npi: _Npi | None = None
    practitioner_role: PractitionerRole
    signed: StrictBool
    training: Training
    hours_ordered: Annotated[float, Field(ge=0, le=100, multiple_of=0.5, strict=True)]
    individual_reason: IndividualReason | None = None
    special_needs: list[SpecialNeed] = Field(default_factory=list)


class ServiceLine(_Model):
    """One service line of the claim."""

    line_id: _Id
    hcpcs: _Code
    modifiers: Annotated[list[_Modifier], Field(max_length=4, default_factory=list)]
    units: StrictInt
    service_date: IsoDate
    place_of_service: Annotated[str, Field(pattern=r"^\d{2}$")] | None = None
    revenue_code: Annotated[str, Field(pattern=r"^\d{4}$")] | None = None
    diagnosis_pointers: Annotated[list[_Pointer], Field(max_length=12, default_factory=list)]
    rendering_npi: _Npi | None = None
    session_ids: list[_Id] = Field(default_factory=list)
    charge: Annotated[str, Field(pattern=r"^\d{1,10}(\.\d{1,4})?$")] | None = None
    """The line's billed amount (added in 0.2), a decimal string as in SV102/SV203, e.g.
    ``"120.00"``; the batch summary totals it as dollars at risk. ``None`` when not known."""


class Instructor(_Model):
    """An instructor of a session."""

    npi: _Npi | None = None
    credentials: list[Credential] = Field(default_factory=list)


class Session(_Model):
    """A training session as recorded on the program's attendance sheet."""

    session_id: _Id
    date: IsoDate
    minutes: Annotated[StrictInt, Field(ge=0, le=1440)]
    format: SessionFormat
    attendees: Annotated[StrictInt, Field(ge=0, le=10_000)]
    """Everyone present, Medicare or not."""
    delivery: Delivery = Delivery.IN_PERSON
    instructors: list[Instructor] | None = None
    """``None`` when the roster of instructors is not known (rule DS204 stays silent)."""


class HistoryEntry(_Model):
    """An earlier DSMT or MNT service of the same beneficiary."""

    service_date: IsoDate
    hcpcs: _Code
    units: StrictInt
    referral_id: _Id | None = None


class Claim(_Model):
    """One claim: the canonical claim document, version 1."""

    claim_id: _Id
    form: ClaimForm
    beneficiary_id: Annotated[str, Field(min_length=1, max_length=64)]
    """PHI: used to group a beneficiary's claims, never printed."""
    type_of_bill: Annotated[str, Field(pattern=r"^\d{3,4}$")] | None = None
    billing_provider: BillingProvider
    diagnosis_codes: Annotated[
        list[Annotated[str, Field(max_length=10)]], Field(max_length=25, default_factory=list)
    ]
    referral: Referral | None = None
    lines: Annotated[list[ServiceLine], Field(max_length=450)]
    sessions: list[Session] = Field(default_factory=list)
    history: list[HistoryEntry] = Field(default_factory=list)


SCHEMA_ID = "urn:dsmt-rules:claim-document:v1"
SCHEMA_TITLE = "dsmt-rules claim document v1"


def claim_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the claim document, version 1 (``dsmt-rules schema``)."""
    schema = Claim.model_json_schema()
    schema.pop("title", None)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": SCHEMA_TITLE,
        **schema,
    }


if "hypothesis" in sys.modules:  # Hypothesis came first: register its strategies (_hypothesis_hook)
    from dsmt_rules._hypothesis_hook import register as _register

    _register(sys.modules[__name__])
