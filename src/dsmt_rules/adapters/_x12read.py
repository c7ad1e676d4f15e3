"""The X12 adapter's mapping and its default reader (:mod:`dsmt_rules.adapters.x12` is the API).

:class:`_Mapper` maps the segments of each claim to the claim document and files errors with the
records they are reported on; both readers use it. :class:`_ScanReader` is the default reader: the
segments of :class:`~dsmt_rules.adapters._x12scan.Scanner`, their loops from
:class:`~dsmt_rules.adapters._x12scan.Loops`, and the envelope checked as it reads.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import IO, Any, NamedTuple

from pydantic import ValidationError

from dsmt_rules._codes import icd10_dotted
from dsmt_rules.adapters._x12scan import Loops, Scan, Scanner, Segment
from dsmt_rules.findings import Loc
from dsmt_rules.models import Claim, ClaimForm
from dsmt_rules.records import NO_CLAIM, NOT_ON_CLAIMS, Record, StructureProblem, problems_of

_ISA13 = re.compile(r"[0-9]{9}")
"""An interchange control number as X12 writes it (shown in sources only when it looks like one)."""
_ST02 = re.compile(r"[0-9A-Za-z]{4,9}")
"""A transaction set control number as X12 writes it."""

__all__ = ["SUPPORTED_VERSIONS", "read_default"]

SUPPORTED_VERSIONS: Mapping[str, tuple[str, ClaimForm]] = {
    "005010X222A1": ("005010X222A1", ClaimForm.PROFESSIONAL),
    "005010X222A2": ("005010X222A1", ClaimForm.PROFESSIONAL),
    "005010X223A2": ("005010X223A2", ClaimForm.INSTITUTIONAL),
    "005010X223A3": ("005010X223A2", ClaimForm.INSTITUTIONAL),
}
"""GS08 / ST03 versions read, with the pyx12 map version each is validated with, and the form."""

_ICD10 = {"ABK", "ABF"}
_ICD9 = {"BK", "BF"}
_CHARGE = re.compile(r"\d{1,10}(?:\.\d{1,4})?")
_HI_REFS = tuple((f"HI{i:02d}-1", f"HI{i:02d}-2") for i in range(1, 100))
_SV101_MODIFIERS = tuple(f"SV101-{k}" for k in range(3, 7))
_SV202_MODIFIERS = tuple(f"SV202-{k}" for k in range(3, 7))
_SV107_POINTERS = tuple(f"SV107-{k}" for k in range(1, 5))

# --- errors and positions ------------------------------------------------------------------------


class _Where(NamedTuple):
    """Where an error was found: envelope ids, the segment, its loop and position."""

    isa13: str | None
    gs06: str | None
    st02: str | None
    seg_id: str
    loop: str | None
    seg_pos: int | None
    """Position in the transaction set (ST is 1), as in a 999 acknowledgment; None outside one."""
    file_seg: int
    """Position in the file (ISA is 1)."""


@dataclasses.dataclass(slots=True)
class _Error:
    where: _Where
    problem: str
    line_id: str | None = None


_SEG_TEXT = {
    "1": "segment {seg} is not expected at this position",
    "2": "segment {seg} is not used in this implementation guide",
    "3": "a mandatory segment or loop is missing",
    "4": "a loop repeats more often than allowed",
    "5": "segment {seg} repeats more often than allowed",
    "6": "segment {seg} is not in the transaction set",
    "7": "segment {seg} is out of order",
    "8": "segment {seg} has data element errors",
    "HL1": "HL01 does not number the hierarchical levels 1, 2, 3 in order",
    "HL2": "HL02 names a parent level that does not exist",
    "LX": "LX01 does not number the claim's service lines 1, 2, 3 in order",
    "SEG1": "segment {seg} ends with empty elements (trailing separators)",
}
_SEG_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}")


def _seg_label(seg_id: str | None) -> str:
    return seg_id if seg_id and _SEG_ID.fullmatch(seg_id) else "(unrecognized)"


def _control_number(st02: str) -> bool:
    """Whether ST02 looks like a transaction set control number (4 to 9 letters or digits) and
    not like a date (CCYYMMDD: a birth date a mangled file moved there is PHI)."""
    if not _ST02.fullmatch(st02):
        return False
    if len(st02) == 8 and st02.isdigit() and st02[:2] in ("18", "19", "20"):
        try:
            dt.date(int(st02[:4]), int(st02[4:6]), int(st02[6:]))
        except ValueError:
            return True
        return False
    return True


def _stated(said: str, counted: int) -> str:
    """A count an envelope trailer states (SE01, GE01, IEA01), for a message: shown only when it
    is a number near the true count (a mangled file can hold any value there: a birth date, a
    ZIP code), else ``(a value that is not a count)``."""
    if said.isascii() and said.isdigit() and len(said) <= 10 and int(said) <= 2 * counted + 10:
        return said
    return "(a value that is not a count)"


def _set_id(value: str) -> str:
    """ST01 for a message: a transaction set identifier is three digits (837, 835, 999)."""
    return value if re.fullmatch(r"[0-9]{3}", value) else "(unreadable)"


def _claims(n: int) -> str:
    return f"{n} claim" if n == 1 else f"{n} claims"


# --- what the 837 says about one claim -----------------------------------------------------------


_At = tuple[str, int]
"""A segment's loop and position in its transaction set."""


