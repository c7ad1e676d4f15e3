"""Input adapters: they translate formats into :class:`~dsmt_rules.records.Record` values and never judge.

``jsonl`` (JSON Lines, a JSON array or one JSON document) and ``x12`` need nothing extra (pyx12,
extra ``dsmt-rules[x12]``, only for ``x12_validate``); ``fhir`` needs ``dsmt-rules[fhir]``. The
optional adapters are imported only when used.

This module is the registry: :func:`detect_format` tells an input's format from its first bytes,
:data:`ADAPTERS` names the module that reads each optional format, :func:`read_input` reads one
input (gzip or not), and :func:`open_batch` reads several as one batch (with reference data
applied, when given).
Nothing here imports the engine: adapters sit below it.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import functools
import gzip
import importlib
import importlib.util
import io
import os
import stat
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import IO, Any, Literal, TypeAlias, cast

from dsmt_rules.exceptions import AdapterError
from dsmt_rules.records import Record, failure_of

__all__ = [
    "ADAPTERS",
    "Batch",
    "InputFormat",
    "detect_format",
    "open_batch",
    "open_input",
    "read_input",
]

InputFormat: TypeAlias = Literal["json", "x12", "fhir"]

_HEAD_BYTES = 4096
_GZIP_MAGIC = b"\x1f\x8b"

ADAPTERS: Mapping[str, tuple[str, str, str]] = {
    "x12": ("dsmt_rules.adapters.x12", "X12 837", "x12"),
    "fhir": ("dsmt_rules.adapters.fhir", "FHIR", "fhir"),
}
"""Optional input adapters: format -> (module, label, extra). Each module exposes
``read_records(stream: IO[bytes], *, name: str) -> Iterator[Record]``."""


def detect_format(head: bytes) -> InputFormat:
    """The input format from an input's first bytes (after a byte-order mark and white space).

    ``ISA`` first is X12, and so is ``GS`` or ``ST`` first (an 837 without its interchange
    envelope: the X12 reader reports it, DS003); a JSON object naming a ``"resourceType"`` is
    FHIR; anything else is read as JSON (JSON Lines, an array of claim documents, or one document).
    A gzip stream is decompressed first (:func:`read_input`).
    """
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if start.startswith((b"ISA", b"GS*", b"ST*")) or (
        start[:3] in (b"GS", b"ST") and start[3:4] in _X12_ELEMENT_SEPARATORS
    ):
        return "x12"
    if start.startswith(b"{") and b'"resourceType"' in start:
        return "fhir"
    return "json"


_X12_ELEMENT_SEPARATORS = frozenset(bytes([b]) for b in b"*|^~:!#%&+;=?@\\`")


def _adapter(kind: str, name: str) -> Callable[..., Iterator[Record]]:
    module_name, label, extra = ADAPTERS[kind]
    hint = f"{name}: {label} input needs the {extra} extra: pip install 'dsmt-rules[{extra}]'"
    if importlib.util.find_spec(module_name) is None:
        raise AdapterError(hint)
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise AdapterError(hint) from None
    return cast(Callable[..., Iterator[Record]], module.read_records)


class _Prefixed(io.RawIOBase):
    """A stream that gives ``head`` first, then the rest of ``stream`` (read once, never seeked)."""

    def __init__(self, head: bytes, stream: IO[bytes]) -> None:
        self._head = memoryview(head)
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


_UNICODE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
"""Byte order marks of UTF-32 and UTF-16 (UTF-32 LE first: it starts with UTF-16 LE's)."""


class _Transcoded(io.RawIOBase):
    """A UTF-16 or UTF-32 stream (byte order mark first) as UTF-8, decoded chunk by chunk (a
    byte that cannot be decoded becomes U+FFFD, for the reader to report)."""

    def __init__(self, stream: IO[bytes], encoding: str) -> None:
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        self._out = b""
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._out and not self._eof:
            chunk = self._stream.read(1 << 16)
            self._eof = not chunk
            text = self._decoder.decode(chunk, final=self._eof)
            self._out = text.encode("utf-8", "surrogatepass")
        n = min(len(buffer), len(self._out))
        buffer[:n] = self._out[:n]
        self._out = self._out[n:]
        return n


def _head(stream: IO[bytes]) -> tuple[bytes, IO[bytes]]:
    """The first bytes of a stream, and a buffered stream that still starts with them."""
    head = b""
    while len(head) < _HEAD_BYTES:
        chunk = stream.read(_HEAD_BYTES - len(head))
        if not chunk:
            break
        head += chunk
    return head, io.BufferedReader(_Prefixed(head, stream), 1 << 16)


def read_input(stream: IO[bytes], *, name: str, x12_validate: bool = False) -> Iterator[Record]:
    """Every record of one input, read once: the format (and gzip) is detected from its first bytes.

    UTF-8 is read as it is; UTF-16 and UTF-32 with a byte order mark are read as UTF-8, decoded as
    they stream.

    ``name`` is how the input is shown to people (the path as given, or ``<stdin>``). Standard
    input and pipes stream like files: nothing is spooled or read twice. ``x12_validate`` reads an
    X12 837 with pyx12's full implementation-guide validation (extra ``x12``) instead of the
    adapter's own reader.
    """
    head, buffered = _head(stream)
    if head.startswith(_GZIP_MAGIC):
        try:
            head, buffered = _head(cast(IO[bytes], gzip.GzipFile(fileobj=buffered, mode="rb")))
        except _GZIP_ERRORS:
            return iter([Record(1, None, (((), _BAD_GZIP),))])
    for bom, encoding in _UNICODE_BOMS:
        if head.startswith(bom):  # Windows tools write UTF-16 (PowerShell's `>`, Notepad)
            head, buffered = _head(io.BufferedReader(_Transcoded(buffered, encoding), 1 << 16))
            break
    kind = detect_format(head)
    if kind == "json":
        from dsmt_rules.adapters.jsonl import read_records as read_json

        return _guarded(read_json(buffered), _LABELS[kind])
    reader = _adapter(kind, name)
    if kind == "x12" and x12_validate:
        return _guarded(reader(buffered, name=name, validate=True), _LABELS[kind])
    return _guarded(reader(buffered, name=name), _LABELS[kind])


_GZIP_ERRORS = (gzip.BadGzipFile, EOFError, zlib.error)
_BAD_GZIP = "the gzip data is corrupt or truncated here; the rest of this input was not read"

_LABELS: Mapping[InputFormat, str] = {"json": "JSON", "x12": "X12", "fhir": "FHIR"}


def _guarded(records: Iterator[Record], label: str) -> Iterator[Record]:
    """The guard on reading: an adapter that raises (a defect of ours, not an I/O error) ends its
    input with one record that says so (DS005, with the position after the last record read)."""
    position = 0
    while True:
        try:
            record = next(records)
        except StopIteration:
            return
        except _GZIP_ERRORS:  # the input's data, not the disk: the rest cannot be read
            yield Record(position + 1, None, (((), _BAD_GZIP),))
            return
        except OSError:
            raise  # an I/O error: the command's error (exit 2), not a record's
        except Exception as exc:  # the guard
            failure = failure_of(f"reading the {label} input", exc, stopped=True)
            yield Record(position + 1, None, failure=failure)
            return
        position = record.position
        yield record


def _completed(records: Iterator[Record], complete: Callable[[Record], Record]) -> Iterator[Record]:
    """Each record completed with reference data; a record that cannot be gets DS005."""
    for record in records:
        try:
            done = complete(record)
        except Exception as exc:  # the guard
            failure = failure_of("applying the reference data", exc)
            done = Record(
                record.position, None, (), record.claim_id, record.source, failure=failure
            )
        yield done


class Batch:
    """Several inputs read as one batch, once, in order; and each report's file.

    Iterating (or calling) the batch yields every record of every input, in order.
    :meth:`file_of` maps a report's 0-based index in the output to the name of its input: as
    reports come in input order, one per record, counting each input's records is enough.
    """

    def __init__(
        self,
        inputs: Sequence[tuple[str, IO[bytes]]],
        complete: Callable[[Record], Record] | None = None,
        *,
        x12_validate: bool = False,
    ) -> None:
        self._inputs = tuple(inputs)
        self._complete = complete
        self._x12_validate = x12_validate
        self._counts: dict[int, int] = {}
        self._cursor = 0
        self._start = 0

    def __iter__(self) -> Iterator[Record]:
        for i, (name, stream) in enumerate(self._inputs):
            count = 0
            records = read_input(stream, name=name, x12_validate=self._x12_validate)
            if self._complete is not None:
                records = _completed(records, self._complete)
            for record in records:
                count += 1
                yield record
            self._counts[i] = count

    def __call__(self) -> Iterator[Record]:
        return iter(self)

    def file_of(self, index: int) -> str | None:
        """The input name of the report at ``index`` (0-based, in output order)."""
        if index < self._start:
            self._cursor, self._start = 0, 0
        while self._cursor < len(self._inputs):
            count = self._counts.get(self._cursor)
            if count is None or index < self._start + count:
                return self._inputs[self._cursor][0]
            self._start += count
            self._cursor += 1
        return None


def open_input(path: str, stack: contextlib.ExitStack) -> IO[bytes]:
    """The file at ``path`` opened for reading (closed with ``stack``); a pipe or device
    (``<(cmd)``) is read as it comes. A directory is an error (IsADirectoryError)."""
    mode = os.stat(path).st_mode
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "is a directory, not a file of claims", path)
    return stack.enter_context(open(path, "rb"))


def open_batch(
    inputs: Sequence[tuple[str, IO[bytes]]],
    *,
    reference: Iterable[str] = (),
    individual_code: str = "G0108",
    group_code: str = "G0109",
    x12_validate: bool = False,
) -> Batch:
    """The records of the inputs (display name, stream), as one batch read once.

    ``reference`` names reference data files (JSON Lines) that complete the claims; the codes say
    which sessions suit which lines (:meth:`~dsmt_rules.reference.ReferenceData.apply`).
    ``x12_validate`` reads X12 input with pyx12's full validation (:func:`read_input`).
    """
    reference = tuple(reference)
    if not reference:
        return Batch(inputs, x12_validate=x12_validate)
    from dsmt_rules.reference import ReferenceData

    data = ReferenceData.load(reference)
    complete = functools.partial(data.apply, individual_code=individual_code, group_code=group_code)
    return Batch(inputs, complete, x12_validate=x12_validate)
