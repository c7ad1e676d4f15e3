"""One self-contained HTML page that summarises a batch for billing staff.

Verdict counts; findings by rule (linking the rule docs), by billing provider (NPI), by input file
and by month of service; likely denial codes (CARC); dollars at risk from the line charges, when the
input carries them; and the claims to fix first. The charts are inline SVG written here (a bar chart
is a few rectangles: a charting library would add a dependency, and pygal's default output loads
its tooltip script from the network), the styles are inline CSS: the page needs no network access,
reads the same offline and prints (``@media print``).

The writer streams: it keeps counters per rule, provider, file, month and denial code and a bounded
heap of the claims to fix first (:data:`TOP_CLAIMS`), never the reports themselves, so a batch of
millions of claims takes the memory of its distinct keys. The page names claims by claim id, record
and file, and providers by NPI; it never shows a beneficiary id (reports do not carry one).

Dollars at risk: the charges of the DSMT lines that an ``error`` finding names (all the claim's
DSMT lines when an error is about the claim as a whole); dollars held for review: the same for the
``warning`` findings of claims that are not rejected.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from html import escape

from dsmt_rules.findings import Report, Severity
from dsmt_rules.reporters import Origin, TextSink, origin_function
from dsmt_rules.reporters.statistics import RuleStatistics

__all__ = ["CARC_TEXT", "TOP_CLAIMS", "BatchSummary", "write_html"]

TOP_CLAIMS = 25
"""How many claims the "fix first" table lists."""
TOP_KEYS = 30
"""How many rows the provider and file tables list (the rest are added up in one row)."""

CARC_TEXT: Mapping[str, str] = {
    "4": "Procedure code inconsistent with the modifier used",
    "5": "Procedure code or bill type inconsistent with the place of service",
    "11": "Diagnosis inconsistent with the procedure",
    "16": "Claim or service lacks information or has a billing error",
    "18": "Exact duplicate claim or service",
    "58": "Rendered in an inappropriate or invalid place of service",
    "97": "Included in the payment for another service already adjudicated",
    "119": "Benefit maximum for this period or occurrence reached",
    "151": "Information submitted does not support this many or this frequency of services",
    "185": "Rendering provider not eligible to perform the service billed",
    "B7": "Provider not certified or eligible for this service on this date of service",
}
"""Short paraphrases of the X12 claim adjustment reason codes the rules hint at."""

_ZERO = Decimal(0)
_UNKNOWN_MONTH = "unknown"
_STATUSES = ("pass", "review", "reject")


def _money(value: Decimal) -> str:
    return f"${value:,.2f}"


def _charge(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


@dataclass(slots=True)
class _Tally:
    """Counts for one provider, file or month."""

    claims: int = 0
    findings: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    at_risk: Decimal = _ZERO


@dataclass(frozen=True, slots=True)
class _Fix:
    """A claim in the "fix first" table."""

    claim_id: str | None
    record: int | None
    file: str | None
    status: str
    codes: tuple[str, ...]
    at_risk: Decimal | None
    message: str


@dataclass(slots=True)
class BatchSummary:
    """The aggregates of the page, added to one report at a time (memory: the distinct keys)."""

    claims: int = 0
    findings: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    by_severity: Counter[str] = field(default_factory=Counter)
    rules: RuleStatistics = field(default_factory=RuleStatistics)
    providers: dict[str, _Tally] = field(default_factory=dict)
    files: dict[str, _Tally] = field(default_factory=dict)
    months: dict[str, _Tally] = field(default_factory=dict)
    carc_findings: Counter[str] = field(default_factory=Counter)
    carc_claims: Counter[str] = field(default_factory=Counter)
    carc_dollars: dict[str, Decimal] = field(default_factory=dict)
    billed: Decimal = _ZERO
    at_risk: Decimal = _ZERO
    held: Decimal = _ZERO
    priced_lines: int = 0
    _top: list[tuple[tuple[int, Decimal, int, int], _Fix]] = field(default_factory=list)

    def add(self, report: Report, file: str | None = None) -> None:
        """Count one report (``file``: the name of its input, when known)."""
        index = self.claims
        self.claims += 1
        status = report.status.value
        self.by_status[status] += 1
        findings = report.findings
        self.findings += len(findings)
        claim = report.claim
        charges: dict[str, Decimal] = {}
        line_month: dict[str, str] = {}
        claim_month = _UNKNOWN_MONTH
        if claim is not None:
            for line in claim.lines:
                amount = _charge(line.charge)
                if amount is not None:
                    charges[line.line_id] = amount
                    self.billed += amount
                    self.priced_lines += 1
                line_month[line.line_id] = line.service_date[:7]
            if claim.lines:
                claim_month = min(line_month.values())
        at_risk = self._at_risk(report, charges, Severity.ERROR)
        held = self._at_risk(report, charges, Severity.WARNING) if status == "review" else None
        self.at_risk += at_risk or _ZERO
        self.held += held or _ZERO

        self.rules.add(report)
        seen_carcs: set[str] = set()
        month_findings: Counter[str] = Counter()
        for f in findings:
            self.by_severity[f.severity.value] += 1
            if f.carc_hint is not None:
                self.carc_findings[f.carc_hint] += 1
                if f.carc_hint not in seen_carcs:
                    seen_carcs.add(f.carc_hint)
                    self.carc_claims[f.carc_hint] += 1
                    if f.severity is Severity.ERROR and at_risk:
                        self.carc_dollars[f.carc_hint] = (
                            self.carc_dollars.get(f.carc_hint, _ZERO) + at_risk
                        )
            month_findings[line_month.get(f.line_id or "", claim_month)] += 1

        if claim is not None:
            self._count(self.providers, claim.billing_npi, status, len(findings), at_risk)
        self._count(self.files, file or "(unnamed input)", status, len(findings), at_risk)
        self._count(self.months, claim_month, status, 0, at_risk)
        for key, n in month_findings.items():
            self.months.setdefault(key, _Tally()).findings += n

        if status != "pass":
            rank = (2 if status == "reject" else 1, at_risk or _ZERO, len(findings), -index)
            fix = _Fix(
                report.claim_id,
                report.record,
                file,
                status,
                tuple(dict.fromkeys(f.code for f in findings)),
                at_risk if status == "reject" else held,
                findings[0].message if findings else "",
            )
            if len(self._top) < TOP_CLAIMS:
                heapq.heappush(self._top, (rank, fix))
            elif rank > self._top[0][0]:
                heapq.heapreplace(self._top, (rank, fix))

    @staticmethod
    def _at_risk(
        report: Report, charges: Mapping[str, Decimal], severity: Severity
    ) -> Decimal | None:
        """The charges of the lines findings of ``severity`` name (all lines for a claim-level
        one); None when the claim carries no charges."""
        if not charges:
            return None
        named = [f.line_id for f in report.findings if f.severity is severity]
        if not named:
            return _ZERO
        if any(line_id is None or line_id not in charges for line_id in named):
            return sum(charges.values(), _ZERO)
        return sum((charges[line_id] for line_id in set(named) if line_id), _ZERO)

    @staticmethod
    def _count(
        table: dict[str, _Tally], key: str, status: str, findings: int, at_risk: Decimal | None
    ) -> _Tally:
        tally = table.get(key)
        if tally is None:
            tally = table[key] = _Tally()
        tally.claims += 1
        tally.findings += findings
        tally.by_status[status] += 1
        tally.at_risk += at_risk or _ZERO
        return tally

    def fix_first(self) -> list[_Fix]:
        """The claims to fix first: rejected before held for review, then by dollars at risk, then
        by number of findings, then in input order."""
        return [fix for _, fix in sorted(self._top, key=lambda item: item[0], reverse=True)]


# --- SVG charts ------------------------------------------------------------------------------------

_COLORS = {"pass": "#2e7d32", "review": "#b26a00", "reject": "#c62828"}
_SEVERITY_COLORS = {"error": "#c62828", "warning": "#b26a00", "info": "#1565c0"}


def _verdict_bar(by_status: Mapping[str, int], total: int) -> str:
    width, height = 720, 34
    parts = [
        f'<svg class="chart" id="chart-verdicts" role="img" viewBox="0 0 {width} {height + 22}" '
        f'width="{width}" height="{height + 22}" aria-label="Claims by verdict">'
    ]
    x = 0.0
    for status in _STATUSES:
        n = by_status.get(status, 0)
        if not n or not total:
            continue
        w = width * n / total
        parts.append(
            f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="{height}" fill="{_COLORS[status]}">'
            f"<title>{status}: {n}</title></rect>"
        )
        if w > 60:
            parts.append(
                f'<text x="{x + w / 2:.1f}" y="{height / 2 + 5:.1f}" text-anchor="middle" '
                f'class="on-bar">{n} {status}</text>'
            )
        x += w
    legend_x = 0
    for status in _STATUSES:
        parts.append(
            f'<rect x="{legend_x}" y="{height + 8}" width="12" height="12" '
            f'fill="{_COLORS[status]}"/><text x="{legend_x + 16}" y="{height + 19}" '
            f'class="legend">{status} ({by_status.get(status, 0)})</text>'
        )
        legend_x += 130
    parts.append("</svg>")
    return "".join(parts)


def _hbars(chart_id: str, label: str, rows: Sequence[tuple[str, int, str]], unit: str = "") -> str:
    """A horizontal bar chart: one (label, value, colour) per row."""
    if not rows:
        return ""
    bar_h, gap, left, width = 20, 6, 230, 720
    top = max(value for _, value, _ in rows) or 1
    height = len(rows) * (bar_h + gap)
    parts = [
        f'<svg class="chart" id="{chart_id}" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" aria-label="{escape(label)}">'
    ]
    for i, (name, value, color) in enumerate(rows):
        y = i * (bar_h + gap)
        w = (width - left - 70) * value / top
        parts.append(
            f'<text x="{left - 8}" y="{y + bar_h - 5}" text-anchor="end" class="axis">'
            f"{escape(name)}</text>"
            f'<rect x="{left}" y="{y}" width="{max(w, 1):.1f}" height="{bar_h}" fill="{color}">'
            f"<title>{escape(name)}: {value}{unit}</title></rect>"
            f'<text x="{left + w + 6:.1f}" y="{y + bar_h - 5}" class="axis">{value}{unit}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _columns(chart_id: str, label: str, rows: Sequence[tuple[str, int, int]]) -> str:
    """A column chart by month: claims (light) and findings (dark) side by side."""
    if not rows:
        return ""
    col, gap, height, base = 22, 26, 180, 150
    width = max(360, len(rows) * (2 * col + gap) + 40)
    top = max(max(c, f) for _, c, f in rows) or 1
    parts = [
        f'<svg class="chart" id="{chart_id}" role="img" viewBox="0 0 {width} {height + 20}" '
        f'width="{width}" height="{height + 20}" aria-label="{escape(label)}">',
        f'<line x1="20" y1="{base}" x2="{width}" y2="{base}" stroke="#999"/>',
    ]
    for i, (month, claims, findings) in enumerate(rows):
        x = 30 + i * (2 * col + gap)
        for j, (value, color, what) in enumerate(
            ((claims, "#90a4ae", "claims"), (findings, "#c62828", "findings"))
        ):
            h = (base - 20) * value / top
            parts.append(
                f'<rect x="{x + j * col}" y="{base - h:.1f}" width="{col - 2}" height="{h:.1f}" '
                f'fill="{color}"><title>{escape(month)}: {value} {what}</title></rect>'
                f'<text x="{x + j * col + col / 2 - 1:.1f}" y="{base - h - 4:.1f}" '
                f'text-anchor="middle" class="axis">{value}</text>'
            )
        parts.append(
            f'<text x="{x + col:.1f}" y="{base + 16}" text-anchor="middle" class="axis">'
            f"{escape(month)}</text>"
        )
    parts.append(
        f'<rect x="20" y="{height + 4}" width="12" height="12" fill="#90a4ae"/>'
        f'<text x="36" y="{height + 15}" class="legend">claims</text>'
        f'<rect x="110" y="{height + 4}" width="12" height="12" fill="#c62828"/>'
        f'<text x="126" y="{height + 15}" class="legend">findings</text></svg>'
    )
    return "".join(parts)


# --- the page --------------------------------------------------------------------------------------

_CSS = """
:root { color-scheme: light; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color: #1b1b1b; background: #fff; margin: 0 auto; padding: 24px 32px; max-width: 1100px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 28px 0 8px; border-bottom: 2px solid #e0e0e0; padding-bottom: 4px; }
p.sub, p.note { color: #555; margin: 4px 0; }
p.note { font-size: 13px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; }
.card { border: 1px solid #ddd; border-radius: 8px; padding: 10px 16px; flex: 1 1 0;
  min-width: 110px; }
.card.money { flex-grow: 2; }
.card .n { font-size: 26px; font-weight: 700; display: block; }
.card .k { color: #555; font-size: 13px; }
.card.reject .n { color: #c62828; } .card.review .n { color: #b26a00; }
.card.pass .n { color: #2e7d32; } .card.money .n { color: #6a1b9a; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; font-size: 14px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eee; vertical-align: top; }
th { background: #f5f5f5; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.id { font-family: ui-monospace, "DejaVu Sans Mono", monospace; white-space: nowrap; }
.sev-error { color: #c62828; font-weight: 600; } .sev-warning { color: #b26a00; font-weight: 600; }
.sev-info { color: #1565c0; } .st-reject { color: #c62828; } .st-review { color: #b26a00; }
svg.chart { display: block; max-width: 100%; height: auto; margin: 8px 0; }
svg .axis { font-size: 12px; fill: #333; } svg .legend { font-size: 12px; fill: #333; }
svg .on-bar { font-size: 13px; fill: #fff; font-weight: 600; }
a { color: #0b57d0; }
footer { margin-top: 32px; color: #777; font-size: 12px; }
@media print {
  body { padding: 0; max-width: none; font-size: 11pt; }
  h2 { break-after: avoid; } table, svg { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""


def _cell(value: object, cls: str | None = None, data: str | None = None) -> str:
    attrs = f' class="{cls}"' if cls else ""
    if data:
        attrs += f' data-key="{escape(data)}"'
    return f"<td{attrs}>{escape(str(value))}</td>"


def _num(value: int, data: str | None = None) -> str:
    return _cell(value, "num", data)


def _money_cell(value: Decimal | None, priced: bool) -> str:
    return _cell(_money(value) if priced and value is not None else "-", "num")


def _head(*names: str) -> str:
    cells = "".join(
        f'<th class="num">{escape(n[1:])}</th>' if n.startswith("#") else f"<th>{escape(n)}</th>"
        for n in names
    )
    return f"<thead><tr>{cells}</tr></thead>"


def _tally_table(
    table_id: str, key_name: str, tallies: Mapping[str, _Tally], priced: bool, *, by_key: bool
) -> str:
    """Rows by key (every one), or the :data:`TOP_KEYS` with most findings and one row for the rest."""
    if by_key:
        shown, rest = sorted(tallies.items()), []
    else:
        items = sorted(tallies.items(), key=lambda kv: (-kv[1].findings, -kv[1].claims, kv[0]))
        shown, rest = items[:TOP_KEYS], items[TOP_KEYS:]
    rows = []
    for key, t in shown:
        rows.append(
            f'<tr data-key="{escape(key)}">{_cell(key, "id")}{_num(t.claims)}'
            f"{_num(t.by_status['reject'])}{_num(t.by_status['review'])}{_num(t.findings)}"
            f"{_money_cell(t.at_risk, priced)}</tr>"
        )
    if rest:
        rows.append(
            f"<tr><td>{len(rest)} more</td>{_num(sum(t.claims for _, t in rest))}"
            f"{_num(sum(t.by_status['reject'] for _, t in rest))}"
            f"{_num(sum(t.by_status['review'] for _, t in rest))}"
            f"{_num(sum(t.findings for _, t in rest))}"
            f"{_money_cell(sum((t.at_risk for _, t in rest), _ZERO), priced)}</tr>"
        )
    return (
        f'<table id="{table_id}">'
        + _head(key_name, "#claims", "#rejected", "#review", "#findings", "#at risk")
        + "<tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def render_html(summary: BatchSummary, *, title: str = "DSMT claim scrub summary") -> str:
    """The page for a finished summary."""
    from dsmt_rules import __version__

    s = summary
    priced = s.priced_lines > 0
    out: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="sub">{s.claims} claims checked by dsmt-rules {escape(__version__)}, '
        f"{len(s.files)} input file{'s' if len(s.files) != 1 else ''}.</p>",
        '<section id="verdicts"><div class="cards">',
        f'<div class="card"><span class="n" id="count-claims">{s.claims}</span>'
        '<span class="k">claims</span></div>',
    ]
    for status, label in (("reject", "rejected"), ("review", "held for review"), ("pass", "pass")):
        out.append(
            f'<div class="card {status}"><span class="n" id="count-{status}">'
            f'{s.by_status[status]}</span><span class="k">{label}</span></div>'
        )
    out.append(
        f'<div class="card"><span class="n" id="count-findings">{s.findings}</span>'
        '<span class="k">findings</span></div>'
    )
    if priced:
        out.append(
            f'<div class="card money"><span class="n" id="dollars-at-risk">{_money(s.at_risk)}'
            f'</span><span class="k">at risk of denial (of {_money(s.billed)} billed)</span></div>'
        )
    out.append("</div>")
    out.append(_verdict_bar(s.by_status, s.claims))
    out.append("</section>")

    # by rule
    rules = s.rules.rows()
    out.append('<section id="rules"><h2>Findings by rule</h2>')
    if rules:
        out.append(
            _hbars(
                "chart-rules",
                "Findings by rule",
                [
                    (f"{r.code} {r.name}", r.findings, _SEVERITY_COLORS.get(r.severity, "#555"))
                    for r in rules[:15]
                ],
            )
        )
        rows = []
        for r in rules:
            code = r.code
            link = f'<a href="{escape(r.url)}">{escape(code)}</a>' if r.url else escape(code)
            rows.append(
                f'<tr data-code="{escape(code)}"><td>{link}</td>{_cell(r.name)}'
                f"{_cell(r.severity, 'sev-' + r.severity)}{_num(r.findings)}{_num(r.claims)}"
                f"{_cell(r.carc_hint or '-')}</tr>"
            )
        out.append(
            '<table id="table-rules">'
            + _head("Code", "Rule", "Severity", "#findings", "#claims", "Likely CARC")
            + "<tbody>"
            + "".join(rows)
            + "</tbody></table>"
        )
    else:
        out.append('<p class="note">No findings.</p>')
    out.append("</section>")

    # CARC
    out.append('<section id="carc"><h2>Likely denial codes (CARC)</h2>')
    if s.carc_findings:
        rows = []
        for carc, n in sorted(s.carc_findings.items(), key=lambda kv: (-kv[1], kv[0])):
            rows.append(
                f'<tr data-carc="{escape(carc)}">{_cell(carc, "id")}'
                f"{_cell(CARC_TEXT.get(carc, ''))}{_num(n)}{_num(s.carc_claims[carc])}"
                f"{_money_cell(s.carc_dollars.get(carc, _ZERO), priced)}</tr>"
            )
        out.append(
            '<table id="table-carc">'
            + _head("CARC", "Meaning (paraphrased)", "#findings", "#claims", "#at risk")
            + "<tbody>"
            + "".join(rows)
            + "</tbody></table>"
            + '<p class="note">Hints, not a payer\'s promise: the reason code a payer would likely '
            "give if the claim were sent as is.</p>"
        )
    else:
        out.append('<p class="note">No finding hints at a denial code.</p>')
    out.append("</section>")

    # money
    out.append('<section id="money"><h2>Dollars at risk</h2>')
    if priced:
        out.append(
            '<table id="table-money">' + _head("", "#amount") + "<tbody>"
            f"<tr><td>Billed on DSMT lines ({s.priced_lines} priced lines)</td>"
            f'<td class="num" id="dollars-billed">{_money(s.billed)}</td></tr>'
            "<tr><td>At risk of denial (lines with an error finding)</td>"
            f'<td class="num">{_money(s.at_risk)}</td></tr>'
            "<tr><td>Held for review (lines with a warning, claims not rejected)</td>"
            f'<td class="num" id="dollars-held">{_money(s.held)}</td></tr>'
            "</tbody></table>"
            '<p class="note">A line is at risk when an error finding names it; an error about '
            "the claim as a whole puts all of its DSMT lines at risk.</p>"
        )
    else:
        out.append('<p class="note" id="no-charges">The input carries no line charges.</p>')
    out.append("</section>")

    # fix first
    out.append('<section id="fix-first"><h2>Claims to fix first</h2>')
    fixes = s.fix_first()
    if fixes:
        rows = []
        for fix in fixes:
            claim = fix.claim_id if fix.claim_id is not None else "-"
            rows.append(
                f'<tr data-claim="{escape(claim)}">{_cell(claim, "id")}'
                f"{_cell(fix.file or '-', 'id')}"
                f"{_cell('-' if fix.record is None else fix.record, 'num')}"
                f"{_cell(fix.status, 'st-' + fix.status)}{_cell(', '.join(fix.codes))}"
                f"{_money_cell(fix.at_risk, priced)}{_cell(fix.message)}</tr>"
            )
        out.append(
            '<table id="table-fix">'
            + _head("Claim", "File", "#Record", "Verdict", "Codes", "#At risk", "First finding")
            + "<tbody>"
            + "".join(rows)
            + "</tbody></table>"
            + f'<p class="note">Rejected claims first, then by dollars at risk and number of '
            f"findings; at most {TOP_CLAIMS}. Record numbers count from 1.</p>"
        )
    else:
        out.append('<p class="note">Nothing to fix: every claim passes.</p>')
    out.append("</section>")

    # providers, months, files
    out.append('<section id="providers"><h2>By billing provider (NPI)</h2>')
    out.append(_tally_table("table-providers", "Billing NPI", s.providers, priced, by_key=False))
    out.append("</section>")
    out.append('<section id="months"><h2>By month of service</h2>')
    months = sorted(s.months.items())
    out.append(
        _columns(
            "chart-months",
            "Claims and findings by month of service",
            [(m, t.claims, t.findings) for m, t in months],
        )
    )
    out.append(_tally_table("table-months", "Month", s.months, priced, by_key=True))
    out.append(
        '<p class="note">A claim counts in the month of its first DSMT line; a finding in the '
        "month of the line it names.</p></section>"
    )
    out.append('<section id="files"><h2>By input file</h2>')
    out.append(_tally_table("table-files", "File", s.files, priced, by_key=False))
    out.append("</section>")
    out.append(
        "<footer>Generated by dsmt-rules; no beneficiary identifiers are shown. "
        "Findings are scrubber hints, not payer determinations.</footer></body></html>\n"
    )
    return "\n".join(out)


def write_html(reports: Iterable[Report], out: TextSink, *, origin: Origin = None) -> None:
    """Aggregate the reports and write the page (memory: the aggregates, not the reports)."""
    file_of = origin_function(origin)
    summary = BatchSummary()
    for index, report in enumerate(reports):
        summary.add(report, file_of(index))
    out.write(render_html(summary))
