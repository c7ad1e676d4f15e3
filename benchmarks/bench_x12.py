"""Benchmark: ``dsmt-rules check`` on an 837P against pyx12's bare walk of the same file, in one run.

Run with ``.venv/bin/python benchmarks/bench_x12.py [--claims 1000,10000] [--repeat 3]`` (needs
the x12 extra for the baseline). For each size, an 837P of N claims in one transaction set is
generated once into ``benchmarks/_data/`` (git-ignored), built from the clean claim CLEAN-P of
tests/fixtures/x12/dsmt-837p.837 with fresh HL numbers, CLM01 and subscriber ids; its envelope is
right, so the reader reports nothing on it.

What is timed, each the median of ``--repeat`` runs, all in this run on this machine:

- **baseline**: pyx12's own streaming parse, ``X12ContextReader.iter_segments()`` over every
  segment (tokenizing and walking the implementation guide's loop map; no element validation, no
  mapping), in this process. The least any 837 reader built on pyx12 does.
- **read+check**: in a process of its own, after a warm-up, ``read_records`` of the 837 through
  ``check_records`` with every report consumed (the library path a pipeline calls), with its peak
  RSS; the same for the JSON Lines of the same claims (``jsonl.read_records``); and once more with
  a batch memory of 4 MiB, to show what the reader itself holds (the batch holds claims waiting
  for their beneficiary up to ``--batch-memory``, 64 MiB by default, DESIGN.md).
- **check**: the whole command ``dsmt-rules check FILE --format jsonl -o /dev/null`` in a fresh
  process (start-up, the default X12 reader, every rule, writing the reports), with its peak RSS.
- **check (JSON Lines)**: the same command on the same claims as JSON Lines (the claim documents
  the reader makes, written once), to show what reading the 837 adds.
- **check --x12-validate** (first size only, one run): the pyx12 path, for the cost of the option.

Printed: seconds and claims/s for each, check/baseline speed ratios, the 837/JSON Lines cost ratio,
peak RSS, and the per-claim time of the largest size over that of the smallest (linearity).
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import logging
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "_data"
TEMPLATE = HERE.parent / "tests" / "fixtures" / "x12" / "dsmt-837p.837"

_CHILD = """
import resource, sys, time
from dsmt_rules.cli import main
t0 = time.perf_counter()
main(sys.argv[1:])
elapsed = time.perf_counter() - t0
print(elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


_INPROC = """
import resource, sys, time
from dsmt_rules import check_records
from dsmt_rules.adapters import jsonl, x12
path, kind, memory = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(path, "rb") as f:  # warm: every module a run imports, and the file in the page cache
    f.read()
list(check_records(x12.read_records(open(sys.argv[4], "rb"), name="warm")))
start_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
with open(path, "rb") as f:
    records = x12.read_records(f, name=path) if kind == "x12" else jsonl.read_records(f)
    n = sum(1 for _ in check_records(records, memory=memory * 1024 * 1024))
elapsed = time.perf_counter() - t0
print(elapsed, start_rss, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, n)
"""
"""read+check in a process of its own: the reader's records through the engine, reports consumed
(not written), after a warm-up; prints seconds, peak RSS before and after (KiB), reports."""


def _template() -> tuple[list[str], list[str], list[str]]:
    """(ISA and GS, transaction header, one claim block) from the fixture's first claim."""
    segments = TEMPLATE.read_text().replace("\n", "").rstrip("~").split("~")
    first_hl = next(i for i, s in enumerate(segments) if s.startswith("HL*"))
    second_provider = next(
        i for i, s in enumerate(segments) if s.startswith("HL*3*") and s.endswith("*20*1")
    )
    head = segments[2:first_hl]  # ST .. NM1*40
    block = segments[first_hl:second_provider]  # HL*1 .. DTP*472 of CLEAN-P
    return segments[:2], head, block


def generate(claims: int) -> Path:
    """N claims in one transaction set (written once, reused)."""
    path = DATA / f"x12-837p-{claims}-1st.837"
    if path.exists():
        return path
    DATA.mkdir(exist_ok=True)
    envelope, head, block = _template()
    body: list[str] = []
    for n in range(claims):
        hl = 2 * n
        for seg in block:
            if seg.startswith("HL*1**20*1"):
                seg = f"HL*{hl + 1}**20*1"
            elif seg.startswith("HL*2*1*22*0"):
                seg = f"HL*{hl + 2}*{hl + 1}*22*0"
            elif seg.startswith("CLM*CLEAN-P*"):
                seg = seg.replace("CLM*CLEAN-P*", f"CLM*C{n + 1:07d}*")
            elif seg.startswith("NM1*IL*"):
                seg = re.sub(r"\*MI\*.*$", f"*MI*M{n % 9973:07d}", seg)
            body.append(seg)
    txn = [head[0], *head[1:], *body]
    out = [*envelope, *txn, f"SE*{len(txn) + 1}*{head[0].split('*')[2]}", "GE*1*1"]
    out.append(f"IEA*1*{envelope[0].split('*')[13]}")
    tmp = path.with_suffix(".tmp")
    tmp.write_text("~\n".join(out) + "~\n")
    tmp.rename(path)
    return path


def as_jsonl(path: Path) -> Path:
    """The claim documents the default reader makes of ``path``, as JSON Lines (written once)."""
    target = path.with_suffix(".jsonl")
    if target.exists():
        return target
    from dsmt_rules.adapters.x12 import read_records

    tmp = target.with_suffix(".tmp")
    with path.open("rb") as src, tmp.open("w") as out:
        for record in read_records(src, name=path.name):
            assert record.claim is not None
            out.write(record.claim.model_dump_json() + "\n")
    tmp.rename(target)
    return target


def _median(repeat: int, run: Callable[[], float]) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        times.append(run())
    return statistics.median(times)


def _baseline(data: str) -> float:
    import pyx12.error_handler
    import pyx12.params
    import pyx12.x12context

    logging.getLogger("pyx12").addHandler(logging.NullHandler())
    start = time.perf_counter()
    reader = pyx12.x12context.X12ContextReader(
        pyx12.params.ParamsBase(), pyx12.error_handler.errh_null(), io.StringIO(data)
    )
    for _ in reader.iter_segments():
        pass
    return time.perf_counter() - start


def _cli(path: Path, *options: str) -> tuple[float, int]:
    """(seconds the command took inside its process, peak RSS in KiB) of one ``check`` run."""
    args = ["check", str(path), "--format", "jsonl", "-o", os.devnull, "--no-progress", *options]
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, *args], capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"dsmt-rules check failed ({done.returncode}): {done.stderr[-500:]}")
    _inner, rss = done.stderr.strip().splitlines()[-1].split()
    return wall, int(rss)


