"""The X12 adapter's own reader against pyx12 (the test oracle): the same claims from the same 837.

On every 837 in tests/fixtures (the project's and the third-party copies in
tests/fixtures/x12/third-party, see its README for their origin and licences) and on generated
files (both forms, 2000C patients, several ISA/GS/ST, other separators), the default reader and
``validate=True`` give the same claim records in the same order: the same claim id, Claim JSON (or
the same DS001 problems), sources and hints. Only DS003 differs: pyx12 validates every element
against the implementation guide; the default reader checks the envelope, counts and HL links.

Then what pyx12 loses and the reader must not: a doubled terminator (``~~``) anywhere in the
32-claim fixture still gives its 32 claims; and a transaction-level error is one DS003, not one per
claim.
"""

from __future__ import annotations

import io
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pyx12", reason="needs the x12 extra: pip install 'dsmt-rules[x12]'")

from dsmt_rules import Record, check_records
from dsmt_rules.adapters.x12 import read_records

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "x12"
P837 = FIXTURES / "dsmt-837p.837"
I837 = FIXTURES / "dsmt-837i.837"
THIRD_PARTY = FIXTURES / "third-party"

DIVERGENT = {
    # The body's component separator (">") is not ISA16 (":"): neither reader can split SV101 or
    # CLM05, both give DS001 on the same claim, but pyx12 does not count one segment it cannot
    # place, so its positions and DS001 problems differ from the reader's.
    "demo.cob.2ndary.example4.837",
    "demo.example11.837",
    "demo.example12.837",
    "demo.example6.837",
    "demo.example9.837",
    # ISA02 is 9 characters (the ISA is 105): pyx12 misreads ISA12 and reads no claim; the
    # reader finds the separators by counting, reports the ISA and reads both claims.
    "x12_bad_first_line.txt",
}


def _read(data: bytes | Path, *, validate: bool) -> list[Record]:
    raw = data.read_bytes() if isinstance(data, Path) else data
    return list(read_records(io.BytesIO(raw), name="in.837", validate=validate))


def _claims(records: list[Record]) -> list[tuple[Any, ...]]:
    """What a record says about its claim: everything but its position and DS003."""
    return [
        (
            r.claim_id,
            r.claim.model_dump_json() if r.claim is not None else None,
            r.problems,
            sorted(r.sources.items()),
            sorted(r.hints.items()),
            r.source,
        )
        for r in records
        if r.claim is not None or r.problems
    ]


def _files() -> Iterator[Path]:
    yield from sorted(FIXTURES.glob("*.837"))
    for path in sorted(THIRD_PARTY.rglob("*")):
        if path.is_file() and path.name not in ("LICENSE", "README.md"):
            yield path


FILES = list(_files())


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_fixture_reads_the_same_claims_as_pyx12(path: Path) -> None:
    fast, oracle = _read(path, validate=False), _read(path, validate=True)
    if path.name in DIVERGENT:
        ours = [(r.claim_id, r.claim is None) for r in fast if r.claim is not None or r.problems]
        theirs = [(r.claim_id, r.claim is None) for r in oracle if r.claim or r.problems]
        assert ours[: len(theirs)] == theirs  # pyx12 reads the same claims, or none of them
        assert len(ours) == _clm_count(path.read_bytes())
        return
    assert _claims(fast) == _claims(oracle)
    assert len(fast) >= 1


def test_the_comparison_covers_the_files_it_should() -> None:
    names = {p.name for p in FILES}
    assert {"dsmt-837p.837", "dsmt-837i.837", "broken-837p.837"} <= names
    assert "x12_many_claims.txt" in names
    assert names >= DIVERGENT
    assert len(FILES) == 3 + 4 + 18 + 26


def _clm_count(data: bytes) -> int:
    return len(re.findall(rb"(?:^|[~\n])\s*CLM\*", data))


# --- generated files ------------------------------------------------------------------------------


def _segments(path: Path) -> list[str]:
    return [s for s in path.read_text().replace("\n", "").split("~") if s]


def _blocks(path: Path) -> tuple[str, list[list[str]]]:
    """(the form's GS08, one block per claim: its billing provider HL to its last segment)."""
    segments = _segments(path)
    version = segments[1].split("*")[8]
    body = segments[segments.index(next(s for s in segments if s.startswith("HL*"))) :]
    body = body[: next(i for i, s in enumerate(body) if s.startswith("SE*"))]
    blocks: list[list[str]] = []
    for seg in body:
        if seg.startswith("HL*") and seg.split("*")[3] == "20":
            blocks.append([])
        blocks[-1].append(seg)
    return version, blocks


