"""CSV for spreadsheets and SQL loaders: one row per finding, fixed columns.

A claim with no finding still gets one row (its finding columns empty), so every input record is
accounted for. ``file`` is the input file (empty when unknown); ``loc`` is dotted
(``lines.0.units``). Rows are written as the reports arrive.

Cells are neutralised against formula injection (OWASP, "CSV Injection"): a cell that starts with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return (or their full-width forms, which some
spreadsheets also read as formulas) gets a leading ``'``, so that a claim id such as
``=HYPERLINK(...)`` is shown as text, never run. ``bom`` writes a UTF-8 byte order mark first, for
spreadsheets that otherwise guess another encoding. The JSON outputs keep every value as it is.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence

from dsmt_rules.findings import Report
from dsmt_rules.reporters import Origin, TextSink, origin_function

__all__ = ["COLUMNS", "neutralise", "write_csv"]

COLUMNS = (
    "file",
    "record",
    "claim_id",
    "status",
    "code",
    "name",
    "severity",
    "line_id",
    "loc",
    "message",
    "citation",
    "carc_hint",
    "source",
)
"""The header row, in column order."""


_FORMULA_STARTS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
"""First characters that make a spreadsheet read a cell as a formula (OWASP; with full-width forms)."""


def neutralise(text: str) -> str:
    """``text`` as a spreadsheet shows it, never runs it: a leading ``'`` before a formula start."""
    return "'" + text if text and text[0] in _FORMULA_STARTS else text


def _text(value: object) -> str:
    return "" if value is None else str(value)


class _Neutral:
    """A CSV writer whose every cell is neutralised (:func:`neutralise`)."""

    __slots__ = ("_writer",)

    def __init__(self, out: TextSink) -> None:
        self._writer = csv.writer(out)

    def writerow(self, row: Sequence[str]) -> None:
        self._writer.writerow([neutralise(cell) for cell in row])


def write_csv(
    reports: Iterable[Report], out: TextSink, *, origin: Origin = None, bom: bool = False
) -> None:
    """Write the header and the rows (RFC 4180: CRLF line ends; open the stream with newline="")."""
    file_of = origin_function(origin)
    if bom:
        out.write("\ufeff")
    writer = _Neutral(out)
    writer.writerow(COLUMNS)
    for index, report in enumerate(reports):
        head = [
            _text(file_of(index)),
            _text(report.record),
            _text(report.claim_id),
            report.status.value,
        ]
        if not report.findings:
            writer.writerow([*head, "", "", "", "", "", "", "", "", ""])
            continue
        for f in report.findings:
            writer.writerow(
                [
                    *head,
                    f.code,
                    f.name,
                    f.severity.value,
                    _text(f.line_id),
                    ".".join(str(part) for part in f.loc),
                    f.message,
                    _text(f.citation),
                    _text(f.carc_hint),
                    _text(f.source),
                ]
            )
