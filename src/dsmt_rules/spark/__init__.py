"""The same checks on Apache Spark: the engine's kernel run per beneficiary, on ``local[N]`` or a cluster.

Needs the extra ``dsmt-rules[spark]`` (pyspark 4, pyarrow, pandas) and a Java runtime (17 or 21);
docs/spark.md says how to run it with spark-submit or as a Databricks job.

- :func:`check_json_lines` reads JSON Lines files (``spark.read.text``) and returns a DataFrame of
  reports, one per record, numbered by line within each file as ``dsmt-rules check`` numbers them.
- :func:`check_dataframe` does the same for a DataFrame with a column of JSON claim documents
  (from ``spark.read.text``: numbered by line; from anywhere else: by row).
- :func:`check_files` reads whole files (``binaryFile``): X12 837P/837I, FHIR, a JSON array,
  gzip; each file is read by the library's own readers on an executor.

The job has two stages, as the single-process batch driver has (:mod:`dsmt_rules.engine._batch`):
each record is parsed and checked by the claim rules where it is read
(:func:`~dsmt_rules.engine.prepare_packed`: a few hundred bytes of plain values per claim), the
prepared claims are repartitioned by beneficiary and sorted by beneficiary and position, and each
beneficiary's run of claims is finished by the history rules
(:func:`~dsmt_rules.engine.finish_packed`) in a ``mapInArrow`` over the sorted partition. The
ruleset (profile, selection, severities, MUE table, ICD-10-CM code sets) and the reference data
travel to the executors once, as one broadcast. The reports are the default engine's, byte for
byte (``report_json`` is the line ``dsmt-rules check --format jsonl`` writes).

The beneficiary id is a grouping key inside the job only (shuffle and sort); no output column
holds it.
"""

from __future__ import annotations

import io
import itertools
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from dsmt_rules.adapters import read_input
from dsmt_rules.adapters.jsonl import MAX_RECORD_BYTES, parse_document
from dsmt_rules.engine import Ruleset
from dsmt_rules.engine._batch import dumps_report, finish_packed, loads_report, prepare_packed
from dsmt_rules.findings import Report
from dsmt_rules.profiles import load_profile
from dsmt_rules.records import Record
from dsmt_rules.reporters.jsonl import encode_report
from dsmt_rules.settings import Settings, build_ruleset

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

    from dsmt_rules.reference import ReferenceData

__all__ = [
    "FINDING_SCHEMA",
    "REPORT_COLUMNS",
    "check_dataframe",
    "check_files",
    "check_json_lines",
    "local_path",
]

SEQ_SHIFT = 36
"""A record's sequence number is ``file rank << SEQ_SHIFT | position``: input order, as the
single-process CLI counts it (files in order, records in order within a file)."""

BATCH_ROWS = 4096
"""Rows per Arrow batch an executor writes (what a stage holds of its output at once)."""

FINDING_SCHEMA = (
    "array<struct<code: string, name: string, severity: string, message: string, loc: string, "
    "line_id: string, source: string, citation: string, carc_hint: string, url: string, "
    "ctx: string>>"
)
"""The typed ``findings`` column (Spark DDL); ``loc`` and ``ctx`` hold JSON text."""

REPORT_COLUMNS = (
    "file",
    "record",
    "claim_id",
    "status",
    "findings",
    "findings_json",
    "report_json",
    "seq",
)
"""The columns of a DataFrame of reports, in order (docs/spark.md, "Output schema")."""

_PREPARED = "seq long, file string, key string, blob binary"
_REPORTS = (
    "seq long, file string, record long, claim_id string, status string, "
    "findings_json string, report_json string, packed binary"
)


@dataclass(frozen=True, slots=True)
class _Job:
    """What every executor needs, shipped once (one broadcast)."""

    rules: Ruleset
    reference: ReferenceData | None
    individual_code: str
    group_code: str
    files: Mapping[str, tuple[int, str]]
    """A file as Spark names it -> (its rank in input order, its name in reports)."""
    offsets: Mapping[tuple[str, int], int]
    """JSON Lines: (file, block start) -> lines in the file before the block."""
    encode: bool = True
    """Whether stage 2 writes the JSON columns (the CLI's driver needs only ``packed``)."""

    def complete(self, record: Record) -> Record:
        if self.reference is None:
            return record
        return self.reference.apply(
            record, individual_code=self.individual_code, group_code=self.group_code
        )

    def file(self, path: str) -> tuple[int, str]:
        found = self.files.get(path)
        return found if found is not None else (0, path)


# --- executors ---------------------------------------------------------------------------------------


