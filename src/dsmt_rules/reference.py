"""Reference data: what an 837 or a FHIR Claim does not carry, from the DSMT program's own records.

An X12 837 or a FHIR Claim carries the billing facts but not the session roster, the instructors, the
program's accreditation or the beneficiary's earlier services. The program supplies them as JSON
Lines, one typed record per line (DESIGN.md, "Reference data")::

    {"kind": "provider", "npi": "1234567893", "entity": "hospital_outpatient", "accreditation": {...}}
    {"kind": "session", "session_id": "S1", "date": "2026-02-02", "minutes": 60, "format": "group",
     "attendees": 8, "delivery": "in_person", "instructors": [...], "roster": ["<beneficiary_id>"]}
    {"kind": "referral", "beneficiary_id": "...", "referral_id": "R-77", ...the referral fields...}
    {"kind": "history", "beneficiary_id": "...", "service_date": "2025-11-03", "hcpcs": "G0108",
     "units": 2, "referral_id": "R-77"}

Joins (:meth:`ReferenceData.complete`):

- provider: by the billing NPI; fills the billing provider's ``entity`` and ``accreditation``;
- sessions: a session is its id *and* its date (a weekly class may reuse one id: two records of
  one id on two dates are two sessions; two on one date are an error). A DSMT line's explicit
  ``session_ids`` win: the record of each id on the line's date of service is added to the claim
  (or the only record of that id, whatever its date: DS108 then reports the dates); a line without
  any links the sessions whose roster holds the beneficiary and whose date is the line's date of
  service. When that finds several, the ones whose format fits the code (G0109
  group, G0108 individual) are preferred, and lines of one code and date share out sessions one each
  when the counts match (otherwise every line links them all);
- referral: the claim's referral number (X12 REF*9F, FHIR Claim.referral), else the beneficiary's
  latest referral dated on or before the claim's first date of service; the referring NPI the claim
  carries (X12 NM1*DN) is kept over the record's;
- history: the beneficiary's history records, oldest first.

Reference data fills only what the claim leaves empty; it never overrides the claim. Reference data is
configuration: a bad line raises :class:`ConfigError` with a one-line message naming file and line.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from dsmt_rules.exceptions import ConfigError
from dsmt_rules.findings import Loc
from dsmt_rules.models import (
    Accreditation,
    BillingProvider,
    Claim,
    Entity,
    HistoryEntry,
    Referral,
    ServiceLine,
    Session,
    SessionFormat,
)
from dsmt_rules.records import Record, errors_of

__all__ = [
    "HistoryRecord",
    "ProviderRecord",
    "ReferenceData",
    "ReferenceRecord",
    "ReferralRecord",
    "SessionRecord",
]

_Id = Annotated[str, Field(min_length=1, max_length=64)]
_DEFAULT_CODES = {"individual": "G0108", "group": "G0109"}


class ProviderRecord(BaseModel):
    """A billing provider: what kind of entity it is and its DSMT accreditation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["provider"]
    npi: Annotated[str, Field(min_length=1, max_length=32)]
    entity: Entity | None = None
    accreditation: Accreditation | None = None


class SessionRecord(Session):
    """A session from the attendance sheet, with the beneficiaries who attended it."""

    kind: Literal["session"]
    roster: list[_Id] = Field(default_factory=list)
    """Beneficiary ids of the Medicare attendees (joins lines to the session)."""


class ReferralRecord(Referral):
    """A beneficiary's referral (order) for DSMT."""

    kind: Literal["referral"]
    beneficiary_id: _Id


class HistoryRecord(HistoryEntry):
    """An earlier DSMT or MNT service of a beneficiary."""

    kind: Literal["history"]
    beneficiary_id: _Id


ReferenceRecord = Annotated[
    ProviderRecord | SessionRecord | ReferralRecord | HistoryRecord, Field(discriminator="kind")
]
"""One line of a reference file."""

_RECORD: TypeAdapter[ProviderRecord | SessionRecord | ReferralRecord | HistoryRecord] = TypeAdapter(
    ReferenceRecord
)


