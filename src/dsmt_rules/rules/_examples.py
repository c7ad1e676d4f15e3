"""The clean claim every rule example starts from, and JSON merge patches (RFC 7396) onto it.

A rule's ``example`` and ``use_instead`` are merge patches on :data:`BASE_CLAIM`: objects merge key by
key, ``null`` removes a key, and arrays (``lines``, ``sessions``) are replaced whole. The docs
generator prints the merged document; a test checks the merged documents raise what they claim.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

__all__ = [
    "BASE_CLAIM",
    "FOLLOW_UP_ORDER",
    "apply_patch",
    "base_line",
    "base_session",
    "example_document",
    "history_entries",
]

BASE_CLAIM: dict[str, Any] = {
    "claim_id": "C-1001",
    "form": "professional",
    "beneficiary_id": "1EG4TE5MK73",
    "type_of_bill": None,
    "billing_provider": {
        "npi": "1234567893",
        "entity": "hospital_outpatient",
        "accreditation": {
            "organization": "ADCES",
            "effective": "2024-01-01",
            "expires": "2028-01-01",
        },
    },
    "diagnosis_codes": ["E11.65", "I10"],
    "referral": {
        "referral_id": "R-77",
        "date": "2026-01-05",
        "practitioner_npi": "1245319599",
        "practitioner_role": "physician",
        "signed": True,
        "training": "initial",
        "hours_ordered": 10,
        "individual_reason": None,
        "special_needs": [],
    },
    "lines": [
        {
            "line_id": "1",
            "hcpcs": "G0109",
            "modifiers": [],
            "units": 2,
            "service_date": "2026-02-02",
            "place_of_service": "11",
            "revenue_code": None,
            "diagnosis_pointers": [1],
            "rendering_npi": None,
            "session_ids": ["S-20260202-AM"],
        }
    ],
    "sessions": [
        {
            "session_id": "S-20260202-AM",
            "date": "2026-02-02",
            "minutes": 60,
            "format": "group",
            "attendees": 8,
            "delivery": "in_person",
            "instructors": [{"npi": "1952356107", "credentials": ["RN", "CDCES"]}],
        }
    ],
    "history": [],
}


def base_line(**changes: Any) -> dict[str, Any]:
    """The base claim's G0109 line (2 units on 2026-02-02, POS 11) with some fields changed.

    For example patches, which replace the ``lines`` array whole.
    """
    line: dict[str, Any] = copy.deepcopy(BASE_CLAIM["lines"][0])
    line.update(changes)
    return line


def base_session(**changes: Any) -> dict[str, Any]:
    """The base claim's session (60 minutes, group of 8, RN + CDCES) with some fields changed."""
    session: dict[str, Any] = copy.deepcopy(BASE_CLAIM["sessions"][0])
    session.update(changes)
    return session


def history_entries(*entries: tuple[str, str, int, str | None]) -> list[dict[str, Any]]:
    """History entries for the examples: (date of service, code, units, referral id)."""
    return [
        {"service_date": day, "hcpcs": code, "units": units, "referral_id": referral}
        for day, code, units, referral in entries
    ]


FOLLOW_UP_ORDER: dict[str, Any] = {"training": "follow_up", "hours_ordered": 2}
"""The base claim's referral as a follow-up order for 2 hours."""


def apply_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch (returns a new value; the inputs are not changed)."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    result = copy.deepcopy(dict(target)) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_patch(result.get(key), value)
    return result


def example_document(example: Mapping[str, Any] | str) -> str:
    """The full JSON document of an example: a raw document as is, a patch merged onto the base."""
    if isinstance(example, str):
        return example
    return json.dumps(apply_patch(BASE_CLAIM, example), indent=2)