def _prepared_batch(rows: list[tuple[int, str, Record]], job: _Job) -> pa.RecordBatch:
    import pyarrow as pa

    rules = job.rules
    history = bool(rules.ledger_rules)
    seqs: list[int] = []
    files: list[str] = []
    keys: list[str | None] = []
    blobs: list[bytes] = []
    for seq, name, record in rows:
        key, blob, report = prepare_packed(job.complete(record), seq, rules)
        if key is None or not history:  # final already: not a claim, or nothing to wait for
            if report is None:
                report = finish_packed([blob], rules)[0][1]
            key, blob = None, dumps_report(seq, report)
        seqs.append(seq)
        files.append(name)
        keys.append(key)
        blobs.append(blob)
    return pa.RecordBatch.from_pydict(
        {"seq": seqs, "file": files, "key": keys, "blob": blobs},
        schema=pa.schema(
            [
                ("seq", pa.int64()),
                ("file", pa.string()),
                ("key", pa.string()),
                ("blob", pa.binary()),
            ]
        ),
    )


def _line_record(value: bytes, line: int) -> Record | None:
    """The record of one JSON Lines line, as :mod:`dsmt_rules.adapters.jsonl` reads it."""
    if len(value) > MAX_RECORD_BYTES:
        return Record(line, None, (((), f"record longer than {MAX_RECORD_BYTES} bytes; not read"),))
    if line == 1:
        value = value.removeprefix(b"\xef\xbb\xbf")
    stripped = value.strip()
    if not stripped:
        return None
    return parse_document(stripped, position=line)


def _prepare_lines(batches: Iterable[pa.RecordBatch], job_bc: Any) -> Iterator[pa.RecordBatch]:
    """Stage 1 over JSON Lines rows (value, file, block), in file order within each block."""
    job: _Job = job_bc.value
    seen: dict[tuple[str, int], int] = {}
    for batch in batches:
        rows: list[tuple[int, str, Record]] = []
        values = batch.column("value").to_pylist()
        paths = batch.column("file").to_pylist()
        blocks = batch.column("block").to_pylist()
        for value, path, block in zip(values, paths, blocks, strict=True):
            at = (path, block)
            index = seen.get(at, 0)
            seen[at] = index + 1
            line = job.offsets.get(at, 0) + index + 1
            record = _line_record(value, line)
            if record is None:
                continue
            rank, name = job.file(path)
            rows.append(((rank << SEQ_SHIFT) | line, name, record))
        if rows:
            yield _prepared_batch(rows, job)


def _prepare_rows(batches: Iterable[pa.RecordBatch], job_bc: Any) -> Iterator[pa.RecordBatch]:
    """Stage 1 over a DataFrame's rows (value, position): one document each, no file."""
    job: _Job = job_bc.value
    for batch in batches:
        rows: list[tuple[int, str, Record]] = []
        values = batch.column("value").to_pylist()
        positions = batch.column("position").to_pylist()
        for value, position in zip(values, positions, strict=True):
            rows.append((position, "", _document_record(value or b"", position)))
        if rows:
            yield _prepared_batch(rows, job)


def _document_record(value: bytes, position: int) -> Record:
    if len(value) > MAX_RECORD_BYTES:
        problem = f"record longer than {MAX_RECORD_BYTES} bytes; not read"
        return Record(position, None, (((), problem),))
    return parse_document(value.strip(), position=position)


def _prepare_files(batches: Iterable[pa.RecordBatch], job_bc: Any) -> Iterator[pa.RecordBatch]:
    """Stage 1 over whole files (path, content): each read by the library's readers."""
    job: _Job = job_bc.value
    for batch in batches:
        paths = batch.column("path").to_pylist()
        contents = batch.column("content").to_pylist()
        for path, content in zip(paths, contents, strict=True):
            rank, name = job.file(path)
            records = read_input(io.BytesIO(content), name=name)
            for chunk in _chunks(enumerate(records), BATCH_ROWS):
                rows = [((rank << SEQ_SHIFT) | k, name, record) for k, record in chunk]
                yield _prepared_batch(rows, job)


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


class _Out:
    """Report rows of stage 2, written out every :data:`BATCH_ROWS` rows."""

    def __init__(self, encode: bool) -> None:
        self.rows: list[tuple[int, str, Report, bytes | None]] = []
        self.encode = encode

    def add(self, seq: int, file: str, report: Report, packed: bytes | None = None) -> None:
        self.rows.append((seq, file, report, packed))

    def batch(self) -> pa.RecordBatch:
        import pyarrow as pa

        cols: dict[str, list[Any]] = {
            "seq": [],
            "file": [],
            "record": [],
            "claim_id": [],
            "status": [],
            "findings_json": [],
            "report_json": [],
            "packed": [],
        }
        for seq, file, report, packed in self.rows:
            line = encode_report(report) if self.encode else None
            cols["seq"].append(seq)
            cols["file"].append(file or None)
            cols["record"].append(report.record)
            cols["claim_id"].append(report.claim_id)
            cols["status"].append(report.status._value_)
            cols["findings_json"].append(line and line[line.find('"findings": ') + 12 : -1])
            cols["report_json"].append(line)
            cols["packed"].append(packed if packed is not None else dumps_report(seq, report))
        self.rows = []
        return pa.RecordBatch.from_pydict(cols, schema=_reports_schema())


