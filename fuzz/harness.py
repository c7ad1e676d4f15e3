"""Fuzzing the whole command: hostile inputs in, the batch guarantees checked on every one.

Each input is a file made by a structure-aware mutator from a seed (claim documents as JSON Lines
or a JSON array, X12 837P/837I files, FHIR Bundles) or plain random bytes, with sentinel PHI values
planted in every seed (beneficiary id; X12 NM1*IL / NM1*QC names and ids, DMG birth date, N3/N4
address; FHIR Patient name, identifier and birthDate). It is checked by ``dsmt-rules check``,
in process, and these invariants are asserted on every input:

- no exception escapes, and the exit status is 0 or 1 (2 is an I/O or usage error, which a
  readable file never is; 3 is a defect of ours, DS005: a failure of the harness to report);
- one result per record: for JSON Lines exactly one report per non-blank line; for a JSON
  document or FHIR Bundle one per Claim (at least one); for an 837 at least one per CLM segment;
  at least one for any non-blank input;
- every report has a status, and the JSON Lines output parses;
- the output is byte-identical when the same input is checked again;
- no sentinel PHI value appears in the output, in any format, or on stderr.

``python -m fuzz.harness --inputs N [--seed S] [--workers W]`` runs N inputs and prints the
count, the rate and the failures (each failing input is saved under ``fuzz/failures/``).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import multiprocessing
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# --- sentinel PHI ------------------------------------------------------------------------------

BENEFICIARY = "9QQ9QQ9QQ97"
"""A valid-looking MBI planted as every seed's beneficiary id (JSON, X12 NM1*IL09, FHIR)."""
LAST, FIRST = "ZZPHILASTNAME", "ZZPHIFIRSTNAME"
PATIENT_LAST, PATIENT_FIRST = "ZZPHIPATLAST", "ZZPHIPATFIRST"
PATIENT_ID = "ZZPHIPATIENTID"
STREET, CITY = "ZZPHISTREET", "ZZPHICITY"
BIRTH = "19010203"
SENTINELS = (
    BENEFICIARY,
    LAST,
    FIRST,
    PATIENT_LAST,
    PATIENT_FIRST,
    PATIENT_ID,
    STREET,
    CITY,
    BIRTH,
    "1901-02-03",
)
"""Values that must never appear in any output or on stderr."""

FORMATS = ("jsonl", "json", "csv", "sarif", "text")


# --- seeds ---------------------------------------------------------------------------------------


def _json_seeds() -> list[dict[str, Any]]:
    from dsmt_rules.rules._examples import BASE_CLAIM

    docs: list[dict[str, Any]] = []
    for line in (ROOT / "examples" / "claims.jsonl").read_text().splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict):
            docs.append(doc)
    docs.append(copy.deepcopy(BASE_CLAIM))
    for doc in docs:
        doc["beneficiary_id"] = BENEFICIARY
    return docs


def _x12_seeds() -> list[bytes]:
    out = []
    for path in sorted((ROOT / "tests" / "fixtures" / "x12").glob("*.837")):
        text = path.read_text(encoding="latin-1")
        out.append(_plant_x12(text).encode("latin-1"))
    return out


def _plant_x12(text: str) -> str:
    """Sentinel PHI in every NM1*IL / NM1*QC, DMG, and the subscriber's N3/N4."""
    if len(text) < 106 or not text.startswith("ISA"):
        return text
    element, terminator = text[3], text[105]
    segments = text.split(terminator)
    after_subscriber = False
    for i, seg in enumerate(segments):
        parts = seg.strip().split(element)
        sid = parts[0]
        if sid == "NM1" and len(parts) > 1 and parts[1] in ("IL", "QC"):
            patient = parts[1] == "QC"
            while len(parts) < 10:
                parts.append("")
            parts[3] = PATIENT_LAST if patient else LAST
            parts[4] = PATIENT_FIRST if patient else FIRST
            if not patient:
                parts[8], parts[9] = "MI", BENEFICIARY
            else:
                parts[8], parts[9] = "MI", PATIENT_ID
            after_subscriber = True
        elif sid == "DMG" and len(parts) > 2:
            parts[2] = BIRTH
        elif sid == "N3" and after_subscriber and len(parts) > 1:
            parts[1] = STREET
        elif sid == "N4" and after_subscriber and len(parts) > 1:
            parts[1] = CITY
            after_subscriber = False
        elif sid in ("HL", "CLM"):
            after_subscriber = False
        else:
            continue
        lead = seg[: len(seg) - len(seg.lstrip())]
        segments[i] = lead + element.join(parts)
    return terminator.join(segments)


