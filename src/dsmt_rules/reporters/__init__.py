"""Reporters: write reports to a text stream in one of the formats of DESIGN.md ("The report").

Every writer takes the reports of a batch, in input order, and a text stream; ``jsonl``, ``json``,
``text`` and ``csv`` write incrementally in bounded memory, ``sarif`` collects its results first.
``origin`` names the input file of each report (text, csv and sarif print it; jsonl and json keep
to the report contract): one file name for every report, or a function from a report's 0-based
index in the stream to its file name.

>>> import io
>>> from dsmt_rules.findings import Report
>>> out = io.StringIO()
>>> write_reports("jsonl", [Report(claim_id="C-1", record=1)], out)
>>> out.getvalue()
'{"record": 1, "claim_id": "C-1", "status": "pass", "findings": []}\\n'
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal, Protocol, TypeAlias

from dsmt_rules.findings import Report, Status

__all__ = [
    "FORMATS",
    "STDOUT",
    "Format",
    "Origin",
    "Summary",
    "TextSink",
    "absolute_urls",
    "docs_url_of",
    "format_for",
    "is_terminal",
    "open_output",
    "origin_function",
    "write_reports",
]

Format: TypeAlias = Literal["jsonl", "json", "text", "csv", "sarif", "html"]
FORMATS: tuple[Format, ...] = ("jsonl", "json", "text", "csv", "sarif", "html")
"""The output formats, in the order ``--format`` lists them."""


class TextSink(Protocol):
    """Where a reporter writes: anything with ``write(str)`` (a text file, ``io.StringIO``, ...)."""

    def write(self, text: str, /) -> object:
        """Write a piece of text."""


Origin: TypeAlias = str | Callable[[int], str | None] | None
"""The input file of each report: one name, a function of the report's 0-based index, or unknown."""

_MODULES: dict[Format, tuple[str, str]] = {
    "jsonl": ("dsmt_rules.reporters.jsonl", "write_jsonl"),
    "json": ("dsmt_rules.reporters.jsonl", "write_json"),
    "text": ("dsmt_rules.reporters.text", "write_text"),
    "csv": ("dsmt_rules.reporters.csv", "write_csv"),
    "sarif": ("dsmt_rules.reporters.sarif", "write_sarif"),
    "html": ("dsmt_rules.reporters.html", "write_html"),
}


def origin_function(origin: Origin) -> Callable[[int], str | None]:
    """``origin`` as a function of the report's index in the stream."""
    if origin is None or isinstance(origin, str):
        name = origin
        return lambda _index: name
    return origin


@dataclass(slots=True)
class Summary:
    """Counts over a batch of reports: claims by status and findings by code."""

    claims: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    by_code: Counter[str] = field(default_factory=Counter)
    no_claim: list[str] = field(default_factory=list)
    """The X12 inputs that hold no CLM segment, by name (the CLI says so on stderr)."""

    def add(self, report: Report) -> None:
        """Count one report."""
        self.claims += 1
        self.by_status[report.status.value] += 1
        for finding in report.findings:
            self.by_code[finding.code] += 1

    def tally(self, reports: Iterable[Report]) -> Iterator[Report]:
        """Pass the reports through, counting each one."""
        for report in reports:
            self.add(report)
            yield report

    def count(self, status: Status) -> int:
        """How many claims have this status."""
        return self.by_status[status.value]


def docs_url_of(path: str, base: str | None) -> str:
    """A rule's docs link: the documented relative ``path`` joined to ``base`` when there is one.

    >>> docs_url_of("docs/rules/DS104-group-too-small.md", "https://example.org/dsmt/")
    'https://example.org/dsmt/docs/rules/DS104-group-too-small.md'
    """
    if not base:
        return path
    return base.rstrip("/") + "/" + path.lstrip("/")


