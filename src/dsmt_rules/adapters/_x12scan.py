"""A streaming X12 segment scanner and the 837P/837I loop tracker (no dependency).

:class:`Scanner` reads a byte stream once, in chunks, and yields each segment split once into its
elements. The separators come from each ISA (element separator ISA's 4th character, component
separator ISA16, segment terminator the character after it), so a file may hold interchanges with
different separators. Line breaks after a terminator are skipped. What is odd about the text
itself (an empty segment, an ISA that is not 106 characters, a last segment with no terminator) is
told to the caller as a :class:`Scan` kind; judging the envelope is the reader's work. When the
first ISA is broken (too many or too few elements), its terminator is the character at the fixed
position 105, or the one before the segment that follows the ISA, so the segments after it are
still read (a later valid ISA sets its own separators).

:class:`Loops` names the implementation-guide loop (``2000A``, ``2010BA``, ``2300``, ``2420A``...)
of each segment of an 837P (005010X222A1) or 837I (005010X223A2) transaction set from its segment
id, the HL level code and the entity identifier of NM1, as pyx12's loop maps name them.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator
from typing import IO

__all__ = ["Loops", "Scan", "Scanner", "Segment"]

_CHUNK = 1 << 20
_SKIP = "\r\n\t \x0b\x0c"
"""Characters skipped between segments: a line break after each terminator is common, and stray
spaces or tabs there hold no data (an X12 segment id never starts with one)."""


class Segment:
    """One segment: its elements (``elements[0]`` is the segment id), split once.

    :meth:`get_value` reads an element or component by reference, as pyx12's ``Segment`` does:
    ``NM109`` is element 9, ``SV101-2`` component 2 of element 1; absent is ``None``.
    """

    __slots__ = ("_split", "component", "elements")

    def __init__(self, elements: list[str], component: str) -> None:
        self.elements = elements
        self.component = component
        self._split: dict[int, list[str]] | None = None
        """Composite elements split into components, once each."""

    def get_seg_id(self) -> str:
        return self.elements[0]

    def __len__(self) -> int:
        return len(self.elements) - 1

    def element(self, index: int) -> str:
        """Element ``index`` (1-based) with surrounding spaces removed; ``''`` when absent."""
        elements = self.elements
        return elements[index].strip() if index < len(elements) else ""

    def value(self, ref: str) -> str:
        """:meth:`get_value` with surrounding spaces removed, ``''`` when absent."""
        value = self.get_value(ref)
        return value.strip() if value is not None else ""

    def get_value(self, ref: str) -> str | None:
        where = _REFS.get(ref)
        if where is None:
            where = _REFS[ref] = _ref(ref)
        index, sub = where
        if index >= len(self.elements):
            return None
        if not sub:
            return self.elements[index]
        split = self._split
        if split is None:
            split = self._split = {}
        parts = split.get(index)
        if parts is None:
            parts = split[index] = self.elements[index].split(self.component)
        return parts[sub - 1] if sub <= len(parts) else None


_REFS: dict[str, tuple[int, int]] = {}
"""Element references read so far (``SV101-2`` -> (1, 2)): each is parsed once."""


def _ref(ref: str) -> tuple[int, int]:
    dash = ref.find("-")
    if dash < 0:
        return int(ref[-2:]), 0
    return int(ref[dash - 2 : dash]), int(ref[dash + 1 :])


class Scan(enum.Enum):
    """What the scanner found."""

    SEGMENT = "segment"
    EMPTY = "empty"
    """Two terminators in a row: a segment with nothing in it (not counted, not a claim lost)."""
    ISA_LENGTH = "isa-length"
    """An ISA that is not the fixed 106 characters: its separators were found by counting."""
    UNTERMINATED = "unterminated"
    """The input ends inside a segment (no terminator): a truncated file, or a missing last ``~``."""
    BAD_ISA = "bad-isa"
    """The input begins with an ISA whose separators cannot be found: nothing can be read."""
    NO_ISA = "no-isa"
    """The input does not begin with an ISA; ``segment`` is its first segment when it looks like
    X12 (an 837 that starts with GS or ST), else None."""


class Scanner:
    """The segments of one X12 input, in order: iterate to get ``(kind, segment)`` pairs."""

    def __init__(self, stream: IO[bytes] | IO[str], chunk: int = _CHUNK) -> None:
        self._stream = stream
        self._chunk = chunk
        self.element = "*"
        self.component = ":"
        self.terminator = "~"
        self.repetition = "^"

    def _read(self) -> str:
        data = self._stream.read(self._chunk)
        if isinstance(data, bytes):
            # latin-1: one character per byte, so the fixed-length ISA stays 106 characters
            return data.decode("latin-1")
        return data

    def _isa(self, text: str, recover: bool = False) -> tuple[bool, bool]:
        """Take the separators from the ISA at the start of ``text``: (found, fixed length).

        With ``recover`` (an ISA that opens the input, or a later one the scanner restarts at), a
        counted terminator that cannot be one (a letter, a digit, a space or the element
        separator, or no segment after it: the ISA has too many or too few elements) is replaced
        by :func:`_recover`'s.
        """
        if len(text) < 4:
            return False, False
        sep = text[3]
        if len(text) >= 106 and all(text[end] == sep for _start, end in _ISA_FIELDS[:-1]):
            self.element, self.component, self.terminator = sep, text[104], text[105]
            self.repetition = text[82]
            return True, True
        at = -1
        for _ in range(16):
            at = text.find(sep, at + 1)
            if at < 0:
                return False, False
        if at + 2 >= len(text):
            return False, False
        end = at + 2
        if (
            len(text) > 108
            and not _next_is(text, at + 3, "GS")
            and (_next_is(text, 106, "GS") or _separator(text[105], sep))
        ):
            end = 105  # the fixed positions, as pyx12 reads
        component, terminator = text[end - 1], text[end]
        if recover and not (_terminator(terminator, sep) and _starts_segment(text, end + 1, sep)):
            component, terminator = _recover(text, sep, component, terminator)
        self.element, self.component, self.terminator = sep, component, terminator
        return True, False

    def __iter__(self) -> Iterator[tuple[Scan, Segment | None]]:
        text = self._read()
        while len(text) < 512:  # enough for an ISA and its terminator
            more = self._read()
            if not more:
                break
            text += more
        text = text.lstrip("\ufeff\xef\xbb\xbf \t\r\n")
        if not text.startswith("ISA"):
            first = None
            if text[:2] in ("GS", "ST") and len(text) > 2:
                first = Segment(text[:200].split(text[2])[:2], ":")
            yield Scan.NO_ISA, first
            return
        if not self._isa(text)[0]:
            yield Scan.BAD_ISA, None
            return
        pending = text
        eof = False
        while True:
            # ``pending`` starts at a segment boundary; an ISA there sets the separators
            start = pending.lstrip(_SKIP)
            if start.startswith("ISA"):
                if len(start) < 512 and not eof:
                    more = self._read()
                    if more:
                        pending = start + more
                        continue
                    eof = True
                found, fixed = self._isa(start, recover=True)
                if found and not fixed:
                    yield Scan.ISA_LENGTH, None
                pending = start
            term, sep, comp = self.terminator, self.element, self.component
            parts = pending.split(term)
            pending = parts.pop()
            restart = False
            for k, part in enumerate(parts):
                if part[:1] in _SKIP:
                    part = part.lstrip(_SKIP)
                if not part:
                    yield Scan.EMPTY, None
                    continue
                if part.startswith("ISA") and k and _separator(part[3:4], term):
                    head = term.join([part, *parts[k + 1 : k + 3], pending[:256]])
                    found, fixed = self._isa(head)
                    if found and fixed and not _plausible(head, self.element, self.terminator):
                        found = False  # its fixed positions give no separators segments follow
                    if found and fixed and (self.terminator != term or self.element != sep):
                        # a later interchange with other separators: split again from its ISA
                        pending = term.join([part, *parts[k + 1 :], pending])
                        restart = True
                        break
                    if found and self.terminator == term and self.element == sep:
                        comp = self.component
                        if not fixed:
                            yield Scan.ISA_LENGTH, None
                    else:  # not an ISA that can set separators: a broken segment, read as one
                        self.element, self.component, self.terminator = sep, comp, term
                elements = part.split(sep)
                if elements[0] == "ISA" and len(elements) != 17:
                    elements = _isa_elements(part, sep) or elements
                yield Scan.SEGMENT, Segment(elements, comp)
            if restart:
                continue
            if eof:
                break
            more = self._read()
            if not more:
                eof = True
                if not pending.strip(" \t\r\n\x00\x1a"):
                    break
                continue
            pending += more
        rest = pending.strip(" \t\r\n\x00\x1a")
        if rest:
            yield Scan.UNTERMINATED, Segment(rest.split(self.element), self.component)


def _plausible(head: str, sep: str, terminator: str) -> bool:
    """Whether the separators a later fixed-length ISA at the start of ``head`` gives can be
    those of an interchange: the terminator is not a letter, a digit, white space or the element
    separator, and a segment follows it (else the "ISA" is a broken segment, such as one with an
    element appended, read with the separators in force)."""
    return _terminator(terminator, sep) and _starts_segment(head, 106, sep)


def _next_is(text: str, at: int, seg_id: str) -> bool:
    """Whether the segment that starts at ``at`` (after line breaks) has the id ``seg_id``."""
    while at < len(text) and text[at] in _SKIP:
        at += 1
    return text.startswith(seg_id, at)


def _separator(char: str, terminator: str) -> bool:
    """Whether ``char`` can be the element separator of a later ISA (else that "ISA" is a broken
    segment, not an interchange: a letter, a digit, white space or the terminator in force)."""
    return bool(char) and char != terminator and not char.isalnum() and not _blank(char)


def _blank(char: str) -> bool:
    """White space that cannot be a separator. The control characters FS, GS, RS and US
    (``\x1c``-``\x1f``) count as white space for Python, but X12 files use them as separators."""
    return char.isspace() and char not in "\x1c\x1d\x1e\x1f"


def _terminator(char: str, sep: str) -> bool:
    """Whether ``char`` can be a segment terminator with the element separator ``sep``: a line
    break or a character that is not a letter, a digit, white space or ``sep``."""
    return char in _SKIP or _separator(char, sep)


_SEG_START = re.compile(r"[A-Z][A-Z0-9]{1,2}")
_NEXT_IDS = ("ISA", "GS", "ST", "BHT", "NM1", "HL", "CLM", "SE", "GE", "IEA")
"""Segment ids :func:`_recover` looks for after a broken ISA (the segment that follows it)."""
_SEARCH = 4096
"""How far into a broken ISA's input :func:`_recover` looks for the segment after it."""


