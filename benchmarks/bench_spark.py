"""The Spark engine against the default engine: 200 000 claims with history, local[1] and local[2].

Each run is ``dsmt-rules check FILE --format jsonl --output OUT`` in a fresh process (start-up,
the JVM included, reading, checking, writing), timed by wall clock; the median of ``--repeat``
runs counts. In the same run:

- default: the single-process engine (one core), the baseline;
- local[1], local[2]: ``--engine spark --spark-master local[N]``;
- speedup local[2] / local[1], target >= 1.6;
- claims/s per core of each Spark run against the default engine's;
- the jsonl of every Spark run compared byte for byte with the default engine's.

The batch comes from ``_generate.py`` with 4 claims per beneficiary on average over 2025-2026 (a
fifth of them with a ``history`` array). On a shared machine, run it when it is quiet: Spark's JVM
and its Python workers compete with everything else for the same cores.

    python benchmarks/bench_spark.py                      # 200 000 claims, median of 3
    python benchmarks/bench_spark.py --claims 50000 --repeat 1
"""

from __future__ import annotations

import argparse
import filecmp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "_data"
sys.path.insert(0, str(HERE))

from _generate import write_jsonl  # noqa: E402


def _batch(n: int, seed: int) -> Path:
    path = DATA / f"claims-{n}-s{seed}-b4.jsonl"
    if not path.exists():
        write_jsonl(path, n, seed=seed, per_beneficiary=4.0)
    return path


def _cli(path: Path, out: Path, engine: Sequence[str]) -> float:
    cmd = [sys.executable, "-m", "dsmt_rules", "check", str(path), "--format", "jsonl"]
    cmd += ["--no-progress", "--output", str(out), *engine]
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr.decode(errors='replace')}")
    return seconds


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=2030)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    path = _batch(args.claims, args.seed)
    runs: dict[str, tuple[list[str], int]] = {
        "default": ([], 1),
        "local[1]": (["--engine", "spark", "--spark-master", "local[1]"], 1),
        "local[2]": (["--engine", "spark", "--spark-master", "local[2]"], 2),
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    same: dict[str, bool] = {}
    with tempfile.TemporaryDirectory(prefix="bench-spark-") as tmp:
        outputs = {name: Path(tmp) / f"{i}.jsonl" for i, name in enumerate(runs)}
        for _ in range(args.repeat):  # interleaved, so that a busy spell hits every engine
            for name, (engine, _cores) in runs.items():
                times[name].append(_cli(path, outputs[name], engine))
                if name != "default":
                    same[name] = same.get(name, True) and filecmp.cmp(
                        outputs["default"], outputs[name], shallow=False
                    )
    n = args.claims
    median = {name: statistics.median(ts) for name, ts in times.items()}
    print(f"{n} claims (4 per beneficiary), median of {args.repeat} runs, {os.cpu_count()} cores")
    print(
        f"  {'engine':<10}{'seconds':>9}{'claims/s':>10}{'per core':>10}{'vs default':>12}  jsonl"
    )
    base = n / median["default"]
    for name, (_engine, cores) in runs.items():
        rate = n / median[name]
        per_core = rate / cores
        identical = "" if name == "default" else ("identical" if same[name] else "DIFFERENT")
        print(
            f"  {name:<10}{median[name]:>9.1f}{rate:>10.0f}{per_core:>10.0f}"
            f"{per_core / base:>11.2f}x  {identical}"
        )
    speedup = median["local[1]"] / median["local[2]"]
    verdict = "PASS" if speedup >= 1.6 else "MISS"
    print(f"  speedup local[2] / local[1]: {speedup:.2f} (>= 1.6) {verdict}")
    print("  all runs: " + ", ".join(f"{k} {[round(t, 1) for t in v]}" for k, v in times.items()))
    return 0 if all(same.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
