"""The batch never dies: whatever one record makes our code raise, that record gets a finding
(DS005 for a defect of ours, DS001 for what cannot be read) and the batch goes on; the command
exits 3 for a defect, 141 on a broken pipe, and never prints a traceback or an input value."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dsmt_rules import Claim, check, check_many
from dsmt_rules.adapters import read_input
from dsmt_rules.cli import EXIT_BROKEN_PIPE, EXIT_INTERNAL, main
from dsmt_rules.engine import _batch, check_records, ruleset
from dsmt_rules.history import Book
from dsmt_rules.rules._examples import BASE_CLAIM, apply_patch
from helpers import claim_from

ROOT = Path(__file__).resolve().parent.parent
SENTINEL = "9ZZ9ZZ9ZZ99"
"""A beneficiary id that must never appear in any output."""


def _doc(claim_id: str, **patch: Any) -> dict[str, Any]:
    return apply_patch(BASE_CLAIM, {"claim_id": claim_id, "beneficiary_id": SENTINEL, **patch})


def _jsonl(*docs: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(d).encode() + b"\n" for d in docs)


def _codes(reports: Any) -> list[list[str]]:
    return [[f.code for f in r.findings] for r in reports]


def _stage(report: Any) -> str:
    (finding,) = [f for f in report.findings if f.code == "DS005"]
    return str(finding.ctx["stage"])


# --- the engine's guard ---------------------------------------------------------------------


def test_a_failing_claim_rule_gives_ds005_naming_it_and_the_other_rules_still_report() -> None:
    claim = claim_from({"lines": [{**BASE_CLAIM["lines"][0], "units": 3}]})  # DS103
    assert [f.code for f in check(claim).findings] == ["DS103"]
    report = check(claim, rules=ruleset(_faults=("DS601",)))
    assert [f.code for f in report.findings] == ["DS005", "DS103"]
    assert _stage(report) == "rule DS601"
    assert report.status.value == "reject"
    (ds005,) = [f for f in report.findings if f.code == "DS005"]
    assert ds005.ctx == {"stage": "rule DS601", "error": "InjectedFault"}
    assert ds005.severity.value == "error"


def test_ds005_cannot_be_ignored() -> None:
    rules = ruleset(ignore=["DS0", "DS601"], _faults=("DS104",))
    assert [f.code for f in check(claim_from(), rules=rules).findings] == ["DS005"]


def test_a_failing_history_rule_gives_ds005_on_the_claims_it_runs_for() -> None:
    first = Claim.model_validate(_doc("C-1"))
    again = Claim.model_validate(_doc("C-2"))  # the same session again: DS110
    assert _codes(check_many([first, again])) == [[], ["DS110"]]
    reports = list(check_many([first, again], rules=ruleset(_faults=("DS110",))))
    assert _codes(reports) == [["DS005"], ["DS005"]]
    assert {_stage(r) for r in reports} == {"rule DS110"}


@pytest.mark.parametrize("memory", [64 * 1024 * 1024, 1], ids=["in-memory", "spilled"])
def test_a_book_that_cannot_be_made_gives_ds005_on_each_claim_of_the_group(
    monkeypatch: pytest.MonkeyPatch, memory: int
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Book:
        raise ZeroDivisionError

    monkeypatch.setattr(Book, "of", broken)
    docs = [_doc("C-1"), _doc("C-2"), _doc("C-3", beneficiary_id="1EG4TE5MK73")]
    records = list(read_input(io.BytesIO(_jsonl(*docs)), name="x"))
    reports = list(check_records(records, memory=memory))
    # C-1 and C-2 share a beneficiary (a book is needed); C-3 is alone and quiet (no book).
    assert _codes(reports) == [["DS005"], ["DS005"], []]
    assert [r.record for r in reports] == [1, 2, 3]
    assert _stage(reports[0]) == "the history rules"


def test_facts_that_cannot_be_packed_give_ds005_and_the_claim_its_report(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise KeyError

    monkeypatch.setattr(_batch, "_packed_facts_of", broken)
    records = list(read_input(io.BytesIO(_jsonl(_doc("C-1"), _doc("C-2"))), name="x"))
    reports = list(check_records(records))
    assert _codes(reports) == [["DS005"], ["DS005"]]
    assert [r.claim_id for r in reports] == ["C-1", "C-2"]


def test_a_reader_that_fails_ends_its_input_with_one_ds005_record_and_the_batch_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dsmt_rules.adapters import jsonl

    real = jsonl.parse_document

    def flaky(data: bytes | str, **kwargs: Any) -> Any:
        if b"C-3" in (data if isinstance(data, bytes) else data.encode()):
            raise IndexError
        return real(data, **kwargs)

    monkeypatch.setattr(jsonl, "parse_document", flaky)
    data = _jsonl(_doc("C-1"), _doc("C-2", beneficiary_id="2AB3CD4EF56"), _doc("C-3"), _doc("C-4"))
    reports = list(check_records(read_input(io.BytesIO(data), name="x")))
    assert _codes(reports) == [[], [], ["DS005"]]
    assert [r.record for r in reports] == [1, 2, 3]
    (ds005,) = reports[2].findings
    assert ds005.ctx == {"stage": "reading the JSON input", "error": "IndexError"}
    assert "the rest of this input was not read" in ds005.message


def test_reference_data_that_cannot_be_applied_gives_ds005(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from dsmt_rules.adapters import open_batch
    from dsmt_rules.reference import ReferenceData

    def broken(self: Any, record: Any, **kwargs: Any) -> Any:
        raise AttributeError

    monkeypatch.setattr(ReferenceData, "apply", broken)
    ref = tmp_path / "ref.jsonl"
    ref.write_text("")
    batch = open_batch([("x", io.BytesIO(_jsonl(_doc("C-1"), _doc("C-2"))))], reference=[str(ref)])
    reports = list(check_records(batch))
    assert _codes(reports) == [["DS005"], ["DS005"]]
    assert [r.claim_id for r in reports] == ["C-1", "C-2"]
    assert _stage(reports[0]) == "applying the reference data"


# --- what cannot be read: DS001 ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[" * 1000 + "]" * 1000, "not valid JSON: nested too deeply to read"),
        ('{"a":' * 1000 + "1" + "}" * 1000 + "\n" + json.dumps(_doc("C-1")), None),
    ],
    ids=["array", "jsonl"],
)
def test_json_nested_too_deep_is_ds001_without_the_bytes(text: str, problem: str | None) -> None:
    reports = list(check_records(read_input(io.BytesIO(text.encode()), name="x")))
    assert _codes(reports)[0] == ["DS001"]
    message = reports[0].findings[0].message
    if problem is not None:
        assert problem in message
    else:
        assert _codes(reports) == [["DS001"], []]
        assert "recursion limit exceeded" in message
    assert "{{" not in message
    assert "[[" not in message


def test_fhir_nested_too_deep_is_ds001() -> None:
    pytest.importorskip("fhir.resources")
    text = '{"resourceType": "Bundle", "entry": ' + "[" * 3000 + "]" * 3000 + "}"
    reports = list(check_records(read_input(io.BytesIO(text.encode()), name="b.json")))
    assert _codes(reports) == [["DS001"]]
    assert "nested too deeply" in reports[0].findings[0].message


def test_the_last_representable_date_is_checked_not_crashed() -> None:
    far = {"lines": [{**BASE_CLAIM["lines"][0], "service_date": "9999-12-31"}]}
    far["sessions"] = [{**BASE_CLAIM["sessions"][0], "date": "9999-12-31"}]
    far["billing_provider"] = {**BASE_CLAIM["billing_provider"], "accreditation": None}
    claim = claim_from(far)
    codes = {f.code for f in check(claim).findings}
    assert "DS005" not in codes
    assert "DS201" in codes  # no accreditation on record: a real finding, not a crash
    assert "DS005" not in {f.code for r in check_many([claim, claim]) for f in r.findings}


# --- the command ------------------------------------------------------------------------------


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_a_defect_on_one_record_exits_3_with_one_line_and_the_reports_of_all(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import functools

    from dsmt_rules import settings

    monkeypatch.setattr(settings, "ruleset", functools.partial(ruleset, _faults=("DS601",)))
    path = tmp_path / "c.jsonl"
    path.write_bytes(_jsonl(_doc("C-1"), _doc("C-2", beneficiary_id="2AB3CD4EF56")))
    try:
        code, out, err = _run(["check", str(path), "--debug"], capsys)
    finally:
        logger = logging.getLogger("dsmt_rules")
        logger.handlers.clear()
        logger.setLevel(logging.NOTSET)
    assert code == EXIT_INTERNAL
    reports = [json.loads(line) for line in out.splitlines()]
    assert [[f["code"] for f in r["findings"]] for r in reports] == [["DS005"], ["DS005"]]
    assert "internal error on 2 record(s)" in err
    assert "Traceback" not in err
    assert err.count("debug: internal error in rule DS601: InjectedFault (message withheld)") == 2
    assert "_ruleset.py" in err  # the frames of the failing rule
    assert SENTINEL not in out + err


@pytest.fixture
def broken_writer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A claims file, and the report writer made to raise with PHI in its message."""
    from dsmt_rules import job

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ValueError(SENTINEL)

    monkeypatch.setattr(job, "write_reports", broken)
    path = tmp_path / "c.jsonl"
    path.write_bytes(_jsonl(_doc("C-1")))
    yield path
    logger = logging.getLogger("dsmt_rules")  # --debug's handler
    logger.handlers.clear()
    logger.setLevel(logging.NOTSET)