def _starts_segment(text: str, at: int, sep: str) -> bool:
    """Whether a segment (an id, then ``sep``) or the end of the text is at ``at``, after line
    breaks."""
    while at < len(text) and text[at] in _SKIP:
        at += 1
    if at >= min(len(text), _SEARCH):
        return True
    found = _SEG_START.match(text, at)
    return found is not None and text.startswith(sep, found.end())


def _ends_segments(text: str, at: int, sep: str) -> bool:
    """Whether the character at ``at`` ends a segment: a segment starts after it, and after its
    next occurrence too (one segment further on)."""
    if not _starts_segment(text, at + 1, sep):
        return False
    after = text.find(text[at], at + 1, _SEARCH)
    return after < 0 or _starts_segment(text, after + 1, sep)


def _terminator_at(text: str, at: int, sep: str) -> int:
    """Where the terminator is when the segment after it starts at ``at + 1``: at ``at``, or
    before the line breaks there when they follow a terminator character (``~`` then CRLF; not
    ISA16, one character after ``sep``)."""
    while at > 4 and text[at] in _SKIP and text[at - 1] in _SKIP:
        at -= 1
    if text[at] in _SKIP and _separator(text[at - 1], sep) and text[at - 2] != sep:
        at -= 1
    return at


def _recover(text: str, sep: str, component: str, terminator: str) -> tuple[str, str]:
    """(component separator, terminator) of a broken ISA at the start of ``text`` whose counted
    ``terminator`` cannot be one: the character at the fixed position 105 when segments follow
    it, else the one before the first segment id (``GS``, ``ST``...) after the ISA that segments
    follow. Unchanged (the ISA reads as broken) when neither is found."""
    at = -1
    if len(text) > 105 and _terminator(text[105], sep):
        fixed = _terminator_at(text, 105, sep)
        if _ends_segments(text, fixed, sep):
            at = fixed
    if at < 0:
        ids = re.compile("(?:" + "|".join(_NEXT_IDS) + ")" + re.escape(sep))
        for found in ids.finditer(text, 4, _SEARCH):
            before = found.start() - 1
            if _terminator(text[before], sep):
                candidate = _terminator_at(text, before, sep)
                if _ends_segments(text, candidate, sep):
                    at = candidate
                    break
    if at < 0:
        return component, terminator
    terminator = text[at]
    if text[at - 2] == sep and _separator(text[at - 1], terminator) and text[at - 1] != sep:
        component = text[at - 1]  # ISA16, the one character before the terminator
    elif not _separator(component, terminator) or component == sep:
        component = ":"
    return component, terminator


