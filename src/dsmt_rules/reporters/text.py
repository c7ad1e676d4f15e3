"""A table for people: one row per finding (a claim with none gets one row), then a summary.

Plain ASCII (typographic characters are transliterated, anything else becomes ``?``), so the table
reads the same in any terminal, log or e-mail; ANSI colours only when asked for (the CLI asks when it
writes to a terminal and ``NO_COLOR`` is not set). Rows are written as the reports arrive.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable

from dsmt_rules.findings import Fix, Loc, Report
from dsmt_rules.reporters import Origin, Summary, TextSink, origin_function

__all__ = ["write_text"]

_ASCII = str.maketrans(
    {
        "\u2014": "-",  # em dash
        "\u2013": "-",  # en dash
        "\u2212": "-",  # minus
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2026": "...",
        "\u00a7": "sec. ",
        "\u2264": "<=",
        "\u2265": ">=",
        "\u00d7": "x",
        "\u2192": "->",
        "\u00a0": " ",
    }
)

_COLORS = {
    "pass": "32",
    "review": "33",
    "reject": "31",
    "error": "31",
    "warning": "33",
    "info": "36",
}
_HEADER = ("REC", "CLAIM", "STATUS", "CODE", "SEVERITY", "MESSAGE")
_REC, _CLAIM, _STATUS, _CODE, _SEVERITY = 6, 12, 6, 5, 8


def _ascii(text: str) -> str:
    """Printable ASCII only: no terminal escapes from the input, no mojibake on odd terminals."""
    text = text.translate(_ASCII)
    return "".join(ch if " " <= ch <= "~" else "?" for ch in text)


def _paint(cell: str, key: str, color: bool) -> str:
    code = _COLORS.get(key)
    return f"\x1b[{code}m{cell}\x1b[0m" if color and code else cell


def _row(
    rec: str, claim: str, status: str, code: str, severity: str, message: str, color: bool
) -> str:
    head = f"{rec:>{_REC}}  {claim:<{_CLAIM}}  "
    if not (code or severity or message):
        return (head + _paint(status, status, color)).rstrip()
    return (
        f"{head}{_paint(f'{status:<{_STATUS}}', status, color)}  "
        f"{code:<{_CODE}}  {_paint(f'{severity:<{_SEVERITY}}', severity, color)}  {message}"
    ).rstrip()


def _wrap(message: str, indent: int, width: int | None) -> str:
    if width is None or width - indent < 30:
        return message
    lines = textwrap.wrap(message, width - indent, break_on_hyphens=False) or [""]
    return ("\n" + " " * indent).join(lines)


def _summary_lines(summary: Summary) -> list[str]:
    counts = ", ".join(f"{summary.by_status[s]} {s}" for s in ("pass", "review", "reject"))
    noun = "claim" if summary.claims == 1 else "claims"
    codes = ", ".join(f"{code} x{n}" for code, n in sorted(summary.by_code.items()))
    return [f"{summary.claims} {noun}: {counts}.", f"Findings by code: {codes or 'none'}."]


def write_text(
    reports: Iterable[Report],
    out: TextSink,
    *,
    origin: Origin = None,
    color: bool = False,
    width: int | None = None,
    show_fixes: bool = False,
) -> None:
    """Write the table and the summary. ``width`` wraps messages to that many columns.

    ``show_fixes``: under each finding that has a fix, a line ``fix (safe): TITLE [EDITS]``, and
    a count of the fixes after the summary (``dsmt-rules fix`` applies them)."""
    file_of = origin_function(origin)
    indent = _REC + _CLAIM + _STATUS + _CODE + _SEVERITY + 5 * 2
    summary = Summary()
    current: str | None = None
    write = out.write
    header = _row(*_HEADER, color=False)
    fixes = {"safe": 0, "unsafe": 0}
    for index, report in enumerate(reports):
        summary.add(report)
        name = file_of(index)
        if index == 0 or name != current:
            if index:
                write("\n")
            if name is not None:
                write(_ascii(name) + "\n")
            write(header + "\n")
            current = name
        rec = "" if report.record is None else str(report.record)
        claim = _ascii(report.claim_id) if report.claim_id is not None else "-"
        status = report.status.value
        if not report.findings:
            write(_row(rec, claim, status, "", "", "", color) + "\n")
            continue
        for i, f in enumerate(report.findings):
            message = _wrap(_ascii(f.message), indent, width)
            if i == 0:
                write(_row(rec, claim, status, f.code, f.severity.value, message, color) + "\n")
            else:
                write(_row("", "", "", f.code, f.severity.value, message, color) + "\n")
            if show_fixes and f.fix is not None:
                fixes[f.fix.applicability._value_] += 1
                line = _wrap(_ascii(_fix_text(f.fix)), indent, width)
                write(" " * indent + line + "\n")
    if summary.claims:
        write("\n")
    for line in _summary_lines(summary):
        write(line + "\n")
    if show_fixes:
        write(
            f"Fixes: {fixes['safe']} safe (dsmt-rules fix), "
            f"{fixes['unsafe']} unsafe (dsmt-rules fix --unsafe-fixes).\n"
        )


def _fix_text(fix: Fix) -> str:
    """``fix (safe): Bill G0108 ... [lines.0.hcpcs: G0109 -> G0108]``."""
    edits = "; ".join(
        f"remove {_where(e.loc)} (line {e.old})"
        if e.removes
        else f"{_where(e.loc)}: {e.old} -> {e.new}"
        for e in fix.edits
    )
    return f"fix ({fix.applicability._value_}): {fix.title} [{edits}]"


def _where(loc: Loc) -> str:
    return ".".join(str(part) for part in loc)
