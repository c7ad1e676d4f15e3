"""The claim document v1 models: strict shapes, exact errors, a lossless JSON round trip."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from pydantic import ValidationError

from dsmt_rules.models import (
    Accreditation,
    Claim,
    Credential,
    Delivery,
    Entity,
    HistoryEntry,
    Referral,
    ServiceLine,
    Session,
)
from dsmt_rules.rules._examples import BASE_CLAIM, apply_patch


def _errors(patch: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """The (loc, type) of every error the patched base claim raises (fails if it validates)."""
    with pytest.raises(ValidationError) as info:
        Claim.model_validate(apply_patch(BASE_CLAIM, patch))
    return [(tuple(e["loc"]), e["type"]) for e in info.value.errors()]


def _line(**fields: Any) -> dict[str, Any]:
    return {"lines": [{**BASE_CLAIM["lines"][0], **fields}]}


def _session(**fields: Any) -> dict[str, Any]:
    return {"sessions": [{**BASE_CLAIM["sessions"][0], **fields}]}


def _referral_hours(hours: Any) -> dict[str, Any]:
    return {"referral": {"hours_ordered": hours}}


# --- the base claim ------------------------------------------------------------------------------


def test_base_claim_validates_with_real_types() -> None:
    claim = Claim.model_validate(BASE_CLAIM)

    assert claim.claim_id == "C-1001"
    assert claim.billing_provider.entity is Entity.HOSPITAL_OUTPATIENT
    assert claim.billing_provider.accreditation == Accreditation(
        organization="ADCES", effective=dt.date(2024, 1, 1), expires=dt.date(2028, 1, 1)
    )
    assert claim.lines[0].service_date == dt.date(2026, 2, 2)
    assert claim.lines[0].units == 2
    assert claim.sessions[0].delivery is Delivery.IN_PERSON
    assert claim.sessions[0].instructors is not None
    assert claim.sessions[0].instructors[0].credentials == [Credential.RN, Credential.CDCES]
    assert claim.referral is not None
    assert claim.referral.hours_ordered == 10


def test_minimal_claim_gets_documented_defaults() -> None:
    claim = Claim.model_validate(
        {
            "claim_id": "C-2",
            "form": "institutional",
            "beneficiary_id": "B",
            "billing_provider": {"npi": "1234567893"},
            "lines": [],
        }
    )

    assert claim.type_of_bill is None
    assert claim.billing_provider.entity is None
    assert claim.billing_provider.accreditation is None
    assert claim.diagnosis_codes == []
    assert claim.referral is None
    assert claim.sessions == []
    assert claim.history == []


def test_patched_documents_do_not_share_state_with_the_base_claim() -> None:
    data = apply_patch(BASE_CLAIM, {})
    data["referral"]["date"] = "1999-01-01"
    data["lines"][0]["units"] = 99

    assert BASE_CLAIM["referral"]["date"] == "2026-01-05"
    assert BASE_CLAIM["lines"][0]["units"] == 2


def test_models_are_frozen() -> None:
    claim = Claim.model_validate(BASE_CLAIM)

    with pytest.raises(ValidationError, match="frozen"):
        claim.claim_id = "C-2"  # type: ignore[misc]


# --- unknown and missing fields ----------------------------------------------------------------


def test_unknown_top_level_field_is_an_error_at_its_location() -> None:
    assert _errors({"claim_idd": "C-1"}) == [(("claim_idd",), "extra_forbidden")]


def test_unknown_nested_field_names_its_full_location() -> None:
    errors = _errors(_line(unit=2))

    assert errors == [(("lines", 0, "unit"), "extra_forbidden")]


def test_missing_required_field_names_its_location() -> None:
    assert _errors({"beneficiary_id": None}) == [(("beneficiary_id",), "missing")]


# --- dates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["2026-2-2", "2026-02-02T00:00:00", 1700000000, "02/02/2026", "2026-02-30", "", "20260202"],
)
def test_service_date_accepts_only_iso_calendar_dates(value: Any) -> None:
    assert _errors(_line(service_date=value)) == [(("lines", 0, "service_date"), "value_error")]


def test_datetime_object_is_not_a_date() -> None:
    data = apply_patch(BASE_CLAIM, {})
    data["lines"][0]["service_date"] = dt.datetime(2026, 2, 2, 0, 0)

    with pytest.raises(ValidationError) as info:
        Claim.model_validate(data)
    assert [tuple(e["loc"]) for e in info.value.errors()] == [("lines", 0, "service_date")]


def test_date_objects_are_accepted() -> None:
    entry = HistoryEntry(service_date=dt.date(2025, 11, 3), hcpcs="G0108", units=2)
    data = apply_patch(BASE_CLAIM, {})
    data["referral"]["date"] = dt.date(2026, 1, 5)

    assert entry.service_date == dt.date(2025, 11, 3)
    referral = Claim.model_validate(data).referral
    assert referral is not None
    assert referral.date == dt.date(2026, 1, 5)


def test_date_errors_from_json_never_echo_the_input() -> None:
    doc = json.dumps(apply_patch(BASE_CLAIM, _line(service_date="02/02/2026")))

    with pytest.raises(ValidationError) as info:
        Claim.model_validate_json(doc)
    (error,) = info.value.errors(include_input=False)
    assert error["loc"] == ("lines", 0, "service_date")
    assert "02/02/2026" not in error["msg"]


# --- strict numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["2", 2.5, 2.0, True])
def test_units_are_strict_integers(value: Any) -> None:
    assert _errors(_line(units=value)) == [(("lines", 0, "units"), "int_type")]


def test_units_are_required() -> None:
    line = {k: v for k, v in BASE_CLAIM["lines"][0].items() if k != "units"}

    assert _errors({"lines": [line]}) == [(("lines", 0, "units"), "missing")]
    assert _errors(_line(units=None)) == [(("lines", 0, "units"), "int_type")]


def test_zero_and_negative_units_are_well_formed_data_for_the_rules() -> None:
    claim = Claim.model_validate(apply_patch(BASE_CLAIM, _line(units=0)))

    assert claim.lines[0].units == 0


@pytest.mark.parametrize("value", ["8", 8.0, -1, 10_001])
def test_attendees_are_strict_bounded_integers(value: Any) -> None:
    assert [loc for loc, _ in _errors(_session(attendees=value))] == [("sessions", 0, "attendees")]


@pytest.mark.parametrize("hours", [0, 0.5, 1, 9.5, 10, 100])
def test_hours_ordered_in_half_hour_steps_are_accepted(hours: float) -> None:
    claim = Claim.model_validate(apply_patch(BASE_CLAIM, _referral_hours(hours)))

    assert claim.referral is not None
    assert claim.referral.hours_ordered == hours


@pytest.mark.parametrize(
    ("hours", "kind"),
    [
        (0.25, "multiple_of"),
        (9.75, "multiple_of"),
        (-0.5, "greater_than_equal"),
        ("10", "float_type"),
    ],
)
def test_hours_ordered_rejects_other_values(hours: Any, kind: str) -> None:
    assert _errors(_referral_hours(hours)) == [(("referral", "hours_ordered"), kind)]


def test_signed_is_a_strict_boolean() -> None:
    assert _errors({"referral": {"signed": "yes"}}) == [(("referral", "signed"), "bool_type")]


# --- enumerations and codes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("patch", "loc"),
    [
        ({"form": "dental"}, ("form",)),
        ({"billing_provider": {"entity": "clinic"}}, ("billing_provider", "entity")),
        ({"referral": {"practitioner_role": "nurse"}}, ("referral", "practitioner_role")),
        ({"referral": {"training": "refresher"}}, ("referral", "training")),
        ({"referral": {"individual_reason": "preference"}}, ("referral", "individual_reason")),
        ({"referral": {"special_needs": ["mobility"]}}, ("referral", "special_needs", 0)),
        (_session(format="class"), ("sessions", 0, "format")),
        (_session(delivery="video"), ("sessions", 0, "delivery")),
        (
            _session(instructors=[{"credentials": ["rn"]}]),
            ("sessions", 0, "instructors", 0, "credentials", 0),
        ),
    ],
)
def test_enums_reject_unknown_values(patch: dict[str, Any], loc: tuple[str | int, ...]) -> None:
    assert _errors(patch) == [(loc, "enum")]


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({"hcpcs": "g0109"}, ("lines", 0, "hcpcs")),
        ({"hcpcs": "G01090"}, ("lines", 0, "hcpcs")),
        ({"modifiers": ["9"]}, ("lines", 0, "modifiers", 0)),
        ({"place_of_service": "1"}, ("lines", 0, "place_of_service")),
        ({"revenue_code": "94"}, ("lines", 0, "revenue_code")),
    ],
)
def test_code_patterns(fields: dict[str, Any], loc: tuple[str | int, ...]) -> None:
    assert _errors(_line(**fields)) == [(loc, "string_pattern_mismatch")]


@pytest.mark.parametrize(("pointer", "ok"), [(0, False), (1, True), (12, True), (13, False)])
def test_diagnosis_pointers_are_1_to_12(pointer: int, ok: bool) -> None:
    patch = _line(diagnosis_pointers=[pointer])
    if ok:
        assert Claim.model_validate(apply_patch(BASE_CLAIM, patch)).lines[0].diagnosis_pointers == [
            pointer
        ]
    else:
        assert [loc for loc, _ in _errors(patch)] == [("lines", 0, "diagnosis_pointers", 0)]


def test_at_most_four_modifiers() -> None:
    ok = Claim.model_validate(apply_patch(BASE_CLAIM, _line(modifiers=["95", "GT", "GQ", "25"])))

    assert ok.lines[0].modifiers == ["95", "GT", "GQ", "25"]
    assert _errors(_line(modifiers=["95", "GT", "GQ", "25", "59"])) == [
        (("lines", 0, "modifiers"), "too_long")
    ]


# --- JSON round trip and schema ------------------------------------------------------------------


def test_model_to_json_to_model_is_the_identity() -> None:
    claim = Claim.model_validate(
        apply_patch(
            BASE_CLAIM,
            {
                "type_of_bill": "131",
                "form": "institutional",
                "referral": {"hours_ordered": 9.5, "special_needs": ["vision", "hearing"]},
                "history": [{"service_date": "2025-11-03", "hcpcs": "G0108", "units": 2}],
            },
        )
    )

    text = claim.model_dump_json()
    again = Claim.model_validate_json(text)

    assert again == claim
    assert again.model_dump_json() == text


def test_dumped_json_uses_iso_dates_and_enum_values() -> None:
    data = json.loads(Claim.model_validate(BASE_CLAIM).model_dump_json())

    assert data["lines"][0]["service_date"] == "2026-02-02"
    assert data["billing_provider"]["entity"] == "hospital_outpatient"
    assert data["sessions"][0]["instructors"][0]["credentials"] == ["RN", "CDCES"]


def _design_fields() -> dict[str, list[str]]:
    """The field names of DESIGN.md's example document, by object (top level, line, session...)."""
    return {
        "Claim": list(BASE_CLAIM),
        "BillingProvider": list(BASE_CLAIM["billing_provider"]),
        "Accreditation": list(BASE_CLAIM["billing_provider"]["accreditation"]),
        "Referral": list(BASE_CLAIM["referral"]),
        "ServiceLine": [*BASE_CLAIM["lines"][0], "charge"],  # charge: optional, added in 0.2
        "Session": list(BASE_CLAIM["sessions"][0]),
        "Instructor": list(BASE_CLAIM["sessions"][0]["instructors"][0]),
        "HistoryEntry": ["service_date", "hcpcs", "units", "referral_id"],
    }


