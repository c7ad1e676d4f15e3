"""CSV for spreadsheets and SQL loaders: one row per finding, fixed columns.

A claim with no finding still gets one row (its finding columns empty), so every input record is
accounted for. ``file`` is the input file (empty when unknown); ``loc`` is dotted
(``lines.0.units``). Rows are written as the reports arrive.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable

from dsmt_rules.findings import Report
from dsmt_rules.reporters import Origin, TextSink, origin_function

__all__ = ["COLUMNS", "write_csv"]

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


def _text(value: object) -> str:
    return "" if value is None else str(value)


def write_csv(reports: Iterable[Report], out: TextSink, *, origin: Origin = None) -> None:
    """Write the header and the rows (RFC 4180: CRLF line ends; open the stream with newline="")."""
    file_of = origin_function(origin)
    writer = csv.writer(out)
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
