"""JSON input: JSON Lines (one claim document per line), a JSON array of documents, or one document.

Every record yields exactly one :class:`~dsmt_rules.records.Record`, in input order: a claim, or the
problems that stop it being one (DS001), with its position (line number for JSON Lines, 1-based index
for an array). Blank lines are skipped. A line longer than ``max_record_bytes`` is reported, not read.
Problems name the model location and what is wrong; they never repeat the input value (PHI).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

from pydantic import ValidationError

from dsmt_rules.models import Claim
from dsmt_rules.records import Record, load_json, problems_of

__all__ = ["MAX_RECORD_BYTES", "parse_document", "read_records"]

MAX_RECORD_BYTES = 16 * 1024 * 1024
"""A claim document larger than this (16 MiB) is reported as DS001 instead of being parsed."""

_BUFFER = 1024 * 1024


def _claim_id_of(data: bytes | str) -> str | None:
    """The claim id of an invalid document, when it is readable (for the report; never PHI)."""
    try:
        obj = load_json(data)
    except (ValueError, RecursionError):  # RecursionError: nested too deeply to read
        return None
    if isinstance(obj, dict):
        cid = obj.get("claim_id")
        if isinstance(cid, str) and 0 < len(cid) <= 64:
            return cid
    return None


def parse_document(data: bytes | str, *, position: int = 1, source: str | None = None) -> Record:
    """Parse one claim document (JSON text) into a :class:`Record`."""
    try:
        claim = Claim.model_validate_json(data)
    except ValidationError as exc:
        return Record(position, None, problems_of(exc), _claim_id_of(data), source)
    return Record(position, claim, (), claim.claim_id, source)


def _parse_value(value: Any, position: int) -> Record:
    try:
        claim = Claim.model_validate(value)
    except ValidationError as exc:
        cid = value.get("claim_id") if isinstance(value, dict) else None
        ok_id = cid if isinstance(cid, str) and 0 < len(cid) <= 64 else None
        return Record(position, None, problems_of(exc), ok_id)
    return Record(position, claim, (), claim.claim_id)


def _skip_rest_of_line(stream: IO[bytes]) -> bool:
    """Consume the rest of an over-long line; False at end of file."""
    while True:
        chunk = stream.readline(_BUFFER)
        if not chunk:
            return False
        if chunk.endswith(b"\n"):
            return True


def _first_significant_byte(stream: IO[bytes]) -> bytes:
    peek = getattr(stream, "peek", None)
    if peek is None:
        return b""
    head: bytes = peek(4096)[:4096]
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return stripped[:1]


def read_records(
    stream: IO[bytes], *, max_record_bytes: int = MAX_RECORD_BYTES
) -> Iterator[Record]:
    """Yield one record per claim document in a binary stream (JSON Lines, array or one document).

    The stream should be buffered (``open(path, "rb")`` or ``sys.stdin.buffer``) so the format can be
    detected by peeking; JSON Lines are read line by line in bounded memory.
    """
    first = _first_significant_byte(stream)
    if first == b"[":
        yield from _read_array(stream, max_record_bytes)
        return
    yield from _read_lines(stream, max_record_bytes)


def _read_array(stream: IO[bytes], max_record_bytes: int) -> Iterator[Record]:
    data = stream.read(max_record_bytes * 64 + 1)
    if len(data) > max_record_bytes * 64:
        yield Record(1, None, (((), "JSON array too large; use JSON Lines for big batches"),))
        return
    try:
        values = load_json(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        if isinstance(exc, RecursionError):
            msg = "nested too deeply to read"
        else:
            msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8 text"
        yield Record(1, None, (((), f"not valid JSON: {msg}"),))
        return
    if not isinstance(values, list):  # pragma: no cover - first byte was '['
        yield Record(1, None, (((), "not a JSON array"),))
        return
    for i, value in enumerate(values, start=1):
        yield _parse_value(value, i)


def _read_lines(stream: IO[bytes], max_record_bytes: int) -> Iterator[Record]:
    lineno = 0
    pending: list[bytes] = []  # a pretty-printed document: its first non-blank line is "{"
    started = False  # a record (or an over-long line) has been seen
    while True:
        line = stream.readline(max_record_bytes + 1)
        if not line:
            break
        lineno += 1
        if len(line) > max_record_bytes and not line.endswith(b"\n"):
            started = True
            more = _skip_rest_of_line(stream)
            yield Record(
                lineno,
                None,
                (((), f"record longer than {max_record_bytes} bytes; not read"),),
            )
            if not more:
                break
            continue
        if lineno == 1:
            line = line.removeprefix(b"\xef\xbb\xbf")
        stripped = line.strip()
        if not stripped:
            continue
        if not started and stripped == b"{":  # the first record opens a pretty-printed document
            pending.append(line)
            pending.append(stream.read(max_record_bytes + 1))
            yield _one_document(b"".join(pending), max_record_bytes)
            return
        started = True
        yield parse_document(stripped, position=lineno)


def _one_document(data: bytes, max_record_bytes: int) -> Record:
    if len(data) > max_record_bytes:
        return Record(1, None, (((), f"document longer than {max_record_bytes} bytes; not read"),))
    return parse_document(data, position=1)
