"""The pyx12 path of the X12 adapter (``dsmt-rules check --x12-validate``, extra ``dsmt-rules[x12]``).

pyx12 does the reading here: it splits segments, walks the implementation guide's loop map
(005010X222A1 for 837P, 005010X223A2 for 837I) and validates segments and elements. This module
drives it segment by segment, so that an error that stops pyx12 in one transaction set is
reported there and reading resumes at the next ST, GS or ISA; the claims are mapped by the same
code as the default reader's (:class:`dsmt_rules.adapters._x12read._Mapper`). Files that declare the
errata versions 005010X222A2 / 005010X223A3 are validated with the base maps: GS08 and ST03 are set
to the base version on the parsed segment before pyx12 sees it.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterator
from typing import IO, Any

from dsmt_rules.adapters._x12read import (
    _SEG_TEXT,
    SUPPORTED_VERSIONS,
    _Error,
    _group_problem,
    _Mapper,
    _seg_label,
    _v,
    _Where,
)
from dsmt_rules.exceptions import AdapterError
from dsmt_rules.records import Record

try:
    import pyx12.errors
    import pyx12.map_if
    import pyx12.params
    import pyx12.x12file
    from pyx12.map_walker import walk_tree
except ImportError as _exc:  # pragma: no cover - depends on the environment
    raise AdapterError("--x12-validate needs pyx12: pip install 'dsmt-rules[x12]'") from _exc

__all__ = ["read_validated"]

logging.getLogger("pyx12").addHandler(logging.NullHandler())

_MAP_FILES = {
    "005010X222A1": "837.5010.X222.A1.xml",
    "005010X223A2": "837Q3.I.5010.X223.A1.xml",
}
_CONTROL_MAPS = {"00401": "x12.control.00401.xml", "00501": "x12.control.00501.xml"}
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


# --- messages -----------------------------------------------------------------------------------


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
_REF = re.compile(r"[A-Z0-9]{2,3}\d{2}(?:-\d{1,2})?|\d{2}(?:-\d{1,2})?")
_NAME = re.compile(r"[A-Za-z0-9 ,.'/()&-]{1,80}")


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


class _Reader(_Mapper):
    """One pass over one X12 input: pyx12 reads and validates, the mapping maps and files."""

    def __init__(self, stream: IO[bytes] | IO[str], name: str) -> None:
        super().__init__(name)
        self.stream = stream
        self.src: Any = None
        """pyx12's X12Reader over the input."""
        self.icvn: str | None = None
        self.map: Any = None
        self.control: Any = None
        self.node: Any = None
        self.walker = walk_tree()
        self.skip: str | None = None
        """``group``: skip to the next GS or ISA; ``txn``: skip the rest of a transaction set."""

    # -- driving pyx12 ----------------------------------------------------------------------------

    def records(self) -> Iterator[Record]:
        try:
            self.src = pyx12.x12file.X12Reader(_Text(self.stream))
        except pyx12.errors.X12Error as exc:
            where = _Where(None, None, None, "ISA", None, None, 1)
            self._loose_record([_Error(where, _not_x12(str(exc)))])
            yield from self._drain()
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
                self._end_interchange()
                yield from self._drain()
                return
            except Exception as exc:  # pyx12 failed on one segment (unbalanced envelope, ...)
                failures += 1
                where = self._where("", None)
                if failures > _MAX_FAILURES:
                    problem = (
                        f"pyx12 failed too often ({type(exc).__name__}); the rest was not read"
                    )
                    self._add_error(_Error(where, problem), scope="txn")
                    self._end_interchange()
                    yield from self._drain()
                    return
                problem = f"pyx12 could not read a segment ({type(exc).__name__}); it was skipped"
                self._add_error(_Error(where, problem), scope="txn")
                segments = iter(self.src)  # the reader goes on with the next segment
                continue
            try:
                self._segment(seg)
            except Exception as exc:  # never a traceback: report where reading failed
                self._lost(self._where(seg.get_seg_id() or "", self.node), exc)
            if self.out:
                yield from self._drain()
        self.src.cleanup()
        for err in self._reader_errors("IEA", None):
            self._add_error(err, scope="txn")
        self._end_interchange()
        if self.position == 0:  # nothing read and nothing reported: never silently empty
            where = _Where(None, None, None, "ISA", None, None, 1)
            problem = (
                "no claim could be read: no functional group followed the ISA (are the ISA's "
                "separators right?)"
            )
            self._loose_record([_Error(where, problem)])
        yield from self._drain()

    def _segment(self, seg: Any) -> None:
        seg_id = seg.get_seg_id() or ""
        if seg_id == "ISA":
            self._end_interchange()
            self._isa(seg)
            return
        if seg_id == "GS":
            self._gs(seg)
            return
        if self.skip == "group":
            errors = self._reader_errors(seg_id, None)
            if seg_id == "CLM":
                self._unread_claim(seg, "its functional group is not read")
            if seg_id == "IEA":
                for err in errors:
                    self._add_error(err, scope="txn")
                self._end_interchange()
            return
        if seg_id == "ST":
            self._finish_transaction()
            if self.map is None:
                where = self._where("ST", None)
                problem = (
                    "a transaction set outside a functional group (no GS before it) was not read"
                )
                self._add_error(_Error(where, problem), scope="txn")
                self.skip = "group"
                return
            self._begin_transaction(seg)
        elif self.skip == "txn":
            self.src.pop_errors()
            if seg_id == "CLM":
                self._unread_claim(seg, "pyx12 lost its place earlier in the transaction set")
            if seg_id == "SE":
                self._finish_transaction()
            return
        self._walk(seg, seg_id)

    def _walk(self, seg: Any, seg_id: str) -> None:
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
            if seg_id == "CLM":
                self._unread_claim(seg, "pyx12 could not place it in the 837 structure")
            return
        self.node = node
        where = self._where(seg_id, node)
        try:
            self._map(seg, seg_id, where.loop or "", where.seg_pos or 0)
        except Exception as exc:  # a segment the mapping cannot read: report, do not crash
            problem = f"segment {_seg_label(seg_id)} could not be read ({type(exc).__name__})"
            self._add_error(_Error(where, problem))
        trailer = seg_id in ("SE", "GE", "IEA")
        for err in self._reader_errors(seg_id, node):
            self._add_error(err, scope="txn" if trailer else "claim")
        for err in self._element_errors(seg, seg_id, node, where):
            self._add_error(err, scope="txn" if trailer else "claim")
        if seg_id == "SE":
            self._finish_transaction()
        elif seg_id == "GE":
            self._end_group()
        elif seg_id == "IEA":
            self._end_interchange()

    def _unread_claim(self, seg: Any, why: str) -> None:
        """A CLM that is not read still gets its record, in file order: claimless, with DS003."""
        self._close_claim()
        clm01 = _v(seg, "CLM01")
        cid = clm01 if clm01 and len(clm01) <= 64 else None
        where = _Where(self.isa13, self.gs06, None, "CLM", None, None, self.src.get_cur_line())
        problem = self._problem(_Error(where, f"this claim was not read: {why}"), cid)
        txn = self.txn
        if txn is not None and txn.held is not None:  # the claim before it is reported first
            held, txn.held = txn.held, None
            self._emit(txn, held, last=False)
        self.position += 1
        self.out.append(Record(self.position, None, (), cid, problem.source, structure=(problem,)))

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

    def _gs(self, seg: Any) -> None:
        self._end_group()
        self.gs06 = _v(seg, "GS06") or None
        fic, version = _v(seg, "GS01"), _v(seg, "GS08")
        supported = SUPPORTED_VERSIONS.get(version) if fic == "HC" else None
        where = self._where("GS", None)
        reader = self._reader_errors("GS", None)
        if supported is None or self.icvn != "00501":
            self.skip = "group"
            self.map = None
            self.loose.extend([*reader, _Error(where, _group_problem(fic, version))])
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

    def _begin_transaction(self, seg: Any) -> None:
        if self.skip == "txn":
            self.node = self.map.getnodebypath("/ISA_LOOP/GS_LOOP/GS")
            self.skip = None
        version = _v(seg, "ST03")
        supported = SUPPORTED_VERSIONS.get(version)
        if supported is not None and version != supported[0]:
            seg.set("ST03", supported[0])
        self._start_transaction(_v(seg, "ST02") or None)

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


def read_validated(stream: IO[bytes] | IO[str], *, name: str = "-") -> Iterator[Record]:
    """:func:`dsmt_rules.adapters.x12.read_records` with pyx12's reading and full validation."""
    return _Reader(stream, name).records()