@dataclasses.dataclass(slots=True)
class _Line:
    lx: str | None
    at: _At
    service_at: _At | None = None
    hcpcs: str | None = None
    modifiers: list[str] = dataclasses.field(default_factory=list)
    units: Any = None
    place_of_service: str | None = None
    revenue_code: str | None = None
    pointers: list[Any] = dataclasses.field(default_factory=list)
    date: Any = None
    date_at: _At | None = None
    rendering: str | None = None
    rendering_at: _At | None = None
    referring: str | None = None
    referral_id: str | None = None
    charge: str | None = None


@dataclasses.dataclass(slots=True)
class _Party:
    """Billing provider, subscriber or patient: what a 2000A/2000B/2000C level says."""

    at: _At | None = None
    id: str | None = None
    last: str = ""
    first: str = ""
    birth_date: str = ""


@dataclasses.dataclass(slots=True)
class _ClaimDraft:
    clm01: str | None
    at: _At
    isa13: str | None
    st02: str | None
    form: ClaimForm
    billing: _Party
    subscriber: _Party
    patient: _Party | None
    facility: str | None = None
    frequency: str | None = None
    diagnoses: list[tuple[str, _At]] = dataclasses.field(default_factory=list)
    claim_date: Any = None
    statement_date: Any = None
    referral_id: str | None = None
    referral_at: _At | None = None
    referring: str | None = None
    referring_at: _At | None = None
    rendering: str | None = None
    lines: list[_Line] = dataclasses.field(default_factory=list)
    errors: list[_Error] = dataclasses.field(default_factory=list)

    @property
    def pos(self) -> int:
        return self.at[1]


@dataclasses.dataclass(slots=True)
class _Transaction:
    st02: str | None
    form: ClaimForm
    claims: int = 0
    """Claims read so far."""
    held: _ClaimDraft | None = None
    """The last claim read: its record waits for the next claim or the trailer (SE)."""
    errors: list[_Error] = dataclasses.field(default_factory=list)
    """Errors of the whole transaction set (header, trailer): reported once, on its first claim
    (what is known when that claim is reported) or its last (what is found after it)."""
    pending: list[_Error] = dataclasses.field(default_factory=list)
    """Errors in the hierarchical levels since the last claim: reported on the next claim."""


def _v(seg: Any, ref: str) -> str:
    """An element's value, '' when absent (pyx12 Segment.get_value)."""
    if type(seg) is Segment:
        return seg.value(ref)
    value = seg.get_value(ref)
    return value.strip() if isinstance(value, str) else ""


def _date(value: str) -> Any:
    """D8 ``CCYYMMDD`` (or the start of an RD8 range) as a date; the raw text when not a date."""
    text = value.split("-", 1)[0]
    if (
        len(text) == 8 and text.isascii() and text.isdigit()
    ):  # the usual CCYYMMDD, without strptime's cost
        try:
            return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            return value
    try:
        return dt.datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        return value or None


def _quantity(value: str) -> Any:
    """SV104 / SV205 quantity: whole numbers become ints; anything else stays as read (for DS001),
    a number of more than the 15 digits the element holds (R 1/15) included."""
    try:
        number = Decimal(value)
    except InvalidOperation:
        return value or None
    if not number.is_finite() or (number and number.adjusted() >= _QUANTITY_DIGITS):
        return value
    if number == number.to_integral_value():
        return int(number)
    return float(number)


_QUANTITY_DIGITS = 15
"""SV104 and SV205 are R 1/15: at most 15 digits."""


def _npi(seg: Any) -> str | None:
    """NM109 when NM108 says it is an NPI (XX)."""
    return _v(seg, "NM109") or None if _v(seg, "NM108") == "XX" else None


def _charge(value: str) -> str | None:
    """SV102 / SV203 (a monetary amount) as the decimal string of ``ServiceLine.charge``; an
    amount the field cannot hold (negative, too many digits) is kept as read, for DS001."""
    if not value or _CHARGE.fullmatch(value):
        return value or None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return value
    text = f"{number:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text if _CHARGE.fullmatch(text) else value


_GS01 = re.compile(r"[A-Z]{2}")
_GS08 = re.compile(r"\d{6}(?:X\d{3}(?:[A-Z]\d)?)?")
"""What GS01 and GS08 look like (an X12 version, 005010X222A1): only such values are named."""


def _group_problem(fic: str, version: str) -> str:
    fic = fic if _GS01.fullmatch(fic) else "(unreadable)"
    version = version if _GS08.fullmatch(version) else "(unreadable)"
    return (
        f"functional group GS01={fic} GS08={version} is not an 837P "
        "(005010X222A1/A2) or 837I (005010X223A2/A3) claim group; its transaction sets "
        "were not read"
    )