def _claim(block: list[str], hl: int, n: int, patient: bool) -> list[str]:
    """One claim block with HL ids from ``hl``, CLM01 made unique, and maybe a 2000C patient."""
    out: list[str] = []
    for seg in block:
        el = seg.split("*")
        if el[0] == "HL" and el[3] == "20":
            seg = f"HL*{hl}**20*1"
        elif el[0] == "HL" and el[3] == "22":
            seg = f"HL*{hl + 1}*{hl}*22*{1 if patient else 0}"
        elif el[0] == "CLM":
            el[1] = f"{el[1]}-{n}"
            seg = "*".join(el)
            if patient:
                out += [
                    f"HL*{hl + 2}*{hl + 1}*23*0",
                    "PAT*19",
                    f"NM1*QC*1*CHILD*KID{n % 7}",
                    f"DMG*D8*2010010{n % 9 + 1}*F",
                ]
        out.append(seg)
    return out


def generate(
    rng: random.Random,
    claims: int,
    *,
    per_set: int = 7,
    sets_per_group: int = 2,
    groups_per_interchange: int = 2,
    mixed: bool = False,
) -> tuple[list[bytes], int]:
    """The interchanges of an 837 of ``claims`` claims from both fixtures' claim blocks, each of
    either form, with groups and transaction sets, some claims under 2000C; random separators for
    the file (``mixed``: for each interchange)."""
    forms = [_blocks(P837), _blocks(I837)]
    out: list[bytes] = []
    n = 0
    isa = 0
    while n < claims:
        isa += 1
        version, blocks = forms[rng.randrange(2)]
        if isa == 1 or mixed:
            element = rng.choice("*|!")
            component = rng.choice(":>\\")
            terminator = rng.choice(["~", "~\n", "'", "\n", "~\r\n"])
        segs: list[str] = []
        groups = 0
        while groups < groups_per_interchange and n < claims:
            groups += 1
            segs.append(f"GS*HC*SUB*RCV*20260301*1200*{groups}*X*{version}")
            sets = 0
            while sets < sets_per_group and n < claims:
                sets += 1
                st02 = f"{sets:04d}"
                txn = [
                    f"ST*837*{st02}*{version}",
                    "BHT*0019*00*B1*20260301*1200*CH",
                    "NM1*41*2*DSMT PROGRAM*****46*S1",
                    "PER*IC*OFFICE*TE*5555550100",
                    "NM1*40*2*MAC*****46*00435",
                ]
                hl = 1
                for _ in range(min(per_set, claims - n)):
                    patient = rng.random() < 0.3
                    txn += _claim(rng.choice(blocks), hl, n, patient)
                    hl += 3 if patient else 2
                    n += 1
                segs += [*txn, f"SE*{len(txn) + 1}*{st02}"]
            segs.append(f"GE*{sets}*{groups}")
        control = f"{isa:09d}"
        head = (
            f"ISA*00*          *00*          *ZZ*SUB            *ZZ*RCV            *260301*1200"
            f"*^*00501*{control}*0*T*{component}"
        )
        segs.append(f"IEA*{groups}*{control}")
        text = [head.replace("*", element)]
        text += [s.replace("*", element).replace(":", component) for s in segs]
        out.append((terminator.join(text) + terminator).encode("latin-1"))
    return out, n


@pytest.mark.parametrize("seed", range(6))
def test_generated_files_read_the_same_claims_as_pyx12(seed: int) -> None:
    interchanges, n = generate(random.Random(seed), 40)
    data = b"".join(interchanges)
    fast = _read(data, validate=False)
    assert len(fast) == n
    assert all(r.claim is not None for r in fast)
    assert [r.structure for r in fast] == [()] * n  # the generated envelopes are right
    assert _claims(fast) == _claims(_read(data, validate=True))
    patients = [r for r in fast if r.claim is not None and "/dependent-" in r.claim.beneficiary_id]
    assert patients  # the 2000C mapping is compared too