_ISA_FIELDS = (
    (4, 6), (7, 17), (18, 20), (21, 31), (32, 34), (35, 50), (51, 53), (54, 69),
    (70, 76), (77, 81), (82, 83), (84, 89), (90, 99), (100, 101), (102, 103), (104, 105),
)  # fmt: skip
"""ISA01 to ISA16 by their fixed positions (each element has a fixed length)."""


def _isa_elements(part: str, sep: str) -> list[str] | None:
    """The elements of a fixed-length ISA by position, when splitting it does not give 16 (a
    separator character used in a value, such as ISA11 equal to the element separator)."""
    if len(part) != 105 or any(part[end] != sep for _start, end in _ISA_FIELDS[:-1]):
        return None
    return ["ISA", *(part[start:end] for start, end in _ISA_FIELDS)]


# --- loops ---------------------------------------------------------------------------------------

_HL_LOOPS = {"20": "2000A", "22": "2000B", "23": "2000C"}
_LEVEL_NM1 = {
    "2000A": {"85": "2010AA", "87": "2010AB", "PE": "2010AC"},
    "2000B": {"IL": "2010BA", "PR": "2010BB"},
    "2000C": {"QC": "2010CA"},
}
_HEADER_NM1 = {"41": "1000A", "40": "1000B"}
_CLAIM_NM1 = {
    "P": {"DN": "2310A", "P3": "2310A", "82": "2310B", "77": "2310C", "DQ": "2310D"},
    "I": {"71": "2310A", "72": "2310B", "ZZ": "2310C", "82": "2310D", "77": "2310E", "DN": "2310F"},
}
_CLAIM_NM1["P"].update({"PW": "2310E", "45": "2310F"})
_OTHER_NM1 = {
    "P": {
        "IL": "2330A",
        "PR": "2330B",
        "DN": "2330C",
        "P3": "2330C",
        "82": "2330D",
        "77": "2330E",
        "DQ": "2330F",
        "85": "2330G",
    },
    "I": {
        "IL": "2330A",
        "PR": "2330B",
        "71": "2330C",
        "72": "2330D",
        "ZZ": "2330E",
        "77": "2330F",
        "82": "2330G",
        "DN": "2330H",
        "85": "2330I",
    },
}
_LINE_NM1 = {
    "P": {
        "82": "2420A",
        "QB": "2420B",
        "77": "2420C",
        "DQ": "2420D",
        "DK": "2420E",
        "DN": "2420F",
        "P3": "2420F",
        "PW": "2420G",
        "45": "2420H",
    },
    "I": {"72": "2420A", "ZZ": "2420B", "82": "2420C", "DN": "2420D"},
}