class _Mapper:
    """What both readers share: the claim drafts of one pass, their mapping from segments, and the
    filing of errors with the records they are reported on (docs/formats.md, "Structural errors").

    A reader calls :meth:`_map` for each segment placed in a loop, :meth:`_add_error` for each
    error, and the envelope methods (``_start_transaction``, ``_finish_transaction``,
    ``_end_group``, ``_end_interchange``); the finished records collect in ``out``.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.position = 0
        self.out: list[Record] = []
        self.isa13: str | None = None
        self.gs06: str | None = None
        self.form: ClaimForm | None = None
        self.txn: _Transaction | None = None
        self.claim: _ClaimDraft | None = None
        self.line: _Line | None = None
        self.billing = _Party()
        self.subscriber = _Party()
        self.patient: _Party | None = None
        self.isa_errors: list[_Error] = []
        self.isa_reported = False
        self.gs_errors: list[_Error] = []
        self.gs_reported = False
        self.loose: list[_Error] = []
        """Errors with no claim to report on, flushed as a record of their own."""

    def _drain(self) -> list[Record]:
        out, self.out = self.out, []
        return out

    # -- envelopes --------------------------------------------------------------------------------

    def _start_transaction(self, st02: str | None) -> None:
        self.txn = _Transaction(st02, self.form or ClaimForm.PROFESSIONAL)
        self.claim = None
        self.line = None
        self.billing = _Party()
        self.subscriber = _Party()
        self.patient = None

    def _finish_transaction(self) -> None:
        self._close_claim()
        txn = self.txn
        if txn is None:
            return
        self.txn = None
        held, txn.held = txn.held, None
        if held is not None:
            held.errors.extend(txn.pending)
            self._emit(txn, held, last=True)
            return
        errors = [*txn.errors, *txn.pending]
        if errors:
            header = self._envelope_errors("")
            self._loose_record([*header, *errors])

    def _end_group(self) -> None:
        self._finish_transaction()
        if self.gs_errors and not self.gs_reported:
            self.loose[:0] = self.gs_errors
        self.gs_errors = []
        self.gs_reported = False
        self.gs06 = None

    def _end_interchange(self) -> None:
        self._end_group()
        if self.isa_errors and not self.isa_reported:
            self.loose[:0] = self.isa_errors
        self.isa_errors = []
        self.isa_reported = False
        if self.loose:
            errors, self.loose = self.loose, []
            self._loose_record(errors)

    def _add_error(self, err: _Error, *, scope: str = "claim") -> None:
        """File an error with the claim it concerns (docs/formats.md, "Structural errors").

        In a claim: that claim. In a 2000A/2000B/2000C level before a claim: the next claim (those
        loops are its provider, subscriber and patient), else the transaction set's last claim.
        In the header or trailer of a transaction set: once, on its first claim (or the last, for
        what is found after the first was reported). Else on its own.
        """
        if scope == "claim" and self.claim is not None:
            err.line_id = self.line.lx if self.line is not None else None
            self.claim.errors.append(err)
        elif self.txn is None:
            self.loose.append(err)
        elif scope == "claim" and (err.where.loop or "").startswith("2"):
            self.txn.pending.append(err)
        else:
            self.txn.errors.append(err)

    # -- records ----------------------------------------------------------------------------------

    def _envelope_errors(self, note: str) -> list[_Error]:
        """The ISA and GS errors not yet reported (each is reported once), marked with ``note``."""
        out: list[_Error] = []
        if self.isa_errors and not self.isa_reported:
            out.extend(_once(e, f"{note}interchange") if note else e for e in self.isa_errors)
        if self.gs_errors and not self.gs_reported:
            out.extend(_once(e, f"{note}functional group") if note else e for e in self.gs_errors)
        self.isa_reported = self.isa_reported or bool(self.isa_errors)
        self.gs_reported = self.gs_reported or bool(self.gs_errors)
        return out

    def _emit(self, txn: _Transaction, draft: _ClaimDraft, *, last: bool) -> None:
        errors = self._envelope_errors("reported once, on this first claim of the ")
        if txn.errors:
            if last:
                scope = f"reported once, for the {_claims(txn.claims)} of the transaction set"
            else:
                scope = "reported once, on this first claim of the transaction set"
            errors.extend(_once(e, scope) for e in txn.errors)
            txn.errors = []
        errors.extend(draft.errors)
        self._claim_record(draft, errors)

    def _loose_record(self, errors: list[_Error]) -> None:
        self.position += 1
        errors.sort(key=lambda e: e.where.file_seg)
        structure = tuple(self._problem(e, None) for e in errors)
        source = structure[0].source if structure else self.name
        self.out.append(Record(self.position, None, (), None, source, structure=structure))

    def _problem(self, err: _Error, clm01: str | None) -> StructureProblem:
        w = err.where
        if w.seg_pos is not None:
            segment = f"segment {w.seg_pos} ({_seg_label(w.seg_id)})"
        elif w.seg_id:
            segment = f"{_seg_label(w.seg_id)} (segment {w.file_seg} of the file)"
        else:
            segment = f"segment {w.file_seg} of the file"
        return StructureProblem(segment, err.problem, self._source(w, clm01), err.line_id)

    def _source(self, w: _Where, clm01: str | None) -> str:
        parts = [self.name]
        if w.isa13 and _ISA13.fullmatch(w.isa13):  # a broken ISA may hold anything there
            parts.append(f"ISA13={w.isa13}")
        if w.st02 and w.seg_pos is not None and _control_number(w.st02):
            parts.append(f"ST02={w.st02}")
        if clm01:
            parts.append(f"CLM01={clm01}")
        if w.seg_pos is not None:
            parts.append(f"loop {w.loop or '?'} seg {w.seg_pos}")
        elif w.seg_id:
            parts.append(f"{_seg_label(w.seg_id)} (file segment {w.file_seg})")
        else:
            parts.append(f"file segment {w.file_seg}")
        return " ".join(parts)

    def _claim_record(self, draft: _ClaimDraft, errors: list[_Error]) -> None:
        self.position += 1
        clm01 = draft.clm01

        head = self._source(_Where(draft.isa13, None, draft.st02, "", "-", 0, 0), clm01)
        head = head[: head.rindex(" loop ")]

        def at(place: _At) -> str:
            return f"{head} loop {place[0] or '?'} seg {place[1]}"

        errors.sort(key=lambda e: e.where.file_seg)
        structure = tuple(self._problem(e, clm01) for e in errors)
        document, sources = _document(draft, at)
        hints: dict[str, str] = {}
        referral_id = draft.referral_id or next(
            (ln.referral_id for ln in draft.lines if ln.referral_id), None
        )
        referring = draft.referring or next(
            (ln.referring for ln in draft.lines if ln.referring), None
        )
        if referral_id:
            hints["referral_id"] = referral_id
        if referring:
            hints["referring_npi"] = referring
        source = at(("2300", draft.pos))
        try:
            claim = Claim.model_validate(document)
        except ValidationError as exc:
            cid = clm01 if clm01 and len(clm01) <= 64 else None
            self.out.append(
                Record(
                    self.position,
                    None,
                    problems_of(exc),
                    cid,
                    source,
                    structure=structure,
                    sources=sources,
                    hints=hints,
                )
            )
            return
        self.out.append(
            Record(
                self.position,
                claim,
                (),
                claim.claim_id,
                source,
                structure=structure,
                sources=sources,
                hints=hints,
                unknown=NOT_ON_CLAIMS,
                format="X12 837",
            )
        )

    # -- mapping ----------------------------------------------------------------------------------

    def _map(self, seg: Any, seg_id: str, loop: str, pos: int) -> None:
        """Map one segment placed in its loop, at ``pos`` in its transaction set, to the claim
        drafts (only the segments of :data:`_MAPPED` change them)."""
        here: _At = (loop, pos)
        if seg_id == "HL":
            self._close_claim()
            if loop == "2000A":
                self.billing = _Party()
                self.subscriber = _Party()
                self.patient = None
            elif loop == "2000B":
                self.subscriber = _Party()
                self.patient = None
            elif loop == "2000C":
                self.patient = _Party(at=here)
            return
        if seg_id == "SE":
            self._close_claim()
            return
        if seg_id == "CLM":
            self._close_claim()
            self._open_claim(seg, here)
            return
        if seg_id == "NM1":
            self._nm1(seg, loop, here)
            return
        if seg_id == "DMG" and loop == "2010CA" and self.patient is not None:
            self.patient.birth_date = _v(seg, "DMG02")
            return
        claim = self.claim
        if claim is None:
            return
        if seg_id == "LX" and loop == "2400":
            self.line = _Line(lx=_v(seg, "LX01") or None, at=here)
            claim.lines.append(self.line)
        elif seg_id == "HI" and loop == "2300":
            self._hi(seg, claim, here)
        elif seg_id == "REF" and _v(seg, "REF01") == "9F":
            if loop == "2300" and claim.referral_id is None:
                claim.referral_id, claim.referral_at = _v(seg, "REF02") or None, here
            elif loop == "2400" and self.line is not None:
                self.line.referral_id = _v(seg, "REF02") or None
        elif seg_id == "DTP":
            self._dtp(seg, claim, loop, here)
        elif seg_id == "SV1" and loop == "2400" and self.line is not None:
            self._sv1(seg, claim, self.line, here)
        elif seg_id == "SV2" and loop == "2400" and self.line is not None:
            self._sv2(seg, self.line, here)

    def _open_claim(self, seg: Any, here: _At) -> None:
        if self.txn is None:
            return
        pending, self.txn.pending = self.txn.pending, []
        self.claim = _ClaimDraft(
            errors=pending,
            clm01=_v(seg, "CLM01") or None,
            at=here,
            isa13=self.isa13,
            st02=self.txn.st02,
            form=self.txn.form,
            billing=self.billing,
            subscriber=self.subscriber,
            patient=self.patient,
            facility=_v(seg, "CLM05-1") or None,
            frequency=_v(seg, "CLM05-3") or None,
        )
        self.line = None

    def _close_claim(self) -> None:
        txn, draft = self.txn, self.claim
        self.claim = None
        self.line = None
        if draft is None or txn is None:
            return
        txn.claims += 1
        held, txn.held = txn.held, draft
        if held is not None:
            self._emit(txn, held, last=False)

    def _nm1(self, seg: Any, loop: str, here: _At) -> None:
        entity = _v(seg, "NM101")
        claim, line = self.claim, self.line
        if loop == "2010AA" and entity == "85":
            self.billing.id, self.billing.at = _npi(seg), here
        elif loop == "2010BA" and entity == "IL":
            self.subscriber.id, self.subscriber.at = _v(seg, "NM109") or None, here
        elif loop == "2010CA" and entity == "QC" and self.patient is not None:
            self.patient.last, self.patient.first = _v(seg, "NM103"), _v(seg, "NM104")
        elif claim is None:
            return
        elif entity == "DN" and loop in ("2310A", "2310F") and claim.referring is None:
            claim.referring, claim.referring_at = _npi(seg), here
        elif entity == "82" and loop in ("2310B", "2310D"):
            claim.rendering = _npi(seg)
        elif line is not None and entity == "82" and loop in ("2420A", "2420C"):
            line.rendering, line.rendering_at = _npi(seg), here
        elif line is not None and entity == "DN" and loop in ("2420F", "2420D"):
            line.referring = _npi(seg)

    def _hi(self, seg: Any, claim: _ClaimDraft, here: _At) -> None:
        for qualifier_ref, code_ref in _HI_REFS[: len(seg)]:
            qualifier = _v(seg, qualifier_ref)
            code = _v(seg, code_ref)
            if not code:
                continue
            if qualifier in _ICD10:
                claim.diagnoses.append((icd10_dotted(code), here))
            elif qualifier in _ICD9:
                # Not ICD-10-CM: kept in place (pointers still line up), marked so that no ICD-10
                # code can be mistaken for it; DS309 reports it as not a valid ICD-10-CM code.
                claim.diagnoses.append((f"ICD9:{code.upper()}", here))

    def _dtp(self, seg: Any, claim: _ClaimDraft, loop: str, here: _At) -> None:
        qualifier = _v(seg, "DTP01")
        value = _date(_v(seg, "DTP03"))
        if qualifier == "472":
            if loop == "2400" and self.line is not None:
                self.line.date, self.line.date_at = value, here
            elif loop == "2300":
                claim.claim_date = value
        elif qualifier == "434" and loop == "2300":
            claim.statement_date = value

    def _sv1(self, seg: Any, claim: _ClaimDraft, line: _Line, here: _At) -> None:
        line.service_at = here
        line.hcpcs = _v(seg, "SV101-2").upper() or None
        line.modifiers = [m.upper() for m in (_v(seg, ref) for ref in _SV101_MODIFIERS) if m]
        line.units = _quantity(_v(seg, "SV104"))
        line.charge = _charge(_v(seg, "SV102"))
        line.place_of_service = _v(seg, "SV105") or claim.facility
        line.pointers = [_pointer(p) for p in (_v(seg, ref) for ref in _SV107_POINTERS) if p]

    def _sv2(self, seg: Any, line: _Line, here: _At) -> None:
        line.service_at = here
        line.revenue_code = _v(seg, "SV201") or None
        line.hcpcs = _v(seg, "SV202-2").upper() or None
        line.modifiers = [m.upper() for m in (_v(seg, ref) for ref in _SV202_MODIFIERS) if m]
        line.units = _quantity(_v(seg, "SV205"))
        line.charge = _charge(_v(seg, "SV203"))


def _once(err: _Error, scope: str) -> _Error:
    return dataclasses.replace(err, problem=f"{err.problem} ({scope})")


_HL_PARENT = {"22": "20", "23": "22"}
_HL01_DIGITS = 12
"""HL01 is at most 12 characters (005010X222A1); a longer one is misnumbered, never a number."""
_ENVELOPE = frozenset({"ISA", "GS", "GE", "IEA"})
_MAPPED = frozenset({"HL", "SE", "CLM", "NM1", "DMG", "LX", "HI", "REF", "DTP", "SV1", "SV2"})
"""The segments :meth:`_Mapper._map` reads; the others only take their place in the loops."""
_LEVEL_NAME = {"20": "billing provider", "22": "subscriber", "23": "patient"}
_BODY = frozenset(
    {"BHT", "NM1", "N3", "N4", "PER", "REF", "HL", "PRV", "SBR", "DMG", "PAT", "CLM", "DTP"}
    | {"HI", "LX", "SV1", "SV2", "SE", "CL1", "PWK", "AMT", "K3", "NTE", "CR1", "CRC", "HCP"}
    | {"CAS", "OI", "MOA", "MIA", "LIN", "CTP", "SVD", "LQ", "FRM", "QTY", "MEA", "PS1", "CN1"}
)
"""Segment ids of the 837 body, taken by the short path of ``_segment`` inside a transaction set
(each a well-formed id, none an envelope segment or ST)."""


class _ScanReader(_Mapper):
    """The default reader: one pass of :class:`~dsmt_rules.adapters._x12scan.Scanner`, the loops
    from :class:`~dsmt_rules.adapters._x12scan.Loops`, and the envelope checked as it goes."""

    def __init__(self, stream: IO[bytes] | IO[str], name: str) -> None:
        super().__init__(name)
        self.stream = stream
        self.file_seg = 0
        self.seg_pos = 0
        self.loops = Loops(False)
        self.icvn = ""
        self.in_isa = False
        self.in_gs = False
        self.groups = 0
        """GS segments in the current interchange (IEA01)."""
        self.sets = 0
        """ST segments in the current functional group (GE01)."""
        self.skip_group = False
        self.skip_txn = False
        self.stray = False
        """A segment outside a transaction set was reported (one report per run of them)."""
        self.short_isa = False
        self.hl_next = 1
        self.subscribers = 0
        """Subscriber levels (HL03 22) in the current transaction set."""
        self.seen_group = False
        self.hl_stack: list[tuple[str, str]] = []
        """(HL01, HL03) of the levels above the current one, outermost first."""
        self.ids_ok: set[str] = set()
        self.last_set: str | None = None
        """ST02 of the last transaction set read in this group, for :meth:`_resume`."""
        self.resumed = False
        self.last_id = ""

    def records(self) -> Iterator[Record]:
        segment = Scan.SEGMENT
        for kind, seg in Scanner(self.stream):
            if kind is segment:
                assert seg is not None
                self._segment(seg)
            elif kind is Scan.EMPTY:
                problem = "an empty segment follows this one (two terminators in a row); skipped"
                err = _Error(self._here(self.last_id), problem)
                if self.txn is None and self.in_isa and not self.isa_reported:
                    self.isa_errors.append(err)  # in the interchange's envelope: its first claim
                else:
                    self._add_error(err)
            elif kind is Scan.ISA_LENGTH:
                self.short_isa = True
            elif kind is Scan.UNTERMINATED:
                assert seg is not None
                problem = "the input ends inside this segment (no segment terminator): truncated?"
                self._segment(seg)
                self._add_error(_Error(self._here(seg.elements[0]), problem), scope="txn")
            else:  # Scan.NO_ISA, Scan.BAD_ISA
                self._no_isa(seg, kind)
                yield from self._drain()
                return
            if self.out:
                yield from self._drain()
        self._end_of_input()
        yield from self._drain()

    def _here(self, seg_id: str) -> _Where:
        txn = self.txn
        if txn is None or seg_id in ("ISA", "GS", "GE", "IEA"):
            return _Where(self.isa13, self.gs06, None, seg_id, None, None, self.file_seg)
        return _Where(
            self.isa13, self.gs06, txn.st02, seg_id, self.loops.loop, self.seg_pos, self.file_seg
        )

    def _segment(self, seg: Segment) -> None:
        self.file_seg += 1
        seg_id = seg.elements[0]
        self.last_id = seg_id
        if seg_id in _BODY and self.txn is not None and not (self.skip_txn or self.skip_group):
            self._body(seg, seg_id)  # the usual case: a segment of a transaction set being read
            return
        if seg_id not in self.ids_ok:
            if not _SEG_ID.fullmatch(seg_id):
                self._unrecognized(seg)
                return
            self.ids_ok.add(seg_id)
        if seg_id == "ISA" and len(seg) < 16 and self.txn is not None:
            self._unrecognized(seg)  # a broken ISA inside a transaction set: not an interchange
            return
        if seg_id in _ENVELOPE:
            self._envelope(seg, seg_id)
            return
        if self.skip_group:
            self.sets += seg_id == "ST"
            if seg_id == "CLM":
                self._unread_claim(seg, "its functional group is not an 837P/837I claim group")
            return
        if seg_id == "ST":
            self._st(seg)
            return
        if self.txn is None and not self.skip_txn and self.in_gs and self.last_set is not None:
            self._resume(seg_id)
        if self.txn is None or self.skip_txn:
            if self.txn is None and not self.skip_txn and not self.stray:
                problem = f"segment {seg_id} is outside a transaction set (no ST before it)"
                self._add_error(_Error(self._here(seg_id), f"{problem}; it was skipped"))
                self.stray = True
            if seg_id == "SE":
                self.skip_txn = False
                self.txn = None
            elif seg_id == "CLM":
                self._unread_claim(seg, "it is not inside a transaction set that is read")
            return
        self._body(seg, seg_id)

    def _body(self, seg: Segment, seg_id: str) -> None:
        """A segment inside a transaction set that is read: placed in its loop and mapped."""
        self.seg_pos += 1
        loop = self.loops.place(seg)
        if seg_id not in _MAPPED:
            return
        try:
            self._map(seg, seg_id, loop, self.seg_pos)
        except Exception as exc:  # a segment the mapping cannot read: report, do not crash
            problem = f"segment {seg_id} could not be read ({type(exc).__name__})"
            self._add_error(_Error(self._here(seg_id), problem))
        if seg_id == "HL":
            self._hl(seg, self._here(seg_id))
        elif seg_id == "SE":
            self._se(seg, self._here(seg_id))

    def _unread_claim(self, seg: Segment, why: str) -> None:
        """A CLM that is not read still gets its record: claimless, with a DS003 that says why."""
        clm01 = seg.element(1)
        cid = clm01 if clm01 and len(clm01) <= 64 else None
        where = _Where(self.isa13, self.gs06, None, "CLM", None, None, self.file_seg)
        problem = self._problem(_Error(where, f"this claim was not read: {why}"), cid)
        self.position += 1
        self.out.append(Record(self.position, None, (), cid, problem.source, structure=(problem,)))

    def _resume(self, seg_id: str) -> None:
        """A segment after an SE and before the next ST (a stray SE ended the set early): the
        transaction set is read on, with its levels, rather than lose the claims that follow."""
        problem = (
            f"segment {seg_id} follows the SE of its transaction set, with no ST before it; "
            "the segments up to the next SE were read as part of that transaction set"
        )
        self.txn = _Transaction(self.last_set, self.form or ClaimForm.PROFESSIONAL)
        self.resumed = True
        self._add_error(_Error(self._here(seg_id), problem), scope="txn")

    def _unrecognized(self, seg: Segment) -> None:
        problem = "a segment with an unrecognized segment id was skipped"
        if self.txn is not None and not self.skip_txn:
            self.seg_pos += 1
            self._add_error(_Error(self._here(""), problem))
        elif not self.skip_group:
            self._add_error(_Error(self._here(""), problem))

    # -- envelope ---------------------------------------------------------------------------------

    def _envelope(self, seg: Segment, seg_id: str) -> None:
        if self.txn is not None or self.skip_txn:
            self._no_trailer("SE", "transaction set", seg_id)
        if seg_id == "ISA":
            if self.in_gs:
                self._no_trailer("GE", "functional group", seg_id)
            if self.in_isa:
                self._no_trailer("IEA", "interchange", seg_id)
            self._isa(seg)
        elif seg_id == "GS":
            if self.in_gs:
                self._no_trailer("GE", "functional group", seg_id)
            self._gs(seg)
        elif seg_id == "GE":
            self._ge(seg)
        else:
            if self.in_gs:
                self._no_trailer("GE", "functional group", seg_id)
            self._iea(seg)

    def _no_trailer(self, trailer: str, what: str, seg_id: str) -> None:
        if seg_id == "":
            problem = f"the input ends before the {trailer} of this {what}: truncated?"
        else:
            problem = f"{seg_id} before the {trailer} that ends this {what} ({trailer} missing)"
        self._add_error(_Error(self._here(seg_id), problem), scope="txn")
        if trailer == "SE":
            self._finish_transaction()
            self.skip_txn = False
        elif trailer == "GE":
            self._end_group()
            self.in_gs = False
            self.skip_group = False
        else:
            self._end_interchange()
            self.in_isa = False

    def _count(self, seg: Segment, what: str, counted: int) -> None:
        said = seg.element(1)
        if said != str(counted):
            name = seg.elements[0]
            problem = f"{name}01 counts {_stated(said, counted)} {what}; there are {counted}"
            self._add_error(_Error(self._here(name), problem), scope="txn")

    def _control(self, seg: Segment, header: str, value: str | None) -> None:
        name = seg.elements[0]
        if seg.element(2) != (value or ""):
            problem = f"{name}02 does not match {header} (the control numbers differ)"
            self._add_error(_Error(self._here(name), problem), scope="txn")

    def _isa(self, seg: Segment) -> None:
        if self.loose:  # errors between interchanges are reported on their own
            self._end_interchange()
        self.in_isa = True
        self.groups = 0
        self.isa13 = seg.element(13) or None
        self.icvn = seg.element(12)
        self.stray = False
        where = self._here("ISA")
        if len(seg) != 16:
            self._add_error(_Error(where, "an ISA segment does not have 16 elements"))
        if self.short_isa:
            problem = "the ISA segment is not the fixed 106 characters X12 requires"
            self._add_error(_Error(where, problem))
            self.short_isa = False
        if self.icvn not in ("00401", "00501"):
            self._add_error(_Error(where, "ISA12 is not a known X12 version (00401 or 00501)"))
        self.isa_errors, self.loose = self.loose, []
        self.isa_reported = False

    def _iea(self, seg: Segment) -> None:
        if not self.in_isa:
            problem = "an IEA without an ISA before it"
            self._add_error(_Error(self._here("IEA"), problem))
        else:
            self._count(seg, "functional groups", self.groups)
            self._control(seg, "ISA13", self.isa13)
        self._end_interchange()
        self.in_isa = False
        self.stray = False

    def _gs(self, seg: Segment) -> None:
        self.in_gs = True
        self.seen_group = True
        self.sets = 0
        self.last_set = None
        self.groups += 1
        self.stray = False
        self.gs06 = seg.element(6) or None
        where = self._here("GS")
        if not self.in_isa:
            problem = "a GS outside an interchange (no ISA before it)"
            self._add_error(_Error(where, problem))
        fic, version = seg.element(1), seg.element(8)
        supported = SUPPORTED_VERSIONS.get(version) if fic == "HC" else None
        if supported is None:
            self.skip_group = True
            self.form = None
            self._add_error(_Error(where, _group_problem(fic, version)))
            return
        self.skip_group = False
        self.form = supported[1]
        self.gs_errors = []
        self.gs_reported = False

    def _ge(self, seg: Segment) -> None:
        if not self.in_gs:
            self._add_error(_Error(self._here("GE"), "a GE without a GS before it"))
        else:
            self._count(seg, "transaction sets", self.sets)
            self._control(seg, "GS06", self.gs06)
        self._end_group()
        self.in_gs = False
        self.skip_group = False
        self.stray = False

    def _st(self, seg: Segment) -> None:
        if self.txn is not None or self.skip_txn:
            self._no_trailer("SE", "transaction set", "ST")
        self.stray = False
        if not self.in_gs:
            problem = "a transaction set outside a functional group (no GS before it) was not read"
            self._add_error(_Error(self._here("ST"), problem))
            self.skip_txn = True
            return
        self.sets += 1
        if seg.element(1) != "837":
            problem = f"ST01 {_set_id(seg.element(1))} is not 837: the transaction set was not read"
            self._add_error(_Error(self._here("ST"), problem))
            self.skip_txn = True
            return
        self._start_transaction(seg.element(2) or None)
        self.last_set = seg.element(2) or "?"
        self.resumed = False
        self.seg_pos = 1
        self.loops = Loops(self.form is ClaimForm.INSTITUTIONAL)
        self.hl_next = 1
        self.subscribers = 0
        self.hl_stack.clear()

    def _se(self, seg: Segment, where: _Where) -> None:
        assert self.txn is not None
        if not self.resumed:
            self._count(seg, "segments", self.seg_pos)
        self._control(seg, "ST02", self.txn.st02)
        if not self.subscribers:
            problem = "the transaction set has no subscriber level (HL03 22), so no claim"
            self._add_error(_Error(where, problem), scope="txn")
        self._finish_transaction()
        del where

    def _hl(self, seg: Segment, where: _Where) -> None:
        number, parent, level = seg.element(1), seg.element(2), seg.element(3)
        self.subscribers += level == "22"
        if number != str(self.hl_next):
            self._add_error(_Error(where, _SEG_TEXT["HL1"]))
        whole = number.isascii() and number.isdigit() and len(number) <= _HL01_DIGITS
        self.hl_next = int(number) + 1 if whole else self.hl_next + 1
        if level not in _LEVEL_NAME:
            problem = "HL03 is not a billing provider (20), subscriber (22) or patient (23) level"
            self._add_error(_Error(where, problem))
        stack = self.hl_stack
        if parent:
            while stack and stack[-1][0] != parent:
                stack.pop()
            if not stack:
                self._add_error(_Error(where, _SEG_TEXT["HL2"]))
            elif level in _HL_PARENT and stack[-1][1] != _HL_PARENT[level]:
                problem = (
                    f"HL02: a {_LEVEL_NAME[level]} level ({level}) must have a "
                    f"{_LEVEL_NAME[_HL_PARENT[level]]} level ({_HL_PARENT[level]}) as its parent"
                )
                self._add_error(_Error(where, problem))
        else:
            stack.clear()
            if level in _HL_PARENT:
                problem = f"HL02 is empty: a {_LEVEL_NAME[level]} level needs a parent level"
                self._add_error(_Error(where, problem))
        stack.append((number, level))

    def _no_isa(self, first: Segment | None, kind: Scan) -> None:
        where = _Where(None, None, None, "ISA", None, None, 1)
        if kind is Scan.BAD_ISA:
            problem = (
                "the ISA segment is not the fixed 106 characters X12 requires, and its separators "
                "cannot be found: the input was not read"
            )
        elif first is not None:
            problem = (
                f"no ISA envelope: the input begins with {_seg_label(first.elements[0])}, not ISA; "
                "an 837 needs its interchange envelope (ISA ... IEA) to be read"
            )
            where = where._replace(seg_id=first.elements[0])
        else:
            problem = "not an X12 interchange: the input does not begin with an ISA segment"
        self._loose_record([_Error(where, problem)])

    def _end_of_input(self) -> None:
        if self.txn is not None or self.skip_txn:
            self._no_trailer("SE", "transaction set", "")
        if self.in_gs:
            self._no_trailer("GE", "functional group", "")
        if self.in_isa:
            self._no_trailer("IEA", "interchange", "")
        self._end_interchange()
        if self.position == 0:  # nothing read and nothing reported: never silently empty
            where = _Where(None, None, None, "ISA", None, None, 1)
            problem = NO_CLAIM
            if not self.seen_group:
                problem = (
                    "no claim could be read: no functional group followed the ISA (are the ISA's "
                    "separators right?)"
                )
            self._loose_record([_Error(where, problem)])


def _pointer(value: str) -> Any:
    """SV107 / SV2 pointer as a number when it is a short run of digits; anything else stays as
    read, for DS001 (Python will not turn thousands of digits into a number)."""
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else value


def _beneficiary(draft: _ClaimDraft) -> str:
    """Subscriber NM109 (2010BA); a 2000C patient is a dependent, told apart by a digest of their
    name and birth date (docs/formats.md)."""
    member = draft.subscriber.id or ""
    patient = draft.patient
    if patient is None or not member:
        return member
    key = "|".join((patient.birth_date, patient.last.upper(), patient.first.upper()))
    return f"{member}/dependent-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def _document(
    draft: _ClaimDraft, at: Callable[[_At], str]
) -> tuple[dict[str, Any], dict[Loc, str]]:
    """The claim document (a dict for the model) and the input position of its parts."""
    institutional = draft.form is ClaimForm.INSTITUTIONAL
    codes = [code for code, _at in draft.diagnoses]
    sources: dict[Loc, str] = {("claim_id",): at(draft.at)}
    if draft.billing.at is not None:
        sources[("billing_provider",)] = at(draft.billing.at)
    if draft.subscriber.at is not None:
        sources[("beneficiary_id",)] = at(draft.subscriber.at)
    if institutional:
        sources[("type_of_bill",)] = at(draft.at)
    for j, (_code, place) in enumerate(draft.diagnoses):
        del _code
        sources[("diagnosis_codes", j)] = at(place)
    referral_at = draft.referral_at or draft.referring_at
    if referral_at is not None:
        sources[("referral",)] = at(referral_at)
    fallback_date = draft.claim_date or draft.statement_date
    lines: list[dict[str, Any]] = []
    for i, ln in enumerate(draft.lines):
        sources[("lines", i)] = at(ln.service_at or ln.at)
        if ln.date_at is not None:
            sources[("lines", i, "service_date")] = at(ln.date_at)
        if ln.rendering_at is not None:
            sources[("lines", i, "rendering_npi")] = at(ln.rendering_at)
        pointers = list(range(1, min(len(codes), 12) + 1)) if institutional else ln.pointers
        lines.append(
            {
                "line_id": ln.lx or str(i + 1),
                "hcpcs": ln.hcpcs,
                "modifiers": ln.modifiers,
                "units": ln.units,
                "service_date": ln.date or fallback_date,
                "place_of_service": None if institutional else ln.place_of_service,
                "revenue_code": ln.revenue_code if institutional else None,
                "diagnosis_pointers": pointers,
                "rendering_npi": ln.rendering or draft.rendering,
                "charge": ln.charge,
                "session_ids": [],
            }
        )
    type_of_bill = None
    if institutional and (draft.facility or draft.frequency):
        type_of_bill = f"{draft.facility or ''}{draft.frequency or ''}"
    document = {
        "claim_id": draft.clm01,
        "form": draft.form.value,
        "beneficiary_id": _beneficiary(draft),
        "type_of_bill": type_of_bill,
        "billing_provider": {"npi": draft.billing.id or ""},
        "diagnosis_codes": codes,
        "referral": None,
        "lines": lines,
    }
    return document, sources


def read_default(stream: IO[bytes] | IO[str], *, name: str = "-") -> Iterator[Record]:
    """:func:`dsmt_rules.adapters.x12.read_records` with the default reader."""
    return _ScanReader(stream, name).records()
