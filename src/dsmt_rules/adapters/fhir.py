"""FHIR R4 Claim input, validated with fhir.resources' R4B models (extra ``dsmt-rules[fhir]``).

:func:`read_records` reads a Claim resource, a Bundle whose entries hold Claims (other entries —
Patient, Organization, Practitioner, ServiceRequest, Condition — are used to resolve references), or
NDJSON with one such resource per line. It yields one :class:`~dsmt_rules.records.Record` per Claim,
in input order. A Claim that fhir.resources rejects, or whose content does not fit the claim
document, is a record with DS001 problems; a document that holds no Claim at all is one such
record. ``source`` is the input name and a FHIRPath expression: ``claims.json
Bundle.entry[2].resource.item[0]`` (docs/formats.md has the mapping).

Adapters only translate: nothing here judges a claim. Problems name FHIR paths and what is wrong,
never the values (a Claim is full of PHI).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import IO, Any

from pydantic import ValidationError

from dsmt_rules._codes import icd10_dotted
from dsmt_rules.exceptions import AdapterError
from dsmt_rules.findings import Loc
from dsmt_rules.models import Claim
from dsmt_rules.records import (
    NOT_ON_CLAIMS,
    Problem,
    Record,
    failure_of,
    load_json,
    problems_of,
)

try:
    from fhir.resources.R4B import get_fhir_model_class
    from fhir.resources.R4B.claim import Claim as FhirClaim
except ImportError as _exc:  # pragma: no cover - depends on the environment
    raise AdapterError("FHIR input needs fhir.resources: pip install 'dsmt-rules[fhir]'") from _exc

__all__ = ["read_records"]

NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
MBI_SYSTEM = "http://hl7.org/fhir/sid/us-mbi"
ICD10_SYSTEMS = frozenset({"http://hl7.org/fhir/sid/icd-10-cm", "http://hl7.org/fhir/sid/icd-10"})
ICD9_SYSTEMS = frozenset({"http://hl7.org/fhir/sid/icd-9-cm"})
HCPCS_SYSTEMS = frozenset(
    {
        "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
        "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
        "http://www.ama-assn.org/go/cpt",
        "urn:oid:2.16.840.1.113883.6.285",
    }
)
_MAX_BYTES = 256 * 1024 * 1024


@dataclasses.dataclass(frozen=True, slots=True)
class _Resource:
    """A resource of the input, where it is, and its JSON object."""

    path: str
    data: Mapping[str, Any]


class _Index:
    """The resources a Claim's references can point to: Bundle entries (by fullUrl and by
    ``Type/id``) and the Claim's contained resources (``#id``)."""

    def __init__(self, entries: Sequence[_Resource]) -> None:
        self.by_ref: dict[str, _Resource] = {}
        for res in entries:
            rtype, rid = res.data.get("resourceType"), res.data.get("id")
            if isinstance(rtype, str) and isinstance(rid, str):
                self.by_ref.setdefault(f"{rtype}/{rid}", res)
            url = res.data.get("_fullUrl")
            if isinstance(url, str):
                self.by_ref.setdefault(url, res)

    def resolve(self, reference: Any, claim: _Resource) -> Any:
        """The validated model of the resource a Reference points to, or None."""
        ref = getattr(reference, "reference", None)
        if not isinstance(ref, str):
            return None
        found: _Resource | None = None
        if ref.startswith("#"):
            for k, inner in enumerate(claim.data.get("contained") or []):
                if isinstance(inner, Mapping) and inner.get("id") == ref[1:]:
                    found = _Resource(f"{claim.path}.contained[{k}]", inner)
                    break
        else:
            found = self.by_ref.get(ref) or self.by_ref.get("/".join(ref.split("/")[-2:]))
        if found is None:
            return None
        return _model(found.data)