def test_a_defect_of_the_command_exits_3_with_one_line(
    broken_writer: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(["check", str(broken_writer)], capsys)
    assert code == EXIT_INTERNAL
    assert err.count("\n") == 1
    assert err.startswith("dsmt-rules: internal error (ValueError):")
    assert SENTINEL not in out + err


def test_debug_prints_the_frames_of_a_command_defect_never_its_message(
    broken_writer: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = _run(["check", "--debug", str(broken_writer)], capsys)
    assert code == EXIT_INTERNAL
    assert "in broken" in err  # the frame of the function that raised
    assert "raise ValueError(SENTINEL)" in err  # its source line, not the value
    assert SENTINEL not in err


def test_an_empty_input_exits_0_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"\n\n")
    code, out, err = _run(["check", str(path)], capsys)
    assert (code, out) == (0, "")
    assert err == "dsmt-rules: warning: the input holds no records (nothing was checked)\n"


def test_a_broken_pipe_ends_quietly_with_141(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    doc = json.dumps(_doc("C-1")) + "\n"
    path.write_text(doc * 20000)
    proc = subprocess.run(
        f"'{sys.executable}' -m dsmt_rules check '{path}' --no-progress | head -c 10 >/dev/null;"
        " exit ${PIPESTATUS[0]}",
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == EXIT_BROKEN_PIPE
    assert proc.stderr == b""


def test_a_fhir_mapping_defect_is_ds005_on_that_claim(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("fhir.resources")
    from dsmt_rules.adapters import fhir

    def broken(self: Any) -> Any:
        raise LookupError

    bundle = (ROOT / "tests" / "fixtures" / "fhir" / "dsmt-bundle.json").read_bytes()
    before = list(check_records(read_input(io.BytesIO(bundle), name="b.json")))
    monkeypatch.setattr(fhir._Mapper, "document", broken)
    after = list(check_records(read_input(io.BytesIO(bundle), name="b.json")))
    assert len(after) == len(before)
    mapped = [i for i, r in enumerate(before) if "DS001" not in {f.code for f in r.findings}]
    assert mapped
    for i, report in enumerate(after):
        if i in mapped:  # every Claim the mapping reached gets DS005 alone
            assert _codes([report]) == [["DS005"]]
            assert _stage(report) == "mapping the FHIR Claim"
        else:  # a Claim that fails the FHIR model is DS001 as before
            assert _codes([report]) == _codes([before[i]])