def _inproc(path: Path, kind: str, memory: int) -> tuple[float, int, int]:
    """(seconds, peak RSS in KiB, peak RSS before the run) of read+check of ``path``."""
    warm = generate(10)
    done = subprocess.run(
        [sys.executable, "-c", _INPROC, str(path), kind, str(memory), str(warm)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"read+check failed ({done.returncode}): {done.stderr[-500:]}")
    seconds, before, after, _n = done.stdout.split()
    return float(seconds), int(after), int(before)


def _inproc_median(repeat: int, path: Path, kind: str, memory: int) -> tuple[float, int, int]:
    runs = [_inproc(path, kind, memory) for _ in range(repeat)]
    return (
        statistics.median(t for t, _, _ in runs),
        max(r for _, r, _ in runs),
        max(b for _, _, b in runs),
    )


def _cli_median(repeat: int, path: Path, *options: str) -> tuple[float, int]:
    runs = [_cli(path, *options) for _ in range(repeat)]
    return statistics.median(t for t, _ in runs), max(r for _, r in runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--claims", default="1000,10000", help="sizes (1000,10000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each step (3)")
    parser.add_argument(
        "--baseline-repeat", type=int, default=None, help="runs of the pyx12 baseline (--repeat)"
    )
    parser.add_argument("--no-validate", action="store_true", help="skip --x12-validate")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.claims.split(",")]
    base_repeat = args.baseline_repeat or args.repeat
    import pyx12

    print(
        f"python {platform.python_version()}, pyx12 {pyx12.__version__}, "
        f"medians of {args.repeat} (baseline {base_repeat})"
    )
    rows: dict[int, dict[str, float]] = {}
    small_memory = 4
    for n in sizes:
        path = generate(n)
        jsonl = as_jsonl(path)
        text = path.read_text(encoding="latin-1")
        print(f"\n{path.name}: {n} claims in one transaction set, {len(text) / 1e6:.1f} MB")
        base = _median(base_repeat, lambda text=text: _baseline(text))  # type: ignore[misc]
        rc, rss_rc, _ = _inproc_median(args.repeat, path, "x12", 64)
        rc_jsonl, rss_rc_jsonl, _ = _inproc_median(args.repeat, jsonl, "jsonl", 64)
        rc_small, rss_small, start_rss = _inproc_median(args.repeat, path, "x12", small_memory)
        check, rss = _cli_median(args.repeat, path)
        from_jsonl, rss_jsonl = _cli_median(args.repeat, jsonl)
        row = {
            "base": base,
            "read_check": rc,
            "read_check_jsonl": rc_jsonl,
            "rss_read_check": rss_rc,
            "rss_read_check_small": rss_small,
            "rss_start": start_rss,
            "check": check,
            "jsonl": from_jsonl,
            "rss": rss,
        }
        lines = [
            ("pyx12 bare walk (baseline)", base, None),
            ("read+check FILE.837 (in process)", rc, rss_rc),
            ("read+check FILE.jsonl (same claims, in process)", rc_jsonl, rss_rc_jsonl),
            (f"read+check FILE.837, batch memory {small_memory} MiB", rc_small, rss_small),
            ("dsmt-rules check FILE.837 (whole command)", check, rss),
            ("dsmt-rules check FILE.jsonl (whole command)", from_jsonl, rss_jsonl),
        ]
        if not args.no_validate and n == sizes[0]:
            validate, rss_v = _cli(path, "--x12-validate")
            row["validate"] = validate
            lines.append(("dsmt-rules check FILE.837 --x12-validate (1 run)", validate, rss_v))
        for label, seconds, peak in lines:
            mem = f"  peak RSS {peak / 1024:6.0f} MiB" if peak is not None else ""
            print(f"  {label:50s} {seconds:8.2f} s {n / seconds:9.0f} claims/s{mem}")
        print(f"  (peak RSS of the read+check process before the run: {start_rss / 1024:.0f} MiB)")
        print(f"  speed-up of read+check over pyx12's walk:        {base / rc:6.1f}x")
        print(f"  speed-up of the whole command over pyx12's walk: {base / check:6.1f}x")
        print(f"  cost of read+check 837 / JSON Lines:             {rc / rc_jsonl:6.2f}")
        print(f"  cost of the whole command 837 / JSON Lines:      {check / from_jsonl:6.2f}")
        if "validate" in row:
            print(f"  cost of --x12-validate / default command:        {validate / check:6.1f}")
        rows[n] = row
    if len(sizes) > 1:
        small, large = rows[sizes[0]], rows[sizes[-1]]
        scale = sizes[-1] / sizes[0]

        def per_claim(key: str) -> float:
            return large[key] / small[key] / scale

        print(f"\n{sizes[-1]} claims against {sizes[0]}:")
        print(f"  per-claim time, read+check:          {per_claim('read_check'):.2f}")
        print(f"  per-claim time, whole command:       {per_claim('check'):.2f}")
        print(f"  per-claim time, pyx12 walk:          {per_claim('base'):.2f}")
        for key, label in (
            ("rss_read_check_small", f"read+check, batch memory {small_memory} MiB"),
            ("rss_read_check", "read+check, batch memory 64 MiB (default)"),
            ("rss", "whole command (default)"),
        ):
            print(f"  peak RSS ratio, {label + ':':42s} {large[key] / small[key]:.2f}")
    print(json.dumps({str(k): v for k, v in rows.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
