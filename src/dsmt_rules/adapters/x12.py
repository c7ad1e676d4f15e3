"""X12 837P / 837I input, read and validated by pyx12 (extra ``dsmt-rules[x12]``).

:func:`read_records` yields one :class:`~dsmt_rules.engine.Record` per CLM segment, in file order,
and a record without a claim for what holds no claim but must not be dropped (a functional group
that is not an 837P/837I, a transaction set without claims that has errors, envelope trailer
errors, a file that is not X12). Structural errors pyx12 reports become DS003 findings with the
segment position in ``source``; a claim whose fields do not fit the claim document gets DS001.

pyx12 does the reading: it splits segments, walks the implementation guide's loop map
(005010X222A1 for 837P, 005010X223A2 for 837I) and validates segments and elements. This module
drives it segment by segment, so that an error that stops pyx12 in one transaction set is
reported there and reading resumes at the next ST, GS or ISA; it then maps the segments of each
claim to the claim document (docs/formats.md has the mapping and the decisions behind it). Files
that declare the errata versions 005010X222A2 / 005010X223A3 are validated with the base maps:
GS08 and ST03 are set to the base version on the parsed segment before pyx12 sees it.

Adapters only translate: nothing here judges a claim. Messages name segments, elements and codes,
never their values (an 837 is full of PHI).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import IO, Any, NamedTuple

from pydantic import ValidationError

from dsmt_rules._codes import icd10_dotted
from dsmt_rules.exceptions import AdapterError
from dsmt_rules.findings import Loc
from dsmt_rules.models import Claim, ClaimForm
from dsmt_rules.records import NOT_ON_CLAIMS, Record, StructureProblem, problems_of

try:
    import pyx12.errors
    import pyx12.map_if
    import pyx12.params
    import pyx12.x12file
    from pyx12.map_walker import walk_tree
except ImportError as _exc:  # pragma: no cover - depends on the environment
    raise AdapterError("X12 input needs pyx12: pip install 'dsmt-rules[x12]'") from _exc

__all__ = ["SUPPORTED_VERSIONS", "read_records"]

logging.getLogger("pyx12").addHandler(logging.NullHandler())

SUPPORTED_VERSIONS: Mapping[str, tuple[str, ClaimForm]] = {
    "005010X222A1": ("005010X222A1", ClaimForm.PROFESSIONAL),
    "005010X222A2": ("005010X222A1", ClaimForm.PROFESSIONAL),
    "005010X223A2": ("005010X223A2", ClaimForm.INSTITUTIONAL),
    "005010X223A3": ("005010X223A2", ClaimForm.INSTITUTIONAL),
}
"""GS08 / ST03 versions read, with the pyx12 map version each is validated with, and the form."""

_MAP_FILES = {
    "005010X222A1": "837.5010.X222.A1.xml",
    "005010X223A2": "837Q3.I.5010.X223.A1.xml",
}
_CONTROL_MAPS = {"00401": "x12.control.00401.xml", "00501": "x12.control.00501.xml"}
_ICD10 = {"ABK", "ABF"}
_ICD9 = {"BK", "BF"}
_READ_CHUNK = 64 * 1024
_MAX_FAILURES = 100
"""Segments pyx12 may fail on before the rest of a file is given up."""

# --- pyx12 setup (maps are parsed once per process) ----------------------------------------------


class _Maps:
    def __init__(self) -> None:
        # ParamsBase, not params(): no user config file (~/.pyx12.conf.xml) changes the result.
        self.param = pyx12.params.ParamsBase()
        self._loaded: dict[str, Any] = {}

    def load(self, file_name: str) -> Any:
        found = self._loaded.get(file_name)
        if found is None:
            found = pyx12.map_if.load_map_file(file_name, self.param)
            self._loaded[file_name] = found
        return found


@functools.cache
def _maps() -> _Maps:
    return _Maps()


# --- text input ----------------------------------------------------------------------------------


class _Text:
    """A text view of the input for pyx12: bytes are read as latin-1 (one character per byte, so
    the fixed-length ISA stays 106 characters whatever the encoding), and a leading byte-order mark
    or white space is skipped."""

    closed = False

    def __init__(self, stream: IO[bytes] | IO[str]) -> None:
        self._stream = stream
        head = self._raw(_READ_CHUNK)
        self._head = head.lstrip("\ufeff\xef\xbb\xbf \t\r\n")

    def _raw(self, size: int) -> str:
        data = self._stream.read(size)
        if isinstance(data, bytes):
            return data.decode("latin-1")
        return data

    def read(self, size: int = -1) -> str:
        if self._head:
            if size < 0:
                out, self._head = self._head + self._raw(-1), ""
                return out
            out, self._head = self._head[:size], self._head[size:]
            if len(out) < size:
                out += self._raw(size - len(out))
            return out
        return self._raw(size)


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


_SAFE_SEG_TEXT = re.compile(
    r'Mandatory (?:segment|loop) "[^"]*" \([A-Z0-9_]+\) missing'
    r"|Segment [A-Z0-9]{2,3} found but marked as not used"
    r"|Loop [A-Z0-9]+ found but marked as not used"
    r"|(?:Segment|Loop) [A-Z0-9]+ exceeded max count\.  Found \d+, should have \d+"
    r'|Too many elements in segment "[^"]*" \([A-Z0-9]+\)\. Has \d+, should have \d+'
    r'|Too many sub-elements in composite "[^"]*" \([A-Z0-9-]+\)'
    r'|Mandatory composite "[^"]*" \([A-Z0-9-]+\) is missing'
    r'|Composite "[^"]*" \([A-Z0-9-]+\) is marked as Not Used'
    r"|Syntax Error \([A-Z0-9]+\): [A-Za-z0-9 ,]+"
    r"|Segment contains (?:a leading space|trailing element terminators)"
)
"""pyx12 messages that hold only map names, segment ids, element ids and counts (no input values)."""

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
_ELEMENT_TEXT = {
    "1": "mandatory element {ref} ({name}) is missing",
    "2": "conditional element {ref} ({name}) is required",
    "3": "{ref} ({name}): too many data elements",
    "4": "{ref} ({name}) is too short",
    "5": "{ref} ({name}) is too long",
    "6": "{ref} ({name}) contains an invalid character",
    "7": "{ref} ({name}) is not a valid code",
    "8": "{ref} ({name}) is not a valid date",
    "9": "{ref} ({name}) is not a valid time",
    "10": "{ref} ({name}) is present but not used in this implementation guide",
}
_SEG_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}")
_REF = re.compile(r"[A-Z0-9]{2,3}\d{2}(?:-\d{1,2})?|\d{2}(?:-\d{1,2})?")
_NAME = re.compile(r"[A-Za-z0-9 ,.'/()&-]{1,80}")


def _seg_label(seg_id: str | None) -> str:
    return seg_id if seg_id and _SEG_ID.fullmatch(seg_id) else "(unrecognized)"


def _segment_text(code: str, text: str, seg_id: str) -> str:
    if _SAFE_SEG_TEXT.fullmatch(text.strip()):
        return text.strip().replace("  ", " ").rstrip(".")
    return _SEG_TEXT.get(code, "segment {seg}: error " + _seg_label(code)).format(seg=seg_id)


def _element_text(code: str, ref: str | None, name: str | None, seg_id: str) -> str:
    ref_s = ref if ref and _REF.fullmatch(ref) else "an element"
    if ref_s[:1].isdigit():
        ref_s = seg_id + ref_s
    name_s = name if name and _NAME.fullmatch(name) else "data element"
    template = _ELEMENT_TEXT.get(code, "{ref} ({name}): element error")
    return template.format(ref=ref_s, name=name_s)


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
    claims: list[_ClaimDraft] = dataclasses.field(default_factory=list)
    errors: list[_Error] = dataclasses.field(default_factory=list)
    """Errors in the header or trailer: reported on every claim of the transaction set."""
    pending: list[_Error] = dataclasses.field(default_factory=list)
    """Errors in the hierarchical levels since the last claim: reported on the next claim."""


def _v(seg: Any, ref: str) -> str:
    """An element's value, '' when absent (pyx12 Segment.get_value)."""
    value = seg.get_value(ref)
    return value.strip() if isinstance(value, str) else ""


