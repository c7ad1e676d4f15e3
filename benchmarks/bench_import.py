"""What dsmt-rules adds to ``import hypothesis`` (its entry point runs at every import).

Measured in fresh interpreters, medians of several runs, in this run: ``import hypothesis`` as
installed (our entry point runs) against the same with plugins off (``HYPOTHESIS_NO_PLUGINS``,
Hypothesis's own switch, so our hook does not run). Goal: at most 20 ms more.

    python benchmarks/bench_import.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

_GOAL_MS = 20.0


def _once(no_plugins: bool) -> float:
    env = dict(os.environ)
    env.pop("HYPOTHESIS_NO_PLUGINS", None)
    if no_plugins:
        env["HYPOTHESIS_NO_PLUGINS"] = "1"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import hypothesis"], env=env, check=True)
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with_hook: list[float] = []
    without: list[float] = []
    for _ in range(args.runs):  # interleaved, so that machine noise hits both alike
        with_hook.append(_once(False))
        without.append(_once(True))
    a, b = statistics.median(with_hook), statistics.median(without)
    extra = a - b
    verdict = "PASS" if extra <= _GOAL_MS else "MISS"
    print(f"import hypothesis: {a:.1f} ms with our entry point, {b:.1f} ms without (plugins off)")
    print(
        f"dsmt-rules adds {extra:+.1f} ms (median of {args.runs}); goal <= {_GOAL_MS:.0f} ms: {verdict}"
    )


if __name__ == "__main__":
    main()