def _model(data: Mapping[str, Any]) -> Any:
    rtype = data.get("resourceType")
    if not isinstance(rtype, str):
        return None
    try:
        cls = get_fhir_model_class(rtype)
        return cls.model_validate({k: v for k, v in data.items() if k != "_fullUrl"})
    except (ValueError, ValidationError):
        return None


# --- reading the input ---------------------------------------------------------------------------


def read_records(stream: IO[bytes] | IO[str], *, name: str = "-") -> Iterator[Record]:
    """Yield one record per FHIR Claim in a JSON document (Claim or Bundle) or NDJSON stream.

    ``name`` (the file name, ``-`` for stdin) starts every ``source``.
    """
    raw = stream.read(_MAX_BYTES + 1)
    data = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    if len(data) > _MAX_BYTES:
        yield Record(1, None, (((), "FHIR input too large; split it or use NDJSON"),), None, name)
        return
    data = data.lstrip("\ufeff")
    try:
        documents: list[tuple[str, Any]] = [("", load_json(data))]
    except json.JSONDecodeError as exc:
        documents = _ndjson(data, exc)
    except RecursionError:
        documents = [("", _Unreadable(_TOO_DEEP))]
    position = 0
    for prefix, document in documents:
        for record in _records(document, f"{name}{prefix}"):
            position += 1
            yield dataclasses.replace(record, position=position)


def _ndjson(data: str, first: json.JSONDecodeError) -> list[tuple[str, Any]]:
    """NDJSON: one resource per line. A document that is neither yields one unreadable record."""
    if first.msg != "Extra data":
        return [("", _Unreadable(f"not valid JSON: {first.msg} (line {first.lineno})"))]
    out: list[tuple[str, Any]] = []
    for lineno, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append((f":{lineno}", load_json(line)))
        except json.JSONDecodeError as exc:
            out.append((f":{lineno}", _Unreadable(f"not valid JSON: {exc.msg}")))
        except RecursionError:
            out.append((f":{lineno}", _Unreadable(_TOO_DEEP)))
    return out


_TOO_DEEP = "not valid JSON: nested too deeply to read"


@dataclasses.dataclass(frozen=True, slots=True)
class _Unreadable:
    problem: str


def _records(document: Any, name: str) -> Iterator[Record]:
    if isinstance(document, _Unreadable):
        yield Record(1, None, (((), document.problem),), None, name)
        return
    if not isinstance(document, Mapping):
        yield Record(1, None, (((), "not a FHIR resource (a JSON object)"),), None, name)
        return
    rtype = document.get("resourceType")
    if rtype == "Claim":
        claim = _Resource("Claim", document)
        yield _claim_record(claim, _Index([claim]), name)
        return
    if rtype != "Bundle":
        yield Record(
            1, None, (((), "not a FHIR Claim or Bundle of Claims (resourceType)"),), None, name
        )
        return
    entries: list[_Resource] = []
    raw_entries = document.get("entry")
    for i, entry in enumerate(raw_entries if isinstance(raw_entries, list) else []):
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if isinstance(resource, Mapping):
            data = dict(resource)
            if isinstance(entry.get("fullUrl"), str):
                data["_fullUrl"] = entry["fullUrl"]
            entries.append(_Resource(f"Bundle.entry[{i}].resource", data))
    claims = [res for res in entries if res.data.get("resourceType") == "Claim"]
    if not claims:
        yield Record(1, None, (((), "the Bundle holds no Claim resource"),), None, f"{name} Bundle")
        return
    index = _Index(entries)
    for claim in claims:
        yield _claim_record(claim, index, name)


# --- one Claim -----------------------------------------------------------------------------------


