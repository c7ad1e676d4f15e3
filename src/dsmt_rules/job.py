"""The check job: inputs -> adapters -> engine -> reporter, the way ``dsmt-rules check`` runs it.

:func:`run_check` opens the inputs (``-`` is standard input), reads them as one batch, checks every
record and writes one report per record in input order, with a progress bar on a terminal. It
returns the counts by verdict (:class:`~dsmt_rules.reporters.Summary`); the caller decides the exit
status. Errors a user can cause (a missing file, a bad profile) raise
:class:`~dsmt_rules.exceptions.DsmtRulesError` or :class:`OSError`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO

from dsmt_rules import adapters
from dsmt_rules.engine import Ruleset, check_records
from dsmt_rules.exceptions import ConfigError
from dsmt_rules.findings import Report
from dsmt_rules.profiles import load_profile
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

__all__ = ["STDIN", "STDIN_NAME", "Output", "run_check"]

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


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _with_progress(
    reports: Iterator[Report], progress: bool | None, to_terminal: bool
) -> Iterator[Report]:
    show = progress if progress is not None else is_terminal(sys.stderr) and not to_terminal
    if not show:
        return reports
    from tqdm import tqdm

    return iter(
        tqdm(reports, desc="checking", unit=" claims", file=sys.stderr, delay=0.5, leave=True)
    )


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
    if settings.engine == "spark":
        from dsmt_rules.spark._cli import run_check_spark

        return run_check_spark(
            paths, settings=settings, rules=rules, output=output, progress=_with_progress
        )
    with contextlib.ExitStack() as stack:
        inputs: list[tuple[str, IO[bytes]]] = []
        for path in paths:
            if path == STDIN:
                if any(name == STDIN_NAME for name, _ in inputs):
                    raise ConfigError("'-' (standard input) can be read only once; give it once")
                inputs.append((STDIN_NAME, sys.stdin.buffer))
            else:
                inputs.append((path, adapters.open_input(path, stack)))
        batch = adapters.open_batch(
            inputs,
            reference=settings.reference,
            individual_code=profile.individual_code,
            group_code=profile.group_code,
        )
        fmt = output.format or format_for(target)
        to_terminal = (target is None or target == STDOUT) and is_terminal(sys.stdout)
        color = to_terminal and fmt == "text" and "NO_COLOR" not in os.environ
        width = shutil.get_terminal_size().columns if to_terminal else None
        sink = stack.enter_context(open_output(target))
        summary = Summary()
        reports = _with_progress(
            summary.tally(
                check_records(
                    batch,
                    rules=rules,
                    memory=settings.batch_memory * 1024 * 1024,
                    temp_dir=settings.temp_dir,
                )
            ),
            output.progress,
            to_terminal,
        )
        write_reports(fmt, reports, sink, origin=batch.file_of, color=color, width=width)
    return summary
