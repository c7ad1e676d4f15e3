"""The command line: the report contract, records in == results out, exit codes, formats, commands."""

from __future__ import annotations

import codecs
import copy
import csv
import io
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from dsmt_rules import __version__, adapters
from dsmt_rules.adapters import Batch, detect_format
from dsmt_rules.catalog import CODES
from dsmt_rules.cli import main
from dsmt_rules.reporters.csv import COLUMNS
from dsmt_rules.rules._examples import BASE_CLAIM, apply_patch

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "claims.jsonl"

HEADER = ["REC", "CLAIM", "STATUS", "CODE", "SEVERITY", "LINE", "LINE", "ID", "CARC"]
"""The text table's header, split on spaces (without MESSAGE)."""
REPORT_KEYS = ["record", "claim_id", "status", "findings"]
FINDING_KEYS = [
    "code",
    "name",
    "severity",
    "message",
    "loc",
    "line_id",
    "source",
    "citation",
    "carc_hint",
    "url",
    "ctx",
    "fix",
]


def _session(**changes: Any) -> dict[str, Any]:
    session: dict[str, Any] = copy.deepcopy(BASE_CLAIM["sessions"][0])
    session.update(changes)
    return session


def _doc(patch: dict[str, Any] | None = None) -> str:
    return json.dumps(apply_patch(BASE_CLAIM, patch or {}))


# Each test claim has its own (fake) beneficiary: claims of one beneficiary in a batch are history
# for each other (the same session billed twice would be a duplicate, DS110).
CLEAN = _doc({"claim_id": "C-OK", "beneficiary_id": "1AA0AA0AA01"})
CLEAN_TOO = _doc({"claim_id": "C-OK2", "beneficiary_id": "1AA0AA0AA02"})
GROUP_OF_ONE = _doc(
    {"claim_id": "C-ONE", "beneficiary_id": "1AA0AA0AA03", "sessions": [_session(attendees=1)]}
)
"""DESIGN.md's report example: G0109 on a session with 1 attendee raises exactly DS104."""
NO_SESSION_RECORD = _doc(
    {
        "claim_id": "C-WARN",
        "beneficiary_id": "1AA0AA0AA04",
        "lines": [
            {
                "line_id": "1",
                "hcpcs": "G0109",
                "units": 2,
                "service_date": "2026-02-02",
                "place_of_service": "11",
                "diagnosis_pointers": [1],
            }
        ],
        "sessions": [],
    }
)
"""Raises only DS107 (a warning): status review."""


def _write(tmp_path: Path, name: str, *lines: str | bytes) -> Path:
    path = tmp_path / name
    data = b"".join((line.encode() if isinstance(line, str) else line) + b"\n" for line in lines)
    path.write_bytes(data)
    return path