def _claim_record(res: _Resource, index: _Index, name: str) -> Record:
    data = {k: v for k, v in res.data.items() if k != "_fullUrl"}
    source = f"{name} {res.path}"
    claim_id = _id_of(data)
    try:
        fhir = FhirClaim.model_validate(data)
    except ValidationError as exc:
        return Record(1, None, _fhir_problems(exc, res.path), claim_id, source)
    try:
        document, sources, hints, problems = _Mapper(fhir, res, index).document()
    except Exception as exc:  # the guard: a defect of our mapping is DS005 on this Claim
        failure = failure_of("mapping the FHIR Claim", exc)
        return Record(1, None, (), claim_id, source, failure=failure)
    where = {loc: f"{name} {path}" for loc, path in sources.items()}
    if problems:
        return Record(1, None, problems, claim_id, source, sources=where, hints=hints)
    try:
        claim = Claim.model_validate(document)
    except ValidationError as exc:
        return Record(1, None, problems_of(exc), claim_id, source, sources=where, hints=hints)
    return Record(
        1,
        claim,
        (),
        claim.claim_id,
        source,
        sources=where,
        hints=hints,
        unknown=NOT_ON_CLAIMS,
        format="FHIR",
    )


def _id_of(data: Mapping[str, Any]) -> str | None:
    identifiers = data.get("identifier")
    if isinstance(identifiers, list):
        for ident in identifiers:
            value = ident.get("value") if isinstance(ident, Mapping) else None
            if isinstance(value, str) and 0 < len(value) <= 64:
                return value
    rid = data.get("id")
    return rid if isinstance(rid, str) and 0 < len(rid) <= 64 else None


def _fhirpath(base: str, loc: Sequence[Any]) -> str:
    path = base
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif isinstance(part, str) and not part.startswith(("function-", "union[")):
            path += f".{part}"
    return path


def _fhir_problems(exc: ValidationError, base: str) -> tuple[Problem, ...]:
    return tuple(
        ((), f"not a valid FHIR R4 Claim at {_fhirpath(base, loc)}: {msg.rstrip('.')}")
        for loc, msg in problems_of(exc)
    )


def _codes(concept: Any) -> list[tuple[str | None, str]]:
    """(system, code) of a CodeableConcept's codings that have a code."""
    out: list[tuple[str | None, str]] = []
    for coding in getattr(concept, "coding", None) or []:
        if coding.code:
            out.append((coding.system, str(coding.code).strip()))
    return out


def _first_code(concept: Any, systems: frozenset[str] | None = None) -> str | None:
    codes = _codes(concept)
    if systems is not None:
        for system, code in codes:
            if system in systems:
                return code
    return codes[0][1] if codes else None


def _npi_of(identifiers: Any) -> str | None:
    idents = identifiers if isinstance(identifiers, list) else [identifiers]
    for ident in idents:
        if ident is not None and ident.system == NPI_SYSTEM and ident.value:
            return str(ident.value)
    return None


def _charge(money: Any) -> str | None:
    """Claim.item.net (Money) as the decimal string of ``ServiceLine.charge`` (None: not given)."""
    value = getattr(money, "value", None)
    if isinstance(value, Decimal | int | float):
        number = Decimal(str(value))
        if number.is_finite() and number >= 0:
            return f"{number:.2f}"
    return None


def _units(quantity: Any) -> Any:
    """Claim.item.quantity.value: a whole number is the line's units; anything else (a fraction,
    or more digits than an 837's quantity holds, 15) is kept as text, for DS001."""
    value = getattr(quantity, "value", None)
    if isinstance(value, Decimal | int | float):
        number = Decimal(str(value))
        if number and number.adjusted() >= _UNITS_DIGITS:
            return str(value)
        return int(number) if number == number.to_integral_value() else float(number)
    return None


_UNITS_DIGITS = 15
"""At most 15 digits, as in an 837 (SV104 and SV205 are R 1/15)."""


