"""The Spark engine gives the default engine's reports, byte for byte (marker ``spark``).

One local[2] session serves the whole test session. The short suite (CI, ``make test``) checks a
few hundred generated claims with history, broken records kept in place, 837 input with
reference data, mixed inputs, every output format and settings travelling to the executors;
``make spark-test`` adds the long ones (marked ``slow`` too).
"""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from dsmt_rules.cli import main

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

ROOT = Path(__file__).resolve().parents[2]
X12 = ROOT / "tests" / "fixtures" / "x12"
sys.path.insert(0, str(ROOT / "benchmarks"))

from _generate import generate_claims  # noqa: E402 - the benchmarks' deterministic generator

pytestmark = pytest.mark.spark


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    from dsmt_rules.spark._cli import session

    spark = session("local[2]")
    yield spark
    spark.stop()


BROKEN = {
    3: b"this is not json",
    10: b'{"claim_id": "BAD-1", "colour": "blue"}',
    57: b"[1, 2]",
    120: b"\xff\xfe not utf-8",
}
"""Line number -> a record that is not a claim (DS001); each must keep its place."""


def _corpus(tmp_path: Path, n: int, *, name: str = "claims.jsonl", seed: int = 7) -> Path:
    """``n`` generated claims (about 4 per beneficiary, with history), broken records and blank
    lines at known line numbers, a byte-order mark first and a CRLF line."""
    docs = iter(generate_claims(n, seed=seed, per_beneficiary=4.0))
    lines: list[bytes] = []
    for lineno in itertools.count(1):
        if lineno in BROKEN:
            lines.append(BROKEN[lineno])
        elif lineno % 50 == 0:
            lines.append(b"   ")
        else:
            doc = next(docs, None)
            if doc is None:
                break
            lines.append(json.dumps(doc).encode())
    lines[0] = b"\xef\xbb\xbf" + lines[0]
    lines[5] += b"\r"
    path = tmp_path / name
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _check(tmp_path: Path, out: str, *args: str | Path, spark: bool) -> bytes:
    target = tmp_path / out
    engine = ["--engine", "spark", "--spark-master", "local[2]"] if spark else []
    status = main(["check", *map(str, args), "--no-progress", "--output", str(target), *engine])
    assert status in (0, 1)
    return target.read_bytes()


def _both(tmp_path: Path, *args: str | Path, fmt: str = "jsonl") -> tuple[bytes, bytes]:
    default = _check(tmp_path, f"default.{fmt}", *args, "--format", fmt, spark=False)
    on_spark = _check(tmp_path, f"spark.{fmt}", *args, "--format", fmt, spark=True)
    return default, on_spark


def _reports(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.splitlines()]


