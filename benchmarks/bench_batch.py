"""The command line on batches with history: time and peak memory at 100 000 and 1 000 000 claims.

Run with ``.venv/bin/python benchmarks/bench_batch.py`` (``--big 1000000``, ``--small 100000``;
``--repeat R`` runs of each, the median counts). Each run is ``dsmt-rules check FILE --format jsonl
--output /dev/null`` in a fresh process; its wall time and peak resident memory (``ru_maxrss`` of
that child alone, from ``os.wait4``) are measured. The batches come from ``_generate.py`` with 3
claims per beneficiary on average (a fifth with a ``history`` array). In the same run:

- parse: a streaming ``Claim.model_validate_json`` of the small file, in this process (the
  baseline of cli/parse, target <= 3.0);
- small, big: the CLI at both sizes: peak RSS at the big size <= 256 MiB and <= 1.5x the small
  size's; time per claim at the big size <= 1.2x the small size's;
- one beneficiary: the CLI on 10 000 and 100 000 claims that all share one beneficiary id (a test
  file with a placeholder id, the worst case of batch semantics): time per claim at 100 000 <= 1.2x
  that at 10 000, i.e. linear in the beneficiary's claims.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "_data"
sys.path.insert(0, str(HERE))

from _generate import write_jsonl  # noqa: E402


def _batch(n: int, seed: int = 2029) -> Path:
    path = DATA / f"claims-{n}-s{seed}-b3.jsonl"
    if not path.exists():
        write_jsonl(path, n, seed=seed, per_beneficiary=3.0)
    return path


def _one_beneficiary(n: int) -> Path:
    path = DATA / f"claims-{n}-one-beneficiary.jsonl"
    if not path.exists():
        source = _batch(n)
        with source.open("rb") as src, path.open("w", encoding="utf-8") as out:
            for line in src:
                doc = json.loads(line)
                doc["beneficiary_id"] = "1AA0AA0AA00"
                out.write(json.dumps(doc, separators=(",", ":")) + "\n")
    return path


def _cli(path: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one CLI run on ``path``."""
    cmd = [sys.executable, "-m", "dsmt_rules", "check", str(path), "--format", "jsonl"]
    cmd += ["--no-progress", "--output", os.devnull]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(
            f"dsmt-rules failed on {path}: {proc.stderr.read().decode() if proc.stderr else ''}"
        )
    return seconds, usage.ru_maxrss / 1024


def _parse(path: Path) -> float:
    from dsmt_rules import Claim

    validate = Claim.model_validate_json
    start = time.perf_counter()
    with path.open("rb") as stream:
        for line in stream:
            validate(line)
    return time.perf_counter() - start


def _median(values: Sequence[float]) -> float:
    return statistics.median(values)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-one-beneficiary", action="store_true")
    args = parser.parse_args(argv)
    small, big = _batch(args.small), _batch(args.big)
    rows: dict[str, tuple[int, float, float]] = {}
    parse = _median([_parse(small) for _ in range(args.repeat)])
    for label, path, n in (("small", small, args.small), ("big", big, args.big)):
        runs = [_cli(path) for _ in range(args.repeat)]
        rows[label] = (n, _median([r[0] for r in runs]), _median([r[1] for r in runs]))
    if not args.no_one_beneficiary:
        for label, n in (("one-10k", 10_000), ("one-100k", 100_000)):
            runs = [_cli(_one_beneficiary(n)) for _ in range(args.repeat)]
            rows[label] = (n, _median([r[0] for r in runs]), _median([r[1] for r in runs]))
    print(f"median of {args.repeat} runs; parse (in process) of {args.small} claims: {parse:.2f} s")
    print(f"  {'run':<10}{'claims':>10}{'seconds':>10}{'us/claim':>10}{'peak MiB':>10}")
    for label, (n, seconds, rss) in rows.items():
        print(f"  {label:<10}{n:>10}{seconds:>10.2f}{seconds / n * 1e6:>10.1f}{rss:>10.0f}")

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "MISS"

    n_small, t_small, m_small = rows["small"]
    n_big, t_big, m_big = rows["big"]
    cli_parse = t_small / parse
    per_claim = (t_big / n_big) / (t_small / n_small)
    print(f"  cli/parse at {n_small}: {cli_parse:.2f} (<= 3.0) {verdict(cli_parse <= 3.0)}")
    print(f"  peak RSS at {n_big}: {m_big:.0f} MiB (<= 256) {verdict(m_big <= 256)}")
    ratio = m_big / m_small
    print(f"  peak RSS big/small: {ratio:.2f} (<= 1.5) {verdict(ratio <= 1.5)}")
    print(f"  time per claim big/small: {per_claim:.2f} (<= 1.2) {verdict(per_claim <= 1.2)}")
    if "one-100k" in rows:
        a, b = rows["one-10k"], rows["one-100k"]
        linear = (b[1] / b[0]) / (a[1] / a[0])
        print(
            f"  one beneficiary, per claim 100k/10k: {linear:.2f} (<= 1.2) {verdict(linear <= 1.2)}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
