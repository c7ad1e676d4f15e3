"""A table for people: one row per finding (a claim with none gets one row), then a summary.

Each row: the record (1-based, as in the messages), claim id, verdict, rule code, severity, the
1-based number of the claim line the finding is on (``loc`` in the JSON counts from 0), the line's
id, the likely denial code (CARC) and the message, followed by the input position (``source``) when
the adapter knows it. Rows are plain fixed-width text, written as the reports arrive (a table
library would hold every row to size its columns): a claim id longer than its column is printed on
a row of its own above its findings, so the columns stay aligned. On a terminal too narrow for the
message column, each message goes on the lines under its row.

Plain ASCII (typographic characters are transliterated, anything else becomes ``?``), so the table
reads the same in any terminal, log or e-mail; ANSI colours only when asked for (the CLI asks when it
writes to a terminal and ``NO_COLOR`` is not set). Rows are written as the reports arrive.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable

from dsmt_rules.findings import Fix, Loc, Report
from dsmt_rules.reporters import Origin, Summary, TextSink, origin_function

__all__ = ["one_line_summary", "write_text"]

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
_HEADER = ("REC", "CLAIM", "STATUS", "CODE", "SEVERITY", "LINE", "LINE ID", "CARC", "MESSAGE")
_REC, _CLAIM, _STATUS, _CODE, _SEVERITY, _LINE, _LINE_ID, _CARC = 6, 14, 6, 5, 8, 4, 7, 4
_WIDTHS = (_REC, _CLAIM, _STATUS, _CODE, _SEVERITY, _LINE, _LINE_ID, _CARC)
_INDENT = sum(_WIDTHS) + 2 * len(_WIDTHS)
"""Where the message column starts."""
_BELOW = 8
"""Where a message starts when it goes under its row (a terminal too narrow for the column)."""
_MIN_MESSAGE = 40


def _ascii(text: str) -> str:
    """Printable ASCII only: no terminal escapes from the input, no mojibake on odd terminals."""
    text = text.translate(_ASCII)
    return "".join(ch if " " <= ch <= "~" else "?" for ch in text)


def _paint(cell: str, key: str, color: bool) -> str:
    code = _COLORS.get(key)
    return f"\x1b[{code}m{cell}\x1b[0m" if color and code else cell


def _row(cells: tuple[str, ...], message: str, color: bool) -> str:
    """The cells padded to their widths (a longer value pushes the rest right), then the message."""
    rec, claim, status, *rest = cells
    head = f"{rec:>{_REC}}  {claim:<{_CLAIM}}  "
    if not any(rest) and not message:
        return (head + _paint(status, status, color)).rstrip()
    code, severity, line, line_id, carc = rest
    return (
        f"{head}{_paint(f'{status:<{_STATUS}}', status, color)}  {code:<{_CODE}}  "
        f"{_paint(f'{severity:<{_SEVERITY}}', severity, color)}  {line:>{_LINE}}  "
        f"{line_id:<{_LINE_ID}}  {carc:<{_CARC}}  {message}"
    ).rstrip()


def _wrap(message: str, indent: int, width: int | None) -> str:
    if width is None or width - indent < 30:
        return message
    lines = textwrap.wrap(message, width - indent, break_on_hyphens=False) or [""]
    return ("\n" + " " * indent).join(lines)


def _line_number(loc: tuple[str | int, ...]) -> str:
    """The 1-based number of the claim line a location is in (``loc`` counts from 0), or ``-``."""
    if len(loc) >= 2 and loc[0] == "lines" and isinstance(loc[1], int):
        return str(loc[1] + 1)
    return "-"


def _summary_lines(summary: Summary) -> list[str]:
    counts = ", ".join(f"{summary.by_status[s]} {s}" for s in ("pass", "review", "reject"))
    noun = "claim" if summary.claims == 1 else "claims"
    codes = ", ".join(f"{code} x{n}" for code, n in sorted(summary.by_code.items()))
    return [f"{summary.claims} {noun}: {counts}.", f"Findings by code: {codes or 'none'}."]


def one_line_summary(summary: Summary) -> str:
    """``13 claims: 4 pass, 0 review, 9 reject; 9 findings.`` (counts only: for stderr)."""
    counts = ", ".join(f"{summary.by_status[s]} {s}" for s in ("pass", "review", "reject"))
    noun = "claim" if summary.claims == 1 else "claims"
    findings = sum(summary.by_code.values())
    return f"{summary.claims} {noun}: {counts}; {findings} finding{'' if findings == 1 else 's'}."


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
    below = width is not None and width - _INDENT < _MIN_MESSAGE
    indent = _BELOW if below else _INDENT
    summary = Summary()
    current: str | None = None
    write = out.write
    header = _row(_HEADER[:-1], _HEADER[-1], color=False)
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
        if len(claim) > _CLAIM:  # a long id gets a row of its own: the columns stay aligned
            write(f"{rec:>{_REC}}  {claim}\n")
            rec, claim = "", ""
        status = report.status.value
        if not report.findings:
            write(_row((rec, claim, status, "", "", "", "", ""), "", color) + "\n")
            continue
        for i, f in enumerate(report.findings):
            message = _ascii(f.message)
            if f.source is not None:
                message += f" (source: {_ascii(f.source)})"
            message = _wrap(message, indent, width)
            cells = (
                (rec, claim, status) if i == 0 else ("", "", ""),
                (
                    f.code,
                    f.severity.value,
                    _line_number(f.loc),
                    _ascii(f.line_id) if f.line_id is not None else "-",
                    f.carc_hint or "-",
                ),
            )
            if below:
                write(_row((*cells[0], *cells[1]), "", color) + "\n")
                write(" " * _BELOW + message + "\n")
            else:
                write(_row((*cells[0], *cells[1]), message, color) + "\n")
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