def _run(
    capsys: pytest.CaptureFixture[str],
    *args: str | Path,
    stdin: bytes | None = None,
    monkeypatch: pytest.MonkeyPatch | None = None,
) -> tuple[int, str, str]:
    if stdin is not None:
        assert monkeypatch is not None
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def _jsonl(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


def _assert_contract(report: dict[str, Any]) -> None:
    assert list(report) == REPORT_KEYS
    assert type(report["record"]) is int
    assert report["claim_id"] is None or isinstance(report["claim_id"], str)
    assert report["status"] in {"pass", "review", "reject"}
    assert isinstance(report["findings"], list)
    for finding in report["findings"]:
        assert list(finding) == FINDING_KEYS
        assert re.fullmatch(r"DS\d{3}", finding["code"])
        assert re.fullmatch(r"[a-z]+(-[a-z0-9]+)*", finding["name"])
        assert finding["severity"] in {"error", "warning", "info"}
        assert isinstance(finding["message"], str)
        assert finding["message"]
        assert isinstance(finding["loc"], list)
        assert all(type(part) in (str, int) for part in finding["loc"])
        assert finding["line_id"] is None or isinstance(finding["line_id"], str)
        assert finding["source"] is None or isinstance(finding["source"], str)
        assert isinstance(finding["citation"], str)
        assert finding["carc_hint"] is None or isinstance(finding["carc_hint"], str)
        assert finding["url"] == f"docs/rules/{finding['code']}-{finding['name']}.md"


def _assert_usage_error(status: int, out: str, err: str) -> None:
    assert status == 2
    assert out == ""
    assert err.startswith("dsmt-rules: error: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err


# --- the report contract ------------------------------------------------------------------------------


def test_jsonl_matches_the_report_contract_for_a_clean_and_a_failing_claim(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "claims.jsonl", CLEAN, GROUP_OF_ONE)
    status, out, err = _run(capsys, "check", path, "--format", "jsonl")
    assert (status, err) == (1, "")
    reports = _jsonl(out)
    for report in reports:
        _assert_contract(report)
    assert reports == [
        {"record": 1, "claim_id": "C-OK", "status": "pass", "findings": []},
        {
            "record": 2,
            "claim_id": "C-ONE",
            "status": "reject",
            "findings": [
                {
                    "code": "DS104",
                    "name": "group-too-small",
                    "severity": "error",
                    "message": (
                        "Line 1: G0109 billed for a session with 1 attendee; "
                        "a group needs at least 2 (bill G0108)."
                    ),
                    "loc": ["lines", 0, "hcpcs"],
                    "line_id": "1",
                    "source": None,
                    "citation": "HCPCS G0109 descriptor",
                    "carc_hint": "16",
                    "url": "docs/rules/DS104-group-too-small.md",
                    "ctx": {
                        "line": "1",
                        "code": "G0109",
                        "attendees": 1,
                        "group_min": 2,
                        "individual_code": "G0108",
                    },
                    "fix": {
                        "applicability": "safe",
                        "title": "Bill G0108 (individual) for a session of 1",
                        "edits": [{"loc": ["lines", 0, "hcpcs"], "from": "G0109", "to": "G0108"}],
                    },
                }
            ],
        },
    ]


def test_jsonl_is_the_default_when_stdout_is_not_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "claims.jsonl", CLEAN)
    status, out, err = _run(capsys, "check", path)
    assert (status, err) == (0, "")
    assert _jsonl(out) == [{"record": 1, "claim_id": "C-OK", "status": "pass", "findings": []}]


def test_records_in_equal_results_out_with_bad_lines_and_blank_lines_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    no_units = apply_patch(BASE_CLAIM, {"claim_id": "C-NOUNITS"})
    del no_units["lines"][0]["units"]
    path = _write(
        tmp_path,
        "mixed.jsonl",
        CLEAN,  # 1
        "",  # 2 blank: skipped
        '{"claim_id": "C-3", "form": ',  # 3 not JSON
        "[1, 2]",  # 4 JSON, but an array
        json.dumps(no_units),  # 5 fails the model
        "   \t",  # 6 blank: skipped
        GROUP_OF_ONE,  # 7
    )
    status, out, _ = _run(capsys, "check", path, "--format", "jsonl")
    assert status == 1
    reports = _jsonl(out)
    for report in reports:
        _assert_contract(report)
    assert [(r["record"], r["claim_id"], r["status"]) for r in reports] == [
        (1, "C-OK", "pass"),
        (3, None, "reject"),
        (4, None, "reject"),
        (5, "C-NOUNITS", "reject"),
        (7, "C-ONE", "reject"),
    ]
    not_json, array, invalid = (
        reports[1]["findings"],
        reports[2]["findings"],
        reports[3]["findings"],
    )
    assert [(f["code"], f["loc"]) for f in not_json] == [("DS001", [])]
    assert "not valid JSON" in not_json[0]["message"]
    assert not_json[0]["message"].startswith("Record 3: ")
    assert [(f["code"], f["loc"]) for f in array] == [("DS001", [])]
    assert "not a JSON object" in array[0]["message"]
    assert [(f["code"], f["loc"]) for f in invalid] == [("DS001", ["lines", 0, "units"])]
    assert invalid[0]["message"].startswith("Record 5: ")


def test_non_utf8_bytes_inside_a_line_give_ds001_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = CLEAN.replace("C-OK", "C-BAD").encode().replace(b"G0109", b"G01\xff\xfe9")
    path = _write(tmp_path, "latin.jsonl", CLEAN, bad, GROUP_OF_ONE)
    status, out, err = _run(capsys, "check", path, "--format", "jsonl")
    assert (status, err) == (1, "")
    reports = _jsonl(out)
    assert [r["record"] for r in reports] == [1, 2, 3]
    assert [f["code"] for f in reports[1]["findings"]] == ["DS001"]
    assert [r["status"] for r in reports] == ["pass", "reject", "reject"]


# --- exit status --------------------------------------------------------------------------------------


def test_exit_0_when_nothing_is_rejected_and_info_or_review_do_not_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "ok.jsonl", CLEAN, NO_SESSION_RECORD)
    status, out, _ = _run(capsys, "check", path)
    assert status == 0
    assert [(r["status"], [f["code"] for f in r["findings"]]) for r in _jsonl(out)] == [
        ("pass", []),
        ("review", ["DS107"]),
    ]