def _reports_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            ("seq", pa.int64()),
            ("file", pa.string()),
            ("record", pa.int64()),
            ("claim_id", pa.string()),
            ("status", pa.string()),
            ("findings_json", pa.string()),
            ("report_json", pa.string()),
            ("packed", pa.binary()),
        ]
    )


def _finish_groups(batches: Iterable[pa.RecordBatch], job_bc: Any) -> Iterator[pa.RecordBatch]:
    """Stage 2 over a partition sorted by (beneficiary, seq): each beneficiary's run of claims
    is one group for :func:`~dsmt_rules.engine.finish_packed`; final reports pass through."""
    job: _Job = job_bc.value
    rules = job.rules
    out = _Out(job.encode)
    key: str | None = None
    blobs: list[bytes] = []
    files: dict[int, str] = {}

    def finish() -> None:
        for seq, report in finish_packed(blobs, rules):
            out.add(seq, files[seq], report)
        blobs.clear()
        files.clear()

    for batch in batches:
        seqs = batch.column("seq").to_pylist()
        names = batch.column("file").to_pylist()
        keys = batch.column("key").to_pylist()
        data = batch.column("blob").to_pylist()
        for seq, name, k, blob in zip(seqs, names, keys, data, strict=True):
            if k != key and blobs:
                finish()
            key = k
            if k is None:
                out.add(seq, name, loads_report(blob), blob)
            else:
                blobs.append(blob)
                files[seq] = name
            if len(out.rows) >= BATCH_ROWS:
                yield out.batch()
    if blobs:
        finish()
    if out.rows:
        yield out.batch()


# --- the driver ----------------------------------------------------------------------------------------


def _broadcast(
    spark: SparkSession,
    settings: Settings,
    rules: Ruleset | None,
    files: Mapping[str, tuple[int, str]],
    offsets: Mapping[tuple[str, int], int],
    *,
    encode: bool = True,
) -> Any:
    """The one broadcast of a job: ruleset, reference data, file names and line offsets."""
    reference = None
    if settings.reference:
        from dsmt_rules.reference import ReferenceData

        reference = ReferenceData.load(settings.reference)
    profile = load_profile(settings.profile)
    job = _Job(
        rules if rules is not None else build_ruleset(settings),
        reference,
        profile.individual_code,
        profile.group_code,
        dict(files),
        dict(offsets),
        encode,
    )
    return spark.sparkContext.broadcast(job)


def _reports(prepared: DataFrame, job_bc: Any) -> DataFrame:
    """Stage 2: prepared claims by beneficiary, finished; final reports passed through."""
    from pyspark.sql import functions as F

    spread = F.coalesce(F.col("key"), F.col("seq").cast("string"))  # final reports spread out
    grouped = prepared.repartition(spread).sortWithinPartitions("key", "seq")
    return grouped.mapInArrow(partial(_finish_groups, job_bc=job_bc), _REPORTS)


def _public(reports: DataFrame) -> DataFrame:
    from pyspark.sql import functions as F

    return reports.select(
        "file",
        "record",
        "claim_id",
        "status",
        F.from_json("findings_json", FINDING_SCHEMA).alias("findings"),
        "findings_json",
        "report_json",
        "seq",
    )


def local_path(spark_path: str) -> str:
    """A file path as Spark names it (``file:/a%20b`` from ``_metadata``, ``file:/a b`` from
    ``binaryFile``) without its scheme and escapes: the path on a local file system."""
    parsed = urllib.parse.urlparse(spark_path)
    return urllib.parse.unquote(parsed.path) if parsed.scheme == "file" else spark_path


def _lines(df: DataFrame, column: str = "value") -> DataFrame:
    from pyspark.sql import functions as F

    return df.select(
        F.col(column).cast("binary").alias("value"),
        F.col("_metadata.file_path").alias("file"),
        F.col("_metadata.file_block_start").alias("block"),
    )


def _read_lines(spark: SparkSession, paths: Sequence[str]) -> DataFrame:
    return _lines(spark.read.option("lineSep", "\n").text(list(paths)))


Order = Callable[[str], Any]
"""A sort key of a file as Spark names it: the files' order in the batch."""
Name = Callable[[str], str]
"""A file's name in the reports, from its name in Spark."""