_PLACES = frozenset({"HL", "CLM", "LX", "NM1", "SBR", "LIN", "SVD", "LQ", "ST", "SE", "BHT"})
"""The segment ids that can open a loop; any other segment stays in the current one."""


class Loops:
    """The loop of each segment of one 837 transaction set, segment after segment."""

    __slots__ = ("_form", "level", "loop")

    def __init__(self, institutional: bool) -> None:
        self._form = "I" if institutional else "P"
        self.loop = "ST_LOOP"
        self.level = ""
        """The current HL level's loop (2000A/B/C), '' before the first HL."""

    def place(self, seg: Segment) -> str:
        """The loop ``seg`` is in (and now the current loop)."""
        seg_id = seg.elements[0]
        loop = self.loop
        if seg_id not in _PLACES:
            return loop
        if seg_id == "HL":
            self.level = _HL_LOOPS.get(seg.element(3), "2000B")
            loop = self.level
        elif seg_id == "CLM":
            loop = "2300"
        elif seg_id == "LX":
            loop = "2400"
        elif seg_id == "NM1":
            entity = seg.element(1)
            top = loop[:2]
            if top == "23":
                table = _OTHER_NM1 if loop[:3] in ("232", "233") else _CLAIM_NM1
                loop = table[self._form].get(entity, loop)
            elif top == "24":
                loop = _LINE_NM1[self._form].get(entity, loop)
            elif top == "20":
                loop = _LEVEL_NM1[self.level].get(entity, loop) if self.level else loop
            else:
                loop = _HEADER_NM1.get(entity, loop)
        elif seg_id == "SBR" and loop[:2] == "23":
            loop = "2320"
        elif seg_id == "LIN" and loop[:2] == "24":
            loop = "2410"
        elif seg_id == "SVD" and loop[:2] == "24":
            loop = "2430"
        elif seg_id == "LQ" and loop[:2] == "24":
            loop = "2440"
        elif seg_id in ("ST", "SE"):
            loop = "ST_LOOP"
        elif seg_id == "BHT":
            loop = "HEADER"
        self.loop = loop
        return loop
