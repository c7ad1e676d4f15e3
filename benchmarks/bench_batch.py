"""Benchmark: a batch with beneficiary history through ``check_records`` with a re-openable file.

Run with ``.venv/bin/python benchmarks/bench_batch.py [--claims N]`` (default 200 000 claims, from
``_generate.py``: about 2.5 claims per beneficiary, a fifth of them with a ``history`` array).
``--one-beneficiary`` gives every claim the same beneficiary id instead (a test file that uses one
placeholder id): the worst case for batch semantics, every claim history for every other one.

Each mode runs in a fresh interpreter, so that its peak resident memory (``ru_maxrss``) is its own:

- ``read``: read and parse every record (``read_records``), nothing checked: the floor;
- ``single``: ``check_records`` with the history rules ignored: one pass, no ledger (the baseline);
- ``batch``: ``check_records`` with every rule, the file re-opened for the second pass;
- ``index``: pass 1 alone under ``tracemalloc``: the size of the per-beneficiary ledger data;
- ``materialise``: what a one-shot source costs instead: the records of the first ``--sample``
  claims held in a list, under ``tracemalloc``.

Ratios are against ``single`` measured in the same run. See docs/batch.md for the design.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "_data"
HISTORY_RULES = ["DS110", "DS305", "DS310", "DS4", "DS501"]


def _records(path: Path, limit: int | None = None) -> Iterator[object]:
    from dsmt_rules.adapters.jsonl import read_records

    with path.open("rb") as f:
        for n, rec in enumerate(read_records(f)):
            if limit is not None and n >= limit:
                return
            yield rec


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _run_mode(mode: str, path: Path, sample: int) -> dict[str, object]:
    from dsmt_rules import check_records
    from dsmt_rules.batch import BatchIndex
    from dsmt_rules.profiles import load_profile

    base_rss = _rss_mib()
    start = time.perf_counter()
    out: dict[str, object] = {"mode": mode}
    if mode == "read":
        out["records"] = sum(1 for _ in _records(path))
    elif mode in ("single", "batch"):
        ignore = HISTORY_RULES if mode == "single" else None
        statuses: Counter[str] = Counter()
        findings: Counter[str] = Counter()
        for report in check_records(lambda: _records(path), ignore=ignore):  # type: ignore[arg-type, return-value]
            statuses[report.status.value] += 1
            findings.update(f.code for f in report.findings)
        out["records"] = sum(statuses.values())
        out["statuses"] = dict(statuses)
        out["history_findings"] = {
            code: n
            for code, n in sorted(findings.items())
            if code in ("DS110", "DS305", "DS310", "DS401", "DS402", "DS403", "DS501")
        }
    elif mode == "index":
        index = BatchIndex(load_profile("medicare"))
        tracemalloc.start()
        for seq, rec in enumerate(_records(path)):
            claim = rec.claim  # type: ignore[attr-defined]
            if claim is not None:
                index.add(seq, claim)
        size, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out.update(
            records=index.claims,
            services=index.services,
            beneficiaries=index.beneficiaries,
            index_bytes=size,
        )
    elif mode == "materialise":
        tracemalloc.start()
        held = list(_records(path, sample))
        size, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out.update(records=len(held), held_bytes=size)
    else:  # pragma: no cover
        raise SystemExit(f"unknown mode {mode}")
    out["seconds"] = time.perf_counter() - start
    out["peak_rss_mib"] = _rss_mib()
    out["start_rss_mib"] = base_rss
    return out


PLACEHOLDER = "TEST-BENEFICIARY"
"""The beneficiary id of every claim with ``--one-beneficiary``."""


def _one_beneficiary(source: Path, target: Path) -> None:
    """The claims of ``source`` with every beneficiary id replaced by :data:`PLACEHOLDER`."""
    tmp = target.with_suffix(".tmp")
    with source.open("rb") as src, tmp.open("w", encoding="utf-8", newline="\n") as out:
        for line in src:
            doc = json.loads(line)
            doc["beneficiary_id"] = PLACEHOLDER
            out.write(json.dumps(doc, separators=(",", ":")))
            out.write("\n")
    tmp.replace(target)


def _spawn(mode: str, path: Path, sample: int) -> dict[str, object]:
    cmd = [sys.executable, __file__, "--mode", mode, "--file", str(path), "--sample", str(sample)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--sample", type=int, default=20_000, help="claims held by 'materialise'")
    parser.add_argument(
        "--one-beneficiary",
        action="store_true",
        help=f"give every claim the beneficiary id {PLACEHOLDER!r} (the worst case for batches)",
    )
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.mode:
        print(json.dumps(_run_mode(args.mode, Path(args.file), args.sample)))
        return

    sys.path.insert(0, str(HERE))
    from _generate import write_jsonl

    path = DATA / f"claims-{args.claims}-s{args.seed}.jsonl"
    if not path.exists():
        print(f"generating {path.name} ...", flush=True)
        write_jsonl(path, args.claims, seed=args.seed)
    if args.one_beneficiary:
        mixed, path = path, DATA / f"claims-{args.claims}-s{args.seed}-one-beneficiary.jsonl"
        if not path.exists():
            print(f"writing {path.name} (every claim of {PLACEHOLDER}) ...", flush=True)
            _one_beneficiary(mixed, path)
    size_mib = path.stat().st_size / 2**20
    print(f"{path.name}: {args.claims} claims, {size_mib:.0f} MiB; python {sys.version.split()[0]}")

    results = {m: _spawn(m, path, args.sample) for m in ("read", "single", "batch", "index")}
    results["materialise"] = _spawn("materialise", path, args.sample)

    single = float(results["single"]["seconds"])  # type: ignore[arg-type]
    print(f"{'mode':<8} {'seconds':>8} {'claims/s':>9} {'peak RSS':>9} {'vs single':>9}")
    for mode in ("read", "single", "batch"):
        r = results[mode]
        secs = float(r["seconds"])  # type: ignore[arg-type]
        n = int(r["records"])  # type: ignore[call-overload]
        rss = float(r["peak_rss_mib"])  # type: ignore[arg-type]
        print(f"{mode:<8} {secs:8.1f} {n / secs:9.0f} {rss:7.0f} MiB {secs / single:8.2f}x")
    idx = results["index"]
    services = int(idx["services"])  # type: ignore[call-overload]
    claims = int(idx["records"])  # type: ignore[call-overload]
    index_bytes = int(idx["index_bytes"])  # type: ignore[call-overload]
    print(
        f"ledger index (pass 1): {claims} claims, {idx['beneficiaries']} beneficiaries, "
        f"{services} services: {index_bytes / 2**20:.1f} MiB = {index_bytes / services:.0f} "
        f"B/service, {index_bytes / claims:.0f} B/claim "
        f"(~{index_bytes / claims * 1e6 / 2**30:.2f} GiB per million claims)"
    )
    mat = results["materialise"]
    held = int(mat["held_bytes"])  # type: ignore[call-overload]
    held_n = int(mat["records"])  # type: ignore[call-overload]
    print(
        f"one-shot source instead: {held / held_n / 1024:.1f} KiB/claim held "
        f"(~{held / held_n * 1e6 / 2**30:.1f} GiB per million claims)"
    )
    print(f"batch statuses: {results['batch']['statuses']}")
    print(f"history findings: {results['batch']['history_findings']}")
    print(f"cpu count: {os.cpu_count()}")


if __name__ == "__main__":
    main()