def absolute_urls(reports: Iterable[Report], base: str) -> Iterator[Report]:
    """The reports with each finding's ``url`` joined to ``base`` (:func:`docs_url_of`)."""
    joined: dict[str, str] = {}
    for report in reports:
        if not report.findings:
            yield report
            continue
        findings = []
        for f in report.findings:
            if f.url is not None:
                url = joined.get(f.url)
                if url is None:
                    url = joined[f.url] = docs_url_of(f.url, base)
                f = dataclasses.replace(f, url=url)
            findings.append(f)
        yield Report(report.claim_id, tuple(findings), report.record, claim=report.claim)


def write_reports(
    fmt: Format,
    reports: Iterable[Report],
    out: TextSink,
    *,
    origin: Origin = None,
    color: bool = False,
    width: int | None = None,
    docs_url: str | None = None,
    bom: bool = False,
    show_fixes: bool = False,
) -> None:
    """Write reports to ``out`` in format ``fmt`` (one of :data:`FORMATS`).

    ``color`` and ``width`` (wrap messages to this many columns) apply to ``text`` only.
    ``docs_url``: a base URL that makes the rule links absolute (:func:`docs_url_of`), in the
    findings of every format and in SARIF's ``helpUri``. ``bom`` (a UTF-8 byte order mark
    first) applies to ``csv`` only. ``show_fixes`` (a line under each finding that has a fix)
    applies to ``text`` only.
    """
    try:
        module_name, function_name = _MODULES[fmt]
    except KeyError:
        raise ValueError(
            f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}"
        ) from None
    writer = getattr(importlib.import_module(module_name), function_name)
    if docs_url:
        reports = absolute_urls(reports, docs_url)
    if fmt == "text":
        if show_fixes:
            writer(reports, out, origin=origin, color=color, width=width, show_fixes=True)
        else:
            writer(reports, out, origin=origin, color=color, width=width)
    elif fmt in ("jsonl", "json"):
        writer(reports, out)
    elif fmt == "csv":
        writer(reports, out, origin=origin, bom=bom)
    elif fmt == "sarif":
        writer(reports, out, origin=origin, docs_url=docs_url)
    else:
        writer(reports, out, origin=origin)


# --- where reports go ------------------------------------------------------------------------------

STDOUT = "-"
"""The output path that means standard output."""

_SUFFIX_FORMATS: Mapping[str, Format] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".sarif": "sarif",
    ".txt": "text",
    ".html": "html",
    ".htm": "html",
}


def is_terminal(stream: object) -> bool:
    """Whether a stream is a terminal (False when it cannot tell)."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if isatty is not None else False
    except (OSError, ValueError):
        return False


def format_for(output: str | None) -> Format:
    """The default format: ``text`` on a terminal, else ``jsonl``; for a file, from its suffix."""
    if output is None or output == STDOUT:
        return "text" if is_terminal(sys.stdout) else "jsonl"
    return _SUFFIX_FORMATS.get(Path(output).suffix.lower(), "jsonl")


class _Utf8Sink:
    """Text to a binary stream as UTF-8 (stdout's own encoding may not be)."""

    __slots__ = ("_write",)

    def __init__(self, stream: IO[bytes]) -> None:
        self._write = stream.write

    def write(self, text: str, /) -> int:
        return self._write(text.encode("utf-8", "replace"))


@contextlib.contextmanager
def _stdout_sink() -> Iterator[TextSink]:
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:  # pragma: no cover - a replaced sys.stdout without a binary layer
        yield sys.stdout
        sys.stdout.flush()
        return
    yield _Utf8Sink(buffer)
    buffer.flush()


@contextlib.contextmanager
def open_output(path: str | None) -> Iterator[TextSink]:
    """A text sink for the reports: standard output (UTF-8) for ``None`` or ``-``, else a file."""
    if path is None or path == STDOUT:
        with _stdout_sink() as sink:
            yield sink
        return
    with open(path, "w", encoding="utf-8", errors="replace", newline="") as out:
        yield out
