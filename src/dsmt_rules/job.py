"""The check job: inputs -> adapters -> engine -> reporter, the way ``dsmt-rules check`` runs it.

:func:`run_check` opens the inputs (``-`` is standard input), reads them as one batch, checks every
record and writes one report per record in input order, with a progress bar on a terminal (bytes
read of the inputs' total size, with percentage and time left, when they are files). It
returns the counts by verdict (:class:`~dsmt_rules.reporters.Summary`); the caller decides the exit
status. Errors a user can cause (a missing file, a bad profile) raise
:class:`~dsmt_rules.exceptions.DsmtRulesError` or :class:`OSError`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

from dsmt_rules import adapters
from dsmt_rules.engine import Ruleset, check_records
from dsmt_rules.exceptions import ConfigError
from dsmt_rules.findings import Report
from dsmt_rules.profiles import load_profile
from dsmt_rules.records import NO_CLAIM, Record
from dsmt_rules.reporters import (
    STDOUT,
    Format,
    Summary,
    format_for,
    is_terminal,
    open_output,
    write_reports,
)
from dsmt_rules.settings import Settings

__all__ = ["STDIN", "STDIN_NAME", "Output", "ReadCounts", "run_check", "run_read"]

STDIN = "-"
STDIN_NAME = "<stdin>"


@dataclass(frozen=True, slots=True)
class Output:
    """Where and how the reports are written."""

    path: str | None = None
    """A file, or None (or ``-``) for standard output."""
    format: Format | None = None
    """None: ``text`` on a terminal, else ``jsonl``; for a file, from its suffix."""
    progress: bool | None = None
    """None: a progress bar when stderr is a terminal and the reports do not go to it."""
    statistics: bool = False
    """Counts by rule instead of the reports (``text``, or ``json`` when that is the format)."""
    csv_bom: bool = False
    """Start a CSV output with a UTF-8 byte order mark (for spreadsheets)."""
    show_fixes: bool = False
    """``text``: list each finding's fix under it (``check --show-fixes``)."""


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


_PROGRESS_DELAY = 0.5
"""Seconds before the progress bar shows (a quick run shows none)."""
_PROGRESS_EVERY = 64
"""Reports between two looks at how far the inputs have been read."""


def _total_bytes(streams: Sequence[IO[bytes]]) -> int | None:
    """The inputs' total size when every one is a regular file (not stdin, a pipe or a device)."""
    total = 0
    for stream in streams:
        try:
            info = os.fstat(stream.fileno())
        except (OSError, ValueError, AttributeError):
            return None
        if not stat.S_ISREG(info.st_mode):
            return None
        total += info.st_size
    return total


def _bytes_read(streams: Sequence[IO[bytes]]) -> int:
    done = 0
    for stream in streams:
        with contextlib.suppress(OSError, ValueError):
            done += stream.tell()
    return done


class _Progress:
    """Two bars on stderr, one pass: reading the inputs (bytes read of their total size, with the
    percentage, rate and time left, when they are files; a count of records and a rate for stdin
    or a pipe), then checking (reports written of the records read, which are known by then)."""

    def __init__(self, streams: Sequence[IO[bytes]]) -> None:
        from tqdm import tqdm

        self._tqdm = tqdm
        self._streams = streams
        self._total = _total_bytes(streams)
        self._records = 0
        self._reports = 0
        self._checking: Any = None
        self._bar: Any = None

    def _open(self, **options: Any) -> Any:
        return self._tqdm(file=sys.stderr, delay=_PROGRESS_DELAY, dynamic_ncols=True, **options)

    def read(self, records: Iterable[Record]) -> Iterator[Record]:
        """The records, counted (and the bytes read of the files) as they are read."""
        if self._total is None:
            bar = self._open(desc="reading", unit=" records", leave=True)
        else:
            bar = self._open(
                desc="reading",
                total=self._total,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                leave=True,
            )
        with bar:
            for record in records:
                self._records += 1
                if self._records % _PROGRESS_EVERY == 0:
                    self._advance(bar)
                yield record
            self._advance(bar)
        self._checking = self._open(
            desc="checking", total=self._records, initial=self._reports, unit=" claims"
        )

    def _advance(self, bar: Any) -> None:
        if self._total is None:
            bar.update(self._records - bar.n)
        else:
            bar.update(min(_bytes_read(self._streams), self._total) - bar.n)

    def reports(self, reports: Iterable[Report]) -> Iterator[Report]:
        """The reports, counted against the records read."""
        try:
            for report in reports:
                self._reports += 1
                checking = self._checking
                if checking is not None and self._reports % _PROGRESS_EVERY == 0:
                    checking.update(self._reports - checking.n)
                yield report
            if self._checking is not None:
                self._checking.update(self._reports - self._checking.n)
        finally:
            if self._checking is not None:
                self._checking.close()