@pytest.mark.parametrize("seed", range(3))
def test_interchanges_with_their_own_separators_read_as_each_alone(seed: int) -> None:
    # pyx12 takes the separators of a file from its first ISA: the oracle reads each interchange
    interchanges, n = generate(random.Random(seed), 60, mixed=True)
    fast = _read(b"".join(interchanges), validate=False)
    assert len(fast) == n
    oracle = [c for one in interchanges for c in _claims(_read(one, validate=True))]
    assert _claims(fast) == oracle


@pytest.mark.slow
def test_thousands_of_generated_claims_read_the_same_as_pyx12() -> None:
    interchanges, n = generate(random.Random(99), 3000, per_set=500, sets_per_group=3)
    data = b"".join(interchanges)
    fast = _read(data, validate=False)
    assert len(fast) == n == 3000
    assert _claims(fast) == _claims(_read(data, validate=True))


# --- nothing lost, reported once ------------------------------------------------------------------


def _boundaries(data: bytes) -> list[int]:
    """Offsets just after each segment terminator (before the line break that follows it)."""
    return [m.end() for m in re.finditer(rb"~", data)][:-1]


def _doubled(step: int) -> Iterator[tuple[int, bytes]]:
    data = P837.read_bytes()
    for at in _boundaries(data)[::step]:
        yield at, data[:at] + b"~" + data[at:]


def _check_doubled(step: int) -> int:
    expected = _claims(_read(P837, validate=False))
    assert len(expected) == 32
    tried = 0
    for at, data in _doubled(step):
        records = _read(data, validate=False)
        assert _claims(records) == expected, at  # the 32 claims, each once, in order
        ds003 = [p for r in records for p in r.structure]
        assert len(ds003) == 1, at
        assert "an empty segment follows this one" in ds003[0].problem
        tried += 1
    return tried


def test_a_doubled_terminator_loses_no_claim() -> None:
    assert _check_doubled(step=25) >= 24  # every 25th of the fixture's 621 boundaries


@pytest.mark.slow
def test_a_doubled_terminator_at_every_segment_boundary_loses_no_claim() -> None:
    assert _check_doubled(step=1) == 621


def _ds003(records: list[Record]) -> list[str]:
    return [f.message for rep in check_records(records, select=["DS003"]) for f in rep.findings]


@pytest.mark.parametrize("validate", [False, True], ids=["fast", "pyx12"])
def test_a_wrong_se_count_is_one_ds003_for_the_transaction_set(validate: bool) -> None:
    data = P837.read_bytes()
    se = re.search(rb"SE\*(\d+)\*0001~", data)
    assert se is not None
    wrong = data.replace(se.group(0), b"SE*7*0001~")
    records = _read(wrong, validate=validate)
    assert len(records) == 32
    (message,) = _ds003(records)
    assert "(reported once, for the 32 claims of the transaction set)" in message
    assert records[-1].structure[0].segment == f"segment {se.group(1).decode()} (SE)"
    if not validate:
        assert "SE01 counts 7 segments; there are " in message


def test_a_missing_se_is_one_ds003_and_keeps_every_claim() -> None:
    data = re.sub(rb"SE\*\d+\*0001~\n?", b"", P837.read_bytes())
    records = _read(data, validate=False)
    assert [r.claim is not None for r in records] == [True] * 32
    (message,) = _ds003(records)
    assert "GE before the SE that ends this transaction set (SE missing)" in message


def test_an_isa_error_is_one_ds003_on_the_first_claim() -> None:
    data = P837.read_bytes()
    isa = data[: data.index(b"~")]
    short = isa.replace(b"*00*          *00*", b"*00*         *00*", 1)  # 105 characters
    records = _read(short + data[len(isa) :], validate=False)
    assert len(records) == 32
    assert [len(r.structure) for r in records] == [1] + [0] * 31
    assert records[0].structure[0].problem == (
        "the ISA segment is not the fixed 106 characters X12 requires (reported once, on this "
        "first claim of the interchange)"
    )


def test_a_bad_interchange_among_good_ones_is_reported_and_the_rest_is_read() -> None:
    one = P837.read_bytes()
    broken = re.sub(rb"(GE|IEA)\*[^~]*~\n?", b"", one)  # no GE, no IEA
    records = _read(one + broken + one, validate=False)
    assert [r.claim_id for r in records if r.claim is not None] == [
        r.claim_id for r in _read(P837, validate=False)
    ] * 3
    problems = [p.problem for r in records for p in r.structure]
    assert problems == [
        "ISA before the GE that ends this functional group (GE missing)",
        "ISA before the IEA that ends this interchange (IEA missing)",
    ]
