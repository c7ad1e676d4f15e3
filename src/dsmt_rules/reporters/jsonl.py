"""The report contract as JSON: ``jsonl`` (one object per record) and ``json`` (one array).

Each object is :meth:`Report.to_dict() <dsmt_rules.findings.Report.to_dict>`: ``record``,
``claim_id``, ``status`` and ``findings`` (each with ``code``, ``name``, ``severity``, ``message``,
``loc``, ``line_id``, ``source``, ``citation``, ``carc_hint``, ``url``, ``ctx`` and ``fix``), in
that key order. Both writers stream: memory does not grow with the batch.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from dsmt_rules.findings import Report
from dsmt_rules.reporters import TextSink

__all__ = ["write_json", "write_jsonl"]


_string = json.encoder.encode_basestring  # the encoder json.dumps(ensure_ascii=False) uses


def encode_report(report: Report) -> str:
    """``json.dumps(report.to_dict(), ensure_ascii=False)``, faster for a report with no finding
    (most of a batch); the same bytes either way (a test compares them)."""
    if report.findings:
        return json.dumps(report.to_dict(), ensure_ascii=False)
    record = "null" if report.record is None else str(int(report.record))
    claim_id = "null" if report.claim_id is None else _string(report.claim_id)
    return f'{{"record": {record}, "claim_id": {claim_id}, "status": "pass", "findings": []}}'


def write_jsonl(reports: Iterable[Report], out: TextSink) -> None:
    """One JSON object per report and line, in input order, each written as it comes."""
    write = out.write
    for report in reports:
        write(encode_report(report) + "\n")


def write_json(reports: Iterable[Report], out: TextSink) -> None:
    """One JSON array of the report objects (``[]`` for an empty batch)."""
    write = out.write
    sep = "[\n"
    for report in reports:
        write(sep)
        write(encode_report(report))
        sep = ",\n"
    write("[]\n" if sep == "[\n" else "\n]\n")
