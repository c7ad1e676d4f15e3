"""Reporters: every format from the same reports, streaming, ASCII-safe text, SARIF shape."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dsmt_rules.catalog import CODES
from dsmt_rules.findings import Finding, Report, Severity
from dsmt_rules.reporters import FORMATS, Summary, write_reports
from dsmt_rules.reporters.csv import COLUMNS, write_csv
from dsmt_rules.reporters.jsonl import write_json, write_jsonl
from dsmt_rules.reporters.sarif import write_sarif
from dsmt_rules.reporters.text import write_text


def _finding(code: str, severity: Severity, **kw: object) -> Finding:
    values: dict[str, object] = {
        "name": f"name-of-{code.lower()}",
        "message": f"Message of {code}.",
        "loc": ("lines", 0, "units"),
        "line_id": "1",
        "citation": "HCPCS",
        "carc_hint": "16",
        "url": f"docs/rules/{code}.md",
    }
    values.update(kw)
    return Finding(code=code, severity=severity, **values)  # type: ignore[arg-type]


CLEAN = Report(claim_id="C-1", record=1)
REJECTED = Report(
    claim_id="C-2",
    record=2,
    findings=(
        _finding("DS104", Severity.ERROR),
        _finding("DS107", Severity.WARNING, loc=("lines", 0, "session_ids"), line_id="1"),
    ),
)
UNREADABLE = Report(
    claim_id=None,
    record=4,
    findings=(_finding("DS001", Severity.ERROR, loc=(), line_id=None, carc_hint=None),),
)
REVIEW = Report(claim_id="C-5", record=5, findings=(_finding("DS206", Severity.WARNING),))
NOTE = Report(
    claim_id="C-6", record=6, findings=(_finding("DS002", Severity.INFO, loc=("lines",)),)
)
REPORTS = [CLEAN, REJECTED, UNREADABLE]


def _render(fmt: str, reports: list[Report], **kw: object) -> str:
    out = io.StringIO()
    write_reports(fmt, reports, out, **kw)  # type: ignore[arg-type]
    return out.getvalue()


# --- jsonl / json -------------------------------------------------------------------------------------


def test_jsonl_is_one_report_object_per_line_in_order() -> None:
    out = io.StringIO()
    write_jsonl(REPORTS, out)
    lines = out.getvalue().splitlines()
    assert [json.loads(line) for line in lines] == [r.to_dict() for r in REPORTS]
    assert out.getvalue().endswith("\n")
    assert list(json.loads(lines[1])) == ["record", "claim_id", "status", "findings"]


def test_json_is_one_array_and_empty_batch_is_empty_array() -> None:
    out = io.StringIO()
    write_json(REPORTS, out)
    assert json.loads(out.getvalue()) == [r.to_dict() for r in REPORTS]
    empty = io.StringIO()
    write_json([], empty)
    assert json.loads(empty.getvalue()) == []


def test_jsonl_keeps_non_ascii_text_as_utf8_characters() -> None:
    report = Report(claim_id="C-§", record=1)
    out = io.StringIO()
    write_jsonl([report], out)
    assert '"C-§"' in out.getvalue()


# --- csv ----------------------------------------------------------------------------------------------


def test_csv_one_row_per_finding_and_one_per_clean_claim() -> None:
    out = io.StringIO(newline="")
    write_csv(REPORTS, out, origin="claims.jsonl")
    rows = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert rows[0] == list(COLUMNS)
    body = [dict(zip(COLUMNS, row, strict=True)) for row in rows[1:]]
    assert [(r["record"], r["claim_id"], r["status"], r["code"]) for r in body] == [
        ("1", "C-1", "pass", ""),
        ("2", "C-2", "reject", "DS104"),
        ("2", "C-2", "reject", "DS107"),
        ("4", "", "reject", "DS001"),
    ]
    assert body[0] == {**dict.fromkeys(COLUMNS, ""), "file": "claims.jsonl", "record": "1"} | {
        "claim_id": "C-1",
        "status": "pass",
    }
    assert body[1]["loc"] == "lines.0.units"
    assert body[2]["loc"] == "lines.0.session_ids"
    assert body[1]["severity"] == "error"
    assert body[2]["severity"] == "warning"
    assert body[3]["loc"] == ""
    assert body[3]["carc_hint"] == ""
    assert {r["file"] for r in body} == {"claims.jsonl"}


def test_csv_origin_function_names_each_reports_file() -> None:
    files = ["a.jsonl", "b.jsonl", "b.jsonl"]
    out = io.StringIO(newline="")
    write_csv(REPORTS, out, origin=lambda i: files[i])
    rows = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    assert [(r["file"], r["record"]) for r in rows] == [
        ("a.jsonl", "1"),
        ("b.jsonl", "2"),
        ("b.jsonl", "2"),
        ("b.jsonl", "4"),
    ]


# --- text ---------------------------------------------------------------------------------------------


def test_text_table_and_summary() -> None:
    text = _render("text", [*REPORTS, REVIEW], origin="claims.jsonl")
    lines = text.splitlines()
    assert lines[0] == "claims.jsonl"
    assert lines[1].split() == [
        *("REC", "CLAIM", "STATUS", "CODE", "SEVERITY", "LINE", "LINE", "ID", "CARC", "MESSAGE")
    ]
    assert lines[2].split() == ["1", "C-1", "pass"]
    # line 1 of the claim (loc counts from 0), its id, the CARC, the message
    assert lines[3].split() == [
        *("2", "C-2", "reject", "DS104", "error", "1", "1", "16", "Message", "of", "DS104.")
    ]
    assert lines[4].split()[:5] == ["DS107", "warning", "1", "1", "16"]
    assert lines[5].split()[:8] == ["4", "-", "reject", "DS001", "error", "-", "-", "-"]
    # every column starts where its header does
    assert lines[3].index("DS104") == lines[1].index("CODE") == lines[4].index("DS107")
    assert lines[3].index("Message") == lines[1].index("MESSAGE") == lines[5].index("Message")
    assert lines[-2] == "4 claims: 1 pass, 1 review, 2 reject."
    assert lines[-1] == "Findings by code: DS001 x1, DS104 x1, DS107 x1, DS206 x1."


def test_text_names_the_line_by_number_and_id_and_the_source() -> None:
    report = Report(
        claim_id="C-7",
        record=3,
        findings=(
            _finding(
                "DS109", Severity.ERROR, loc=("lines", 2, "units"), line_id="L-9", source="2400/SV1"
            ),
        ),
    )
    row = _render("text", [report]).splitlines()[1]
    assert row.split()[:8] == ["3", "C-7", "reject", "DS109", "error", "3", "L-9", "16"]
    assert row.endswith("Message of DS109. (source: 2400/SV1)")


def test_text_columns_survive_a_long_claim_id() -> None:
    long_id = "PCN-" + "7" * 34  # CLM01 holds up to 38 characters
    report = Report(claim_id=long_id, record=12, findings=(_finding("DS104", Severity.ERROR),))
    lines = _render("text", [CLEAN, report]).splitlines()
    assert lines[2].split() == ["12", long_id]  # the id in full, on a row of its own
    assert lines[3].split()[:2] == ["reject", "DS104"]
    assert lines[3].index("DS104") == lines[0].index("CODE")
    assert lines[3].index("Message") == lines[0].index("MESSAGE")


def test_text_of_an_empty_batch_is_just_the_summary() -> None:
    assert _render("text", []) == "0 claims: 0 pass, 0 review, 0 reject.\nFindings by code: none.\n"


def test_text_is_printable_ascii_without_colour_even_for_hostile_claim_ids() -> None:
    report = Report(
        claim_id="C-\x1b[31mX\u00e9",
        record=1,
        findings=(
            _finding("DS104", Severity.ERROR, message="See \u00a7300.3 \u2014 at most 2 \u2264 3."),
        ),
    )
    text = _render("text", [report])
    assert all(ch == "\n" or " " <= ch <= "~" for ch in text)
    assert "\x1b" not in text
    assert "See sec. 300.3 - at most 2 <= 3." in text
    assert "C-?[31mX?" in text


def test_text_colour_only_when_asked() -> None:
    assert "\x1b[31mreject" in _render("text", [REJECTED], color=True)
    assert "\x1b[" not in _render("text", [REJECTED], color=False)


def test_text_wraps_long_messages_under_the_message_column() -> None:
    long = Report(
        claim_id="C-9",
        record=1,
        findings=(_finding("DS103", Severity.ERROR, message=" ".join(["word"] * 60)),),
    )
    lines = _render("text", [long], width=150).splitlines()
    table = lines[1 : lines.index("")]
    column = lines[0].index("MESSAGE")
    assert len(table) > 2
    assert all(len(line) <= 150 for line in table)
    assert table[0].index("word") == column
    assert all(line.startswith(" " * column + "word") for line in table[1:])
    assert " ".join(" ".join(table).split()[8:]) == " ".join(["word"] * 60)


def test_text_on_a_narrow_terminal_puts_messages_under_their_row() -> None:
    long = Report(
        claim_id="C-9",
        record=1,
        findings=(_finding("DS103", Severity.ERROR, message=" ".join(["word"] * 60)),),
    )
    lines = _render("text", [long], width=80).splitlines()
    table = lines[1 : lines.index("")]
    assert table[0].split() == ["1", "C-9", "reject", "DS103", "error", "1", "1", "16"]
    assert all(len(line) <= 80 for line in table)
    assert all(line.startswith(" " * 8 + "word") for line in table[1:])
    assert " ".join(" ".join(table[1:]).split()) == " ".join(["word"] * 60)


def test_text_starts_a_section_per_input_file() -> None:
    files = ["a.jsonl", "b.jsonl", "b.jsonl"]
    lines = _render("text", REPORTS, origin=lambda i: files[i]).splitlines()
    assert lines.count("a.jsonl") == 1
    assert lines.count("b.jsonl") == 1
    assert lines.index("b.jsonl") > lines.index("a.jsonl")


# --- sarif --------------------------------------------------------------------------------------------


def test_sarif_log_shape() -> None:
    log = json.loads(_render("sarif", [*REPORTS, NOTE], origin="in/claims file.jsonl"))
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-2.1.0.json")
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "dsmt-rules"
    assert [rule["id"] for rule in driver["rules"]] == list(CODES)
    assert all(rule["helpUri"].startswith("docs/rules/DS") for rule in driver["rules"])
    results = run["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [
        ("DS104", "error"),
        ("DS107", "warning"),
        ("DS001", "error"),
        ("DS002", "note"),
    ]
    for result in results:
        if result["ruleId"] in CODES:
            assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        (location,) = result["locations"]
        assert location["physicalLocation"]["artifactLocation"]["uri"] == "in/claims%20file.jsonl"
    assert results[0]["message"]["text"] == "Message of DS104."
    assert results[0]["locations"][0]["logicalLocations"] == [
        {"kind": "object", "name": "line 1", "fullyQualifiedName": "C-2/line 1"}
    ]
    assert results[2]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "record 4"
    assert results[0]["properties"]["loc"] == ["lines", 0, "units"]
    assert results[0]["properties"]["record"] == 2


def test_sarif_without_a_known_file_has_no_physical_location() -> None:
    for origin in (None, "<stdin>"):
        log = json.loads(_render("sarif", [REJECTED], origin=origin))
        for result in log["runs"][0]["results"]:
            assert "physicalLocation" not in result["locations"][0]


def test_sarif_absolute_path_is_a_file_uri() -> None:
    log = json.loads(_render("sarif", [REJECTED], origin="/data/claims.jsonl"))
    location = log["runs"][0]["results"][0]["locations"][0]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == "file:///data/claims.jsonl"


# --- streaming and dispatch ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "json", "text", "csv"])
def test_streaming_formats_write_each_report_before_reading_the_next(fmt: str) -> None:
    out = io.StringIO()
    seen: list[int] = []

    def reports() -> Iterator[Report]:
        for i in range(1, 4):
            if i > 1:
                seen.append(len(out.getvalue()))
            yield Report(claim_id=f"STREAM-{i}", record=i)

    write_reports(fmt, reports(), out)  # type: ignore[arg-type]
    assert len(seen) == 2
    assert 0 < seen[0] < seen[1] < len(out.getvalue())
    assert "STREAM-1" in out.getvalue()[: seen[0]]


def test_every_format_is_dispatched_and_unknown_is_rejected() -> None:
    for fmt in FORMATS:
        assert _render(fmt, REPORTS)
    with pytest.raises(ValueError, match="unknown report format 'xml'"):
        _render("xml", REPORTS)


def test_summary_counts_statuses_and_codes() -> None:
    summary = Summary()
    passed = list(summary.tally([*REPORTS, REVIEW, NOTE]))
    assert passed == [*REPORTS, REVIEW, NOTE]
    assert summary.claims == 5
    assert dict(summary.by_status) == {"pass": 2, "reject": 2, "review": 1}
    assert dict(summary.by_code) == {"DS104": 1, "DS107": 1, "DS001": 1, "DS206": 1, "DS002": 1}


def test_write_text_function_directly() -> None:
    out = io.StringIO()
    write_text([CLEAN], out)
    assert out.getvalue().splitlines()[-2] == "1 claim: 1 pass, 0 review, 0 reject."


def test_write_sarif_function_directly_with_no_reports() -> None:
    out = io.StringIO()
    write_sarif([], out)
    assert json.loads(out.getvalue())["runs"][0]["results"] == []


@given(
    st.one_of(st.none(), st.text(max_size=70)),
    st.one_of(st.none(), st.integers(min_value=0, max_value=10**9)),
)
def test_the_fast_encoding_of_a_clean_report_is_json_dumps(
    claim_id: str | None, record: int | None
) -> None:
    from dsmt_rules.reporters.jsonl import encode_report

    report = Report(claim_id=claim_id, record=record)
    assert encode_report(report) == json.dumps(report.to_dict(), ensure_ascii=False)