def test_fail_on_warning_fails_a_review(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "warn.jsonl", CLEAN, NO_SESSION_RECORD)
    assert _run(capsys, "check", path, "--fail-on", "warning")[0] == 1
    assert _run(capsys, "check", path, "--fail-on", "error")[0] == 0


def test_severity_override_turns_a_reject_into_a_review(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "one.jsonl", GROUP_OF_ONE)
    status, out, _ = _run(capsys, "check", path, "--severity", "DS104=warning")
    assert status == 0
    (report,) = _jsonl(out)
    assert report["status"] == "review"
    assert [(f["code"], f["severity"]) for f in report["findings"]] == [("DS104", "warning")]
    status, _, _ = _run(
        capsys, "check", path, "--severity", "DS104=warning", "--fail-on", "warning"
    )
    assert status == 1


def test_select_and_ignore_choose_the_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "one.jsonl", GROUP_OF_ONE)
    status, out, _ = _run(capsys, "check", path, "--ignore", "DS104")
    assert (status, _jsonl(out)[0]["findings"]) == (0, [])
    status, out, _ = _run(capsys, "check", path, "--select", "DS2,DS3")
    assert (status, _jsonl(out)[0]["findings"]) == (0, [])
    status, out, _ = _run(capsys, "check", path, "--select", "DS3", "--extend-select", "ds10")
    assert status == 1
    assert [f["code"] for f in _jsonl(out)[0]["findings"]] == ["DS104"]


@pytest.mark.parametrize(
    "extra",
    [
        ["--select", "DS999"],
        ["--ignore", "DS9"],
        ["--select", "DS104,XX1"],
        ["--severity", "DS104=fatal"],
        ["--severity", "DS104"],
        ["--severity", "DS999=error"],
        ["--profile", "no-such-profile"],
        ["--profile", "missing-profile.toml"],
        ["--format", "xml"],
        ["--fail-on", "info"],
        ["--no-such-option"],
    ],
)
def test_bad_options_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    path = _write(tmp_path, "one.jsonl", CLEAN)
    _assert_usage_error(*_run(capsys, "check", path, *extra))


def test_bad_profile_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "one.jsonl", CLEAN)
    profile = tmp_path / "payer.toml"
    profile.write_text('extends = "medicare"\ngroup_max = "twenty"\n', encoding="utf-8")
    status, out, err = _run(capsys, "check", path, "--profile", profile)
    _assert_usage_error(status, out, err)
    assert "group_max" in err


def test_profile_file_changes_the_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "one.jsonl", CLEAN)
    profile = tmp_path / "payer.toml"
    profile.write_text('extends = "medicare"\nname = "payer"\ngroup_min = 10\n', encoding="utf-8")
    status, out, _ = _run(capsys, "check", path, "--profile", profile)
    assert status == 1
    assert [f["code"] for f in _jsonl(out)[0]["findings"]] == ["DS104"]


def test_missing_file_directory_and_no_path_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = _run(capsys, "check", tmp_path / "nope.jsonl")
    _assert_usage_error(status, out, err)
    assert "nope.jsonl: No such file or directory" in err
    status, out, err = _run(capsys, "check", tmp_path)
    _assert_usage_error(status, out, err)
    assert "directory" in err
    _assert_usage_error(*_run(capsys, "check"))


def test_a_missing_file_among_good_ones_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _write(tmp_path, "good.jsonl", CLEAN)
    _assert_usage_error(*_run(capsys, "check", good, tmp_path / "gone.jsonl"))


def test_unknown_command_and_no_command(capsys: pytest.CaptureFixture[str]) -> None:
    _assert_usage_error(*_run(capsys, "frobnicate"))
    status, out, _ = _run(capsys)
    assert status == 2
    assert "Usage: dsmt-rules" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, "--version") == (0, f"dsmt-rules {__version__}\n", "")


# --- inputs -------------------------------------------------------------------------------------------


