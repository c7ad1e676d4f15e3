"""Benchmark: what the people's formats (html, text, --statistics) cost against jsonl, and whether the
HTML summary's memory stays flat as the batch grows. One run, the same reports, medians.

Run with ``.venv/bin/python benchmarks/bench_reporters.py [--claims N] [--repeat R]``.

(a) Time to write the same reports (checked once, held in memory) to a null sink in each format,
    median of R runs, as a ratio to jsonl's time in the same run.
(b) Peak memory (tracemalloc) of the HTML writer over a stream of N and of 4N reports made on the
    fly (so only the writer keeps anything): a ratio near 1 means the page keeps aggregates, not
    reports.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

from dsmt_rules.adapters import read_input
from dsmt_rules.engine import check_records
from dsmt_rules.findings import Report
from dsmt_rules.reporters import write_reports
from dsmt_rules.reporters.html import write_html
from dsmt_rules.reporters.statistics import write_statistics

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _generate import write_jsonl

DATA = Path(__file__).resolve().parent / "_data"


class _Null:
    def write(self, text: str, /) -> int:
        return len(text)


def _median(repeat: int, run: Callable[[], None]) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _peak(reports: Iterator[Report]) -> int:
    gc.collect()
    tracemalloc.start()
    write_html(reports, _Null(), origin="claims.jsonl")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--claims", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    path = DATA / f"claims-{args.claims}-s{args.seed}.jsonl"
    if not path.exists():
        write_jsonl(path, args.claims, seed=args.seed)
    with path.open("rb") as stream:
        reports = list(check_records(read_input(stream, name=str(path))))
    findings = sum(len(r.findings) for r in reports)
    print(f"{len(reports)} reports, {findings} findings ({path.name})")

    base = _median(args.repeat, lambda: write_reports("jsonl", reports, _Null()))
    print(f"(a) jsonl: {base * 1000:.0f} ms (median of {args.repeat}; the baseline)")
    runs: dict[str, Callable[[], None]] = {
        "html": lambda: write_reports("html", reports, _Null(), origin=str(path)),
        "text": lambda: write_reports("text", reports, _Null(), origin=str(path)),
        "csv": lambda: write_reports("csv", reports, _Null(), origin=str(path)),
        "--statistics": lambda: write_statistics(reports, _Null()),
    }
    for name, run in runs.items():
        t = _median(args.repeat, run)
        print(f"    {name}: {t * 1000:.0f} ms, {t / base:.2f}x jsonl")

    def stream(n: int) -> Iterator[Report]:
        for i, report in enumerate(itertools.islice(itertools.cycle(reports), n)):
            yield Report(f"{report.claim_id}-{i}", report.findings, i + 1, claim=report.claim)

    small = _peak(stream(len(reports)))
    large = _peak(stream(4 * len(reports)))
    print(
        f"(b) html peak memory: {small / 1e6:.2f} MB for {len(reports)} reports, "
        f"{large / 1e6:.2f} MB for {4 * len(reports)}: {large / small:.2f}x for 4x the reports"
    )


if __name__ == "__main__":
    main()
