"""`import dsmt_rules` stays light: no optional or heavy package is imported with it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

OPTIONAL = (
    "click",
    "tqdm",
    "hypothesis",
    "pyx12",
    "fhir",
    "pyspark",
    "pandas",
    "simple_icd_10_cm",
    "rich",
)
"""Top-level packages that only the CLI, the adapters, the strategies or the rules that need them
may import, and only when they run."""

_PROBE = """
import json, sys
before = set(sys.modules)
import {module}
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def _imported_by(module: str) -> set[str]:
    """Top-level names of the modules that importing ``module`` loads, in a fresh interpreter."""
    result = subprocess.run(
        [sys.executable, "-c", _PROBE.format(module=module)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return {name.partition(".")[0] for name in json.loads(result.stdout)}


@pytest.mark.parametrize("module", ["dsmt_rules", "dsmt_rules.engine", "dsmt_rules.adapters.jsonl"])
def test_importing_the_library_loads_no_optional_package(module: str) -> None:
    loaded = _imported_by(module)

    assert "dsmt_rules" in loaded
    assert sorted(loaded & set(OPTIONAL)) == []


def test_importtime_report_names_no_optional_package() -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import dsmt_rules"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    # stderr lines: "import time: self [us] | cumulative | imported package"
    names = {
        line.rsplit("|", 1)[-1].strip().partition(".")[0]
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }

    assert "dsmt_rules" in names
    assert sorted(names & set(OPTIONAL)) == []


def test_import_hypothesis_loads_only_our_tiny_hook() -> None:
    """The Hypothesis entry point runs at every ``import hypothesis``: it must load nothing of ours
    but the package's lazy ``__init__`` and the hook (benchmarks/bench_import.py times it)."""
    loaded = subprocess.run(
        [sys.executable, "-c", _PROBE.format(module="hypothesis")],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    ours = {m for m in json.loads(loaded.stdout) if m.partition(".")[0] == "dsmt_rules"}
    assert ours == {"dsmt_rules", "dsmt_rules._hypothesis_hook"}
    assert "pydantic" not in {m.partition(".")[0] for m in json.loads(loaded.stdout)}


@pytest.mark.parametrize(
    "script",
    [
        "import dsmt_rules.strategies as s; s.claims()",
        "from dsmt_rules.strategies import claims; claims()",
        "import hypothesis, dsmt_rules.strategies",
        "import dsmt_rules.models, hypothesis.strategies as st, dsmt_rules as d;"
        " st.from_type(d.Claim).example()",
        "import hypothesis.strategies as st, dsmt_rules as d; st.from_type(d.Claim).example()",
    ],
)
def test_strategies_import_first_or_after_hypothesis_in_a_fresh_interpreter(script: str) -> None:
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120, capture_output=True)
