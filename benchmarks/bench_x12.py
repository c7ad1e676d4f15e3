"""Benchmark: X12 837P input in claims/s, against pyx12's bare parse of the same file, in one run.

Run with ``.venv/bin/python benchmarks/bench_x12.py [--claims N]`` (default 5 000; needs the x12
extra). The file is generated once into ``benchmarks/_data/`` (git-ignored): N claims in 837P
transaction sets of at most 1 000 claims (a common trading-partner limit; the guide's is 5 000),
built from the clean claim of tests/fixtures/x12/dsmt-837p.837 with fresh HL numbers, CLM01 and
subscriber ids; pyx12 finds no error in it.

What is timed (best of ``--repeat`` runs each, same file, same process):

- (a) **baseline**: pyx12's own streaming parse, ``X12ContextReader.iter_segments()`` over every
  segment: tokenizing plus walking the implementation guide's loop map, no element validation and
  no mapping. This is the least any 837 reader built on pyx12 does.
- (b) **read**: ``dsmt_rules.adapters.x12.read_records``: the same parse and map walk, pyx12's
  element validation (every structural error becomes DS003), the mapping to claim documents and
  their pydantic validation.
- (c) **read + check**: (b) and ``check_records`` with every rule (batch history included).
- for scale, pyx12's full validator ``x12n_document`` (the 999 path) on the same file.

Each line shows seconds and claims per second; the ratios are (b)/(a) and (c)/(a).
"""

from __future__ import annotations

import argparse
import gc
import io
import logging
import platform
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyx12
import pyx12.error_handler
import pyx12.params
import pyx12.x12context
import pyx12.x12n_document

from dsmt_rules import check_records, ruleset
from dsmt_rules.adapters.x12 import read_records

HERE = Path(__file__).resolve().parent
DATA = HERE / "_data"
TEMPLATE = HERE.parent / "tests" / "fixtures" / "x12" / "dsmt-837p.837"
PER_TRANSACTION = 1_000

logging.getLogger("pyx12").addHandler(logging.NullHandler())


def _template() -> tuple[list[str], list[str], list[str]]:
    """(envelope head, one claim block, trailer) from the fixture's first claim (CLEAN-P)."""
    segments = TEMPLATE.read_text().replace("\n", "").rstrip("~").split("~")
    first_hl = next(i for i, s in enumerate(segments) if s.startswith("HL*"))
    second_provider = next(
        i for i, s in enumerate(segments) if s.startswith("HL*3*") and s.endswith("*20*1")
    )
    head = segments[2:first_hl]  # ST .. NM1*40
    block = segments[first_hl:second_provider]  # HL*1 .. DTP*472 of CLEAN-P
    return segments[:2], head, block


def generate(claims: int) -> Path:
    path = DATA / f"x12-837p-{claims}.837"
    if path.exists():
        return path
    DATA.mkdir(exist_ok=True)
    envelope, head, block = _template()
    out: list[str] = list(envelope)
    transactions = 0
    for start in range(0, claims, PER_TRANSACTION):
        transactions += 1
        st02 = f"{transactions:04d}"
        body: list[str] = []
        for n in range(start, min(start + PER_TRANSACTION, claims)):
            hl = 2 * (n - start)
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
        txn = [head[0].replace("*0001*", f"*{st02}*"), *head[1:], *body]
        out.extend(txn)
        out.append(f"SE*{len(txn) + 1}*{st02}")
    out.append(f"GE*{transactions}*1")
    out.append(f"IEA*1*{envelope[0].split('*')[13]}")
    path.write_text("~\n".join(out) + "~\n")
    return path


def _best(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def _baseline(data: bytes) -> int:
    reader = pyx12.x12context.X12ContextReader(
        pyx12.params.ParamsBase(), pyx12.error_handler.errh_null(), io.StringIO(data.decode())
    )
    return sum(1 for _ in reader.iter_segments())


def _read(data: bytes) -> int:
    return len(list(read_records(io.BytesIO(data), name="bench.837")))


def _read_check(data: bytes) -> int:
    records = list(read_records(io.BytesIO(data), name="bench.837"))
    return len(list(check_records(records, rules=ruleset())))


def _validator(data: bytes) -> bool:
    src = io.StringIO(data.decode())
    return bool(pyx12.x12n_document.x12n_document(pyx12.params.ParamsBase(), src, None, None))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--claims", type=int, default=5_000, help="claims to generate (5000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each step (3)")
    args = parser.parse_args(argv)
    path = generate(args.claims)
    data = path.read_bytes()
    n = args.claims
    print(
        f"python {platform.python_version()}, pyx12 {pyx12.__version__}; {path.name}: "
        f"{n} claims, {len(data) / 1e6:.1f} MB"
    )
    records = _read(data)
    if records != n:
        print(f"error: read {records} records, expected {n}", file=sys.stderr)
        return 1
    base = _best(args.repeat, lambda: _baseline(data))
    read = _best(args.repeat, lambda: _read(data))
    both = _best(args.repeat, lambda: _read_check(data))
    full = _best(1, lambda: _validator(data))
    rows = [
        ("(a) pyx12 bare parse (baseline)", base),
        ("(b) read_records (parse, validate, map)", read),
        ("(c) read_records + check_records", both),
        ("    pyx12 x12n_document (full 999 validation)", full),
    ]
    for label, seconds in rows:
        print(f"{label:48s} {seconds:8.2f} s  {n / seconds:9.0f} claims/s")
    print(f"ratio read/baseline  (b)/(a) = {read / base:.2f}")
    print(f"ratio check/baseline (c)/(a) = {both / base:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