class _Mapper:
    """One validated FHIR Claim to the claim document (docs/formats.md, "FHIR")."""

    def __init__(self, fhir: Any, res: _Resource, index: _Index) -> None:
        self.fhir = fhir
        self.res = res
        self.index = index
        self.base = res.path
        self.sources: dict[Loc, str] = {}
        self.problems: list[Problem] = []

    def at(self, loc: Loc, suffix: str) -> None:
        self.sources[loc] = f"{self.base}{suffix}"

    def resolve(self, reference: Any) -> Any:
        return self.index.resolve(reference, self.res)

    def document(
        self,
    ) -> tuple[dict[str, Any], dict[Loc, str], dict[str, str], tuple[Problem, ...]]:
        c = self.fhir
        claim_id = None
        if c.identifier:
            claim_id = c.identifier[0].value
            self.at(("claim_id",), ".identifier[0]")
        if not claim_id:
            claim_id = c.id
            self.at(("claim_id",), ".id")
        form = _first_code(c.type)
        self.at(("form",), ".type")
        diagnoses, positions = self._diagnoses()
        document: dict[str, Any] = {
            "claim_id": claim_id,
            "form": form,
            "beneficiary_id": self._beneficiary(),
            "type_of_bill": self._type_of_bill() if form == "institutional" else None,
            "billing_provider": {"npi": self._provider_npi() or ""},
            "diagnosis_codes": diagnoses,
            "referral": None,
            "lines": self._lines(positions, institutional=form == "institutional"),
        }
        hints = self._hints()
        return document, self.sources, hints, tuple(self.problems)

    def _beneficiary(self) -> str:
        self.at(("beneficiary_id",), ".patient")
        patient = self.fhir.patient
        if patient is None:
            return ""
        if patient.identifier is not None and patient.identifier.value:
            return str(patient.identifier.value)
        resolved = self.resolve(patient)
        if resolved is not None and getattr(resolved, "identifier", None):
            idents = resolved.identifier
            mbi = next((i.value for i in idents if i.system == MBI_SYSTEM and i.value), None)
            first = next((i.value for i in idents if i.value), None)
            if mbi or first:
                return str(mbi or first)
        ref = patient.reference or ""
        return ref.rsplit("/", 1)[-1] if ref else ""

    def _provider_npi(self) -> str | None:
        self.at(("billing_provider",), ".provider")
        provider = self.fhir.provider
        if provider is None:
            return None
        npi = _npi_of(provider.identifier) if provider.identifier is not None else None
        if npi is None:
            resolved = self.resolve(provider)
            if resolved is not None:
                npi = _npi_of(getattr(resolved, "identifier", None) or [])
        return npi

    def _type_of_bill(self) -> str | None:
        for k, info in enumerate(self.fhir.supportingInfo or []):
            if any(code == "typeofbill" for _s, code in _codes(info.category)):
                self.at(("type_of_bill",), f".supportingInfo[{k}]")
                code = _first_code(info.code)
                if code and len(code) == 4 and code.startswith("0"):
                    code = code[1:]  # NUBC writes 0131 on the UB-04; the 837 sends 13 + 1
                return code
        return None

    def _diagnoses(self) -> tuple[list[str], dict[int, int]]:
        """Codes in sequence order, and diagnosis sequence number -> 1-based position."""
        ordered = sorted(
            enumerate(self.fhir.diagnosis or []), key=lambda pair: (pair[1].sequence or 0, pair[0])
        )
        codes: list[str] = []
        positions: dict[int, int] = {}
        for j, (k, diag) in enumerate(ordered):
            self.at(("diagnosis_codes", j), f".diagnosis[{k}]")
            positions[diag.sequence] = j + 1
            concept = diag.diagnosisCodeableConcept
            if concept is None and diag.diagnosisReference is not None:
                condition = self.resolve(diag.diagnosisReference)
                concept = getattr(condition, "code", None)
                if concept is None:
                    self.problems.append(
                        (
                            ("diagnosis_codes", j),
                            f"{self.base}.diagnosis[{k}].diagnosisReference: the Condition is not "
                            "in the input, so its code is unknown",
                        )
                    )
            codes.append(_diagnosis_code(concept))
        return codes, positions

    def _care_team_npi(self, sequences: Sequence[int]) -> str | None:
        for member in self.fhir.careTeam or []:
            provider = member.provider
            if member.sequence in sequences and provider is not None:
                npi = _npi_of(provider.identifier) if provider.identifier else None
                if npi is None:
                    npi = _npi_of(getattr(self.resolve(provider), "identifier", None) or [])
                if npi is not None:
                    return npi
        return None

    def _lines(self, positions: Mapping[int, int], *, institutional: bool) -> list[dict[str, Any]]:
        lines: list[dict[str, Any]] = []
        all_pointers = list(range(1, min(len(positions), 12) + 1))
        for i, item in enumerate(self.fhir.item or []):
            self.at(("lines", i), f".item[{i}]")
            self.at(("lines", i, "units"), f".item[{i}].quantity")
            self.at(("lines", i, "hcpcs"), f".item[{i}].productOrService")
            date: Any = item.servicedDate
            if date is None and item.servicedPeriod is not None and item.servicedPeriod.start:
                start = item.servicedPeriod.start
                date = start.date() if isinstance(start, dt.datetime) else start
                self.at(("lines", i, "service_date"), f".item[{i}].servicedPeriod.start")
            else:
                self.at(("lines", i, "service_date"), f".item[{i}].servicedDate")
            pointers = [positions.get(s, s) for s in item.diagnosisSequence or []]
            if institutional and not pointers:
                pointers = all_pointers
            pos = None
            if not institutional and item.locationCodeableConcept is not None:
                pos = _first_code(item.locationCodeableConcept)
                self.at(("lines", i, "place_of_service"), f".item[{i}].locationCodeableConcept")
            hcpcs = _first_code(item.productOrService, HCPCS_SYSTEMS)
            lines.append(
                {
                    "line_id": str(item.sequence if item.sequence is not None else i + 1),
                    "hcpcs": hcpcs.upper() if hcpcs else hcpcs,
                    "modifiers": [
                        code.upper() for m in item.modifier or [] if (code := _first_code(m))
                    ],
                    "units": _units(item.quantity),
                    "service_date": date,
                    "place_of_service": pos,
                    "revenue_code": _first_code(item.revenue) if institutional else None,
                    "diagnosis_pointers": pointers,
                    "rendering_npi": self._care_team_npi(item.careTeamSequence or []),
                    "session_ids": [],
                    "charge": _charge(item.net),
                }
            )
        return lines

    def _hints(self) -> dict[str, str]:
        hints: dict[str, str] = {}
        referral = self.fhir.referral
        request = None
        if referral is not None:
            self.at(("referral",), ".referral")
            request = self.resolve(referral)
            rid = None
            if referral.identifier is not None and referral.identifier.value:
                rid = referral.identifier.value
            elif request is not None and getattr(request, "identifier", None):
                rid = next((i.value for i in request.identifier if i.value), None)
            elif referral.reference:
                rid = referral.reference.rsplit("/", 1)[-1]
            if rid:
                hints["referral_id"] = str(rid)
        referring = None
        for member in self.fhir.careTeam or []:
            if any(code == "referring" for _s, code in _codes(member.role)):
                referring = self._care_team_npi([member.sequence])
                break
        if referring is None and request is not None and getattr(request, "requester", None):
            requester = request.requester
            referring = _npi_of(requester.identifier) if requester.identifier else None
            if referring is None:
                referring = _npi_of(getattr(self.resolve(requester), "identifier", None) or [])
        if referring:
            hints["referring_npi"] = referring
        return hints


def _diagnosis_code(concept: Any) -> str:
    """An ICD-10-CM code with its dot; an ICD-9 code marked ``ICD9:`` (DS309 reports it)."""
    for system, code in _codes(concept):
        if system in ICD9_SYSTEMS:
            return f"ICD9:{code.replace('.', '').upper()}"
        if system in ICD10_SYSTEMS:
            return icd10_dotted(code)
    codes = _codes(concept)
    return icd10_dotted(codes[0][1]) if codes else ""