def test_stdin_with_dash(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = f"{CLEAN}\n\n{GROUP_OF_ONE}\n".encode()
    status, out, err = _run(capsys, "check", "-", stdin=data, monkeypatch=monkeypatch)
    assert (status, err) == (1, "")
    assert [(r["record"], r["claim_id"]) for r in _jsonl(out)] == [(1, "C-OK"), (3, "C-ONE")]


def test_stdin_json_array(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = f"[{CLEAN}, {GROUP_OF_ONE}]".encode()
    status, out, _ = _run(capsys, "check", "-", stdin=data, monkeypatch=monkeypatch)
    assert status == 1
    assert [(r["record"], r["status"]) for r in _jsonl(out)] == [(1, "pass"), (2, "reject")]


def test_several_paths_are_one_batch_and_records_count_per_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _write(tmp_path, "a.jsonl", CLEAN, GROUP_OF_ONE)
    empty = _write(tmp_path, "empty.jsonl", "")
    b = _write(tmp_path, "b.jsonl", "", NO_SESSION_RECORD)
    status, out, _ = _run(
        capsys,
        "check",
        a,
        empty,
        "-",
        b,
        "--format",
        "csv",
        stdin=f"{CLEAN_TOO}\n".encode(),
        monkeypatch=monkeypatch,
    )
    assert status == 1
    rows = list(csv.DictReader(io.StringIO(out, newline="")))
    assert [(r["file"], r["record"], r["claim_id"], r["code"]) for r in rows] == [
        (str(a), "1", "C-OK", ""),
        (str(a), "2", "C-ONE", "DS104"),
        ("<stdin>", "1", "C-OK2", ""),
        (str(b), "2", "C-WARN", "DS107"),
    ]


def test_batch_names_the_file_of_each_report() -> None:
    def source(n: int) -> io.BufferedReader:
        return io.BufferedReader(io.BytesIO((CLEAN + "\n").encode() * n))

    batch = Batch([("a", source(2)), ("empty", source(0)), ("b", source(3))])
    names = []
    for index, _ in enumerate(batch):
        names.append(batch.file_of(index))
    assert names == ["a", "a", "b", "b", "b"]
    assert batch.file_of(0) == "a"  # going back works too


def test_input_format_detection() -> None:
    assert detect_format(b"ISA*00*          *00*") == "x12"
    assert detect_format(b"\xef\xbb\xbf\r\n  ISA*00") == "x12"
    assert detect_format(b'{"resourceType": "Bundle", "type": "collection"}') == "fhir"
    assert detect_format(b'\n  {\n  "resourceType": "Claim"') == "fhir"
    assert detect_format(CLEAN.encode()) == "json"
    assert detect_format(b"[" + CLEAN.encode()) == "json"
    assert detect_format(b"") == "json"
    assert detect_format(b"not json at all") == "json"
    assert detect_format(b"GS*HC*SENDER*RECEIVER~") == "x12"  # no ISA: the X12 reader says so
    assert detect_format(b"\r\nST*837*0001~") == "x12"
    assert detect_format(b"STATUS: ok") == "json"


def test_gzip_input_of_any_format_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import gzip

    path = tmp_path / "claims.jsonl.gz"
    path.write_bytes(gzip.compress((CLEAN + "\n" + GROUP_OF_ONE + "\n").encode()))
    status, out, err = _run(capsys, "check", str(path), "--format", "jsonl")
    assert (status, err) == (1, "")
    assert [r["claim_id"] for r in _jsonl(out)] == ["C-OK", "C-ONE"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
@pytest.mark.parametrize("fixture", ["x12/dsmt-837p.837", "fhir/dsmt-bundle.json", "jsonl"])
def test_utf16_and_utf32_input_with_a_byte_order_mark_reads_as_utf8(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], encoding: str, fixture: str
) -> None:
    """Windows tools write UTF-16 (PowerShell's ``>``): read as the same text in UTF-8 is, not
    one "not valid JSON" per line."""
    if fixture == "jsonl":
        text = CLEAN + "\n" + GROUP_OF_ONE + "\n"
    else:
        text = (Path(__file__).parent / "fixtures" / fixture).read_text(encoding="utf-8")
    bom = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}.get(encoding, b"")
    utf8, wide = tmp_path / "utf8", tmp_path / "wide"
    utf8.write_text(text, encoding="utf-8")
    wide.write_bytes(bom + text.encode(encoding))
    assert wide.read_bytes()[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    expected = _run(capsys, "check", str(utf8), "--format", "jsonl")
    got = _run(capsys, "check", str(wide), "--format", "jsonl")
    assert got[0] == expected[0]
    assert got[0] in (0, 1)
    assert got[1].replace(str(wide), "F") == expected[1].replace(str(utf8), "F")
    assert len(_jsonl(got[1])) >= 2


@pytest.mark.parametrize(
    ("kind", "content"),
    [
        ("x12", "ISA*00*          *00*          *ZZ*SUBMITTER~"),
        ("fhir", '{"resourceType": "Bundle"}'),
    ],
)
def test_x12_or_fhir_without_its_adapter_says_which_extra_to_install(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    kind: str,
    content: str,
) -> None:
    monkeypatch.setattr(
        adapters,
        "ADAPTERS",
        {k: ("dsmt_rules.adapters._absent", k.upper(), k) for k in ("x12", "fhir")},
    )
    path = _write(tmp_path, f"in.{kind}", content)
    status, out, err = _run(capsys, "check", path)
    _assert_usage_error(status, out, err)
    assert f"pip install 'dsmt-rules[{kind}]'" in err


# --- output -------------------------------------------------------------------------------------------


def test_output_writes_a_file_and_nothing_to_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "claims.jsonl", CLEAN, GROUP_OF_ONE)
    target = tmp_path / "reports.jsonl"
    status, out, err = _run(capsys, "check", path, "--output", target)
    # counts only on stderr: no claim id, no beneficiary id
    assert (status, out, err) == (
        1,
        "",
        "dsmt-rules: 2 claims: 1 pass, 0 review, 1 reject; 1 finding.\n",
    )
    assert [r["claim_id"] for r in _jsonl(target.read_text(encoding="utf-8"))] == ["C-OK", "C-ONE"]


def test_output_format_follows_the_file_suffix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "claims.jsonl", CLEAN)
    target = tmp_path / "reports.csv"
    assert _run(capsys, "check", path, "-o", target)[0] == 0
    with target.open(newline="", encoding="utf-8") as fh:
        assert next(csv.reader(fh)) == list(COLUMNS)