def _fhir_seeds() -> list[dict[str, Any]]:
    out = []
    for path in sorted((ROOT / "tests" / "fixtures" / "fhir").glob("*.json")):
        doc = json.loads(path.read_text())
        _plant_fhir(doc)
        out.append(doc)
    return out


def _plant_fhir(value: Any) -> None:
    if isinstance(value, dict):
        if value.get("resourceType") == "Patient":
            value["name"] = [{"family": PATIENT_LAST, "given": [PATIENT_FIRST]}]
            value["birthDate"] = "1901-02-03"
            value["address"] = [{"line": [STREET], "city": CITY}]
            ids = value.get("identifier") or [{}]
            for ident in ids:
                ident["value"] = BENEFICIARY
            value["identifier"] = ids
        for v in value.values():
            _plant_fhir(v)
    elif isinstance(value, list):
        for v in value:
            _plant_fhir(v)


# --- mutators ------------------------------------------------------------------------------------

_ODD_STRINGS = [
    "",
    " ",
    "0001-01-01",
    "9999-12-31",
    "2026-02-30",
    "0000-00-00",
    "99991231",
    '=HYPERLINK("http://x")',
    "+1",
    "-1",
    "@SUM(A1)",
    "\ud800",
    "\u0000",
    "\u202e",
    "G0109",
    "G0108",
    "E11.65",
    "A" * 70000,
    "1" * 30,
    "ÿ" * 5,
    "~*:^",
]


