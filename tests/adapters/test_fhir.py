"""The FHIR adapter: R4 Claims (alone, in a Bundle, or NDJSON) to claim documents, FHIRPath sources."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fhir.resources", reason="needs the fhir extra: pip install 'dsmt-rules[fhir]'")

from dsmt_rules import Record, Report, check_records
from dsmt_rules.adapters.fhir import read_records
from dsmt_rules.reference import ReferenceData

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fhir"
BUNDLE = FIXTURES / "dsmt-bundle.json"
REFERENCE = FIXTURES / "dsmt-reference.jsonl"


def _read(data: bytes | Path | dict[str, Any], name: str = "in.json") -> list[Record]:
    if isinstance(data, dict):
        raw = json.dumps(data).encode()
    else:
        raw = data.read_bytes() if isinstance(data, Path) else data
    return list(read_records(io.BufferedReader(io.BytesIO(raw)), name=name))


def _bundle() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(BUNDLE.read_text())
    return data


def _claim(index: int = 6) -> dict[str, Any]:
    """A Claim of the fixture bundle (entry 6 is the clean one), standing alone: its patient and
    provider are logical references (identifiers), as nothing else is there to resolve."""
    resource: dict[str, Any] = copy.deepcopy(_bundle()["entry"][index]["resource"])
    resource["patient"] = {
        "identifier": {"system": "http://hl7.org/fhir/sid/us-mbi", "value": "1EG4TE5MK73"}
    }
    resource["provider"] = {
        "identifier": {"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}
    }
    return resource


def _checked() -> list[Report]:
    reference = ReferenceData.load([REFERENCE])
    records = [reference.apply(r) for r in _read(BUNDLE, "dsmt-bundle.json")]
    return list(check_records(records))


def test_bundle_of_g0109_claims_end_to_end() -> None:
    reports = _checked()
    assert [(r.record, r.claim_id, list(r.codes)) for r in reports] == [
        (1, "F-CLEAN", []),
        (2, "F-DS104", ["DS104"]),
        (3, "F-INST", []),
        (4, "F-BAD", ["DS001"]),
    ]
    ds104 = reports[1].findings[0]
    assert ds104.source == "dsmt-bundle.json Bundle.entry[7].resource.item[0].productOrService"
    assert ds104.message == (
        "Line 1: G0109 billed for a session with 1 attendee; a group needs at least 2 (bill G0108)."
    )
    bad = reports[3].findings[0]
    assert bad.source == "dsmt-bundle.json Bundle.entry[9].resource"
    assert bad.message.startswith(
        "Record 4: not a valid FHIR R4 Claim at Bundle.entry[9].resource.item[0].quantity.value: "
    )


def test_bundle_claim_mapping_and_references() -> None:
    records = _read(BUNDLE, "b.json")
    first = records[0]
    assert first.claim is not None
    assert first.claim.model_dump(mode="json") == {
        "claim_id": "F-CLEAN",  # Claim.identifier[0]
        "form": "professional",
        "beneficiary_id": "1EG4TE5MK73",  # the Patient's MBI, through the Bundle
        "type_of_bill": None,
        "billing_provider": {"npi": "1234567893", "entity": None, "accreditation": None},
        "diagnosis_codes": ["E11.65", "I10"],
        "referral": None,
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
                "session_ids": [],
                "charge": None,  # the item has no net amount
            }
        ],
        "sessions": [],
        "history": [],
    }
    # ServiceRequest identifier (Claim.referral) and the careTeam's referring practitioner
    assert dict(first.hints) == {"referral_id": "R-77", "referring_npi": "1245319599"}
    base = "b.json Bundle.entry[6].resource"
    assert first.source == base
    assert first.sources[("lines", 0)] == f"{base}.item[0]"
    assert first.sources[("diagnosis_codes", 1)] == f"{base}.diagnosis[1]"
    assert first.sources[("billing_provider",)] == f"{base}.provider"


def test_institutional_claim_type_of_bill_and_revenue() -> None:
    record = _read(BUNDLE)[2]
    assert record.claim is not None
    assert record.claim.type_of_bill == "131"  # NUBC 0131 -> 131, as CLM05 sends it
    line = record.claim.lines[0]
    assert (line.revenue_code, line.place_of_service, line.diagnosis_pointers) == (
        "0942",
        None,
        [1],
    )
    assert record.claim.diagnosis_codes == ["E11.9"]
    assert record.sources[("type_of_bill",)] == "in.json Bundle.entry[8].resource.supportingInfo[0]"


def test_diagnosis_without_dot_gets_it() -> None:
    record = _read(BUNDLE)[1]
    assert record.claim is not None
    assert record.claim.diagnosis_codes == ["E11.65"]  # sent as E1165


def test_a_single_claim_resource() -> None:
    (record,) = _read(_claim(), "c.json")
    assert record.claim is not None
    assert record.source == "c.json Claim"
    assert record.claim_id == "F-CLEAN"
    assert record.claim.beneficiary_id == "1EG4TE5MK73"  # Claim.patient.identifier
    assert record.claim.billing_provider.npi == "1234567893"  # Claim.provider.identifier (NPI)
    # the referral's ServiceRequest is not in the input: the reference's id stands for it
    assert dict(record.hints) == {"referral_id": "urn:uuid:servicerequest-r77"}


def test_unresolvable_provider_is_ds001_at_provider() -> None:
    claim = _claim()
    claim["provider"] = {"reference": "Organization/elsewhere"}
    claim["patient"] = {"reference": "Patient/p-1"}
    (record,) = _read(claim, "c.json")
    assert record.claim is None
    assert record.claim_id == "F-CLEAN"
    assert record.problems == (
        (("billing_provider", "npi"), "String should have at least 1 character"),
    )
    (report,) = check_records([record])
    assert report.findings[0].source == "c.json Claim.provider"


def test_contained_resources_resolve() -> None:
    claim = _claim()
    claim["contained"] = [
        {
            "resourceType": "Organization",
            "id": "org",
            "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}],
        }
    ]
    claim["provider"] = {"reference": "#org"}
    (record,) = _read(claim)
    assert record.claim is not None
    assert record.claim.billing_provider.npi == "1234567893"


def test_ndjson_of_claims() -> None:
    lines = [json.dumps(_claim()), "", json.dumps(_claim(7))]
    records = _read("\n".join(lines).encode(), "c.ndjson")
    assert [(r.position, r.claim_id, r.source) for r in records] == [
        (1, "F-CLEAN", "c.ndjson:1 Claim"),
        (2, "F-DS104", "c.ndjson:3 Claim"),
    ]


def test_icd9_coding_is_marked_and_reported() -> None:
    claim = _claim()
    claim["diagnosis"] = [
        {
            "sequence": 1,
            "diagnosisCodeableConcept": {
                "coding": [{"system": "http://hl7.org/fhir/sid/icd-9-cm", "code": "250.00"}]
            },
        }
    ]
    (record,) = _read(claim)
    assert record.claim is not None
    assert record.claim.diagnosis_codes == ["ICD9:25000"]
    (report,) = check_records([record], select=["DS309"])
    assert report.codes == ("DS309",)


def test_diagnosis_sequence_maps_to_positions() -> None:
    claim = _claim()
    claim["diagnosis"] = [
        {"sequence": 7, "diagnosisCodeableConcept": {"coding": [{"code": "I10"}]}},
        {"sequence": 3, "diagnosisCodeableConcept": {"coding": [{"code": "E11.65"}]}},
    ]
    claim["item"][0]["diagnosisSequence"] = [3]
    (record,) = _read(claim)
    assert record.claim is not None
    assert record.claim.diagnosis_codes == ["E11.65", "I10"]  # sequence order
    assert record.claim.lines[0].diagnosis_pointers == [1]


def test_unresolvable_diagnosis_reference_is_ds001() -> None:
    claim = _claim()
    claim["diagnosis"] = [{"sequence": 1, "diagnosisReference": {"reference": "Condition/x"}}]
    (record,) = _read(claim)
    assert record.claim is None
    assert record.problems == (
        (
            ("diagnosis_codes", 0),
            "Claim.diagnosis[0].diagnosisReference: the Condition is not in the input, so its "
            "code is unknown",
        ),
    )


def test_fractional_quantity_is_ds001_at_the_item() -> None:
    claim = _claim()
    claim["item"][0]["quantity"] = {"value": 1.5}
    (record,) = _read(claim, "c.json")
    assert record.claim is None
    assert record.problems == ((("lines", 0, "units"), "Input should be a valid integer"),)
    (report,) = check_records([record])
    assert report.findings[0].source == "c.json Claim.item[0].quantity"


def test_other_claim_types_are_ds001_at_type() -> None:
    claim = _claim()
    claim["type"] = {"coding": [{"code": "pharmacy"}]}
    (record,) = _read(claim, "c.json")
    assert record.claim is None
    assert [loc for loc, _ in record.problems] == [("form",)]
    (report,) = check_records([record])
    assert report.findings[0].source == "c.json Claim.type"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"not json", "not valid JSON: Expecting value (line 1)"),
        (b"[1, 2]", "not a FHIR resource (a JSON object)"),
        (b'{"resourceType": "Patient"}', "not a FHIR Claim or Bundle of Claims (resourceType)"),
        (
            b'{"resourceType": "Bundle", "type": "collection", "entry": []}',
            "the Bundle holds no Claim resource",
        ),
    ],
    ids=["not-json", "array", "patient", "empty-bundle"],
)
def test_input_without_claims_is_one_ds001_record(data: bytes, problem: str) -> None:
    (record,) = _read(data)
    assert (record.position, record.claim, record.problems) == (1, None, (((), problem),))
    (report,) = check_records([record])
    assert report.codes == ("DS001",)


def test_invalid_claim_in_a_bundle_does_not_stop_the_others() -> None:
    bundle = _bundle()
    del bundle["entry"][6]["resource"]["patient"]
    records = _read(bundle)
    assert [(r.claim_id, r.claim is not None) for r in records] == [
        ("F-CLEAN", False),
        ("F-DS104", True),
        ("F-INST", True),
        ("F-BAD", False),
    ]
    assert records[0].problems == (
        ((), "not a valid FHIR R4 Claim at Bundle.entry[6].resource.patient: Field required"),
    )


def test_messages_never_contain_values() -> None:
    claim = _claim()
    claim["item"][0]["quantity"] = {"value": "SECRET-VALUE"}
    (record,) = _read(claim)
    assert "SECRET-VALUE" not in repr(record.problems)


def test_import_dsmt_rules_does_not_import_fhir() -> None:
    import subprocess
    import sys

    code = "import sys, dsmt_rules, dsmt_rules.reference; print('fhir' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cli_checks_the_bundle_with_reference_data(capsys: pytest.CaptureFixture[str]) -> None:
    from dsmt_rules.cli import main

    args = ["check", str(BUNDLE), "--reference", str(REFERENCE), "--format", "jsonl"]
    status = main([*args, "--no-progress"])
    reports = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert status == 1
    assert [(r["claim_id"], [f["code"] for f in r["findings"]]) for r in reports] == [
        ("F-CLEAN", []),
        ("F-DS104", ["DS104"]),
        ("F-INST", []),
        ("F-BAD", ["DS001"]),
    ]
    assert reports[1]["findings"][0]["source"] == (
        f"{BUNDLE} Bundle.entry[7].resource.item[0].productOrService"
    )


def test_an_integer_of_thousands_of_digits_is_ds001_on_its_claim_only() -> None:
    """``json.loads`` raises ValueError (not JSONDecodeError) on more than 4,300 digits: that
    ended the input with DS005 and lost every claim of the bundle."""
    bundle = _bundle()
    text = json.dumps(bundle)
    entry = bundle["entry"][6]["resource"]
    entry["item"][0]["quantity"]["value"] = 123456.25  # a marker, replaced by the huge number
    marked = json.dumps(bundle).replace("123456.25", "9" * 5000, 1)
    assert "9" * 5000 in marked
    records = _read(marked.encode())
    expected = [(r.position, r.claim_id, r.claim is not None) for r in _read(text.encode())]
    got = [(r.position, r.claim_id, r.claim is not None) for r in records]
    assert got[1:] == expected[1:]  # the other claims of the bundle are read as before
    assert got[0] == (1, "F-CLEAN", False)
    assert [loc for loc, _ in records[0].problems][:1] == [("lines", 0, "units")]
