"""Run the CLI over a fixed corpus and keep every report, to compare two versions byte for byte.

A refactor or a speed change must not change a report. This script runs ``dsmt-rules check`` (as
``PYTHON -m dsmt_rules``) over the examples, the test fixtures, the third-party 837 files and
generated batches with history (clean, shuffled, and with unreadable records mixed in), in every
output format for the examples, and writes each output to a folder. ``compare`` then says which
outputs differ::

    python scripts/report_corpus.py save /tmp/before --python /path/to/old/.venv/bin/python
    python scripts/report_corpus.py save /tmp/after
    python scripts/report_corpus.py compare /tmp/before /tmp/after
    python scripts/report_corpus.py compare /tmp/before /tmp/after --strip ctx,fix

``--strip`` drops keys of each finding before comparing JSON outputs (for a change that adds a
documented field to the report, and must change nothing else). Every run is from the repository
root with the same relative paths, so ``source`` strings compare too. The generated batches come
from ``benchmarks/_generate.py`` (deterministic: the same sizes and seed give the same files).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "_data"
THIRD_PARTY = ROOT.parent / "shared" / "fixtures" / "x12-third-party"

sys.path.insert(0, str(ROOT / "benchmarks"))

_BAD_LINES = (
    b"not json at all",
    b'{"claim_id": "C-BAD-1", "form": "professional"',
    b'{"claim_id": "C-BAD-2", "form": "professional", "unknown_field": 1}',
    b"[1, 2, 3]",
    b'{"claim_id": "C-BAD-3", "form": "professional", "beneficiary_id": "X", '
    b'"billing_provider": {"npi": "1234567893"}, "lines": [{"line_id": "1", "hcpcs": "G0109", '
    b'"units": "2", "service_date": "2026-02-30"}]}',
)


def _batch(n: int, seed: int, per_beneficiary: float) -> Path:
    from _generate import write_jsonl

    tag = "" if per_beneficiary == 2.5 else f"-b{per_beneficiary:g}"
    path = DATA / f"claims-{n}-s{seed}{tag}.jsonl"
    if not path.exists():
        write_jsonl(path, n, seed=seed, per_beneficiary=per_beneficiary)
    return path


def _shuffled(path: Path) -> Path:
    out = path.with_name(path.stem + "-shuffled.jsonl")
    if not out.exists():
        lines = path.read_bytes().splitlines()
        random.Random(7).shuffle(lines)
        out.write_bytes(b"\n".join(lines) + b"\n")
    return out


def _with_bad_records(path: Path, every: int = 997) -> Path:
    out = path.with_name(path.stem + "-bad.jsonl")
    if not out.exists():
        lines = path.read_bytes().splitlines()
        mixed: list[bytes] = []
        for i, line in enumerate(lines):
            if i % every == 0:
                mixed.append(_BAD_LINES[(i // every) % len(_BAD_LINES)])
            mixed.append(line)
        out.write_bytes(b"\n".join(mixed) + b"\n")
    return out


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def cases(claims: int, big: int) -> Iterator[tuple[str, list[str]]]:
    """(name, arguments of ``dsmt-rules``) for every output the corpus keeps."""
    for fmt in ("jsonl", "json", "text", "csv", "sarif"):
        yield f"examples.{fmt}", ["check", "examples/claims.jsonl", "--format", fmt]
    fixtures = ROOT / "tests" / "fixtures"
    x12_ref = "tests/fixtures/x12/dsmt-reference.jsonl"
    for name in ("dsmt-837p.837", "dsmt-837i.837", "broken-837p.837"):
        path = f"tests/fixtures/x12/{name}"
        yield f"x12-{name}.jsonl", ["check", path, "--format", "jsonl"]
        yield f"x12-{name}-ref.jsonl", ["check", path, "--reference", x12_ref, "--format", "jsonl"]
    yield (
        "x12-dsmt-837p-mue.jsonl",
        [
            "check",
            "tests/fixtures/x12/dsmt-837p.837",
            "--reference",
            x12_ref,
            "--mue-file",
            "tests/fixtures/x12/mue-practitioner.csv",
            "--format",
            "jsonl",
        ],
    )
    yield (
        "fhir-bundle.jsonl",
        ["check", "tests/fixtures/fhir/dsmt-bundle.json", "--format", "jsonl"],
    )
    yield (
        "fhir-bundle-ref.jsonl",
        [
            "check",
            "tests/fixtures/fhir/dsmt-bundle.json",
            "--reference",
            "tests/fixtures/fhir/dsmt-reference.jsonl",
            "--format",
            "jsonl",
        ],
    )
    del fixtures
    if THIRD_PARTY.is_dir():
        for path in sorted(p for p in THIRD_PARTY.rglob("*") if p.is_file()):
            if path.name in ("LICENSE", "README.md"):
                continue
            yield (
                f"third-party-{path.parent.name}-{path.name}.jsonl",
                [
                    "check",
                    _rel(path),
                    "--format",
                    "jsonl",
                ],
            )
    if claims:
        batch = _batch(claims, 2026, 2.5)
        heavy = _batch(claims, 2027, 4.0)
        for label, path in (
            ("batch", batch),
            ("batch-shuffled", _shuffled(batch)),
            ("batch-bad", _with_bad_records(batch)),
            ("batch-b4", heavy),
            ("batch-b4-shuffled", _shuffled(heavy)),
        ):
            yield f"{label}-{claims}.jsonl", ["check", _rel(path), "--format", "jsonl"]
        yield f"batch-{claims}.csv", ["check", _rel(batch), "--format", "csv"]
        yield (
            f"batch-{claims}-no-history-rules.jsonl",
            ["check", _rel(batch), "--format", "jsonl", "--ignore", "DS110,DS305,DS310,DS4,DS501"],
        )
    if big:
        path = _batch(big, 2028, 3.0)
        yield f"big-{big}.jsonl", ["check", _rel(path), "--format", "jsonl"]


def save(out: Path, python: str, claims: int, big: int) -> int:
    out.mkdir(parents=True, exist_ok=True)
    for name, args in cases(claims, big):
        cmd = [python, "-m", "dsmt_rules", *args, "--no-progress"]
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, check=False)
        (out / name).write_bytes(done.stdout)
        (out / (name + ".status")).write_text(f"{done.returncode}\n{done.stderr.decode()}")
        print(f"{name}: exit {done.returncode}, {len(done.stdout)} bytes", flush=True)
    return 0


def _strip(data: bytes, name: str, keys: Sequence[str]) -> bytes:
    if not keys or not name.endswith((".jsonl", ".json")):
        return data

    def clean(report: dict[str, object]) -> dict[str, object]:
        findings = report.get("findings")
        if isinstance(findings, list):
            for finding in findings:
                for key in keys:
                    finding.pop(key, None)
        return report

    try:
        if name.endswith(".jsonl"):
            lines = [
                json.dumps(clean(json.loads(line)), ensure_ascii=False)
                for line in data.splitlines()
            ]
            return ("\n".join(lines) + "\n").encode() if lines else b""
        return json.dumps([clean(r) for r in json.loads(data)], ensure_ascii=False).encode()
    except ValueError:
        return data


def compare(a: Path, b: Path, keys: Sequence[str]) -> int:
    names = sorted({p.name for p in a.iterdir()} | {p.name for p in b.iterdir()})
    differ = 0
    total = 0
    for name in names:
        pa, pb = a / name, b / name
        if not pa.exists() or not pb.exists():
            print(f"ONLY IN {'B' if not pa.exists() else 'A'}: {name}")
            differ += 1
            continue
        total += 1
        da, db = pa.read_bytes(), pb.read_bytes()
        if name.endswith(".status"):
            da, db = da.splitlines()[0], db.splitlines()[0]  # the exit status; stderr may differ
        else:
            da, db = _strip(da, name, keys), _strip(db, name, keys)
        if da != db:
            differ += 1
            print(f"DIFFER: {name}")
    digest = hashlib.sha256()
    for name in names:
        if (a / name).exists() and not name.endswith(".status"):
            digest.update((a / name).read_bytes())
    print(f"{total} outputs compared, {differ} differ (corpus sha256 {digest.hexdigest()[:16]})")
    return 1 if differ else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("save")
    s.add_argument("out", type=Path)
    s.add_argument("--python", default=str(ROOT / ".venv" / "bin" / "python"))
    s.add_argument("--claims", type=int, default=50_000)
    s.add_argument("--big", type=int, default=0, help="also a batch of this many claims")
    c = sub.add_parser("compare")
    c.add_argument("a", type=Path)
    c.add_argument("b", type=Path)
    c.add_argument("--strip", default="", help="finding keys to drop before comparing JSON")
    args = parser.parse_args(argv)
    if args.command == "save":
        return save(args.out, args.python, args.claims, args.big)
    keys = [k for k in args.strip.split(",") if k]
    return compare(args.a, args.b, keys)


if __name__ == "__main__":
    raise SystemExit(main())