def _line_files(
    lines: DataFrame, order: Order, name: Name
) -> tuple[dict[str, tuple[int, str]], dict[tuple[str, int], int]]:
    """Each JSON Lines file's rank and name, and each file block's first line (one cheap JVM
    job: a count of lines per file block)."""
    counts = lines.groupBy("file", "block").count().collect()
    by_file: dict[str, list[tuple[int, int]]] = {}
    for row in counts:
        by_file.setdefault(row["file"], []).append((row["block"], row["count"]))
    files: dict[str, tuple[int, str]] = {}
    offsets: dict[tuple[str, int], int] = {}
    for rank, path in enumerate(sorted(by_file, key=order)):
        files[path] = (rank, name(path))
        before = 0
        for block, count in sorted(by_file[path]):
            offsets[path, block] = before
            before += count
    return files, offsets


def _read_whole(spark: SparkSession, paths: Sequence[str]) -> DataFrame:
    return spark.read.format("binaryFile").load(list(paths)).select("path", "content")


def _whole_files(content: DataFrame, order: Order, name: Name) -> dict[str, tuple[int, str]]:
    listed = sorted((row["path"] for row in content.select("path").collect()), key=order)
    return {path: (rank, name(path)) for rank, path in enumerate(listed)}


def _by_path(path: str) -> tuple[str, str]:
    return (local_path(path), path)


def check_json_lines(
    spark: SparkSession,
    paths: str | Sequence[str],
    *,
    settings: Settings | None = None,
    rules: Ruleset | None = None,
) -> DataFrame:
    """Reports for JSON Lines files (paths, directories or globs Spark reads), one per record.

    Every record gets one row, with the file it came from and its line number (blank lines are
    not records), as ``dsmt-rules check`` gives; the files form one batch, in path order.
    ``settings`` choose the profile, rules, reference data and MUE table (``rules`` replaces
    what they compile to). Columns: :data:`REPORT_COLUMNS`.
    """
    return check_dataframe(
        spark.read.option("lineSep", "\n").text([paths] if isinstance(paths, str) else list(paths)),
        settings=settings,
        rules=rules,
    )


def check_files(
    spark: SparkSession,
    paths: str | Sequence[str],
    *,
    settings: Settings | None = None,
    rules: Ruleset | None = None,
) -> DataFrame:
    """Reports for whole files (``binaryFile``): X12 837P/837I, FHIR, JSON (Lines or an array),
    gzip or not, each read on an executor as ``dsmt-rules check`` reads it; one batch, the files
    in path order. A file is one row of ``binaryFile``: under 2 GiB each (docs/spark.md)."""
    content = _read_whole(spark, [paths] if isinstance(paths, str) else list(paths))
    files = _whole_files(content, _by_path, local_path)
    job_bc = _broadcast(spark, settings or Settings(), rules, files, {})
    prepared = content.mapInArrow(partial(_prepare_files, job_bc=job_bc), _PREPARED)
    return _public(_reports(prepared, job_bc))


def check_dataframe(
    df: DataFrame,
    *,
    column: str = "value",
    settings: Settings | None = None,
    rules: Ruleset | None = None,
) -> DataFrame:
    """Reports for a DataFrame with a column of JSON claim documents (string or binary).

    A DataFrame straight from ``spark.read.text`` over JSON Lines files (read it with
    ``.option("lineSep", "\\n")`` as :func:`check_json_lines` does) keeps each record's file and
    line number. Any other DataFrame is one batch in its row order: ``record`` is the 1-based
    row number (``zipWithIndex``), ``file`` is null, and an empty document is DS001.
    """
    from pyspark.errors import AnalysisException

    spark = df.sparkSession
    chosen = settings or Settings()
    try:
        lines = _lines(df, column)
    except AnalysisException:  # not a file scan: no _metadata
        rows = df.select(df[column].cast("binary")).rdd.zipWithIndex()
        numbered = rows.map(_numbered).toDF("value binary, position long")
        job_bc = _broadcast(spark, chosen, rules, {}, {})
        prepared = numbered.mapInArrow(partial(_prepare_rows, job_bc=job_bc), _PREPARED)
        return _public(_reports(prepared, job_bc))
    files, offsets = _line_files(lines, _by_path, local_path)
    job_bc = _broadcast(spark, chosen, rules, files, offsets)
    prepared = lines.mapInArrow(partial(_prepare_lines, job_bc=job_bc), _PREPARED)
    return _public(_reports(prepared, job_bc))


def _numbered(pair: tuple[Any, int]) -> tuple[bytes | None, int]:
    return (pair[0][0], pair[1] + 1)


def iter_reports(reports: DataFrame) -> Iterator[tuple[str | None, Report]]:
    """The reports of a stage-2 DataFrame (with its ``packed`` column) in input order, with
    their file, streamed to the driver a partition at a time."""
    for row in reports.orderBy("seq").select("file", "packed").toLocalIterator(True):
        yield row["file"], loads_report(row["packed"])
