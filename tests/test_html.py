"""The HTML batch summary: its aggregates (exact counts and dollars), bounded memory, no PHI, and the
page as headless Chromium renders it (counts equal the jsonl output's; a screenshot)."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dsmt_rules.cli import main
from dsmt_rules.findings import ClaimSummary, Finding, Report, Severity, SummaryLine
from dsmt_rules.reporters import write_reports
from dsmt_rules.reporters.html import TOP_CLAIMS, TOP_KEYS, BatchSummary, write_html

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "claims.jsonl"
CHROMIUM = os.environ.get("DSMT_CHROMIUM", "/usr/bin/chromium")


def _finding(code: str, severity: Severity, line_id: str | None = "1", carc: str = "16") -> Finding:
    return Finding(
        code,
        f"name-{code.lower()}",
        severity,
        f"Message of {code}.",
        ("lines", 0) if line_id else (),
        line_id,
        carc_hint=carc,
        url=f"docs/rules/{code}.md",
    )


def _claim(npi: str, *lines: tuple[str, str, str | None]) -> ClaimSummary:
    return ClaimSummary(npi, tuple(SummaryLine(i, "G0109", d, c) for i, d, c in lines))


REPORTS = [
    Report("C-1", (), 1, claim=_claim("111", ("1", "2026-01-10", "32.00"))),
    # an error on line 2 only: 50.00 at risk of 80.00
    Report(
        "C-2",
        (_finding("DS104", Severity.ERROR, "2"), _finding("DS107", Severity.WARNING, "1")),
        2,
        claim=_claim("111", ("1", "2026-01-12", "30.00"), ("2", "2026-02-03", "50.00")),
    ),
    # a claim-level error: every line at risk
    Report(
        "C-3",
        (_finding("DS302", Severity.ERROR, None),),
        3,
        claim=_claim("222", ("1", "2026-02-01", "16.00"), ("2", "2026-02-08", "16.00")),
    ),
    # a warning: held for review, not at risk
    Report(
        "C-4",
        (_finding("DS206", Severity.WARNING, "1", carc="B7"),),
        4,
        claim=_claim("222", ("1", "2026-03-01", "64.50")),
    ),
    # not a claim (DS001): counted, no provider, no month
    Report(None, (_finding("DS001", Severity.ERROR, None),), 5),
]


def test_summary_counts_and_dollars_exactly() -> None:
    s = BatchSummary()
    for report in REPORTS:
        s.add(report, "a.jsonl")
    assert s.claims == 5
    assert dict(s.by_status) == {"pass": 1, "reject": 3, "review": 1}
    assert s.findings == 5
    assert s.billed == Decimal("208.50")
    assert s.at_risk == Decimal("82.00")  # 50.00 (C-2 line 2) + 32.00 (C-3, both lines)
    assert s.held == Decimal("64.50")
    assert {c: (r.findings, r.claims) for c, r in s.rules.by_code.items()} == {
        "DS104": (1, 1),
        "DS107": (1, 1),
        "DS302": (1, 1),
        "DS206": (1, 1),
        "DS001": (1, 1),
    }
    assert dict(s.carc_findings) == {"16": 4, "B7": 1}
    assert dict(s.carc_claims) == {"16": 3, "B7": 1}
    assert s.carc_dollars == {"16": Decimal("82.00")}
    assert {k: (t.claims, t.findings, t.at_risk) for k, t in s.providers.items()} == {
        "111": (2, 2, Decimal("50.00")),
        "222": (2, 2, Decimal("32.00")),
    }
    # a claim counts in the month of its first line, a finding in the month of its line
    assert {k: (t.claims, t.findings) for k, t in s.months.items()} == {
        "2026-01": (2, 1),
        "2026-02": (1, 2),
        "2026-03": (1, 1),
        "unknown": (1, 1),
    }
    assert [f.claim_id for f in s.fix_first()] == ["C-2", "C-3", None, "C-4"]
    assert s.files["a.jsonl"].claims == 5


def test_fix_first_is_bounded_and_ranked_by_dollars_then_findings() -> None:
    s = BatchSummary()
    for i in range(1, 501):
        charge = f"{i % 97}.00"
        report = Report(
            f"C-{i}",
            (_finding("DS104", Severity.ERROR),),
            i,
            claim=_claim("111", ("1", "2026-01-10", charge)),
        )
        s.add(report)
    fixes = s.fix_first()
    assert len(fixes) == TOP_CLAIMS
    amounts = [f.at_risk for f in fixes]
    assert amounts == sorted(amounts, reverse=True)
    assert amounts[0] == Decimal("96.00")
    assert len(s._top) == TOP_CLAIMS


def test_page_is_self_contained_and_names_no_beneficiary(tmp_path: Path) -> None:
    out = tmp_path / "summary.html"
    status = main(["check", str(EXAMPLES), "--format", "html", "-o", str(out)])
    assert status == 1
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "<svg" in page
    # no network: no script, no external stylesheet, image or font; links only to rule docs
    assert "<script" not in page
    assert re.findall(r'(?:src|href)="([^"]+)"', page) == [
        u for u in re.findall(r'href="([^"]+)"', page) if u.startswith("docs/rules/DS")
    ]
    ids = set(re.findall(r'"beneficiary_id": "([^"]+)"', EXAMPLES.read_text(encoding="utf-8")))
    assert len(ids) == 13
    assert [i for i in ids if i in page] == []


def test_docs_url_makes_the_page_links_absolute() -> None:
    out = io.StringIO()
    write_reports("html", REPORTS, out, docs_url="https://example.org/dsmt")
    links = re.findall(r'href="([^"]+)"', out.getvalue())
    assert "https://example.org/dsmt/docs/rules/DS104.md" in links
    assert all(link.startswith("https://example.org/dsmt/docs/rules/") for link in links)


def test_empty_batch_is_a_page() -> None:
    out = io.StringIO()
    write_html([], out)
    assert 'id="count-claims">0<' in out.getvalue()
    assert "every claim passes" in out.getvalue()


# --- in a real browser ----------------------------------------------------------------------------


def _browser_or_skip() -> Any:
    """playwright's sync API, or a skip naming what is missing (a failure on CI, where `make test`
    installs Chromium)."""
    missing = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = "the playwright package (pip install 'dsmt-rules[test]')"
    if missing is None and not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        missing = f"Chromium at {CHROMIUM} (apt-get install chromium; `make chromium`)"
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(f"browser test needs {missing}")
        pytest.skip(f"browser test needs {missing}")
    return sync_playwright


def _jsonl_counts(capsys: pytest.CaptureFixture[str]) -> tuple[list[dict[str, Any]], str]:
    assert main(["check", "examples/claims.jsonl", "--format", "jsonl"]) == 1
    reports = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert main(["check", "examples/claims.jsonl", "--format", "html"]) == 1
    return reports, capsys.readouterr().out


def _at_risk(reports: list[dict[str, Any]]) -> Decimal:
    """Dollars at risk from the input and the jsonl reports: the charges of the lines that error
    findings name (every line for an error about the whole claim)."""
    claims = {}
    for line in EXAMPLES.read_text(encoding="utf-8").splitlines():
        try:
            doc = json.loads(line)
        except json.JSONDecodeError:
            continue
        lines = doc["lines"]
        claims[doc["claim_id"]] = {
            x["line_id"]: Decimal(x["charge"]) for x in lines if "charge" in x
        }
    total = Decimal(0)
    for r in reports:
        named = [f["line_id"] for f in r["findings"] if f["severity"] == "error"]
        if not named or r["findings"][0]["code"] == "DS001":  # DS001: not a claim, no charges
            continue
        charges = claims[r["claim_id"]]
        total += sum(charges.values()) if None in named else sum(charges[i] for i in set(named))
    return total


@pytest.mark.browser
def test_rendered_page_counts_equal_the_jsonl_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sync_playwright = _browser_or_skip()
    monkeypatch.chdir(ROOT)  # the page names the input as given: examples/claims.jsonl
    reports, page_html = _jsonl_counts(capsys)
    page_file = tmp_path / "summary.html"
    page_file.write_text(page_html, encoding="utf-8")
    statuses = Counter(r["status"] for r in reports)
    by_code = Counter(f["code"] for r in reports for f in r["findings"])
    claims_by_code = Counter(c for r in reports for c in {f["code"] for f in r["findings"]})
    shot = Path(os.environ.get("DSMT_SCREENSHOT") or tmp_path / "summary.png").absolute()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(page_file.as_uri())
            text = page.inner_text
            assert int(text("#count-claims")) == len(reports) == 13
            for status in ("pass", "review", "reject"):
                assert int(text(f"#count-{status}")) == statuses[status]
            assert int(text("#count-findings")) == sum(by_code.values()) == 9
            rows = page.eval_on_selector_all(
                "#table-rules tbody tr",
                "rows => rows.map(r => [r.dataset.code, ...[...r.cells].map(c => c.innerText)])",
            )
            rendered = {row[0]: (int(row[4]), int(row[5])) for row in rows}
            assert rendered == {c: (n, claims_by_code[c]) for c, n in by_code.items()}
            files = page.eval_on_selector_all(
                "#table-files tbody tr", "rows => rows.map(r => r.cells[1].innerText)"
            )
            assert files == ["13"]
            assert text("#table-files tbody tr td") == "examples/claims.jsonl"
            fix = page.eval_on_selector_all(
                "#table-fix tbody tr", "rows => rows.map(r => r.dataset.claim)"
            )
            assert sorted(fix) == sorted(r["claim_id"] or "-" for r in reports if r["findings"])
            assert page.locator("svg.chart").count() == 3
            # the charts drew: a bar per rule, sized in the page
            assert page.locator("#chart-rules rect").count() == len(by_code)
            assert page.locator("#chart-verdicts").bounding_box()["width"] > 300
            assert text("#dollars-at-risk") == f"${_at_risk(reports):,.2f}" == "$240.00"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    assert width == 1100
    assert height > 900


def test_many_providers_show_the_top_rows_and_add_up_the_rest() -> None:
    reports = [
        Report(
            f"C-{i}",
            (_finding("DS104", Severity.ERROR),) * (i % 3),
            i,
            claim=_claim(f"NPI{i:03d}", ("1", "2026-01-10", "10.00")),
        )
        for i in range(1, 41)
    ]
    out = io.StringIO()
    write_html(reports, out)
    table = out.getvalue().split('<table id="table-providers">')[1].split("</table>")[0]
    rows = re.findall(r"<tr[ >].*?</tr>", table)
    assert len(rows) == 1 + TOP_KEYS + 1  # the header, the top rows, one row for the rest
    assert rows[-1].startswith('<tr><td>10 more</td><td class="num">10</td>')
    assert 'data-key="NPI002"' in rows[1]  # two findings: among the first
