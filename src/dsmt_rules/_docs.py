"""Render rule documentation (Markdown) from the rule classes: used by scripts/gen_rule_docs.py and
``dsmt-rules explain``. One source: the class docstring and metadata.

Each page shows the rule's examples as full claim documents, followed by the findings the engine
actually gives them (parsed and checked the way the CLI does it), so the docs cannot claim an outcome
the code does not produce. Output is deterministic: no dates, no paths, no timings.
"""

from __future__ import annotations

import importlib
import inspect
import io
import itertools
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Literal, cast

from dsmt_rules.adapters import ADAPTERS, detect_format
from dsmt_rules.adapters.jsonl import parse_document
from dsmt_rules.catalog import CATALOG
from dsmt_rules.engine import check_records, ruleset
from dsmt_rules.exceptions import AdapterError
from dsmt_rules.findings import Report
from dsmt_rules.records import Record
from dsmt_rules.rules._base import Rule
from dsmt_rules.rules._examples import example_document

__all__ = [
    "INDEX_NAME",
    "catalog_entries",
    "catalog_table",
    "example_options",
    "example_reports",
    "read_example",
    "render_index",
    "render_pages",
    "render_rule",
]

INDEX_NAME = "README.md"
"""The file name of the rule index in docs/rules/."""

_FAMILIES: Mapping[str, str] = {
    "0": "The record (DS0xx)",
    "1": "Coding: units, time, group size, sessions (DS1xx)",
    "2": "Provider: accreditation, NPIs, instructors, RHC/FQHC (DS2xx)",
    "3": "Referral and diagnosis (DS3xx)",
    "4": "Hour limits (DS4xx)",
    "5": "Same-day services (DS5xx)",
    "6": "Setting: place of service, bill type, telehealth (DS6xx)",
}


_SECTIONS: tuple[tuple[str, Literal["example", "use_instead"]], ...] = (
    ("Example", "example"),
    ("Use instead", "use_instead"),
)


def example_options(
    rule: type[Rule], which: Literal["example", "use_instead"] = "example"
) -> Mapping[str, Any]:
    """The :func:`~dsmt_rules.engine.ruleset` options one of a rule's examples is checked with
    (the example of DS005 with a rule made to fail: ``Rule.example_faults``)."""
    options: Mapping[str, Any] = getattr(rule, "example_options", None) or {}
    if which == "example" and rule.example_faults:
        return {**options, "_faults": rule.example_faults}
    return options


def _input_format(document: str) -> str:
    """``json``, ``x12`` or ``fhir``: the CLI's detection of an input's format from its content."""
    return detect_format(document.encode("utf-8"))


def read_example(document: str) -> list[Record]:
    """Read an example document as the CLI reads an input: the format is detected from content.

    A claim document (JSON) is parsed with :func:`~dsmt_rules.adapters.jsonl.parse_document`; a raw
    document in another format (an X12 837) goes through that format's adapter, which may need an
    extra (``dsmt-rules[x12]``).
    """
    data = document.encode("utf-8")
    kind = _input_format(document)
    if kind == "json":
        return [parse_document(data, position=1)]
    module_name, label, extra = ADAPTERS[kind]
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise AdapterError(
            f"a rule example is {label} input, which needs the {extra} extra: "
            f"pip install 'dsmt-rules[{extra}]'"
        ) from None
    read = cast(Callable[..., Iterator[Record]], module.read_records)
    return list(read(io.BytesIO(data), name="example"))


def example_reports(rule: type[Rule], which: Literal["example", "use_instead"]) -> list[Report]:
    """The reports the engine gives one of a rule's examples, read and checked as the CLI does."""
    records = read_example(example_document(getattr(rule, which)))
    return list(check_records(records, rules=ruleset(**example_options(rule, which))))


def _cell(text: object) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _summary_and_body(rule: type[Rule]) -> tuple[str, str]:
    """The docstring's first line, and the rest with a blank line after each heading."""
    doc = inspect.cleandoc(rule.__doc__ or "")
    summary, _, body = doc.partition("\n")
    out: list[str] = []
    lines = body.strip().splitlines()
    for i, line in enumerate(lines):
        out.append(line)
        if line.startswith("#") and i + 1 < len(lines) and lines[i + 1].strip():
            out.append("")
    return summary.strip(), "\n".join(out)


