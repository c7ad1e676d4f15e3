"""Coverage-guided fuzzing of the adapters with atheris (libFuzzer), ``make fuzz-atheris``.

Every input is read as the command reads a file (format and gzip detected from content) and
checked; the invariants: nothing escapes, no record gets DS005 (a defect of ours), a non-blank
input gives at least one report, and every report has a status. libFuzzer's options pass
through, e.g. ``python fuzz/atheris_adapters.py -atheris_runs=200000 fuzz/corpus``; the seed
corpus (``fuzz/corpus``, made by ``--make-corpus``) holds the examples and fixtures.
"""

from __future__ import annotations

import io
import shutil
import sys
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["dsmt_rules"]):
    from dsmt_rules.adapters import read_input
    from dsmt_rules.engine import check_records, ruleset

ROOT = Path(__file__).resolve().parent.parent
RULES = ruleset()


def test_one_input(data: bytes) -> None:
    reports = list(check_records(read_input(io.BytesIO(data), name="fuzz"), rules=RULES))
    if data.strip(b" \t\r\n\xef\xbb\xbf") and not reports:
        raise AssertionError("a non-blank input gave no report")
    for report in reports:
        codes = {f.code for f in report.findings}
        if "DS005" in codes:
            raise AssertionError(f"DS005 on record {report.record}: {report.findings}")
        assert report.status.value in ("pass", "review", "reject")


def make_corpus(target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    sources = [ROOT / "examples" / "claims.jsonl"]
    sources += sorted((ROOT / "tests" / "fixtures" / "x12").glob("*.837"))
    sources += sorted((ROOT / "tests" / "fixtures" / "fhir").glob("*.json"))
    for path in sources:
        shutil.copy(path, target / path.name)


def main() -> None:
    if sys.argv[1:2] == ["--make-corpus"]:
        make_corpus(Path(sys.argv[2]))
        return
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
