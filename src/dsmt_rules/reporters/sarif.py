"""SARIF 2.1.0, for code-scanning style dashboards.

One run: ``tool.driver.rules`` is the whole catalog (``helpUri`` = the rule's docs page, relative to
the project root, or absolute under a configured docs base URL), and each finding is a result with
``ruleId``, ``level`` (``error`` / ``warning`` / ``note``), the message, the input file as
``artifactLocation`` when it is known, and a logical location naming the claim (and the line).
Claims without findings produce no result. The results are collected before the document is written.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterable
from pathlib import PurePath
from typing import Any
from urllib.parse import quote

from dsmt_rules.findings import Finding, Report, Severity
from dsmt_rules.reporters import Origin, TextSink, docs_url_of, origin_function

__all__ = ["SARIF_SCHEMA", "write_sarif"]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _driver(docs_url: str | None = None) -> dict[str, Any]:
    from dsmt_rules import __version__
    from dsmt_rules.catalog import CATALOG

    rules = []
    for rule in CATALOG:
        title = inspect.cleandoc(rule.__doc__ or rule.name).partition("\n")[0].strip()
        rules.append(
            {
                "id": rule.code,
                "name": rule.name,
                "shortDescription": {"text": title},
                "helpUri": docs_url_of(rule.doc_url(), docs_url),
                "defaultConfiguration": {"level": _LEVELS[rule.default_severity]},
                "properties": {"citation": rule.citation, "carc_hint": rule.carc_hint},
            }
        )
    return {"name": "dsmt-rules", "version": __version__, "rules": rules}


def _uri(name: str) -> str:
    path = PurePath(name)
    if path.is_absolute():
        return "file://" + quote(path.as_posix())
    return quote(path.as_posix())


def _result(
    report: Report, finding: Finding, file: str | None, index: dict[str, int]
) -> dict[str, Any]:
    claim = report.claim_id if report.claim_id is not None else f"record {report.record}"
    logical: dict[str, Any] = {"kind": "object"}
    if finding.line_id is not None:
        logical["name"] = f"line {finding.line_id}"
        logical["fullyQualifiedName"] = f"{claim}/line {finding.line_id}"
    else:
        logical["name"] = claim
        logical["fullyQualifiedName"] = claim
    location: dict[str, Any] = {"logicalLocations": [logical]}
    if file is not None and not (file.startswith("<") and file.endswith(">")):
        location["physicalLocation"] = {"artifactLocation": {"uri": _uri(file)}}
    result: dict[str, Any] = {"ruleId": finding.code}
    if finding.code in index:
        result["ruleIndex"] = index[finding.code]
    result.update(
        {
            "level": _LEVELS[finding.severity],
            "message": {"text": finding.message},
            "locations": [location],
            "properties": {
                "record": report.record,
                "claim_id": report.claim_id,
                "status": report.status.value,
                "line_id": finding.line_id,
                "loc": list(finding.loc),
                "source": finding.source,
                "citation": finding.citation,
                "carc_hint": finding.carc_hint,
            },
        }
    )
    return result


def write_sarif(
    reports: Iterable[Report], out: TextSink, *, origin: Origin = None, docs_url: str | None = None
) -> None:
    """Write one SARIF 2.1.0 log with one run (``helpUri`` joined to ``docs_url`` when given)."""
    file_of = origin_function(origin)
    driver = _driver(docs_url)
    index = {rule["id"]: i for i, rule in enumerate(driver["rules"])}
    results = [
        _result(report, finding, file_of(i), index)
        for i, report in enumerate(reports)
        for finding in report.findings
    ]
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{"tool": {"driver": driver}, "results": results}],
    }
    json.dump(log, out, indent=2, ensure_ascii=False)
    out.write("\n")