def _date(value: str) -> Any:
    """D8 ``CCYYMMDD`` (or the start of an RD8 range) as a date; the raw text when not a date."""
    text = value.split("-", 1)[0]
    try:
        return dt.datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        return value or None


def _quantity(value: str) -> Any:
    """SV104 / SV205 quantity: whole numbers become ints; anything else stays as read."""
    try:
        number = Decimal(value)
    except InvalidOperation:
        return value or None
    if not number.is_finite():
        return value
    if number == number.to_integral_value():
        return int(number)
    return float(number)


def _npi(seg: Any) -> str | None:
    """NM109 when NM108 says it is an NPI (XX)."""
    return _v(seg, "NM109") or None if _v(seg, "NM108") == "XX" else None


class _Reader:
    """One pass over one X12 input: pyx12 reads and validates, this maps and reports."""

    def __init__(self, stream: IO[bytes] | IO[str], name: str) -> None:
        self.name = name
        self.stream = stream
        self.src: Any = None
        """pyx12's X12Reader over the input."""
        self.position = 0
        self.isa13: str | None = None
        self.gs06: str | None = None
        self.icvn: str | None = None
        self.form: ClaimForm | None = None
        self.map: Any = None
        self.control: Any = None
        self.node: Any = None
        self.walker = walk_tree()
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
        self.skip: str | None = None
        """``group``: skip to the next GS or ISA; ``txn``: skip the rest of a transaction set."""

    # -- driving pyx12 ----------------------------------------------------------------------------

    def records(self) -> Iterator[Record]:
        try:
            self.src = pyx12.x12file.X12Reader(_Text(self.stream))
        except pyx12.errors.X12Error as exc:
            where = _Where(None, None, None, "ISA", None, None, 1)
            yield self._loose_record([_Error(where, _not_x12(str(exc)))])
            return
        self.control = _maps().load(_CONTROL_MAPS.get(self.src.icvn, _CONTROL_MAPS["00501"]))
        self.node = self.control.getnodebypath("/ISA_LOOP/ISA")
        segments = iter(self.src)
        failures = 0
        while True:
            try:
                seg = next(segments)
            except StopIteration:
                break
            except pyx12.errors.X12Error as exc:  # pyx12 stops reading the file here
                where = self._where("ISA", None)
                problem = f"{_not_x12(str(exc))}; the rest of the file was not read"
                self._add_error(_Error(where, problem), scope="txn")
                yield from self._end_interchange()
                return
            except Exception as exc:  # pyx12 failed on one segment (unbalanced envelope, ...)
                failures += 1
                where = self._where("", None)
                if failures > _MAX_FAILURES:
                    problem = (
                        f"pyx12 failed too often ({type(exc).__name__}); the rest was not read"
                    )
                    self._add_error(_Error(where, problem), scope="txn")
                    yield from self._end_interchange()
                    return
                problem = f"pyx12 could not read a segment ({type(exc).__name__}); it was skipped"
                self._add_error(_Error(where, problem), scope="txn")
                segments = iter(self.src)  # the reader goes on with the next segment
                continue
            records: list[Record] = []
            try:
                records.extend(self._segment(seg))
            except Exception as exc:  # never a traceback: report where reading failed
                self._lost(self._where(seg.get_seg_id() or "", self.node), exc)
            yield from records
        self.src.cleanup()
        for err in self._reader_errors("IEA", None):
            self._add_error(err, scope="txn")
        yield from self._end_interchange()
        if self.position == 0:  # nothing read and nothing reported: never silently empty
            where = _Where(None, None, None, "ISA", None, None, 1)
            problem = (
                "no claim could be read: no functional group followed the ISA (are the ISA's "
                "separators right?)"
            )
            yield self._loose_record([_Error(where, problem)])

    def _segment(self, seg: Any) -> Iterator[Record]:
        seg_id = seg.get_seg_id() or ""
        if seg_id == "ISA":
            yield from self._end_interchange()
            self._isa(seg)
            return
        if seg_id == "GS":
            yield from self._gs(seg)
            return
        if self.skip == "group":
            errors = self._reader_errors(seg_id, None)
            if seg_id == "IEA":
                for err in errors:
                    self._add_error(err, scope="txn")
                yield from self._end_interchange()
            return
        if seg_id == "ST":
            yield from self._finish_transaction()
            if self.map is None:
                where = self._where("ST", None)
                problem = (
                    "a transaction set outside a functional group (no GS before it) was not read"
                )
                self._add_error(_Error(where, problem), scope="txn")
                self.skip = "group"
                return
            self._start_transaction(seg)
        elif self.skip == "txn":
            self.src.pop_errors()
            if seg_id == "SE":
                yield from self._finish_transaction()
            return
        yield from self._walk(seg, seg_id)

    def _walk(self, seg: Any, seg_id: str) -> Iterator[Record]:
        before = self._where(seg_id, self.node)
        try:
            node, _pop, _push, walk_errors = self.walker.walk_errors(
                self.node,
                seg,
                self.src.get_seg_count(),
                self.src.get_cur_line(),
                self.src.get_ls_id(),
            )
        except Exception as exc:  # pyx12 lost its place: report it, resume at the next ST
            self._lost(before, exc)
            return
        for e in walk_errors:
            self._add_error(_Error(before, self._walk_text(e, seg_id)))
        if node is None:  # not placed: pyx12 reported it; the walk goes on from where it was
            for err in self._reader_errors(seg_id, self.node):
                self._add_error(err)
            return
        self.node = node
        where = self._where(seg_id, node)
        try:
            self._map(seg, seg_id, where)
        except Exception as exc:  # a segment the mapping cannot read: report, do not crash
            problem = f"segment {_seg_label(seg_id)} could not be read ({type(exc).__name__})"
            self._add_error(_Error(where, problem))
        trailer = seg_id in ("SE", "GE", "IEA")
        for err in self._reader_errors(seg_id, node):
            self._add_error(err, scope="txn" if trailer else "claim")
        for err in self._element_errors(seg, seg_id, node, where):
            self._add_error(err, scope="txn" if trailer else "claim")
        if seg_id == "SE":
            yield from self._finish_transaction()
        elif seg_id == "GE":
            yield from self._end_group()
        elif seg_id == "IEA":
            yield from self._end_interchange()

    def _lost(self, where: _Where, exc: Exception) -> None:
        problem = (
            f"pyx12 could not place segment {_seg_label(where.seg_id)} in the 837 structure "
            f"({type(exc).__name__}); the rest of the transaction set was not read"
        )
        self._add_error(_Error(where, problem))
        self.skip = "txn" if self.txn is not None else "group"

    def _isa(self, seg: Any) -> None:
        self.isa13 = _v(seg, "ISA13") or None
        self.icvn = _v(seg, "ISA12")
        self.skip = None
        self.map = None
        self.control = _maps().load(_CONTROL_MAPS.get(self.icvn, _CONTROL_MAPS["00501"]))
        self.node = self.control.getnodebypath("/ISA_LOOP/ISA")
        self.walker.forceWalkCounterToLoopStart("/ISA_LOOP", "/ISA_LOOP/ISA")
        where = self._where("ISA", self.node)
        self.isa_errors = self._reader_errors("ISA", self.node)
        self.isa_errors.extend(self._element_errors(seg, "ISA", self.node, where))
        self.isa_reported = False

    def _gs(self, seg: Any) -> Iterator[Record]:
        yield from self._end_group()
        self.gs06 = _v(seg, "GS06") or None
        fic, version = _v(seg, "GS01"), _v(seg, "GS08")
        supported = SUPPORTED_VERSIONS.get(version) if fic == "HC" else None
        where = self._where("GS", None)
        reader = self._reader_errors("GS", None)
        if supported is None or self.icvn != "00501":
            self.skip = "group"
            self.map = None
            problem = (
                f"functional group GS01={_code(fic)} GS08={_code(version)} is not an 837P "
                "(005010X222A1/A2) or 837I (005010X223A2/A3) claim group; its transaction sets "
                "were not read"
            )
            self.loose.extend([*reader, _Error(where, problem)])
            return
        self.skip = None
        base, self.form = supported
        if version != base:
            seg.set("GS08", base)
        self.map = _maps().load(_MAP_FILES[base])
        self.src.check_837_lx = True
        self.node = self.map.getnodebypath("/ISA_LOOP/GS_LOOP/GS")
        self.walker.forceWalkCounterToLoopStart("/ISA_LOOP/GS_LOOP", "/ISA_LOOP/GS_LOOP/GS")
        where = self._where("GS", self.node)
        self.gs_errors = reader
        self.gs_errors.extend(self._element_errors(seg, "GS", self.node, where))
        self.gs_reported = False

    def _start_transaction(self, seg: Any) -> None:
        if self.skip == "txn":
            self.node = self.map.getnodebypath("/ISA_LOOP/GS_LOOP/GS")
            self.skip = None
        version = _v(seg, "ST03")
        supported = SUPPORTED_VERSIONS.get(version)
        if supported is not None and version != supported[0]:
            seg.set("ST03", supported[0])
        self.txn = _Transaction(_v(seg, "ST02") or None, self.form or ClaimForm.PROFESSIONAL)
        self.claim = None
        self.line = None
        self.billing = _Party()
        self.subscriber = _Party()
        self.patient = None

    def _end_group(self) -> Iterator[Record]:
        yield from self._finish_transaction()
        if self.gs_errors and not self.gs_reported:
            self.loose[:0] = self.gs_errors
        self.gs_errors = []
        self.gs_reported = False
        self.gs06 = None

    def _end_interchange(self) -> Iterator[Record]:
        yield from self._end_group()
        if self.isa_errors and not self.isa_reported:
            self.loose[:0] = self.isa_errors
        self.isa_errors = []
        self.isa_reported = False
        if self.loose:
            errors, self.loose = self.loose, []
            yield self._loose_record(errors)

    # -- errors -----------------------------------------------------------------------------------

    def _where(self, seg_id: str, node: Any) -> _Where:
        loop = None
        if node is not None:
            parent = getattr(node, "parent", None)
            loop = getattr(parent, "id", None) if parent is not None else None
        seg_pos = None
        if self.txn is not None and seg_id not in ("ISA", "GS", "GE", "IEA"):
            # pyx12 counts ST as 1 and does not count SE itself (SE01 counts it)
            seg_pos = self.src.get_seg_count() + (1 if seg_id == "SE" else 0)
        return _Where(
            self.isa13,
            self.gs06,
            self.txn.st02 if self.txn is not None else None,
            seg_id,
            loop,
            seg_pos,
            self.src.get_cur_line(),
        )

    def _walk_text(self, err: Any, seg_id: str) -> str:
        code = str(getattr(err, "err_cde", ""))
        return _segment_text(code, str(getattr(err, "err_str", "")), _seg_label(seg_id))

    def _reader_errors(self, seg_id: str, node: Any) -> list[_Error]:
        out: list[_Error] = []
        for kind, code, text, _value, _line in self.src.pop_errors():
            where = self._where(seg_id, node)
            if kind in ("isa", "gs", "st"):
                problem = _envelope_text(text)
            else:
                problem = _segment_text(code, text, _seg_label(seg_id))
            out.append(_Error(where, problem))
        return out

    def _element_errors(self, seg: Any, seg_id: str, node: Any, where: _Where) -> list[_Error]:
        if not isinstance(node, pyx12.map_if.segment_if):
            return []
        _ok, errors = node.is_valid_errors(seg)
        out: list[_Error] = []
        for e in errors:
            if e.map_node is None:
                problem = _segment_text("8", e.err_str, _seg_label(seg_id))
            else:
                name = getattr(e.map_node, "name", None)
                problem = _element_text(e.err_cde, e.refdes, name, _seg_label(seg_id))
            out.append(_Error(where, problem))
        return out

    def _add_error(self, err: _Error, *, scope: str = "claim") -> None:
        """File an error with the claim it concerns (docs/formats.md, "Structural errors").

        In a claim: that claim. In a 2000A/2000B/2000C level before a claim: the next claim (those
        loops are its provider, subscriber and patient), else the transaction set's last claim.
        In the header or trailer of a transaction set: every claim of it. Else on its own.
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

    def _finish_transaction(self) -> Iterator[Record]:
        self._close_claim()
        txn = self.txn
        if txn is None:
            return
        self.txn = None
        if txn.pending:
            if txn.claims:
                txn.claims[-1].errors.extend(txn.pending)
            else:
                txn.errors.extend(txn.pending)
        header = [*self.isa_errors, *self.gs_errors]
        if txn.claims or txn.errors:
            self.isa_reported = self.isa_reported or bool(self.isa_errors)
            self.gs_reported = self.gs_reported or bool(self.gs_errors)
        if not txn.claims:
            if txn.errors:
                yield self._loose_record([*header, *txn.errors])
            return
        for draft in txn.claims:
            yield self._claim_record(draft, [*header, *txn.errors, *draft.errors])

    def _loose_record(self, errors: list[_Error]) -> Record:
        self.position += 1
        errors.sort(key=lambda e: e.where.file_seg)
        structure = tuple(self._problem(e, None) for e in errors)
        source = structure[0].source if structure else self.name
        return Record(self.position, None, (), None, source, structure=structure)

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
        if w.isa13:
            parts.append(f"ISA13={w.isa13}")
        if w.st02 and w.seg_pos is not None:
            parts.append(f"ST02={w.st02}")
        elif w.gs06 and w.seg_id in ("GS", "GE"):
            parts.append(f"GS06={w.gs06}")
        if clm01:
            parts.append(f"CLM01={clm01}")
        if w.seg_pos is not None:
            parts.append(f"loop {w.loop or '?'} seg {w.seg_pos}")
        elif w.seg_id:
            parts.append(f"{_seg_label(w.seg_id)} (file segment {w.file_seg})")
        else:
            parts.append(f"file segment {w.file_seg}")
        return " ".join(parts)

    def _claim_record(self, draft: _ClaimDraft, errors: list[_Error]) -> Record:
        self.position += 1
        clm01 = draft.clm01

        def at(place: _At) -> str:
            loop, pos = place
            w = _Where(draft.isa13, None, draft.st02, "", loop, pos, 0)
            return self._source(w, clm01)

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
            return Record(
                self.position,
                None,
                problems_of(exc),
                cid,
                source,
                structure=structure,
                sources=sources,
                hints=hints,
            )
        return Record(
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

    # -- mapping ----------------------------------------------------------------------------------

    def _map(self, seg: Any, seg_id: str, where: _Where) -> None:
        loop = where.loop or ""
        here: _At = (loop, where.seg_pos or 0)
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
        if self.claim is not None and self.txn is not None:
            self.txn.claims.append(self.claim)
        self.claim = None
        self.line = None

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
        for i in range(1, len(seg) + 1):
            qualifier = _v(seg, f"HI{i:02d}-1")
            code = _v(seg, f"HI{i:02d}-2")
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
        line.modifiers = [m.upper() for m in (_v(seg, f"SV101-{k}") for k in range(3, 7)) if m]
        line.units = _quantity(_v(seg, "SV104"))
        line.place_of_service = _v(seg, "SV105") or claim.facility
        line.pointers = [_pointer(p) for p in (_v(seg, f"SV107-{k}") for k in range(1, 5)) if p]

    def _sv2(self, seg: Any, line: _Line, here: _At) -> None:
        line.service_at = here
        line.revenue_code = _v(seg, "SV201") or None
        line.hcpcs = _v(seg, "SV202-2").upper() or None
        line.modifiers = [m.upper() for m in (_v(seg, f"SV202-{k}") for k in range(3, 7)) if m]
        line.units = _quantity(_v(seg, "SV205"))


def _pointer(value: str) -> Any:
    return int(value) if value.isdigit() else value


def _code(value: str) -> str:
    """An envelope code for a message: shown only when it looks like a code."""
    return value if re.fullmatch(r"[A-Z0-9]{1,12}", value) else "(unreadable)"


def _not_x12(text: str) -> str:
    if "does not begin with 'ISA'" in text:
        return "not an X12 interchange: the input does not begin with an ISA segment"
    if "ISA line is only" in text:
        return "the ISA segment is not the fixed 106 characters X12 requires"
    if "Interchange Control Version Number is unknown" in text:
        return "ISA12 is not a known X12 version (00401 or 00501)"
    if "ISA segment must have 16 elements" in text:
        return "an ISA segment does not have 16 elements"
    return "the X12 envelope cannot be read"


def _envelope_text(text: str) -> str:
    """pyx12's ISA/GS/ST messages name control numbers and counts only; keep them to one line."""
    line = " ".join(text.split())
    return line if re.fullmatch(r"[A-Za-z0-9 .,=()\"'/:-]{1,200}", line) else "envelope error"


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


def read_records(stream: IO[bytes] | IO[str], *, name: str = "-") -> Iterator[Record]:
    """Yield one record per claim (CLM segment) of an X12 837P/837I input, in file order.

    ``name`` (the file name, ``-`` for stdin) starts every ``source``. Records without a claim carry
    the structure problems (DS003) that belong to no claim. The stream is read once, segment by
    segment; memory holds one transaction set's claims at a time.
    """
    return _Reader(stream, name).records()
