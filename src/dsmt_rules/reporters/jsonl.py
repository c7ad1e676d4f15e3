"""The report contract as JSON: ``jsonl`` (one object per record) and ``json`` (one array).

Each object is :meth:`Report.to_dict() <dsmt_rules.findings.Report.to_dict>`: ``record``,
``claim_id``, ``status`` and ``findings`` (each with ``code``, ``name``, ``severity``, ``message``,
``loc``, ``line_id``, ``source``, ``citation``, ``carc_hint``, ``url``), in that key order. Both
writers stream: memory does not grow with the batch.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from dsmt_rules.findings import Report
from dsmt_rules.reporters import TextSink

__all__ = ["write_json", "write_jsonl"]


def write_jsonl(reports: Iterable[Report], out: TextSink) -> None:
    """One JSON object per report and line, in input order."""
    dumps = json.dumps
    write = out.write
    for report in reports:
        write(dumps(report.to_dict(), ensure_ascii=False))
        write("\n")


def write_json(reports: Iterable[Report], out: TextSink) -> None:
    """One JSON array of the report objects (``[]`` for an empty batch)."""
    dumps = json.dumps
    write = out.write
    sep = "[\n"
    for report in reports:
        write(sep)
        write(dumps(report.to_dict(), ensure_ascii=False))
        sep = ",\n"
    write("[]\n" if sep == "[\n" else "\n]\n")
