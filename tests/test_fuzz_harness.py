"""The fuzz harness itself (fuzz/harness.py): its seeds carry the sentinel PHI it looks for, its
record-count oracle is right on inputs whose count is known, and a short run finds no failure."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fuzz import harness


def test_every_seed_format_carries_its_sentinels() -> None:
    json_text = "".join(map(str, harness._json_seeds()))
    assert harness.BENEFICIARY in json_text
    pytest.importorskip("pyx12")
    x12 = b"".join(harness._x12_seeds()).decode("latin-1")
    for value in (harness.LAST, harness.FIRST, harness.BENEFICIARY, harness.BIRTH):
        assert value in x12
    assert harness.STREET in x12
    assert harness.CITY in x12
    pytest.importorskip("fhir.resources")
    fhir_text = "".join(map(str, harness._fhir_seeds()))
    for value in (harness.PATIENT_LAST, harness.PATIENT_FIRST, "1901-02-03", harness.BENEFICIARY):
        assert value in fhir_text


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", (0, True)),
        (b"\n \n", (0, True)),
        (b'{"a": 1}\n\n{"b": 2}\n', (2, True)),
        (b"\xef\xbb\xbf{}\r\n{}", (2, True)),
        (b"[1, 2]", (1, False)),
        (b'{\n  "a": 1\n}\n', (1, True)),
        (b"ISA*short", (1, False)),
    ],
)
def test_the_oracle_counts_records(data: bytes, expected: tuple[int, bool]) -> None:
    assert harness.expected_records(data) == expected


def test_the_oracle_counts_clm_segments_of_an_837() -> None:
    pytest.importorskip("pyx12")
    seed = harness._x12_seeds()[0]
    n, exact = harness.expected_records(seed)
    assert n == seed.count(b"~CLM*") + seed.count(b"\nCLM*")
    assert not exact


def test_the_invariants_catch_a_leak(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The PHI check is not vacuous: a sentinel in any output is caught, unless the input put it
    in a field that reports show (a claim id)."""
    real = harness.run_cli

    def leaky(path: str, fmt: str, out_dir: str) -> harness.Outcome:
        outcome = real(path, fmt, out_dir)
        return harness.Outcome(outcome.status, outcome.output, outcome.stderr + harness.STREET)

    monkeypatch.setattr(harness, "run_cli", leaky)
    doc = harness._json_seeds()[0]
    data = harness._dumps(doc).encode() + b"\n"
    problems = harness.check_invariants(data, str(tmp_path), random.Random(0))
    assert len(problems) == 1
    assert problems[0].startswith("PHI sentinel in the output")
    assert problems[0].endswith("['ZZPHISTREET']")
    doc["claim_id"] = harness.STREET  # the input made it a claim id: reports show claim ids
    data = harness._dumps(doc).encode() + b"\n"
    assert harness.check_invariants(data, str(tmp_path), random.Random(0)) == []


def test_a_short_run_finds_no_failure(tmp_path: Path) -> None:
    assert harness.run(300, seed=12345, workers=1, failures_dir=str(tmp_path)) == 0


def test_the_configuration_fuzzer_finds_nothing_on_a_short_run(tmp_path: Path) -> None:
    from fuzz import configs

    assert configs.run(60, 1, str(tmp_path)) == 0
    assert not list(tmp_path.iterdir())


def test_the_configuration_fuzzer_catches_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not vacuous: a run that escapes, or exits 2 with more than one line, fails."""
    from fuzz import configs

    import dsmt_rules.cli

    def broken(args: list[str]) -> int:
        raise KeyError("boom")

    monkeypatch.setattr(dsmt_rules.cli, "main", broken)
    rng = random.Random(0)
    assert configs.check_one("mue", b"x", str(tmp_path), rng) == "exception escaped: KeyError"

    def two_lines(args: list[str]) -> int:
        print("dsmt-rules: error: one\nand another", file=sys.stderr)
        return 2

    monkeypatch.setattr(dsmt_rules.cli, "main", two_lines)
    assert configs.check_one("mue", b"x", str(tmp_path), rng) == "exit 2 with 2 lines on stderr"
