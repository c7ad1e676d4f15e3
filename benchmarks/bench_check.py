"""Benchmark: parsing vs checking vs the whole CLI, on the same generated claims, in one run.

Run with ``.venv/bin/python benchmarks/bench_check.py [--claims N]`` (default 100 000). See
benchmarks/README.md for what the numbers and ratios mean.
"""

from __future__ import annotations

import argparse
import collections
import gc
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pydantic

from dsmt_rules import Claim, Status, check, ruleset
from dsmt_rules.catalog import CODES

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _generate import write_jsonl

HERE = Path(__file__).resolve().parent
DATA = HERE / "_data"
CHECK_TARGET = 1.0
"""check() may cost at most as much as parsing the same claims."""
CLI_TARGET = 3.0
"""The whole CLI run (start-up, reading, parsing, checking, writing) at most 3x parsing."""
CHUNK = 5_000
"""Claims parsed at a time for the check() timing (bounded memory, a realistic heap)."""

_COLD = """
import sys, time
t0 = time.perf_counter()
from dsmt_rules import Claim, check
with open(sys.argv[1], "rb") as f:
    claims = [Claim.model_validate_json(next(f)) for _ in range(int(sys.argv[2]))]
for c in claims:
    check(c)
print(time.perf_counter() - t0)
"""


def _best_of(repeat: int, run: Callable[[], float]) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        times.append(run())
    return min(times)


def _time_parse(lines: Sequence[bytes]) -> float:
    validate = Claim.model_validate_json
    start = time.perf_counter()
    for line in lines:
        validate(line)
    return time.perf_counter() - start


def _time_check(lines: Sequence[bytes], statuses: collections.Counter[str]) -> float:
    rules = ruleset()
    total = 0.0
    statuses.clear()
    for i in range(0, len(lines), CHUNK):
        claims = [Claim.model_validate_json(line) for line in lines[i : i + CHUNK]]
        gc.collect()
        start = time.perf_counter()
        reports = [check(claim, rules=rules) for claim in claims]
        total += time.perf_counter() - start
        statuses.update(r.status.value for r in reports)
        statuses["findings"] += sum(len(r.findings) for r in reports)
    return total


def _command() -> list[str]:
    """The installed ``dsmt-rules`` script next to this interpreter, else ``python -m dsmt_rules``."""
    script = Path(sys.executable).parent / "dsmt-rules"
    if script.exists():
        return [str(script)]
    found = shutil.which("dsmt-rules")
    return [found] if found else [sys.executable, "-m", "dsmt_rules"]


def _time_command(args: Sequence[str]) -> tuple[float, str | None]:
    """Wall time of one run; an error line when it fails (a status other than 0/1, a traceback)."""
    start = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1) or "Traceback" in proc.stderr:
        tail = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
        return elapsed, f"exit {proc.returncode}: {tail}"
    return elapsed, None


def _cold_start(path: Path, claims: int) -> float | None:
    """Import, parse and check ``claims`` claims in a fresh interpreter (ICD-10-CM load included)."""
    out = subprocess.run(
        [sys.executable, "-c", _COLD, str(path), str(claims)],
        capture_output=True,
        text=True,
        check=False,
    )
    return float(out.stdout) if out.returncode == 0 else None


def _verdict(ratio: float | None, target: float) -> str:
    if ratio is None:
        return "n/a"
    return "PASS" if ratio <= target else "MISS"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--claims", type=int, default=100_000, help="claims to generate (100000)")
    parser.add_argument("--seed", type=int, default=2026, help="generator seed (2026)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of (a) and (b); best counts")
    parser.add_argument("--no-cli", action="store_true", help="skip the CLI measurements")
    opts = parser.parse_args(argv)
    if opts.claims < 1 or opts.repeat < 1:
        parser.error("--claims and --repeat must be at least 1")

    path = DATA / f"claims-{opts.claims}-s{opts.seed}.jsonl"
    if not path.exists():
        start = time.perf_counter()
        write_jsonl(path, opts.claims, seed=opts.seed)
        print(f"generated {path.relative_to(HERE.parent)} in {time.perf_counter() - start:.1f} s")
    lines = path.read_bytes().splitlines()
    n = len(lines)
    size_mb = path.stat().st_size / 1e6

    print(
        f"dsmt-rules benchmark: {n:,} claims ({size_mb:.1f} MB), {len(CODES)} rules; "
        f"Python {platform.python_version()}, pydantic {pydantic.VERSION}, "
        f"{platform.machine()} x {os.cpu_count()} CPUs"
    )
    ruleset()  # compile (and load the profile) outside the timings

    parse = _best_of(opts.repeat, lambda: _time_parse(lines))
    statuses: collections.Counter[str] = collections.Counter()
    checking = _best_of(opts.repeat, lambda: _time_check(lines, statuses))

    cli: float | None = None
    cli_error = start_error = None
    startup = cold = None
    cmd = _command()
    if not opts.no_cli:
        cli_args = [*cmd, "check", str(path), "--format", "jsonl", "--no-progress"]
        cli, cli_error = _time_command([*cli_args, "--output", os.devnull])
        startup = min(_time_command([*cmd, "rules"])[0] for _ in range(3))
        start_error = _time_command([*cmd, "rules"])[1]
        cold = _cold_start(path, min(n, 100))

    def row(label: str, seconds: float | None, note: str, *, rate: bool = True) -> None:
        secs = f"{seconds:8.3f}" if seconds is not None else "       -"
        per = f"{n / seconds:12,.0f}" if seconds and rate else " " * 12
        print(f"  {label:<44}{secs} s{per}   {note}")

    print()
    print(f"  {'step':<44}{'time':>10}{'claims/s':>12}")
    row("(a) parse: Claim.model_validate_json", parse, f"best of {opts.repeat}")
    row("(b) check: check(claim, rules=ruleset())", checking, f"best of {opts.repeat}")
    if opts.no_cli:
        print("  (c) cli: skipped (--no-cli)")
    else:
        row(
            "(c) cli: dsmt-rules check --format jsonl",
            cli,
            "one run, start-up included" + (f"; FAILED {cli_error}" if cli_error else ""),
        )
        row(
            "    start-up: dsmt-rules rules",
            startup,
            "best of 3" + (f"; FAILED {start_error}" if start_error else ""),
            rate=False,
        )
        row(
            f"    cold: import + parse + check {min(n, 100)} claims",
            cold,
            "fresh interpreter, ICD-10-CM code set loaded" if cold is not None else "FAILED",
            rate=False,
        )

    check_ratio = checking / parse
    cli_ratio = cli / parse if cli is not None and cli_error is None else None
    print()
    print(f"  {'ratio':<14}{'value':>7}{'target':>10}")
    print(f"  {'check/parse':<14}{check_ratio:7.2f}{'<= ' + str(CHECK_TARGET):>10}  ", end="")
    print(_verdict(check_ratio, CHECK_TARGET))
    cli_text = f"{cli_ratio:7.2f}" if cli_ratio is not None else "      -"
    print(f"  {'cli/parse':<14}{cli_text}{'<= ' + str(CLI_TARGET):>10}  ", end="")
    print(_verdict(cli_ratio, CLI_TARGET))

    findings = statuses.pop("findings", 0)
    print()
    print(
        "  verdicts: "
        + ", ".join(f"{s.value} {statuses[s.value]:,}" for s in Status)
        + f"; {findings:,} findings"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
