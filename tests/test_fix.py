"""Fixes: each rule's repair (exact edits and applicability), the applier, and ``dsmt-rules fix``."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from dsmt_rules import check, check_many
from dsmt_rules.catalog import rule_for
from dsmt_rules.cli import main
from dsmt_rules.engine import ruleset
from dsmt_rules.exceptions import ConfigError
from dsmt_rules.findings import Applicability, Edit, Fix
from dsmt_rules.fix import apply_fixes, fix_inputs
from dsmt_rules.rules._examples import BASE_CLAIM, apply_patch, base_line, base_session
from helpers import claim_from

SAFE, UNSAFE = Applicability.SAFE, Applicability.UNSAFE


def _doc(patch: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = apply_patch(BASE_CLAIM, patch)
    return doc


def _fixes(patch: dict[str, Any], **options: Any) -> list[tuple[str, dict[str, Any] | None]]:
    report = check(claim_from(patch), **options)
    return [(f.code, None if f.fix is None else f.fix.to_dict()) for f in report.findings]


def _example(code: str) -> dict[str, Any]:
    example: dict[str, Any] = rule_for(code).example  # type: ignore[assignment]
    return example


# --- each rule's fix -------------------------------------------------------------------------------


def test_ds104_swaps_g0109_for_g0108_safely() -> None:
    assert _fixes(_example("DS104")) == [
        (
            "DS104",
            {
                "applicability": "safe",
                "title": "Bill G0108 (individual) for a session of 1",
                "edits": [{"loc": ["lines", 0, "hcpcs"], "from": "G0109", "to": "G0108"}],
            },
        )
    ]


def test_ds104_has_no_fix_when_the_line_also_links_a_group_session() -> None:
    patch = {
        "lines": [base_line(session_ids=["S-20260202-AM", "S-20260202-PM"], units=4)],
        "sessions": [base_session(attendees=1), base_session(session_id="S-20260202-PM")],
    }
    assert _fixes(patch) == [("DS104", None)]


def test_ds106_swaps_g0108_for_g0109_safely_and_not_past_group_max() -> None:
    assert _fixes(_example("DS106")) == [
        (
            "DS106",
            {
                "applicability": "safe",
                "title": "Bill G0109 (group) for a session of 8",
                "edits": [{"loc": ["lines", 0, "hcpcs"], "from": "G0108", "to": "G0109"}],
            },
        )
    ]
    too_many = {"lines": [base_line(hcpcs="G0108")], "sessions": [base_session(attendees=21)]}
    assert ("DS106", None) in _fixes(too_many)


def test_ds103_bills_the_units_the_minutes_support() -> None:
    assert _fixes(_example("DS103")) == [
        (
            "DS103",
            {
                "applicability": "safe",
                "title": "Bill 2 units for the 60 minutes of linked sessions",
                "edits": [{"loc": ["lines", 0, "units"], "from": 3, "to": 2}],
            },
        )
    ]


def test_ds103_takes_the_unit_from_the_profile(tmp_path: Path) -> None:
    profile = tmp_path / "quarter.toml"
    profile.write_text('extends = "medicare"\nname = "quarter"\nunit_minutes = 15\n')
    patch = {"lines": [base_line(units=5)]}  # 60 minutes: 4 units of 15
    (code, fix) = _fixes(patch, profile=str(profile))[0]
    assert code == "DS103"
    assert fix is not None
    assert fix["edits"] == [{"loc": ["lines", 0, "units"], "from": 5, "to": 4}]


def test_ds103_removes_a_line_its_minutes_bill_no_unit_of_only_as_unsafe() -> None:
    patch = {
        "lines": [base_line(line_id="1"), base_line(line_id="2", session_ids=["S-SHORT"])],
        "sessions": [base_session(), base_session(session_id="S-SHORT", minutes=20)],
    }
    fixes = dict(_fixes(patch))
    assert fixes["DS103"] == {
        "applicability": "unsafe",
        "title": "Remove line 2: 20 minutes bill no unit",
        "edits": [{"loc": ["lines", 1], "from": "2", "to": None}],
    }


def test_ds110_removes_an_exact_copy_safely_and_a_different_line_unsafely() -> None:
    assert _fixes(_example("DS110")) == [
        (
            "DS110",
            {
                "applicability": "safe",
                "title": "Remove line 2 (a repeat of line 1)",
                "edits": [{"loc": ["lines", 1], "from": "2", "to": None}],
            },
        )
    ]
    copies = {"lines": [base_line(line_id="1", units=1), base_line(line_id="2", units=1)]}
    assert [(c, f and f["applicability"]) for c, f in _fixes(copies)] == [("DS110", "safe")]
    split = {"lines": [base_line(line_id="1", units=1), base_line(line_id="2", units=2)]}
    codes = dict(_fixes(split))
    assert codes["DS110"] is not None
    assert codes["DS110"]["applicability"] == "unsafe"


def test_ds110_against_another_claim_is_unsafe_and_names_it() -> None:
    first = claim_from({"claim_id": "C-A"})
    second = claim_from({"claim_id": "C-B"})
    reports = list(check_many([first, second]))
    ds110 = [f for f in reports[1].findings if f.code == "DS110"]
    assert [f.fix for f in ds110] == [
        Fix(
            UNSAFE,
            "Remove line 1 (a repeat of line 1 of claim C-A)",
            (Edit(("lines", 0), "1", None),),
        )
    ]


@pytest.mark.parametrize(
    ("code", "title"),
    [
        ("DS305", "Bill 1 unit on line 1, not 2 (1 over the hours ordered)"),
        ("DS401", "Bill 1 unit on line 1, not 2 (1 over the initial training limit)"),
        ("DS403", "Bill 1 unit on line 1, not 2 (1 over the follow-up limit)"),
    ],
)
def test_cap_rules_cut_the_units_over_unsafely(code: str, title: str) -> None:
    assert _fixes(_example(code)) == [
        (
            code,
            {
                "applicability": "unsafe",
                "title": title,
                "edits": [{"loc": ["lines", 0, "units"], "from": 2, "to": 1}],
            },
        )
    ]


def test_a_line_all_over_the_cap_is_removed() -> None:
    patch = {
        **_example("DS401"),
        "lines": [
            base_line(line_id="1", units=1),
            base_line(line_id="2", units=2, session_ids=["S-20260202-PM"]),
        ],
        "sessions": [base_session(), base_session(session_id="S-20260202-PM")],
    }
    found = [f for f in check(claim_from(patch)).findings if f.code == "DS401"]
    assert [f.fix for f in found] == [
        Fix(
            UNSAFE,
            "Remove line 2: all 2 of its units are over the initial training limit",
            (Edit(("lines", 1), "2", None),),
        )
    ]


def test_fixes_survive_the_batch_driver() -> None:
    claim = claim_from(_example("DS104"))
    alone = check(claim).findings
    (batched,) = list(check_many([claim]))
    assert batched.findings == alone
    assert alone[0].fix is not None


def test_rules_without_a_repair_report_fix_null() -> None:
    data = check(claim_from({"referral": {"signed": False}})).to_dict()
    assert [(f["code"], f["fix"]) for f in data["findings"]] == [("DS302", None)]


# --- the applier -----------------------------------------------------------------------------------


def _swap(old: str, new: str) -> Fix:
    return Fix(SAFE, "t", (Edit(("lines", 0, "hcpcs"), old, new),))


def test_apply_fixes_checks_the_value_it_replaces() -> None:
    doc = _doc({})
    assert apply_fixes(doc, [_swap("G0108", "G0109")]) == []  # stale: the line bills G0109
    assert doc["lines"][0]["hcpcs"] == "G0109"
    assert apply_fixes(doc, [_swap("G0109", "G0108"), _swap("G0109", "G0108")]) == [0]
    assert doc["lines"][0]["hcpcs"] == "G0108"


def test_apply_fixes_skips_overlaps_and_removes_from_the_last_line_up() -> None:
    doc = _doc({"lines": [base_line(line_id=str(n)) for n in (1, 2, 3)]})
    fixes = [
        Fix(SAFE, "a", (Edit(("lines", 1), "2", None),)),
        Fix(SAFE, "b", (Edit(("lines", 1, "units"), 2, 1),)),  # under the removed line: skipped
        Fix(SAFE, "c", (Edit(("lines", 2), "3", None),)),
        Fix(SAFE, "d", (Edit(("lines", 0, "units"), 2, 1),)),
    ]
    assert apply_fixes(doc, fixes) == [0, 2, 3]
    assert [(line["line_id"], line["units"]) for line in doc["lines"]] == [("1", 1)]


def test_apply_fixes_never_removes_the_last_line() -> None:
    doc = _doc({})
    assert apply_fixes(doc, [Fix(UNSAFE, "x", (Edit(("lines", 0), "1", None),))]) == []
    assert len(doc["lines"]) == 1


def test_fix_inputs_refuses_what_it_cannot_write_back() -> None:
    rules = ruleset()
    with pytest.raises(ConfigError, match="X12"):
        fix_inputs([("a.837", b"ISA*00*...~")], rules=rules)
    with pytest.raises(ConfigError, match="JSON Lines"):
        fix_inputs([("a.json", b"[" + json.dumps(BASE_CLAIM).encode() + b"]")], rules=rules)


def test_fix_inputs_iterates_until_nothing_changes() -> None:
    # G0109 for one attendee and 3 units for 60 minutes: both fixes in one pass, then no finding.
    doc = _doc({"lines": [base_line(units=3)], "sessions": [base_session(attendees=1)]})
    line = json.dumps(doc).encode() + b"\n"
    result = fix_inputs([("a.jsonl", line)], rules=ruleset())
    fixed = json.loads(result.fixed[0])
    assert (fixed["lines"][0]["hcpcs"], fixed["lines"][0]["units"]) == ("G0108", 2)
    assert dict(result.applied) == {"DS103": 1, "DS104": 1}
    assert result.reports[0].findings == ()
    assert result.passes == 2


# --- the command line ------------------------------------------------------------------------------

CLEAN = json.dumps(BASE_CLAIM)
# Three beneficiaries: no claim is history for another.
ONE_ATTENDEE = json.dumps(
    _doc(
        {
            "claim_id": "C-ONE",
            "beneficiary_id": "2AC3DE4FG56",
            "sessions": [base_session(attendees=1)],
        }
    )
)
OVER_CAP = json.dumps(
    _doc({"claim_id": "C-CAP", "beneficiary_id": "5NP9QR1TU23", **_example("DS401")})
)


def _write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "claims.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def test_fix_writes_the_repaired_documents_and_leaves_the_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, CLEAN, ONE_ATTENDEE, OVER_CAP)
    before = path.read_bytes()
    out_path = tmp_path / "fixed.jsonl"
    status, out, err = _run(capsys, "fix", path, "--output", out_path)
    assert path.read_bytes() == before
    lines = out_path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == CLEAN  # unchanged records are written back byte for byte
    assert json.loads(lines[1])["lines"][0]["hcpcs"] == "G0108"
    assert lines[2] == OVER_CAP  # DS401's fix is unsafe
    assert status == 1  # C-CAP is still rejected
    assert out == ""
    assert err.splitlines() == [
        "Fixed 1 finding in 1 of 3 claims: DS104 x1.",
        "1 unsafe fix not applied (DS401 x1); use --unsafe-fixes to apply.",
        "Remaining: 1 rejected, 0 for review; findings by code: DS401 x1.",
    ]
    for beneficiary in (BASE_CLAIM["beneficiary_id"], "2AC3DE4FG56", "5NP9QR1TU23"):
        assert beneficiary not in err


def test_fix_unsafe_fixes_and_in_place(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, ONE_ATTENDEE, OVER_CAP)
    status, out, err = _run(capsys, "fix", path, "--in-place", "--unsafe-fixes")
    assert (status, out) == (0, "")
    docs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [(d["lines"][0]["hcpcs"], d["lines"][0]["units"]) for d in docs] == [
        ("G0108", 2),
        ("G0109", 1),
    ]
    assert err.splitlines()[0] == "Fixed 2 findings in 2 of 2 claims: DS104 x1, DS401 x1."
    status, _, _ = _run(capsys, "check", path)
    assert status == 0


def test_fix_diff_prints_only_the_changed_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, CLEAN, ONE_ATTENDEE)
    before = path.read_bytes()
    status, out, err = _run(capsys, "fix", path, "--diff")
    assert path.read_bytes() == before
    assert status == 1
    assert out.splitlines() == [
        f"--- {path}:2 (claim C-ONE)",
        f"+++ {path}:2 (claim C-ONE)",
        "@@ -33 +33 @@",
        '-      "hcpcs": "G0109",',
        '+      "hcpcs": "G0108",',
    ]
    assert err.splitlines()[0] == "Would fix 1 finding in 1 of 2 claims: DS104 x1."
    clean = _write(tmp_path, CLEAN)
    assert _run(capsys, "fix", clean, "--diff")[:2] == (0, "")


def test_fix_needs_one_destination_and_refuses_its_input_as_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, ONE_ATTENDEE)
    status, _, err = _run(capsys, "fix", path)
    assert status == 2
    assert "exactly one of --output FILE, --in-place and --diff" in err
    status, _, err = _run(capsys, "fix", path, "--output", path)
    assert status == 2
    assert "is also an input" in err
    x12 = tmp_path / "a.837"
    x12.write_bytes(b"ISA*00*          *00*          ~")
    status, _, err = _run(capsys, "fix", x12, "--output", tmp_path / "o.jsonl")
    assert status == 2
    assert "not written back" in err


def test_check_show_fixes_lists_the_fixes_in_the_text_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, ONE_ATTENDEE, OVER_CAP)
    status, out, _ = _run(capsys, "check", path, "--format", "text", "--show-fixes")
    assert status == 1
    fix_lines = [line.strip() for line in out.splitlines() if line.strip().startswith("fix (")]
    assert fix_lines == [
        "fix (safe): Bill G0108 (individual) for a session of 1 [lines.0.hcpcs: G0109 -> G0108]",
        "fix (unsafe): Bill 1 unit on line 1, not 2 (1 over the initial training limit) "
        "[lines.0.units: 2 -> 1]",
    ]
    assert out.splitlines()[-1] == (
        "Fixes: 1 safe (dsmt-rules fix), 1 unsafe (dsmt-rules fix --unsafe-fixes)."
    )
    _, plain, _ = _run(capsys, "check", path, "--format", "text")
    assert "fix (" not in plain
    assert "Fixes:" not in plain


def test_fix_reads_stdin_and_writes_stdout(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = (CLEAN + "\n\n" + ONE_ATTENDEE + "\n").encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
    status, out, err = _run(capsys, "fix", "-", "--output", "-")
    assert status == 0
    lines = out.split("\n")
    assert lines[0] == CLEAN
    assert lines[1] == ""  # a blank line is kept
    assert json.loads(lines[2])["lines"][0]["hcpcs"] == "G0108"
    assert err.splitlines()[0] == "Fixed 1 finding in 1 of 2 claims: DS104 x1."
    status, _, err = _run(capsys, "fix", "-", "--in-place")
    assert status == 2
    assert "--in-place cannot rewrite standard input" in err


def test_fix_reads_the_settings_file_as_check_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, ONE_ATTENDEE)
    (tmp_path / "dsmt-rules.toml").write_text('ignore = ["DS104"]\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    status, out, err = _run(capsys, "fix", path, "--diff")
    assert (status, out) == (0, "")
    assert err.splitlines()[0] == "No fixes to apply (1 claim)."
    status, out, _ = _run(capsys, "fix", path, "--diff", "--isolated")
    assert status == 1
    assert '+      "hcpcs": "G0108",' in out.splitlines()
