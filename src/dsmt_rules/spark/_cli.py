"""``dsmt-rules check --engine spark``: the command's inputs as one Spark job, reports in input order.

JSON Lines files are read by Spark's text source (split across tasks; each record keeps its line
number); every other input (X12, FHIR, a JSON array or one document, gzip, standard input or a
pipe, spooled to the temporary directory first) is read whole, one file per task, by the
library's own readers. All of them are one batch. The reports come back to the driver sorted by
input position, a partition at a time, and go to the same writers as the default engine's.
"""

from __future__ import annotations

import bisect
import contextlib
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from dsmt_rules.adapters import _GZIP_MAGIC, _UNICODE_BOMS, _head, detect_format
from dsmt_rules.engine import Ruleset
from dsmt_rules.exceptions import ConfigError
from dsmt_rules.findings import Report
from dsmt_rules.settings import Settings
from dsmt_rules.spark import (
    _broadcast,
    _line_files,
    _prepare_files,
    _prepare_lines,
    _read_lines,
    _read_whole,
    _reports,
    _whole_files,
    iter_reports,
    local_path,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["OrderedReports", "session", "spark_reports"]

STDIN = "-"
STDIN_NAME = "<stdin>"

_SPARK_CODECS = (".gz", ".bz2", ".deflate", ".lz4", ".snappy", ".zst", ".br", ".xz")
"""Suffixes Spark's text source decompresses by name; such files are read whole, as the CLI does."""


def session(master: str | None) -> SparkSession:
    """The active Spark session, or a new one (``master``: e.g. ``local[2]``; none: what
    spark-submit configured, else ``local[*]``). Raises ConfigError when Spark cannot start."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    if master is None or master.startswith("local"):
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # executors run this interpreter
    builder = SparkSession.builder.appName("dsmt-rules")
    if master is not None:
        builder = builder.master(master)
    builder = builder.config("spark.ui.showConsoleProgress", "false")
    if master is not None and master.startswith("local"):
        cores = _local_cores(master)
        builder = builder.config("spark.ui.enabled", "false")
        builder = builder.config("spark.sql.shuffle.partitions", str(4 * cores))
        builder = builder.config("spark.default.parallelism", str(cores))
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # pyspark raises PySparkRuntimeError when the JVM does not start
        raise ConfigError(
            f"Spark could not start ({exc.__class__.__name__}); it needs a Java runtime 17 or 21 "
            "(JAVA_HOME or java on PATH; docs/spark.md)"
        ) from None
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _local_cores(master: str) -> int:
    """The worker threads of a ``local``, ``local[N]`` or ``local[*]`` master."""
    inside = master.partition("[")[2].partition("]")[0].partition(",")[0]
    return int(inside) if inside.isdigit() else max(1, os.cpu_count() or 1)


def _is_json_lines(path: str) -> bool:
    """Whether Spark's text source reads ``path`` as the JSON Lines reader does: plain (not
    compressed) JSON Lines, not a JSON array or one pretty-printed document."""
    if path.lower().endswith(_SPARK_CODECS):
        return False
    with open(path, "rb") as stream:
        head, buffered = _head(stream)
        if head.startswith(_GZIP_MAGIC) or detect_format(head) != "json":
            return False
        if head.startswith(tuple(bom for bom, _ in _UNICODE_BOMS)):  # UTF-16/32: read_input
            return False
        for line in buffered:
            stripped = line.removeprefix(b"\xef\xbb\xbf").strip()
            if stripped:
                return not stripped.startswith(b"[") and stripped != b"{"
    return True


class OrderedReports:
    """The reports of a job in input order, and each report's file (``file_of`` its index)."""

    def __init__(self, reports: DataFrame) -> None:
        self._reports = reports
        self._starts: list[int] = []
        self._files: list[str | None] = []

    def __iter__(self) -> Iterator[Report]:
        for index, (file, report) in enumerate(iter_reports(self._reports)):
            if not self._files or self._files[-1] != file:
                self._starts.append(index)
                self._files.append(file)
            yield report

    def file_of(self, index: int) -> str | None:
        """The input name of the report at ``index`` (0-based, in output order)."""
        at = bisect.bisect_right(self._starts, index) - 1
        return self._files[at] if at >= 0 else None


def _inputs(paths: Sequence[str], spool: str) -> list[tuple[str, str]]:
    """(name in reports, local path) of each input; standard input and pipes spooled."""
    out: list[tuple[str, str]] = []
    for i, path in enumerate(paths):
        if path == STDIN:
            if any(name == STDIN_NAME for name, _ in out):
                raise ConfigError("'-' (standard input) can be read only once; give it once")
            target = os.path.join(spool, f"input-{i}")
            with open(target, "wb") as out_file:
                shutil.copyfileobj(sys.stdin.buffer, out_file, 1 << 20)
            out.append((STDIN_NAME, target))
            continue
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(21, "is a directory, not a file of claims", path)
        local = os.path.abspath(path)
        if not stat.S_ISREG(mode):  # a pipe or device: read once, here
            target = os.path.join(spool, f"input-{i}")
            with open(path, "rb") as src, open(target, "wb") as out_file:
                shutil.copyfileobj(src, out_file, 1 << 20)
            local = target
        if any(seen == local for _, seen in out):
            raise ConfigError(f"{path}: given twice; the spark engine reads each file once")
        out.append((path, local))
    return out


@contextlib.contextmanager
def spark_reports(
    paths: Sequence[str], *, settings: Settings, rules: Ruleset
) -> Iterator[OrderedReports]:
    """The reports of ``paths`` checked as one batch on Spark (module docstring)."""
    from pyspark.sql import SparkSession

    owned = SparkSession.getActiveSession() is None
    spark = session(settings.spark_master)
    reports: DataFrame | None = None
    try:
        with tempfile.TemporaryDirectory(prefix="dsmt-rules-", dir=settings.temp_dir) as spool:
            inputs = _inputs(paths, spool)
            rank = {local: i for i, (_name, local) in enumerate(inputs)}
            names = {local: name for name, local in inputs}

            def order(path: str) -> int:
                return rank[local_path(path)]

            def name(path: str) -> str:
                return names[local_path(path)]

            lines = [local for _name, local in inputs if _is_json_lines(local)]
            whole = [local for _name, local in inputs if local not in set(lines)]
            files: dict[str, tuple[int, str]] = {}
            offsets: dict[tuple[str, int], int] = {}
            text = content = None
            if lines:
                text = _read_lines(spark, lines)
                found, offsets = _line_files(text, order, name)
                files.update(found)
            if whole:
                content = _read_whole(spark, whole)
                files.update(_whole_files(content, order, name))
            files = {path: (order(path), shown) for path, (_rank, shown) in files.items()}
            job_bc = _broadcast(spark, settings, rules, files, offsets, encode=False)
            parts: list[Any] = []
            if text is not None:
                parts.append(text.mapInArrow(_mapper(_prepare_lines, job_bc), _prepared_ddl()))
            if content is not None:
                parts.append(content.mapInArrow(_mapper(_prepare_files, job_bc), _prepared_ddl()))
            prepared = parts[0] if len(parts) == 1 else parts[0].unionByName(parts[1])
            reports = _reports(prepared, job_bc).persist()
            yield OrderedReports(reports)
    finally:
        if reports is not None:
            reports.unpersist()
        if owned:
            spark.stop()


def _mapper(function: Any, job_bc: Any) -> Any:
    from functools import partial

    return partial(function, job_bc=job_bc)


def _prepared_ddl() -> str:
    from dsmt_rules.spark import _PREPARED

    return _PREPARED