def test_output_must_not_overwrite_an_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "claims.jsonl", CLEAN)
    _assert_usage_error(*_run(capsys, "check", path, "--output", path))
    assert path.read_text(encoding="utf-8") == CLEAN + "\n"


def test_output_into_a_missing_directory_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "claims.jsonl", CLEAN)
    _assert_usage_error(*_run(capsys, "check", path, "--output", tmp_path / "no" / "out.jsonl"))


def test_every_format_is_parseable_and_accounts_for_every_record(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = _run(capsys, "check", EXAMPLES, "--format", "jsonl")
    assert status == 1
    reports = _jsonl(out)
    nonblank = [line for line in EXAMPLES.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(reports) == len(nonblank)
    n_findings = sum(len(r["findings"]) for r in reports)

    status, out, _ = _run(capsys, "check", EXAMPLES, "--format", "json")
    assert status == 1
    assert json.loads(out) == reports

    status, out, _ = _run(capsys, "check", EXAMPLES, "--format", "csv")
    rows = list(csv.reader(io.StringIO(out, newline="")))
    assert rows[0] == list(COLUMNS)
    assert len(rows) - 1 == sum(max(1, len(r["findings"])) for r in reports)
    assert {row[1] for row in rows[1:]} == {str(r["record"]) for r in reports}

    status, out, _ = _run(capsys, "check", EXAMPLES, "--format", "sarif")
    log = json.loads(out)
    assert log["version"] == "2.1.0"
    assert len(log["runs"][0]["results"]) == n_findings

    status, out, _ = _run(capsys, "check", EXAMPLES, "--format", "text", "--no-progress")
    counts = {s: sum(r["status"] == s for r in reports) for s in ("pass", "review", "reject")}
    assert (
        f"{len(reports)} claims: {counts['pass']} pass, {counts['review']} review, "
        f"{counts['reject']} reject." in out.splitlines()
    )


@pytest.mark.parametrize("fmt", ["jsonl", "json", "text", "csv", "sarif", "html"])
def test_no_beneficiary_id_in_any_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    text = EXAMPLES.read_text(encoding="utf-8")
    ids = set(re.findall(r'"beneficiary_id": "([^"]+)"', text))
    assert len(ids) >= 12
    # Invalid records whose errors are about the beneficiary id itself, or next to it.
    hostile = [
        _doc({"claim_id": "C-H1", "beneficiary_id": "9ZZ9ZZ9ZZ99" * 7}),
        _doc({"claim_id": "C-H2", "beneficiary_id": "8YY8YY8YY88", "nickname": "8YY8YY8YY88"}),
        _doc({"claim_id": "C-H3", "beneficiary_id": "7XX7XX7XX77", "form": "7XX7XX7XX77"}),
    ]
    ids |= {"9ZZ9ZZ9ZZ99", "8YY8YY8YY88", "7XX7XX7XX77"}
    path = _write(tmp_path, "claims.jsonl", *text.splitlines(), *hostile)
    status, out, err = _run(capsys, "check", path, "--format", fmt, "--no-progress")
    assert status == 1
    assert out
    leaked = sorted(i for i in ids if i in out or i in err)
    assert leaked == []


# --- the bundled examples -----------------------------------------------------------------------------

EXPECTED_EXAMPLE_CODES = {
    "C-2001": [],
    "C-2002": [],
    "C-2003": [],
    "C-2004": [],
    "C-2005": ["DS104"],
    "C-2006": ["DS103"],
    "C-2007": ["DS302"],
    "C-2008": ["DS308"],
    "C-2009": ["DS202"],
    "C-2010": ["DS501"],
    "C-2011": ["DS601"],
    "C-2012": ["DS001"],
    None: ["DS001"],
}


def test_examples_raise_exactly_their_intended_codes(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(capsys, "check", EXAMPLES, "--format", "jsonl")
    got = {r["claim_id"]: [f["code"] for f in r["findings"]] for r in _jsonl(out)}
    assert got == EXPECTED_EXAMPLE_CODES
    assert len(set(re.findall(r"\"beneficiary_id\": \"([^\"]+)\"", EXAMPLES.read_text()))) == 13


def test_python_m_dsmt_rules_runs_the_demo() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "dsmt_rules", "check", str(EXAMPLES), "--format", "text"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert lines[0] == str(EXAMPLES)
    assert lines[1].split() == [*HEADER, "MESSAGE"]
    assert lines[-2] == "13 claims: 4 pass, 0 review, 9 reject."
    assert proc.stdout.isascii()


# --- rules, explain, schema ---------------------------------------------------------------------------


def test_rules_json_lists_the_whole_catalog(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(capsys, "rules", "--format", "json")
    assert status == 0
    items = json.loads(out)
    assert [item["code"] for item in items] == list(CODES)
    for item in items:
        assert list(item) == [
            "code",
            "name",
            "severity",
            "citation",
            "carc_hint",
            "url",
            "messages",
        ]
        assert item["messages"]["default"]
        assert item["severity"] in {"error", "warning", "info"}
        assert item["citation"]
    assert items[0] == {
        "code": "DS001",
        "name": "invalid-document",
        "severity": "error",
        "citation": "dsmt-rules claim document v1 (dsmt-rules schema)",
        "carc_hint": "16",
        "url": "docs/rules/DS001-invalid-document.md",
        "messages": {"default": "Record {record}: {problem} (at {where})."},
    }


def test_rules_text_has_one_row_per_rule(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(capsys, "rules")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == ["CODE", "NAME", "SEVERITY", "CITATION"]
    assert [line.split()[0] for line in lines[1:]] == list(CODES)
    assert lines[1].split()[:3] == ["DS001", "invalid-document", "error"]


def test_explain_prints_the_rule_doc(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(capsys, "explain", "DS002")
    assert status == 0
    assert out.startswith("# DS002 no-dsmt-lines\n")
    assert "## What it checks" in out
    assert _run(capsys, "explain", "ds002")[1] == out


def test_explain_unknown_code_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = _run(capsys, "explain", "DS999")
    _assert_usage_error(status, out, err)
    assert "DS999" in err


def test_schema_is_the_claim_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(capsys, "schema")
    assert status == 0
    schema = json.loads(out)
    assert schema["title"] == "dsmt-rules claim document v1"
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"]
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert list(validator.iter_errors(BASE_CLAIM)) == []
    typo = apply_patch(BASE_CLAIM, {"refferal": {}})
    assert [e.validator for e in validator.iter_errors(typo)] == ["additionalProperties"]


def test_claims_in_different_files_are_history_for_each_other(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _write(tmp_path, "a.jsonl", CLEAN)
    b = _write(tmp_path, "b.jsonl", CLEAN.replace('"C-OK"', '"C-DUP"'))
    alone = [_jsonl(_run(capsys, "check", path)[1]) for path in (a, b)]
    assert [[r["findings"] for r in reports] for reports in alone] == [[[]], [[]]]
    status, out, _ = _run(capsys, "check", a, b)
    assert status == 1
    assert [
        (r["record"], r["claim_id"], [f["code"] for f in r["findings"]]) for r in _jsonl(out)
    ] == [
        (1, "C-OK", ["DS110"]),
        (1, "C-DUP", []),  # ties on the date of service: the lower claim id is the original
    ]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX named pipes")
def test_a_pipe_path_is_read_once_and_spooled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "claims.fifo"
    os.mkfifo(fifo)

    def feed() -> None:
        with fifo.open("wb") as pipe:
            pipe.write(f"{CLEAN}\n{GROUP_OF_ONE}\n".encode())

    writer = threading.Thread(target=feed)
    writer.start()
    status, out, _ = _run(capsys, "check", fifo)
    writer.join(timeout=10)
    assert status == 1
    assert [(r["record"], r["claim_id"]) for r in _jsonl(out)] == [(1, "C-OK"), (2, "C-ONE")]


# --- --statistics, --docs-url ---------------------------------------------------------------------


def test_statistics_counts_findings_and_claims_by_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "claims.jsonl", GROUP_OF_ONE, CLEAN, "{not json", "[1]")
    status, out, _ = _run(capsys, "check", path, "--statistics", "--format", "json")
    assert status == 1
    stats = json.loads(out)
    assert [s["code"] for s in stats] == ["DS001", "DS104"]
    assert stats[0] == {
        "code": "DS001",
        "name": "invalid-document",
        "severity": "error",
        "findings": 2,
        "claims": 2,
    }
    assert (stats[1]["findings"], stats[1]["claims"]) == (1, 1)

    status, out, _ = _run(capsys, "check", path, "--statistics")
    assert status == 1
    lines = out.splitlines()
    assert lines[0].split() == ["FINDINGS", "CLAIMS", "CODE", "SEVERITY", "NAME"]
    assert lines[1].split() == ["2", "2", "DS001", "error", "invalid-document"]
    assert lines[2].split() == ["1", "1", "DS104", "error", "group-too-small"]
    assert len(lines) == 3


def test_statistics_of_a_clean_batch_and_a_bad_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "claims.jsonl", CLEAN)
    assert _run(capsys, "check", path, "--statistics")[:2] == (0, "No findings.\n")
    assert _run(capsys, "check", path, "--statistics", "--format", "json")[:2] == (0, "[]\n")
    status, out, err = _run(capsys, "check", path, "--statistics", "--format", "csv")
    assert (status, out) == (2, "")
    assert "--statistics is written as text or json" in err


def test_docs_url_makes_every_rule_link_absolute(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "claims.jsonl", GROUP_OF_ONE)
    _, out, _ = _run(capsys, "check", path, "--format", "jsonl")
    relative = _jsonl(out)[0]["findings"][0]["url"]
    assert relative == "docs/rules/DS104-group-too-small.md"
    base = "https://dsmt.example.org/0.2/"
    absolute = base + relative
    for fmt in ("jsonl", "json", "sarif", "html"):
        _, out, _ = _run(capsys, "check", path, "--format", fmt, "--docs-url", base)
        assert absolute in out, fmt
        assert f'"{relative}' not in out, fmt
    _, out, _ = _run(capsys, "check", path, "--format", "sarif", "--docs-url", base.rstrip("/"))
    rules = json.loads(out)["runs"][0]["tool"]["driver"]["rules"]
    assert len(rules) == len(CODES)
    assert all(r["helpUri"].startswith(base + "docs/rules/DS") for r in rules)
    _, out, _ = _run(capsys, "check", path, "--format", "sarif")
    rules = json.loads(out)["runs"][0]["tool"]["driver"]["rules"]
    assert all(r["helpUri"].startswith("docs/rules/DS") for r in rules)


# --- the progress bars ----------------------------------------------------------------------------


def test_progress_reads_bytes_of_a_known_total_then_checks_records_of_a_known_total(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tqdm import tqdm

    from dsmt_rules import job

    monkeypatch.setattr(job, "_PROGRESS_DELAY", 0)
    path = _write(tmp_path, "claims.jsonl", CLEAN, GROUP_OF_ONE, CLEAN_TOO)
    size = path.stat().st_size
    status, out, err = _run(capsys, "check", path, "--progress", "-o", tmp_path / "r.jsonl")
    assert (status, out) == (1, "")
    frames = [f.strip() for f in re.split(r"[\r\n]", err) if f.strip()]
    reading = [f for f in frames if f.startswith("reading:")]
    checking = [f for f in frames if f.startswith("checking:")]
    assert reading
    assert "%|" in reading[-1]
    shown = tqdm.format_sizeof(size, divisor=1024)
    assert reading[-1].startswith("reading: 100%|")
    assert f"| {shown}/{shown} [" in reading[-1]
    assert checking[-1].startswith("checking: 100%")
    assert "3/3 [" in checking[-1]
    assert frames[-1] == "dsmt-rules: 3 claims: 2 pass, 0 review, 1 reject; 1 finding."


def test_progress_from_stdin_counts_records_then_knows_the_total(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dsmt_rules import job

    monkeypatch.setattr(job, "_PROGRESS_DELAY", 0)
    stdin = (CLEAN + "\n" + GROUP_OF_ONE + "\n").encode()
    status, _, err = _run(capsys, "check", "-", "--progress", stdin=stdin, monkeypatch=monkeypatch)
    assert status == 1
    frames = [f.strip() for f in re.split(r"[\r\n]", err) if f.strip()]
    reading = [f for f in frames if f.startswith("reading:")]
    assert reading
    assert all("%" not in f for f in reading)  # no total to show a percentage of
    assert "2 records" in reading[-1]
    assert [f for f in frames if f.startswith("checking:")][-1].startswith("checking: 100%")


def test_no_progress_bar_unless_asked_or_on_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dsmt_rules import job

    monkeypatch.setattr(job, "_PROGRESS_DELAY", 0)
    path = _write(tmp_path, "claims.jsonl", CLEAN)
    assert _run(capsys, "check", path)[2] == ""  # stderr is not a terminal under pytest
    assert _run(capsys, "check", path, "--no-progress")[2] == ""


@pytest.mark.parametrize(
    ("source", "reference"),
    [
        ("x12/dsmt-837p.837", "x12/dsmt-reference.jsonl"),
        ("x12/dsmt-837i.837", "x12/dsmt-reference.jsonl"),
        ("fhir/dsmt-bundle.json", "fhir/dsmt-reference.jsonl"),
    ],
)
def test_read_prints_documents_that_check_to_the_same_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str, reference: str
) -> None:
    """`dsmt-rules read` output checks to the findings the input gives (but input positions)."""
    if source.startswith("fhir"):
        pytest.importorskip("fhir.resources")
    fixtures = ROOT / "tests" / "fixtures"
    src, ref = str(fixtures / source), str(fixtures / reference)
    status, documents, _ = _run(capsys, "read", src, "--reference", ref, "--isolated")
    assert status == 0
    path = tmp_path / "read.jsonl"
    path.write_text(documents)
    _, direct, _ = _run(capsys, "check", src, "--reference", ref, "--isolated")
    _, again, _ = _run(capsys, "check", str(path), "--isolated")

    def findings(out: str) -> list[tuple[str | None, list[tuple[str, str]]]]:
        reports = [json.loads(line) for line in out.splitlines()]
        return [
            (r["claim_id"], [(f["code"], f["message"]) for f in r["findings"]])
            for r in reports
            if not any(f["code"] in ("DS001", "DS003") for f in r["findings"])
        ]

    expected = findings(direct)
    assert len(expected) == len(documents.splitlines()) > 0
    assert findings(again) == expected


def test_an_837_with_no_claim_says_so_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = Path(__file__).parent / "fixtures" / "x12" / "dsmt-837p.837"
    segments = fixture.read_text().split("~\n")
    kept = [s for s in segments if not s.startswith(("CLM", "LX", "SV1", "DTP", "HI", "REF*9F"))]
    kept = [f"SE*{len(kept) - 5}*0001" if s.startswith("SE*") else s for s in kept]
    empty = _write(tmp_path, "empty.837", "~\n".join(kept))
    claims = _write(tmp_path, "claims.jsonl", CLEAN)
    status, out, err = _run(capsys, "check", empty, claims, "--format", "jsonl")
    reports = _jsonl(out)
    assert [r["claim_id"] for r in reports] == [None, "C-OK"]
    assert [f["ctx"]["problem"] for f in reports[0]["findings"]] == [
        "the input holds no claim (no CLM segment)"
    ]
    assert status == 1
    assert err.splitlines() == [
        f"dsmt-rules: warning: {empty}: the input holds no claim (no CLM segment): nothing in it "
        "was checked"
    ]