def test_json_lines_on_spark_are_byte_identical_with_broken_records_in_place(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = _corpus(tmp_path, 300)

    default, on_spark = _both(tmp_path, path)

    assert on_spark == default
    reports = _reports(on_spark)
    assert len(reports) == 300 + len(BROKEN)
    broken = {
        r["record"]: {f["code"] for f in r["findings"]}
        for r in reports
        if r["claim_id"] in (None, "BAD-1")
    }
    assert broken == {line: {"DS001"} for line in BROKEN}
    codes = {f["code"] for r in reports for f in r["findings"]}
    assert {"DS104", "DS401"} <= codes  # claim rules and history rules both ran
    assert [r["record"] for r in reports] == sorted(r["record"] for r in reports)


def test_837_with_reference_data_and_mixed_inputs_are_one_batch(
    spark: SparkSession, tmp_path: Path
) -> None:
    jsonl = _corpus(tmp_path, 40)
    args = [
        X12 / "dsmt-837p.837",
        jsonl,
        X12 / "dsmt-837i.837",
        X12 / "broken-837p.837",
        "--reference",
        X12 / "dsmt-reference.jsonl",
    ]

    default, on_spark = _both(tmp_path, *args)

    assert on_spark == default
    codes = [f["code"] for r in _reports(on_spark) for f in r["findings"]]
    assert "DS003" in codes  # the broken 837's structure faults, in their place


@pytest.mark.parametrize("fmt", ["json", "text", "csv", "sarif", "html"])
def test_every_output_format_is_the_default_engines(
    spark: SparkSession, tmp_path: Path, fmt: str
) -> None:
    args = [
        X12 / "dsmt-837p.837",
        _corpus(tmp_path, 30),
        "--reference",
        X12 / "dsmt-reference.jsonl",
    ]

    default, on_spark = _both(tmp_path, *args, fmt=fmt)

    assert on_spark == default
    assert len(on_spark) > 1000


def test_settings_travel_to_the_executors(spark: SparkSession, tmp_path: Path) -> None:
    path = _corpus(tmp_path, 200)
    profile = tmp_path / "payer.toml"
    profile.write_text('extends = "medicare"\nname = "payer"\ninitial_max_units = 12\n')
    args = [path, "--profile", profile, "--ignore", "DS104", "--severity", "DS401=warning"]

    default, on_spark = _both(tmp_path, *args)
    selected, selected_spark = _both(tmp_path, path, "--select", "DS1")

    assert on_spark == default
    assert selected_spark == selected
    found = [f for r in _reports(on_spark) for f in r["findings"]]
    assert "DS104" not in {f["code"] for f in found}
    assert {f["severity"] for f in found if f["code"] == "DS401"} == {"warning"}
    selected_codes = {f["code"] for r in _reports(selected_spark) for f in r["findings"]}
    assert {code[:3] for code in selected_codes - {"DS001"}} == {"DS1"}  # DS001 always runs


def test_check_json_lines_returns_the_report_columns(spark: SparkSession, tmp_path: Path) -> None:
    from dsmt_rules.spark import REPORT_COLUMNS, check_json_lines

    path = _corpus(tmp_path, 120)
    default = _check(tmp_path, "default.jsonl", path, spark=False)

    df = check_json_lines(spark, str(path))
    rows = df.orderBy("seq").collect()

    assert tuple(df.columns) == REPORT_COLUMNS
    assert "\n".join(row["report_json"] for row in rows) + "\n" == default.decode()
    assert {row["file"] for row in rows} == {str(path)}
    first_failing = next(row for row in rows if row["findings"])
    expected = _reports(default)[rows.index(first_failing)]
    assert [f["code"] for f in first_failing["findings"]] == [
        f["code"] for f in expected["findings"]
    ]
    assert json.loads(first_failing["findings_json"]) == expected["findings"]
    assert json.loads(first_failing["findings"][0]["loc"]) == expected["findings"][0]["loc"]


def test_check_dataframe_numbers_rows_of_any_dataframe(spark: SparkSession, tmp_path: Path) -> None:
    from dsmt_rules.spark import check_dataframe

    docs = [json.dumps(doc) for doc in generate_claims(60, seed=11, per_beneficiary=4.0)]
    docs[4] = "{not json"
    path = tmp_path / "same.jsonl"
    path.write_text("\n".join(docs) + "\n")
    default = _check(tmp_path, "default.jsonl", path, spark=False)

    df = check_dataframe(spark.createDataFrame([(d,) for d in docs], "doc string"), column="doc")
    rows = df.orderBy("seq").collect()

    assert "\n".join(row["report_json"] for row in rows) + "\n" == default.decode()
    assert [row["record"] for row in rows] == list(range(1, 61))
    assert rows[4]["findings"][0]["code"] == "DS001"
    assert {row["file"] for row in rows} == {None}


@pytest.mark.slow
def test_a_large_batch_on_spark_is_byte_identical(spark: SparkSession, tmp_path: Path) -> None:
    path = _corpus(tmp_path, 20_000, seed=2031)

    default, on_spark = _both(tmp_path, path)

    assert on_spark == default
    assert len(on_spark.splitlines()) == 20_000 + len(BROKEN)


@pytest.mark.slow
def test_one_beneficiary_with_many_claims_on_spark(spark: SparkSession, tmp_path: Path) -> None:
    docs = list(generate_claims(5_000, seed=5, per_beneficiary=4.0))
    path = tmp_path / "one.jsonl"
    with path.open("w") as out:
        for doc in docs:
            out.write(json.dumps({**doc, "beneficiary_id": "1AA0AA0AA00"}) + "\n")

    default, on_spark = _both(tmp_path, path)

    assert on_spark == default
    codes = {f["code"] for r in _reports(on_spark) for f in r["findings"]}
    assert {"DS401", "DS403"} <= codes  # one group: every cap counted over all its claims


def test_utf16_json_lines_on_spark_are_the_default_engines(
    spark: SparkSession, tmp_path: Path
) -> None:
    """Spark's text source reads UTF-8: a UTF-16 file goes to the library's reader (which decodes
    it), as the default engine does, not to the text source."""
    utf8 = _corpus(tmp_path, 30)
    wide = tmp_path / "wide.jsonl"
    wide.write_bytes(utf8.read_bytes().decode("utf-8-sig").encode("utf-16"))

    default, on_spark = _both(tmp_path, wide)

    assert on_spark == default
    assert on_spark == _check(tmp_path, "utf8.jsonl", utf8, spark=False)  # as its UTF-8 twin