def _strip(model: BaseModel, base: type[BaseModel], drop: Collection[str]) -> Any:
    """The base model's part of a reference record (already validated: no second validation)."""
    fields = {k: getattr(model, k) for k in base.model_fields if k not in drop}
    return base.model_construct(_fields_set=model.model_fields_set - set(drop), **fields)


@dataclasses.dataclass(frozen=True, slots=True)
class _Placed:
    """A reference record with where it came from (``file:line``)."""

    where: str
    value: Any


class ReferenceData:
    """Reference records, indexed for the joins. Build with :meth:`load` or :meth:`from_records`."""

    def __init__(self) -> None:
        self._providers: dict[str, _Placed] = {}
        self._sessions: dict[tuple[str, date], _Placed] = {}
        """Session records by id *and* date: a weekly class may reuse one id."""
        self._session_dates: dict[str, list[date]] = defaultdict(list)
        self._roster: dict[tuple[str, date], list[str]] = defaultdict(list)
        self._referrals_by_id: dict[str, list[tuple[str, _Placed]]] = defaultdict(list)
        self._referrals: dict[str, list[_Placed]] = defaultdict(list)
        self._history: dict[str, list[_Placed]] = defaultdict(list)

    # -- building ---------------------------------------------------------------------------------

    @classmethod
    def load(cls, paths: Iterable[str | Path]) -> ReferenceData:
        """Read reference files (JSON Lines); records of all files are joined as one set.

        Raises:
            ConfigError: a file cannot be read, or a line is not a valid reference record.
        """
        data = cls()
        for path in paths:
            p = Path(path)
            try:
                with p.open("rb") as fh:
                    for lineno, raw in enumerate(fh, start=1):
                        data._add_line(raw, f"{p}:{lineno}")
            except OSError as exc:
                raise ConfigError(
                    f"{p}: cannot read the reference file ({exc.strerror or exc})"
                ) from None
        return data

    @classmethod
    def from_records(
        cls, records: Iterable[ReferenceRecord | Mapping[str, Any]], *, origin: str = "reference"
    ) -> ReferenceData:
        """Reference data from Python values (models or dicts); ``origin`` names them in errors."""
        data = cls()
        for i, rec in enumerate(records, start=1):
            where = f"{origin}[{i}]"
            if isinstance(rec, Mapping):
                try:
                    rec = _RECORD.validate_python(rec)
                except ValidationError as exc:
                    raise ConfigError(f"{where}: {_first_error(exc)}") from None
            data._add(rec, where)
        return data

    @property
    def kinds(self) -> frozenset[str]:
        """The facts this reference data supplies (``dsmt_rules.records.FACTS``): one record of a
        kind makes the fact known for every claim; a claim with no record of it is missing it."""
        kinds = set()
        if self._providers:
            kinds.add("accreditation")
        if self._sessions:
            kinds.add("sessions")
        if self._referrals or self._referrals_by_id:
            kinds.add("referral")
        if self._history:
            kinds.add("history")
        return frozenset(kinds)

    def _add_line(self, raw: bytes, where: str) -> None:
        if not raw.strip():
            return
        try:
            rec = _RECORD.validate_json(raw)
        except ValidationError as exc:
            raise ConfigError(f"{where}: {_first_error(exc)}") from None
        self._add(rec, where)

    def _add(
        self, rec: ProviderRecord | SessionRecord | ReferralRecord | HistoryRecord, where: str
    ) -> None:
        if isinstance(rec, ProviderRecord):
            if rec.npi in self._providers:
                first = self._providers[rec.npi].where
                raise ConfigError(f"{where}: a second provider record for one NPI (first: {first})")
            self._providers[rec.npi] = _Placed(where, rec)
        elif isinstance(rec, SessionRecord):
            key = (rec.session_id, rec.date)
            if key in self._sessions:
                first = self._sessions[key].where
                raise ConfigError(
                    f"{where}: session id used twice on one date (first: {first}); a session is "
                    "its id and its date"
                )
            self._sessions[key] = _Placed(where, _strip(rec, Session, ("kind", "roster")))
            self._session_dates[rec.session_id].append(rec.date)
            for member in dict.fromkeys(rec.roster):
                self._roster[(member, rec.date)].append(rec.session_id)
        elif isinstance(rec, ReferralRecord):
            referral = _Placed(where, _strip(rec, Referral, ("kind", "beneficiary_id")))
            if rec.referral_id is not None:
                for member, other in self._referrals_by_id[rec.referral_id]:
                    if member == rec.beneficiary_id:
                        raise ConfigError(
                            f"{where}: referral id used twice for one beneficiary "
                            f"(first: {other.where})"
                        )
                self._referrals_by_id[rec.referral_id].append((rec.beneficiary_id, referral))
            self._referrals[rec.beneficiary_id].append(referral)
        else:
            entry = _strip(rec, HistoryEntry, ("kind", "beneficiary_id"))
            self._history[rec.beneficiary_id].append(_Placed(where, entry))

    # -- joining ----------------------------------------------------------------------------------

    def __len__(self) -> int:
        return (
            len(self._providers)
            + len(self._sessions)
            + sum(len(v) for v in self._referrals.values())
            + sum(len(v) for v in self._history.values())
        )

    def complete(
        self,
        claim: Claim,
        *,
        referral_id: str | None = None,
        referring_npi: str | None = None,
        individual_code: str = _DEFAULT_CODES["individual"],
        group_code: str = _DEFAULT_CODES["group"],
    ) -> Claim:
        """The claim with what it leaves empty filled from the reference data (never overridden).

        ``referral_id`` and ``referring_npi`` are what an adapter read but the claim document has no
        field for (X12 REF*9F and NM1*DN; :attr:`Record.hints`). The codes name the DSMT lines
        that sessions are joined to (a profile's ``individual_code`` / ``group_code``).
        """
        return self._complete(claim, referral_id, referring_npi, individual_code, group_code)[0]

    def apply(
        self,
        record: Record,
        *,
        individual_code: str = _DEFAULT_CODES["individual"],
        group_code: str = _DEFAULT_CODES["group"],
    ) -> Record:
        """Complete a record's claim (see :meth:`complete`), using the adapter's hints.

        The records' input positions gain the reference lines the claim was completed from (a
        finding about an added session names ``file:line`` as its source).
        """
        original = record.claim
        if original is None:
            return record
        if record.unknown:
            record = dataclasses.replace(record, unknown=record.unknown - self.kinds)
        claim, sources = self._complete(
            original,
            record.hints.get("referral_id"),
            record.hints.get("referring_npi"),
            individual_code,
            group_code,
        )
        if claim is record.claim:
            return record
        return dataclasses.replace(record, claim=claim, sources={**record.sources, **sources})

    def _complete(
        self,
        claim: Claim,
        referral_id: str | None,
        referring_npi: str | None,
        individual_code: str,
        group_code: str,
    ) -> tuple[Claim, dict[Loc, str]]:
        update: dict[str, Any] = {}
        sources: dict[Loc, str] = {}
        provider = self._provider(claim.billing_provider, sources)
        if provider is not None:
            update["billing_provider"] = provider
        codes = {individual_code: SessionFormat.INDIVIDUAL, group_code: SessionFormat.GROUP}
        joined = self._join_sessions(claim, codes, sources)
        if joined is not None:
            update["lines"], update["sessions"] = joined
        if claim.referral is None:
            referral = self._referral(claim, referral_id, referring_npi, codes, sources)
            if referral is not None:
                update["referral"] = referral
        if not claim.history:
            history = sorted(
                self._history.get(claim.beneficiary_id, ()), key=lambda p: p.value.service_date
            )
            if history:
                update["history"] = [p.value for p in history]
                sources.update({("history", i): p.where for i, p in enumerate(history)})
        if not update:
            return claim, {}
        return claim.model_copy(update=update), sources

    def _provider(
        self, billing: BillingProvider, sources: dict[Loc, str]
    ) -> BillingProvider | None:
        placed = self._providers.get(billing.npi)
        if placed is None:
            return None
        rec: ProviderRecord = placed.value
        fill: dict[str, Any] = {}
        if billing.entity is None and rec.entity is not None:
            fill["entity"] = rec.entity
            sources[("billing_provider", "entity")] = placed.where
        if billing.accreditation is None and rec.accreditation is not None:
            fill["accreditation"] = rec.accreditation
            sources[("billing_provider", "accreditation")] = placed.where
        return billing.model_copy(update=fill) if fill else None

    def _join_sessions(
        self,
        claim: Claim,
        codes: Mapping[str, SessionFormat],
        sources: dict[Loc, str],
    ) -> tuple[list[ServiceLine], list[Session]] | None:
        sessions = list(claim.sessions)
        have = {(s.session_id, s.date) for s in sessions}
        have_ids = {s.session_id for s in sessions}
        links: dict[int, list[str]] = {}
        wanted: list[tuple[str, date]] = []
        for line in claim.lines:
            for sid in line.session_ids:
                key = self._session_for(sid, line.service_date, have_ids)
                if key is not None and key not in have:
                    wanted.append(key)
        by_code_date: dict[tuple[str, date], list[int]] = defaultdict(list)
        for i, line in enumerate(claim.lines):
            if line.hcpcs in codes and not line.session_ids:
                by_code_date[(line.hcpcs, line.service_date)].append(i)
        for (code, day), indexes in by_code_date.items():
            found = self._roster.get((claim.beneficiary_id, day), [])
            if not found:
                continue
            fitting = [
                sid for sid in found if self._sessions[(sid, day)].value.format is codes[code]
            ]
            chosen = fitting if fitting else found
            if len(indexes) > 1 and len(chosen) == len(indexes):
                for i, sid in zip(indexes, sorted(chosen), strict=True):
                    links[i] = [sid]
            else:
                for i in indexes:
                    links[i] = list(chosen)
            wanted.extend((sid, day) for i in indexes for sid in links[i])
        added = [key for key in dict.fromkeys(wanted) if key not in have and key in self._sessions]
        if not added and not links:
            return None
        for key in added:
            sources[("sessions", len(sessions))] = self._sessions[key].where
            sessions.append(self._sessions[key].value)
        lines = [
            line.model_copy(update={"session_ids": links[i]}) if i in links else line
            for i, line in enumerate(claim.lines)
        ]
        return lines, sessions

    def _session_for(
        self, sid: str, day: date, have_ids: Collection[str]
    ) -> tuple[str, date] | None:
        """The session record a line dated ``day`` links by id: the one of that date, else the only
        one of that id (when the claim has none of that id; DS108 then reports the dates)."""
        if (sid, day) in self._sessions:
            return (sid, day)
        dates = self._session_dates.get(sid, [])
        if len(dates) == 1 and sid not in have_ids:
            return (sid, dates[0])
        return None

    def _referral(
        self,
        claim: Claim,
        referral_id: str | None,
        referring_npi: str | None,
        codes: Mapping[str, SessionFormat],
        sources: dict[Loc, str],
    ) -> Referral | None:
        placed: _Placed | None = None
        if referral_id is not None:
            matches = self._referrals_by_id.get(referral_id, [])
            placed = next((p for member, p in matches if member == claim.beneficiary_id), None)
        else:
            first = _first_date_of_service(claim.lines, codes)
            if first is not None:
                dated = [
                    p
                    for p in self._referrals.get(claim.beneficiary_id, ())
                    if p.value.date <= first
                ]
                if dated:
                    placed = max(dated, key=lambda p: p.value.date)
        if placed is None:
            return None
        sources[("referral",)] = placed.where
        referral: Referral = placed.value
        if referring_npi and referral.practitioner_npi != referring_npi:
            referral = referral.model_copy(update={"practitioner_npi": referring_npi})
        return referral


def _first_date_of_service(lines: Sequence[ServiceLine], codes: Collection[str]) -> date | None:
    dsmt = [line.service_date for line in lines if line.hcpcs in codes]
    dates = dsmt or [line.service_date for line in lines]
    return min(dates) if dates else None


def _first_error(exc: ValidationError) -> str:
    """One line: the first problem's location and message (never the input value)."""
    errors = errors_of(exc)
    if not errors:  # pragma: no cover - pydantic always reports at least one
        return "not a valid reference record"
    kind, where, msg = errors[0]
    if kind == "json_invalid":
        return "not valid JSON"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return 'not a reference record: "kind" must be provider, session, referral or history'
    if not where:
        return "not a reference record (one JSON object per line)"
    loc = ".".join(str(part) for part in where[1:] if part != "kind") or "record"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"invalid reference record: {loc}: {msg}{more}"
