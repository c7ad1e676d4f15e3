"""The fix job: check, apply the findings' fixes to the claim documents, check again.

``dsmt-rules fix`` (and :func:`fix_inputs`) works as ``ruff check --fix``: every pass checks all the
inputs as one batch (so a beneficiary's claims in one file are history for the claims in another),
applies the fixes of the findings (the safe ones; the unsafe ones too with ``unsafe=True``) that do
not overlap another fix of the same claim, and checks again, until a pass changes nothing (at most
:data:`MAX_PASSES` passes). An edit is applied only when the document still holds the value the
edit replaces (for a removed line, its ``line_id``), so a fix made stale by another never applies.

Input and output are JSON Lines claim documents. A record that no fix changes is written back
byte for byte; a changed one is written as one line of JSON (key order kept). An 837 or FHIR
input is refused: writing an 837 back means re-emitting the SV1/SV2 segments with their loop
positions and segment counts (SE01) kept consistent, which the streaming reader does not
support (the 837's claims carry the fixes in their reports; apply them at the source system).
See docs/fixes.md.
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import io
import json
import os
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from dsmt_rules import adapters
from dsmt_rules.engine import Ruleset, check_records
from dsmt_rules.engine._batch import DEFAULT_MEMORY
from dsmt_rules.exceptions import ConfigError
from dsmt_rules.findings import Applicability, Edit, Fix, Loc, Report, Status
from dsmt_rules.reporters import STDOUT, open_output
from dsmt_rules.settings import Settings

__all__ = [
    "MAX_PASSES",
    "FixResult",
    "apply_fixes",
    "diff",
    "fix_inputs",
    "run_fix",
    "summary_lines",
]

MAX_PASSES = 10
"""Checks at most (ruff stops at 100): one fix may make another (a swap, then a cap's cut)."""

_SAFE = Applicability.SAFE


@dataclass
class _Document:
    """One record of an input: its line as read, and its JSON object once a fix changed it."""

    text: bytes
    data: dict[str, Any] | None = None

    def current(self) -> bytes:
        if self.data is None:
            return self.text
        end = b"\r\n" if self.text.endswith(b"\r\n") else b"\n"
        return json.dumps(self.data, ensure_ascii=False).encode() + end


@dataclass
class _Input:
    name: str
    lines: list[_Document | bytes]
    """Each line of the input: a record, or a blank line (kept as it is)."""

    def documents(self) -> Iterator[_Document]:
        return (line for line in self.lines if isinstance(line, _Document))

    def original(self) -> bytes:
        return b"".join(ln if isinstance(ln, bytes) else ln.text for ln in self.lines)

    def current(self) -> bytes:
        return b"".join(ln if isinstance(ln, bytes) else ln.current() for ln in self.lines)


@dataclass
class FixResult:
    """What a fix run did."""

    names: tuple[str, ...]
    """The inputs, in order."""
    original: tuple[bytes, ...]
    """Each input as read."""
    fixed: tuple[bytes, ...]
    """Each input with the fixes applied."""
    reports: tuple[Report, ...]
    """The reports of the last check: what remains after the fixes."""
    applied: Counter[str] = field(default_factory=Counter)
    """Fixes applied, by finding code."""
    changed_claims: int = 0
    """Claims that at least one fix changed."""
    unsafe_left: Counter[str] = field(default_factory=Counter)
    """Unsafe fixes of the remaining findings, not applied (without ``unsafe``), by code."""
    passes: int = 0
    changes: tuple[tuple[str, int, bytes, bytes], ...] = ()
    """Each changed record: its input, line number, text as read and text as fixed."""

    @property
    def changed(self) -> bool:
        return self.original != self.fixed


def _read(name: str, data: bytes) -> _Input:
    if data[:2] == b"\x1f\x8b":
        raise ConfigError(f"{name}: fix reads and writes plain JSON Lines, not a gzip stream")
    kind = adapters.detect_format(data[:4096])
    if kind != "json":
        raise ConfigError(
            f"{name}: fix writes JSON Lines claim documents only; an {kind.upper()} input is not "
            "written back (its reports carry the fixes: see docs/fixes.md)"
        )
    start = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    lines: list[_Document | bytes] = []
    for line in _lines_of(data):
        if not line.strip():
            lines.append(line)
        elif start == b"[" or line.strip() in (b"{", b"["):
            raise ConfigError(
                f"{name}: fix reads JSON Lines (one claim document per line), not a JSON array "
                "or a pretty-printed document"
            )
        else:
            lines.append(_Document(line))
    if lines and isinstance(lines[-1], _Document) and not lines[-1].text.endswith(b"\n"):
        lines[-1].text += b"\n"  # the last record gets its line end, as every written line has
    return _Input(name, lines)


def _lines_of(data: bytes) -> Iterator[bytes]:
    """The lines of ``data`` with their ends, split at ``\\n`` only (as the JSON Lines reader)."""
    start = 0
    while start < len(data):
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end + 1
        yield data[start:end]
        start = end


def _is(value: Any, expected: Any) -> bool:
    """The document holds ``expected`` (a bool is not an int here)."""
    return type(value) is type(expected) and value == expected


def _container(doc: Any, loc: Loc) -> Any:
    node = doc
    for part in loc:
        if isinstance(part, int):
            if not isinstance(node, list) or not 0 <= part < len(node):
                return None
        elif not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _applies(doc: dict[str, Any], edit: Edit) -> bool:
    """Whether the document holds what the edit replaces (a removal: the line's id)."""
    parent = _container(doc, edit.loc[:-1])
    key = edit.loc[-1] if edit.loc else None
    if edit.removes:
        if not isinstance(parent, list) or not isinstance(key, int) or not 0 <= key < len(parent):
            return False
        element = parent[key]
        # A claim keeps at least one line: a fix never empties it (void the claim instead).
        return (
            isinstance(element, dict) and _is(element.get("line_id"), edit.old) and len(parent) > 1
        )
    if edit.new is None:
        return False  # no fix sets a field to null: a malformed edit is never applied
    if isinstance(key, int):
        return isinstance(parent, list) and 0 <= key < len(parent) and _is(parent[key], edit.old)
    return isinstance(parent, dict) and key in parent and _is(parent[key], edit.old)


def _overlaps(a: Loc, b: Loc) -> bool:
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def apply_fixes(doc: dict[str, Any], fixes: Sequence[Fix]) -> list[int]:
    """Apply the fixes that hold and overlap no earlier one, in order; return their indexes.

    Every edit's ``loc`` refers to the document as it was checked: replacements are made first,
    then removals from the last line up, so no index moves under another edit.
    """
    taken: list[Loc] = []
    applied: list[int] = []
    removals: list[Edit] = []
    for n, fix in enumerate(fixes):
        edits = fix.edits
        if not edits or any(_overlaps(e.loc, t) for e in edits for t in taken):
            continue
        # Each edit of a fix at its own place, none under another's: then all of them or none.
        if any(_overlaps(a.loc, b.loc) for i, a in enumerate(edits) for b in edits[i + 1 :]):
            continue
        if not all(_applies(doc, e) for e in edits):
            continue
        removes = sum(e.removes for e in edits)
        if removes and removes + len(removals) >= len(doc.get("lines") or ()):
            continue  # together the removals would leave the claim with no line
        for e in edits:
            if e.removes:
                removals.append(e)
            else:
                _container(doc, e.loc[:-1])[e.loc[-1]] = e.new
        taken.extend(e.loc for e in edits)
        applied.append(n)
    for e in sorted(removals, key=lambda e: e.loc, reverse=True):
        del _container(doc, e.loc[:-1])[e.loc[-1]]
    return applied


def _check(
    inputs: Sequence[_Input],
    rules: Ruleset,
    reference: Sequence[str],
    memory: int,
    temp_dir: str | None,
) -> list[Report]:
    streams = [(i.name, io.BufferedReader(io.BytesIO(i.current()))) for i in inputs]
    profile = rules.profile
    batch = adapters.open_batch(
        streams,
        reference=reference,
        individual_code=profile.individual_code,
        group_code=profile.group_code,
    )
    return list(check_records(batch, rules=rules, memory=memory, temp_dir=temp_dir))


def _wanted(fix: Fix | None, unsafe: bool) -> bool:
    return fix is not None and bool(fix.edits) and (unsafe or fix.applicability is _SAFE)


def fix_inputs(
    inputs: Sequence[tuple[str, bytes]],
    *,
    rules: Ruleset,
    unsafe: bool = False,
    reference: Sequence[str] = (),
    memory: int = DEFAULT_MEMORY,
    temp_dir: str | None = None,
) -> FixResult:
    """Fix the claim documents of ``inputs`` (name, JSON Lines bytes) as one batch.

    ``unsafe`` also applies the unsafe fixes. The inputs are not modified: the result holds the
    repaired text of each (:attr:`FixResult.fixed`). Raises ConfigError for an input that is not
    JSON Lines.
    """
    files = [_read(name, data) for name, data in inputs]
    docs = [d for f in files for d in f.documents()]
    applied: Counter[str] = Counter()
    changed: set[int] = set()
    passes = 0
    while True:
        reports = _check(files, rules, reference, memory, temp_dir)
        passes += 1
        if len(reports) != len(docs):  # pragma: no cover - one report per record, always
            raise RuntimeError("fix: reports and records differ in number")
        if passes > MAX_PASSES:
            break
        progress = False
        for n, (doc, report) in enumerate(zip(docs, reports, strict=True)):
            findings = [f for f in report.findings if _wanted(f.fix, unsafe)]
            if not findings:
                continue
            data = doc.data if doc.data is not None else _parsed(doc.text)
            if data is None:
                continue
            done = apply_fixes(data, [f.fix for f in findings if f.fix is not None])
            if done:
                doc.data = data
                changed.add(n)
                progress = True
                applied.update(findings[i].code for i in done)
        if not progress:
            break
    unsafe_left: Counter[str] = Counter()
    if not unsafe:
        for report in reports:
            unsafe_left.update(
                f.code
                for f in report.findings
                if f.fix is not None and f.fix.edits and f.fix.applicability is not _SAFE
            )
    changes = tuple(
        (f.name, lineno, line.text, line.current())
        for f in files
        for lineno, line in enumerate(f.lines, start=1)
        if isinstance(line, _Document) and line.data is not None
    )
    return FixResult(
        tuple(f.name for f in files),
        tuple(f.original() for f in files),
        tuple(f.current() for f in files),
        tuple(reports),
        applied,
        len(changed),
        unsafe_left,
        passes,
        changes,
    )


def _parsed(text: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _fields(text: bytes) -> list[str]:
    return (json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n").splitlines(True)


def diff(result: FixResult) -> str:
    """A unified diff of each record the fixes change, without context.

    Each record is shown one field per line (JSON indented by 2) under the header
    ``--- NAME:LINE (claim ID)``: only the changed fields print, so the rest of the document (the
    beneficiary's identifiers among it) never does. A record whose fixes cancel out is left out.
    """
    out: list[str] = []
    for name, lineno, before, after in result.changes:
        old, new = _fields(before), _fields(after)
        if old == new:
            continue
        claim = json.loads(before).get("claim_id")
        where = f"{name}:{lineno}" + (f" (claim {claim})" if isinstance(claim, str) else "")
        out.extend(difflib.unified_diff(old, new, fromfile=where, tofile=where, n=0))
    return "".join(out)


def _codes(counts: Counter[str]) -> str:
    return ", ".join(f"{code} x{n}" for code, n in sorted(counts.items()))


def summary_lines(result: FixResult, *, dry_run: bool = False) -> list[str]:
    """What the run changed and what remains, for stderr: counts and codes only (no PHI)."""
    claims = len(result.reports)
    noun = "claim" if claims == 1 else "claims"
    total = sum(result.applied.values())
    verb = "Would fix" if dry_run else "Fixed"
    lines = (
        [
            f"{verb} {total} finding{'s' if total != 1 else ''} in {result.changed_claims} of "
            f"{claims} {noun}: {_codes(result.applied)}."
        ]
        if total
        else [f"No fixes {'to apply' if dry_run else 'applied'} ({claims} {noun})."]
    )
    if result.unsafe_left:
        n = sum(result.unsafe_left.values())
        lines.append(
            f"{n} unsafe fix{'es' if n != 1 else ''} not applied ({_codes(result.unsafe_left)}); "
            "use --unsafe-fixes to apply."
        )
    remaining: Counter[str] = Counter(f.code for r in result.reports for f in r.findings)
    rejected = sum(1 for r in result.reports if r.status is Status.REJECT)
    review = sum(1 for r in result.reports if r.status is Status.REVIEW)
    lines.append(
        f"Remaining: {rejected} rejected, {review} for review; "
        f"findings by code: {_codes(remaining) or 'none'}."
    )
    return lines


def _write_atomic(path: str, data: bytes) -> None:
    """Replace the file at ``path`` with ``data`` (a temporary file in its directory, renamed)."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".dsmt-fix-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        shutil.copymode(path, tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def run_fix(
    paths: Sequence[str],
    *,
    settings: Settings,
    rules: Ruleset,
    output: str | None = None,
    in_place: bool = False,
    show_diff: bool = False,
    unsafe: bool = False,
) -> FixResult:
    """``dsmt-rules fix``: read ``paths`` (``-``: stdin), fix them as one batch, then print the
    diff (``show_diff``), rewrite the inputs (``in_place``) or write the repaired documents of all
    inputs, in order, to ``output`` (``-``: stdout); the summary goes to stderr."""
    from dsmt_rules.job import STDIN, STDIN_NAME

    if output is not None and output != STDOUT:
        for path in paths:
            if path != STDIN and os.path.exists(output) and os.path.samefile(path, output):
                raise ConfigError(
                    f"{output}: is also an input; use --in-place to rewrite it, or another file"
                )
    if in_place and STDIN in paths:
        raise ConfigError("--in-place cannot rewrite standard input; use --output")
    inputs: list[tuple[str, bytes]] = []
    for path in paths:
        if path == STDIN:
            if any(name == STDIN_NAME for name, _ in inputs):
                raise ConfigError("'-' (standard input) can be read only once; give it once")
            inputs.append((STDIN_NAME, sys.stdin.buffer.read()))
        else:
            if os.path.isdir(path):
                raise IsADirectoryError(errno.EISDIR, "is a directory, not a file of claims", path)
            with open(path, "rb") as stream:
                inputs.append((path, stream.read()))
    result = fix_inputs(
        inputs,
        rules=rules,
        unsafe=unsafe,
        reference=settings.reference,
        memory=settings.batch_memory * 1024 * 1024,
        temp_dir=settings.temp_dir,
    )
    if show_diff:
        with open_output(None) as sink:
            sink.write(diff(result))
    elif in_place:
        for path, before, after in zip(paths, result.original, result.fixed, strict=True):
            if before != after:
                _write_atomic(path, after)
    elif output is None or output == STDOUT:
        sys.stdout.flush()
        for data in result.fixed:
            sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        with open(output, "wb") as out:
            for data in result.fixed:
                out.write(data)
    for line in summary_lines(result, dry_run=show_diff):
        print(line, file=sys.stderr)
    return result