def test_json_schema_has_every_field_of_the_design_document() -> None:
    schema = Claim.model_json_schema()
    json.dumps(schema)  # serialisable as is

    assert schema["title"] == "Claim"
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {
        "claim_id",
        "form",
        "beneficiary_id",
        "type_of_bill",
        "billing_provider",
        "diagnosis_codes",
        "referral",
        "lines",
        "sessions",
        "history",
    }
    assert set(schema["required"]) == {
        "claim_id",
        "form",
        "beneficiary_id",
        "billing_provider",
        "lines",
    }
    for name, fields in _design_fields().items():
        sub = schema if name == "Claim" else schema["$defs"][name]
        assert list(sub["properties"]) == fields, name
        assert sub["additionalProperties"] is False, name


def test_json_schema_date_fields_are_formatted_dates() -> None:
    defs = Claim.model_json_schema()["$defs"]

    assert defs["ServiceLine"]["properties"]["service_date"] == {
        "format": "date",
        "title": "Service Date",
        "type": "string",
    }


def test_json_schema_validates_the_base_claim_and_rejects_a_typo() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = Claim.model_json_schema()

    jsonschema.validate(BASE_CLAIM, schema)
    with pytest.raises(jsonschema.ValidationError, match=re.escape("'claim_idd'")):
        jsonschema.validate({**BASE_CLAIM, "claim_idd": "x"}, schema)


def test_every_model_forbids_extra_fields() -> None:
    for model in (Accreditation, Referral, ServiceLine, Session, HistoryEntry, Claim):
        assert model.model_config.get("extra") == "forbid", model.__name__
        assert model.model_config.get("frozen") is True, model.__name__
