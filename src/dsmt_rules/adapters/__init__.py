"""Input adapters: they translate formats into :class:`~dsmt_rules.records.Record` values and never judge.

``jsonl`` (JSON Lines, a JSON array or one JSON document) needs nothing extra. ``x12`` and ``fhir``
need the extras ``dsmt-rules[x12]`` / ``dsmt-rules[fhir]`` and are imported only when used.

This module is the registry: :func:`detect_format` tells an input's format from its first bytes,
:data:`ADAPTERS` names the module that reads each optional format, :func:`open_records` opens one
input, and :func:`open_batch` opens several as one batch (with reference data applied, when given).
Nothing here imports the engine: adapters sit below it.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import importlib
import importlib.util
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Literal, TypeAlias, cast

from dsmt_rules.exceptions import AdapterError
from dsmt_rules.records import Record

__all__ = [
    "ADAPTERS",
    "Batch",
    "InputFormat",
    "RecordSource",
    "detect_format",
    "open_batch",
    "open_records",
    "readable_path",
    "spooled",
]

RecordSource: TypeAlias = Callable[[], Iterator[Record]]
"""A zero-argument function returning a fresh iterator over an input's records (re-readable)."""

InputFormat: TypeAlias = Literal["json", "x12", "fhir"]

_HEAD_BYTES = 4096

ADAPTERS: Mapping[str, tuple[str, str, str]] = {
    "x12": ("dsmt_rules.adapters.x12", "X12 837", "x12"),
    "fhir": ("dsmt_rules.adapters.fhir", "FHIR", "fhir"),
}
"""Optional input adapters: format -> (module, label, extra). Each module exposes
``read_records(stream: IO[bytes], *, name: str) -> Iterator[Record]``."""


def detect_format(head: bytes) -> InputFormat:
    """The input format from an input's first bytes.

    ``ISA`` first (after white space) is X12; a JSON object naming a ``"resourceType"`` is FHIR;
    anything else is read as JSON (JSON Lines, an array of claim documents, or one document).
    """
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if start.startswith(b"ISA"):
        return "x12"
    if start.startswith(b"{") and b'"resourceType"' in start:
        return "fhir"
    return "json"


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


def open_records(path: Path, *, name: str) -> RecordSource:
    """Detect the format of the file at ``path`` and return a re-readable source of its records.

    ``name`` is how the input is shown to people (the path as given, or ``<stdin>``). The file is
    opened here once (so a missing or unreadable file fails now) and again on every call of the
    returned function.
    """
    with path.open("rb") as stream:
        head = stream.read(_HEAD_BYTES)
    kind = detect_format(head)
    if kind == "json":
        from dsmt_rules.adapters.jsonl import read_records as read_json

        def read(stream: IO[bytes]) -> Iterator[Record]:
            return read_json(stream)
    else:
        read = functools.partial(_adapter(kind, name), name=name)

    def records() -> Iterator[Record]:
        with path.open("rb") as stream:
            yield from read(stream)

    return records


class Batch:
    """Several inputs read as one batch: a re-readable record source, and each report's file.

    Calling the batch returns a fresh iterator over every record of every input, in order (the
    engine may read it twice). :meth:`file_of` maps a report's 0-based index in the output to the
    name of its input: as reports come in input order, one per record, counting each input's
    records is enough.
    """

    def __init__(self, inputs: Sequence[tuple[str, RecordSource]]) -> None:
        self._inputs = tuple(inputs)
        self._counts: dict[int, int] = {}
        self._cursor = 0
        self._start = 0

    def __call__(self) -> Iterator[Record]:
        for i, (_, source) in enumerate(self._inputs):
            count = 0
            for record in source():
                count += 1
                yield record
            self._counts[i] = count

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


@contextlib.contextmanager
def spooled(stream: IO[bytes]) -> Iterator[Path]:
    """A stream copied to a temporary file, so that it can be read more than once."""
    fd, name = tempfile.mkstemp(prefix="dsmt-rules-", suffix=".spool")
    try:
        with os.fdopen(fd, "wb") as spool:
            shutil.copyfileobj(stream, spool, 1 << 20)
        yield Path(name)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)


def readable_path(path: str, stack: contextlib.ExitStack) -> Path:
    """``path`` itself when it is a regular file; a pipe or device (``<(cmd)``) is spooled."""
    mode = os.stat(path).st_mode
    if stat.S_ISREG(mode):
        return Path(path)
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "is a directory, not a file of claims", path)
    with open(path, "rb") as stream:
        return stack.enter_context(spooled(stream))


def open_batch(
    inputs: Sequence[tuple[str, Path]],
    *,
    reference: Iterable[str] = (),
    individual_code: str = "G0108",
    group_code: str = "G0109",
) -> Batch:
    """The records of the inputs (display name, path), as one re-readable batch.

    ``reference`` names reference data files (JSON Lines) that complete the claims; the codes say
    which sessions suit which lines (:meth:`~dsmt_rules.reference.ReferenceData.apply`).
    """
    sources = [(name, open_records(path, name=name)) for name, path in inputs]
    reference = tuple(reference)
    if reference:
        from dsmt_rules.reference import ReferenceData

        data = ReferenceData.load(reference)
        complete = functools.partial(
            data.apply, individual_code=individual_code, group_code=group_code
        )
        sources = [(name, _completed(source, complete)) for name, source in sources]
    return Batch(sources)


def _completed(source: RecordSource, complete: Callable[[Record], Record]) -> RecordSource:
    def records() -> Iterator[Record]:
        return map(complete, source())

    return records