def _progress(
    progress: bool | None, to_terminal: bool, streams: Sequence[IO[bytes]]
) -> _Progress | None:
    """The progress bars, when they are to be shown: asked for, or on a terminal stderr when the
    reports do not go to that terminal."""
    show = progress if progress is not None else is_terminal(sys.stderr) and not to_terminal
    return _Progress(streams) if show else None


def _open_inputs(paths: Sequence[str], stack: contextlib.ExitStack) -> list[tuple[str, IO[bytes]]]:
    """(display name, stream) of each path, ``-`` standard input (once), closed with ``stack``."""
    inputs: list[tuple[str, IO[bytes]]] = []
    for path in paths:
        if path == STDIN:
            if any(name == STDIN_NAME for name, _ in inputs):
                raise ConfigError("'-' (standard input) can be read only once; give it once")
            inputs.append((STDIN_NAME, sys.stdin.buffer))
        else:
            inputs.append((path, adapters.open_input(path, stack)))
    return inputs


@dataclass(frozen=True, slots=True)
class ReadCounts:
    """What :func:`run_read` wrote: claim documents, and records that hold no claim."""

    claims: int
    unread: int


def run_read(paths: Sequence[str], *, settings: Settings, output: str | None) -> ReadCounts:
    """Write the claim documents the inputs yield as JSON Lines (reference data applied), one per
    record that holds a claim, in input order: what dsmt-rules reads from an 837 or a FHIR
    Bundle. A record without a claim (DS001, DS003) is counted, not written."""
    import json

    profile = load_profile(settings.profile)
    claims = unread = 0
    with contextlib.ExitStack() as stack:
        batch = adapters.open_batch(
            _open_inputs(paths, stack),
            reference=settings.reference,
            individual_code=profile.individual_code,
            group_code=profile.group_code,
            x12_validate=settings.x12_validate,
        )
        sink = stack.enter_context(open_output(output))
        for record in batch:
            if record.claim is None:
                unread += 1
                continue
            document = record.claim.model_dump(mode="json")
            sink.write(json.dumps(document, ensure_ascii=False) + "\n")
            claims += 1
    return ReadCounts(claims, unread)


def _watch_empty(batch: adapters.Batch, summary: Summary) -> Iterator[Record]:
    """The batch's records, noting in ``summary`` each X12 input that holds no CLM segment."""
    for index, record in enumerate(batch):
        if record.claim is None and any(p.problem == NO_CLAIM for p in record.structure):
            summary.no_claim.append(batch.file_of(index) or "-")
        yield record


def run_check(
    paths: Sequence[str], *, settings: Settings, rules: Ruleset, output: Output
) -> Summary:
    """Check the claims in ``paths`` and write the reports; return the counts by verdict."""
    target = output.path
    if target is not None and target != STDOUT:
        for path in paths:
            if path != STDIN and _same_file(path, target):
                raise ConfigError(f"{target}: is also an input; choose another --output file")
    profile = load_profile(settings.profile)
    on_spark = settings.engine == "spark"  # the Spark job reads the inputs itself
    with contextlib.ExitStack() as stack:
        inputs = _open_inputs(() if on_spark else paths, stack)
        batch = adapters.open_batch(
            inputs,
            reference=settings.reference,
            individual_code=profile.individual_code,
            group_code=profile.group_code,
            x12_validate=settings.x12_validate,
        )
        fmt = output.format or format_for(target)
        to_terminal = (target is None or target == STDOUT) and is_terminal(sys.stdout)
        color = to_terminal and fmt == "text" and "NO_COLOR" not in os.environ
        width = shutil.get_terminal_size().columns if to_terminal else None
        sink = stack.enter_context(open_output(target))
        summary = Summary()
        bars = _progress(output.progress, to_terminal, [stream for _, stream in inputs])
        origin: Callable[[int], str | None] = batch.file_of
        if on_spark:
            from dsmt_rules.spark._cli import spark_reports

            found = stack.enter_context(spark_reports(paths, settings=settings, rules=rules))
            checked: Iterable[Report] = found
            origin = found.file_of
        else:
            checked = check_records(
                _watch_empty(batch, summary) if bars is None else bars.read(batch),
                rules=rules,
                memory=settings.batch_memory * 1024 * 1024,
                temp_dir=settings.temp_dir,
            )
        reports = summary.tally(checked)
        if bars is not None:
            reports = bars.reports(reports)
        if output.statistics:
            from dsmt_rules.reporters.statistics import write_statistics

            write_statistics(reports, sink, fmt="json" if output.format == "json" else "text")
            return summary
        write_reports(
            fmt,
            reports,
            sink,
            origin=origin,
            color=color,
            width=width,
            docs_url=settings.docs_url,
            bom=output.csv_bom,
            show_fixes=output.show_fixes,
        )
    return summary