def _json(value: Any, indent: str = "") -> str:
    """JSON with two-space indents, but arrays of scalars on one line (shorter pages)."""
    inner = indent + "  "
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(k)}: {_json(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, list):
        if all(not isinstance(v, dict | list) for v in value):
            return "[" + ", ".join(json.dumps(v) for v in value) + "]"
        items = [f"{inner}{_json(v, inner)}" for v in value]
        return "[\n" + ",\n".join(items) + "\n" + indent + "]"
    return json.dumps(value)


def _document(example: Mapping[str, Any] | str) -> str:
    """An example as it is shown: a raw document verbatim, a merged claim document as JSON."""
    if isinstance(example, str):
        return example
    return _json(json.loads(example_document(example)))


def _code_link(code: str) -> str:
    for other in CATALOG:
        if other.code == code:
            return f"[{code}]({other.slug()}.md)"
    return f"`{code}`"


def _findings_block(reports: Sequence[Report]) -> list[str]:
    findings = [f for report in reports for f in report.findings]
    if not findings:
        return ["No findings."]
    return ["Findings:", "", *(f"- `{f.code}` ({f.severity.value}): {f.message}" for f in findings)]


def _options_text(options: Mapping[str, Any]) -> str:
    parts = [
        f"{key}={json.dumps(value, sort_keys=True, default=str)}"
        for key, value in sorted(options.items())
    ]
    return ", ".join(parts)


def render_rule(rule: type[Rule]) -> str:
    """The Markdown page of one rule."""
    summary, body = _summary_and_body(rule)
    severity = ruleset().severity_of(rule.code)
    rows: list[tuple[str, str]] = [
        ("Code", f"`{rule.code}`"),
        ("Name", f"`{rule.name}`"),
        ("Default severity (`medicare` profile)", f"`{severity.value}`"),
        ("Citation", _cell(rule.citation)),
        (
            "Likely CARC (a hint, not a payer's promise)",
            f"`{rule.carc_hint}`" if rule.carc_hint else "none",
        ),
        ("Needs", _cell(rule.needs)),
    ]
    if rule.fix:
        rows.append(("Fix", _cell(rule.fix)))
    if rule.autofix:
        rows.append(("Automatic fix ([`dsmt-rules fix`](../fixes.md))", _cell(rule.autofix)))
    if rule.companions:
        companions = ", ".join(_code_link(c) for c in sorted(rule.companions))
        rows.append(("May be raised together with", companions))
    lines = [f"# {rule.code} {rule.name}", ""]
    if summary:
        lines += [summary, ""]
    lines += ["| | |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in rows]
    lines.append("")
    if body:
        lines += [body, ""]
    for heading, which in _SECTIONS:
        reports = example_reports(rule, which)
        document = _document(getattr(rule, which))
        fence = "json" if _input_format(document) == "json" else "text"
        lines += [f"## {heading}", "", f"```{fence}", document, "```", ""]
        options = example_options(rule, which)
        if options:
            lines += [f"Checked with `ruleset({_options_text(options)})`.", ""]
        lines += [*_findings_block(reports), ""]
    return "\n".join(lines)


def render_index() -> str:
    """The Markdown index of all rules (docs/rules/README.md): one table per family."""
    severities = ruleset()
    lines = [
        "# Rules",
        "",
        "Every rule dsmt-rules checks, in code order. Severities are the defaults of the `medicare`",
        "profile; a profile or `--severity CODE=LEVEL` can change them, and `--select` / `--ignore`",
        "choose which rules run. This page and the rule pages are generated from the rule classes by",
        "`scripts/gen_rule_docs.py` (`make docs`); do not edit them by hand.",
        "",
    ]
    for digit, rules in itertools.groupby(CATALOG, key=lambda rule: rule.code[2:3]):
        lines += [
            f"## {_FAMILIES.get(digit, f'DS{digit}xx')}",
            "",
            "| Code | Name | Severity | Citation |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| [{rule.code}]({rule.slug()}.md) | `{rule.name}` "
            f"| {severities.severity_of(rule.code).value} | {_cell(rule.citation)} |"
            for rule in rules
        ]
        lines.append("")
    return "\n".join(lines)


def render_pages() -> dict[str, str]:
    """Every generated file of docs/rules/, by file name: one page per rule and the index."""
    pages = {f"{rule.slug()}.md": render_rule(rule) for rule in CATALOG}
    pages[INDEX_NAME] = render_index()
    return pages


def catalog_entries() -> list[dict[str, Any]]:
    """The catalog as JSON values (``dsmt-rules rules --format json``): every rule's metadata and
    every message template it can produce (``default`` and the named variants)."""
    return [
        {
            "code": rule.code,
            "name": rule.name,
            "severity": rule.default_severity.value,
            "citation": rule.citation,
            "carc_hint": rule.carc_hint,
            "url": rule.doc_url(),
            "messages": rule.templates(),
        }
        for rule in CATALOG
    ]


def catalog_table() -> str:
    """The catalog as a plain table (``dsmt-rules rules``): code, name, severity, citation."""
    rows = [("CODE", "NAME", "SEVERITY", "CITATION")]
    rows += [(r.code, r.name, r.default_severity.value, r.citation) for r in CATALOG]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        f"{code:<{widths[0]}}  {name:<{widths[1]}}  {sev:<{widths[2]}}  {citation}"
        for code, name, sev, citation in rows
    )
