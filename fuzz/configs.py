"""Fuzzing what configures a run: reference data, the MUE table, profiles, settings files and
ICD-10-CM code files.

Each input is one of those files, mutated from a real one (byte flips, cut, inserted quotes,
brackets, huge numbers, NUL bytes, shuffled or repeated lines), given to ``dsmt-rules check`` with
the option that reads it (``--reference``, ``--mue-file``, ``--profile``, ``--config``,
``--icd10cm-file``) on the examples or the 837P fixture, in process. The invariants, on every
input: nothing escapes (no exception, no traceback on stderr); the exit status is 0, 1 or 2; exit 2
(a configuration error) prints exactly one line, ``dsmt-rules: error: ...``.

``python -m fuzz.configs --inputs N [--seed S]`` runs N inputs and prints the count and the
failures (each failing file is saved under ``fuzz/failures/``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_SETTINGS = b"""[tool.dsmt-rules]
profile = "medicare"
format = "jsonl"
batch-memory = 8
select = ["DS1", "DS2", "DS3"]
ignore = ["DS107"]
fail-on = "error"

[tool.dsmt-rules.severity]
DS206 = "error"
"""
_ICD10 = b"""E119    Type 2 diabetes mellitus without complications
E1165   Type 2 diabetes mellitus with hyperglycemia
E1022   Type 1 diabetes mellitus with diabetic chronic kidney disease
I10     Essential (primary) hypertension
"""
_INSERTS = (
    b'"', b"\n", b",", b"=", b"[", b"]", b"{", b"}", b"'", b"\x00", b"\xff", b"-1", b"1e999",
    b"null", b"9" * 30, b"9" * 5000, b"\xef\xbb\xbf", b"\r\n",
)  # fmt: skip
_INPUTS = ("examples/claims.jsonl", "tests/fixtures/x12/dsmt-837p.837")


def seeds() -> dict[str, bytes]:
    """The file each kind of input is mutated from."""
    fixtures = ROOT / "tests" / "fixtures" / "x12"
    return {
        "reference": (fixtures / "dsmt-reference.jsonl").read_bytes(),
        "mue": (fixtures / "mue-practitioner.csv").read_bytes(),
        "profile": (ROOT / "src" / "dsmt_rules" / "profiles" / "medicare.toml").read_bytes(),
        "settings": _SETTINGS,
        "icd10cm": _ICD10,
    }


def mutate(data: bytes, rng: random.Random) -> bytes:
    """A few byte- and line-level changes to ``data``."""
    buf = bytearray(data)
    for _ in range(rng.randrange(1, 6)):
        if not buf:
            buf = bytearray(b"x")
        i = rng.randrange(len(buf))
        op = rng.randrange(7)
        if op == 0:
            buf[i] = rng.randrange(256)
        elif op == 1:
            del buf[i : i + rng.randrange(1, 40)]
        elif op == 2:
            buf[i:i] = rng.choice(_INSERTS)
        elif op == 3:
            j = rng.randrange(len(buf))
            buf[i:i] = buf[j : j + rng.randrange(1, 80)]
        elif op == 4:
            del buf[i:]
        else:
            lines = bytes(buf).split(b"\n")
            if op == 5:
                rng.shuffle(lines)
            else:
                k = rng.randrange(len(lines))
                lines.insert(k, lines[k])
            buf = bytearray(b"\n".join(lines))
    return bytes(buf)


def _options(kind: str, path: str) -> list[str]:
    return {
        "reference": ["--isolated", "--reference", path],
        "mue": ["--isolated", "--mue-file", path],
        "profile": ["--isolated", "--profile", path],
        "settings": ["--config", path],
        "icd10cm": ["--isolated", "--icd10cm-file", f"2026={path}"],
    }[kind]


def check_one(kind: str, data: bytes, work: str, rng: random.Random) -> str | None:
    """The failure of one input, or None when every invariant holds."""
    from dsmt_rules.cli import main

    path = str(Path(work) / f"{kind}.toml")
    Path(path).write_bytes(data)
    target = rng.choice(_INPUTS)
    out = str(Path(work) / "out.jsonl")
    args = ["check", str(ROOT / target), "--no-progress", "-o", out, *_options(kind, path)]
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            status = main(args)
        except BaseException as exc:  # what the invariant is about: nothing may escape
            return f"exception escaped: {type(exc).__name__}"
    text = err.getvalue()
    if status not in (0, 1, 2):
        return f"exit status {status}"
    if "Traceback" in text:
        return "a traceback on stderr"
    lines = [line for line in text.splitlines() if line.strip()]
    if status == 2 and (len(lines) != 1 or not lines[0].startswith("dsmt-rules: error: ")):
        return f"exit 2 with {len(lines)} lines on stderr"
    return None


def run(inputs: int, seed: int, failures_dir: str) -> int:
    """Run ``inputs`` inputs; print the summary; return the number of failing inputs."""
    start = time.perf_counter()
    files = seeds()
    kinds = sorted(files)
    failed: list[tuple[str, str]] = []
    by_status: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="dsmt-fuzz-configs-") as work:
        for i in range(inputs):
            rng = random.Random(f"configs:{seed}:{i}")
            kind = rng.choice(kinds)
            data = mutate(files[kind], rng)
            problem = check_one(kind, data, work, rng)
            by_status[kind] = by_status.get(kind, 0) + 1
            if problem:
                name = f"config-{kind}-{seed}-{i}"
                Path(failures_dir).mkdir(parents=True, exist_ok=True)
                (Path(failures_dir) / name).write_bytes(data)
                failed.append((name, problem))
    elapsed = time.perf_counter() - start
    kinds_text = ", ".join(f"{k} {v}" for k, v in sorted(by_status.items()))
    print(
        f"fuzz configs: {inputs} inputs ({kinds_text}) in {elapsed:.0f} s, seed {seed}: "
        f"{len(failed)} failures"
    )
    for name, why in failed[:50]:
        print(f"  {name}: {why}")
    return len(failed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--failures", default=str(ROOT / "fuzz" / "failures"))
    args = parser.parse_args(argv)
    return 1 if run(args.inputs, args.seed, args.failures) else 0


if __name__ == "__main__":
    sys.exit(main())