def _odd_value(rng: random.Random, depth: int = 0) -> Any:
    pick = rng.randrange(12)
    if pick == 0:
        return None
    if pick == 1:
        return rng.choice([0, -1, 1, 2**31, -(2**63), 10**30, 10**4000, 3.5, float("1e308")])
    if pick == 2:
        return rng.choice([True, False])
    if pick == 3 and depth < 3:
        return [_odd_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if pick == 4 and depth < 3:
        return {rng.choice(["a", "claim_id", "lines", "x"]): _odd_value(rng, depth + 1)}
    if pick == 5:
        n = rng.choice([10, 30, 1200, 5000])
        return json.loads("[" * n + "]" * n) if n < 100 else _Deep(n)
    if pick == 6:
        return _Raw(rng.choice(["9" * 5000, "-" + "9" * 4301, "1e999", "-1e-999"]))
    return rng.choice(_ODD_STRINGS)


class _Raw:
    """A JSON number ``json`` cannot make (more digits than Python turns into an int, or one out
    of a float's range): written as raw text."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text[:80]


class _Deep:
    """A value nested deeper than ``json`` can encode or decode: written as raw text."""

    def __init__(self, depth: int) -> None:
        self.depth = depth


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))


def _mutate_tree(doc: Any, rng: random.Random) -> Any:
    doc = copy.deepcopy(doc)
    for _ in range(rng.randrange(1, 4)):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            return _odd_value(rng)
        path = rng.choice(paths)
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        last = path[-1]
        op = rng.randrange(5)
        if op == 0 and isinstance(parent, dict):
            if last != "beneficiary_id":
                del parent[last]
        elif op == 1 and isinstance(parent, list):
            parent.insert(last, copy.deepcopy(parent[last]))
        elif op == 2 and isinstance(parent, dict):
            parent[rng.choice(["extra", "claim_id", "units", "date"])] = _odd_value(rng)
        elif op == 3 and isinstance(parent[last], str) and parent[last] not in SENTINELS:
            s = parent[last]
            parent[last] = s[: rng.randrange(len(s) + 1)] + rng.choice(
                ["", "0", "9", "-", "\ud800"]
            )
        elif not (isinstance(parent, dict) and last == "beneficiary_id"):
            parent[last] = _odd_value(rng)
    return doc


def _dumps(value: Any) -> str:
    """JSON text; a :class:`_Deep` placeholder becomes raw nested brackets."""
    if isinstance(value, _Deep):
        return "[" * value.depth + "]" * value.depth
    if isinstance(value, _Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {_dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_dumps(v) for v in value) + "]"
    return json.dumps(value)


def _byte_noise(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randrange(1, 6)):
        if not buf:
            break
        op = rng.randrange(5)
        i = rng.randrange(len(buf))
        if op == 0:
            buf[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            del buf[i : i + rng.randrange(1, 16)]
        elif op == 2:
            buf[i:i] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 8)))
        elif op == 3:
            j = rng.randrange(len(buf))
            buf[i:i] = buf[j : j + rng.randrange(1, 64)]
        else:
            del buf[i:]
    return bytes(buf)


def mutate_json(seeds: list[dict[str, Any]], rng: random.Random) -> bytes:
    docs = [rng.choice(seeds) for _ in range(rng.randrange(1, 6))]
    docs = [_mutate_tree(d, rng) if rng.random() < 0.7 else d for d in docs]
    shape = rng.randrange(10)
    if shape == 0:
        text = "[" + ", ".join(_dumps(d) for d in docs) + "]"
    elif shape == 1:
        text = _dumps(docs[0]).replace(', "', ',\n  "').replace("{", "{\n", 1)
    else:
        text = "\n".join(_dumps(d) for d in docs) + rng.choice(["\n", "", "\n\n", "\r\n"])
        if shape == 2:
            text = "\ufeff" + text
    data = text.encode("utf-8", "surrogatepass")
    if rng.random() < 0.3:
        data = _byte_noise(data, rng)
    return data


def mutate_x12(seeds: list[bytes], rng: random.Random) -> bytes:
    text = rng.choice(seeds).decode("latin-1")
    element, sub, terminator = text[3], text[104], text[105]
    segments = [s.strip("\r\n") for s in text.split(terminator)]
    for _ in range(rng.randrange(1, 5)):
        if not segments:
            segments = [""]
        op = rng.randrange(9)
        i = rng.randrange(len(segments))
        if op == 0:
            del segments[i]
        elif op == 1:
            segments.insert(i, segments[i])
        elif op == 2:
            segments.insert(i, "")  # a doubled terminator
        elif op == 3:
            j = rng.randrange(len(segments))
            segments[i], segments[j] = segments[j], segments[i]
        elif op == 4:
            parts = segments[i].split(element)
            k = rng.randrange(len(parts))
            if parts[k] in SENTINELS:
                pass
            elif rng.random() < 0.1:  # a number longer than the element (or than Python reads)
                parts[k] = rng.choice(["9" * 16, "1E+5000", "-1E-5000", "9" * 5000])
            else:
                parts[k] = str(_odd_value(rng))[:80].replace(terminator, "")
            segments[i] = element.join(parts)
        elif op == 5:
            segments[i] = segments[i] + element + "X" * rng.choice([100, 5000, 70000])
        elif op == 6:
            segments = segments[: rng.randrange(1, len(segments) + 1)]
        elif op == 7:
            segments.insert(i, rng.choice(["ISA", "GS*HC", "ST*837*9", "SE*1*9", "HL*9*8*22*0"]))
        else:
            segments[i] = segments[i].replace("DTP*472*D8*", "DTP*472*D8*9999")
    out = terminator.join(segments)
    if rng.random() < 0.2:  # other separators, consistently
        new_e, new_s, new_t = rng.choice([("|", ">", "\n"), ("^", "!", "~"), ("*", ":", "\x1c")])
        table = str.maketrans({element: new_e, sub: new_s, terminator: new_t})
        out = out.translate(table)
    if rng.random() < 0.3:
        out = out.replace(terminator, terminator + "\r\n")
    data = out.encode("latin-1", "replace")
    if rng.random() < 0.3:
        data = _byte_noise(data, rng)
    return data


def mutate_fhir(seeds: list[dict[str, Any]], rng: random.Random) -> bytes:
    doc = _mutate_tree(rng.choice(seeds), rng)
    data = _dumps(doc).encode("utf-8", "surrogatepass")
    if rng.random() < 0.3:
        data = _byte_noise(data, rng)
    return data


def random_bytes(rng: random.Random) -> bytes:
    head = rng.choice([b"", b"ISA", b"{", b"[", b"\x1f\x8b", b"GS*", b'{"resourceType":'])
    return head + bytes(rng.randrange(256) for _ in range(rng.randrange(0, 400)))


# --- the oracle and the invariants ------------------------------------------------------------


def expected_records(data: bytes) -> tuple[int, bool]:
    """(n, exact): the input's record count when it can be told without our readers (exact), or
    a lower bound."""
    body = data.removeprefix(b"\xef\xbb\xbf")
    lead = body.lstrip(b" \t\r\n")
    if not lead:
        return 0, True
    if lead.startswith(b"ISA") and len(lead) >= 106:
        element, terminator = lead[3:4], lead[105:106]
        clms = sum(1 for s in lead.split(terminator) if s.strip().split(element)[0] == b"CLM")
        return max(1, clms), False
    if lead[:3] in (b"ISA", b"GS*", b"ST*"):
        return 1, False
    if lead[:1] == b"[" or lead.startswith(b'{"resourceType"') or lead.startswith(b"\x1f\x8b"):
        return 1, False
    lines = [line for line in body.split(b"\n") if line.strip()]
    if lines and lines[0].strip() == b"{":
        return 1, True
    if b'"resourceType"' in lead[:200]:
        return 1, False
    return len(lines), True


_ECHOED_KEYS = frozenset({"claim_id", "line_id", "session_id", "referral_id"})
"""Claim document fields the reports may show (ids of claims, lines, sessions and referrals)."""


def echoable(data: bytes) -> set[str]:
    """The values of the input that a report may show as they are: claim, line, session and
    referral ids (JSON), CLM01 and LX01 (X12). A mutation can move a planted sentinel into one
    of them (a byte copy that makes a claim id of a street name); that is not a leak."""
    found: set[str] = set()
    text = data.decode("utf-8", "replace")
    for line in [text, *text.splitlines()]:
        try:
            value = json.loads(line)
        except (ValueError, RecursionError):
            continue
        stack = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                for k, v in item.items():
                    if k in _ECHOED_KEYS and isinstance(v, str):
                        found.add(v)
                    stack.append(v)
            elif isinstance(item, list):
                stack.extend(item)
    for terminator in ("~", "\n", "\x1c"):
        for seg in text.split(terminator):
            seg = seg.strip()
            for element in ("*", "|", "^"):
                parts = seg.split(element)
                if parts[0] in ("CLM", "LX") and len(parts) > 1:
                    found.add(parts[1])
    return found


@dataclass
class Outcome:
    status: int
    output: bytes
    stderr: str


def run_cli(path: str, fmt: str, out_dir: str) -> Outcome:
    from dsmt_rules.cli import main

    out = os.path.join(out_dir, f"out.{fmt}")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status = main(["check", path, "--format", fmt, "-o", out, "--no-progress", "--isolated"])
    output = Path(out).read_bytes() if os.path.exists(out) else b""
    return Outcome(status, output, err.getvalue())


def check_invariants(data: bytes, work: str, rng: random.Random) -> list[str]:
    """The failures of one input (empty when every invariant holds)."""
    path = os.path.join(work, "input")
    Path(path).write_bytes(data)
    problems: list[str] = []
    try:
        first = run_cli(path, "jsonl", work)
        again = run_cli(path, "jsonl", work)
        fmt = rng.choice(FORMATS[1:])
        other = run_cli(path, fmt, work)
    except BaseException as exc:
        return [f"exception escaped: {type(exc).__name__}: {str(exc)[:200]}"]
    for o in (first, other):
        if o.status not in (0, 1):
            problems.append(f"exit status {o.status}: {o.stderr.strip()[:300]}")
    if (first.status, first.output, first.stderr) != (again.status, again.output, again.stderr):
        problems.append("the rerun differs")
    lines = first.output.splitlines()
    try:
        reports = [json.loads(line) for line in lines]
    except ValueError:
        problems.append("jsonl output does not parse")
        reports = []
    if any(r.get("status") not in ("pass", "review", "reject") for r in reports):
        problems.append("a report without a status")
    n, exact = expected_records(data)
    if exact and len(reports) != n:
        problems.append(f"{len(reports)} reports for {n} records")
    elif not exact and len(reports) < n:
        problems.append(f"{len(reports)} reports for at least {n} records")
    if any("DS005" in line for line in (first.stderr, other.stderr)):
        problems.append("DS005 reported")
    text = first.output + other.output
    blob = text.decode("utf-8", "replace") + first.stderr + other.stderr
    allowed = echoable(data)
    leaked = [s for s in SENTINELS if s in blob and not any(s in v for v in allowed)]
    if leaked:
        problems.append(f"PHI sentinel in the output ({fmt} or jsonl or stderr): {leaked}")
    return problems


# --- the driver ----------------------------------------------------------------------------------

Maker = Callable[[random.Random], bytes]


def makers() -> list[tuple[str, Maker, int]]:
    """(kind, maker, weight)."""
    json_seeds = _json_seeds()
    out: list[tuple[str, Maker, int]] = [
        ("json", lambda rng: mutate_json(json_seeds, rng), 4),
        ("random", random_bytes, 1),
    ]
    try:
        import pyx12  # noqa: F401
    except ImportError:
        pass
    else:
        x12_seeds = _x12_seeds()
        out.append(("x12", lambda rng: mutate_x12(x12_seeds, rng), 3))
    try:
        import fhir.resources  # noqa: F401
    except ImportError:
        pass
    else:
        fhir_seeds = _fhir_seeds()
        out.append(("fhir", lambda rng: mutate_fhir(fhir_seeds, rng), 2))
    return out


def _worker(args: tuple[int, int, int, str]) -> tuple[int, dict[str, int], list[tuple[str, str]]]:
    seed, start, count, failures_dir = args
    table = makers()
    kinds = [k for k, _, w in table for _ in range(w)]
    by_kind = {k: m for k, m, _ in table}
    done: dict[str, int] = {}
    failed: list[tuple[str, str]] = []
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None  # memory, not the disk
    with tempfile.TemporaryDirectory(prefix="dsmt-fuzz-", dir=shm) as work:
        for i in range(start, start + count):
            rng = random.Random(f"{seed}:{i}")
            kind = rng.choice(kinds)
            try:
                data = by_kind[kind](rng)
            except Exception as exc:  # a defect of the harness's mutator, not of dsmt-rules
                failed.append((f"{kind}-{seed}-{i}", f"mutator failed: {type(exc).__name__}"))
                continue
            problems = check_invariants(data, work, rng)
            done[kind] = done.get(kind, 0) + 1
            if problems:
                name = f"{kind}-{seed}-{i}"
                Path(failures_dir).mkdir(parents=True, exist_ok=True)
                (Path(failures_dir) / name).write_bytes(data)
                failed.append((name, "; ".join(problems)))
    return count, done, failed


def run(inputs: int, seed: int, workers: int, failures_dir: str, chunk: int = 500) -> int:
    """Run ``inputs`` inputs; print the summary; return the number of failing inputs."""
    start = time.perf_counter()
    jobs = [(seed, s, min(chunk, inputs - s), failures_dir) for s in range(0, inputs, chunk)]
    total: dict[str, int] = {}
    failed: list[tuple[str, str]] = []
    done = 0
    with multiprocessing.get_context("fork").Pool(workers) if workers > 1 else _Serial() as pool:
        for count, kinds, bad in pool.imap_unordered(_worker, jobs):
            done += count
            failed.extend(bad)
            for k, v in kinds.items():
                total[k] = total.get(k, 0) + v
            if sys.stderr.isatty():
                print(f"\r{done}/{inputs} inputs, {len(failed)} failing", end="", file=sys.stderr)
            elif done % 50000 < chunk:  # a log line now and then for a long run in a log file
                rate = done / (time.perf_counter() - start)
                print(
                    f"{done}/{inputs} inputs, {len(failed)} failing, {rate:.0f}/s", file=sys.stderr
                )
    elapsed = time.perf_counter() - start
    if sys.stderr.isatty():
        print(file=sys.stderr)
    kinds_text = ", ".join(f"{k} {v}" for k, v in sorted(total.items()))
    print(
        f"fuzz: {done} inputs ({kinds_text}) in {elapsed:.0f} s ({done / elapsed:.0f}/s, "
        f"{workers} workers, seed {seed}): {len(failed)} failures"
    )
    for name, why in failed[:50]:
        print(f"  {name}: {why}")
    return len(failed)


class _Serial:
    def __enter__(self) -> _Serial:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def imap_unordered(self, fn: Any, jobs: list[Any]) -> Iterator[Any]:
        return map(fn, jobs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz.harness", description=__doc__)
    parser.add_argument("--inputs", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--failures", default=str(ROOT / "fuzz" / "failures"))
    args = parser.parse_args(argv)
    return 1 if run(args.inputs, args.seed, args.workers, args.failures) else 0


if __name__ == "__main__":
    sys.exit(main())
