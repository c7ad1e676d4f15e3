"""Build ``src/dsmt_rules/data/icd10cm-history.json``: the ICD-10-CM releases before the shipped one.

dsmt-rules judges a diagnosis against the ICD-10-CM release in force on the line's date of service
(45 CFR 162.1002). The shipped release is the code list of the installed simple-icd-10-cm (April
2026, fiscal year 2026). Earlier releases come from earlier versions of the same package, each
kept as its difference from the shipped list, so the data file stays small:

- simple-icd-10-cm 1.4.0: ``code-list-April-2025.txt``, fiscal year 2025 (2024-10-01 to 2025-09-30).

and, on top, the diabetes-range additions with their true effective dates (RULES.md), which hold
whatever release a date falls in: E10.A0, E10.A1, E10.A2 from 2024-10-01 (FY2025) and E11.A (with
its children) from 2025-10-01 (FY2026). A date before the earliest release is judged against it,
less every addition not yet in force.

Reproducible: ``python scripts/gen_icd10cm_history.py`` downloads the pinned wheels with pip (or
reads them from ``--wheels DIR``) and writes the same file byte for byte; ``--check`` fails when the
committed file differs (CI does not run it: it needs the package index).
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "src" / "dsmt_rules" / "data" / "icd10cm-history.json"

SHIPPED = ("1.5.0", "code-list-April-2026.txt", "FY2026", "2025-10-01", "2026-09-30")
EARLIER = [("1.4.0", "code-list-April-2025.txt", "FY2025", "2024-10-01", "2025-09-30")]
ADDITIONS = {
    "E10A0": "2024-10-01",
    "E10A1": "2024-10-01",
    "E10A2": "2024-10-01",
    "E11A": "2025-10-01",
}
"""Diabetes-range codes and the day they came into force (CMS ICD-10-CM addenda, RULES.md)."""


def _wheel(version: str, folder: Path) -> Path:
    found = sorted(folder.glob(f"simple_icd_10_cm-{version}-*.whl"))
    if found:
        return found[0]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "-q",
            f"simple-icd-10-cm=={version}",
            "-d",
            str(folder),
        ],
        check=True,
    )
    return sorted(folder.glob(f"simple_icd_10_cm-{version}-*.whl"))[0]


def _codes(wheel: Path, name: str) -> tuple[set[str], set[str]]:
    """Every code of a package's code list, and the billable (leaf) ones: as ``_icd10`` reads it."""
    with zipfile.ZipFile(wheel) as archive:
        member = next(n for n in archive.namelist() if n.endswith(f"data/{name}"))
        text = io.TextIOWrapper(archive.open(member), encoding="utf-8").read()
    lines = [line.partition(" ")[0].replace(".", "") for line in text.splitlines()]
    codes = sorted({c for c in lines if c and "-" not in c and not c.isdigit()})
    billable = {c for c, nxt in zip(codes, [*codes[1:], ""], strict=True) if not nxt.startswith(c)}
    return set(codes), billable


def build(wheels: Path) -> str:
    version, name, label, start, end = SHIPPED
    shipped, shipped_billable = _codes(_wheel(version, wheels), name)
    releases = []
    for version, name, label, start, end in EARLIER:
        codes, billable = _codes(_wheel(version, wheels), name)
        releases.append(
            {
                "name": label,
                "list": name,
                "package": f"simple-icd-10-cm {version}",
                "effective": start,
                "until": end,
                "codes_added": sorted(codes - shipped),
                "codes_removed": sorted(shipped - codes),
                "billable_added": sorted(billable - shipped_billable),
                "billable_removed": sorted(shipped_billable - billable),
            }
        )
    data = {
        "about": "ICD-10-CM releases before the shipped one, as differences from it "
        "(scripts/gen_icd10cm_history.py)",
        "shipped": {
            "name": SHIPPED[2],
            "list": SHIPPED[1],
            "package": f"simple-icd-10-cm {SHIPPED[0]}",
            "effective": SHIPPED[3],
            "until": SHIPPED[4],
        },
        "earlier": releases,
        "additions": ADDITIONS,
    }
    return json.dumps(data, indent=1, sort_keys=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", type=Path, help="a folder with the wheels (else downloaded)")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        text = build(args.wheels or Path(tmp))
    if args.check:
        if OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is stale: run python scripts/gen_icd10cm_history.py", file=sys.stderr)
            return 1
        print(f"{OUT.relative_to(ROOT)} is up to date")
        return 0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
