"""The X12 837P/837I adapter: every CLM yields one record, DS003 on errors, by both readers.

The default reader is the adapter's own (adapters/_x12scan.py); ``validate=True`` reads with pyx12
and validates against the implementation guide (tests that check pyx12's element and loop
messages pass it). tests/adapters/test_x12_differential.py checks that both read the same claims.

The fixtures in tests/fixtures/x12/ are written for this project (generate.py makes the dsmt-*
files from the rule examples; broken-837p.837 holds structural errors on purpose). The third-party
files in ../shared/fixtures/x12-third-party are real files of other projects, several broken.
"""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pyx12", reason="needs the x12 extra: pip install 'dsmt-rules[x12]'")

import pyx12.error_handler
import pyx12.params
import pyx12.x12file
import pyx12.x12n_document

from dsmt_rules import Finding, Record, Report, check_records, ruleset
from dsmt_rules.adapters.x12 import read_records
from dsmt_rules.mue import load_mue
from dsmt_rules.reference import ReferenceData

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "x12"
P837 = FIXTURES / "dsmt-837p.837"
I837 = FIXTURES / "dsmt-837i.837"
BROKEN = FIXTURES / "broken-837p.837"
REFERENCE = FIXTURES / "dsmt-reference.jsonl"
MUE = FIXTURES / "mue-practitioner.csv"
THIRD_PARTY = FIXTURES / "third-party"  # copies of ../shared/fixtures/x12-third-party


def _read(data: bytes | Path, name: str = "in.837", *, validate: bool = False) -> list[Record]:
    raw = data.read_bytes() if isinstance(data, Path) else data
    return list(read_records(io.BufferedReader(io.BytesIO(raw)), name=name, validate=validate))


def _reports(records: list[Record], **options: Any) -> list[Report]:
    return list(check_records(records, **options))


def _structure(record: Record) -> tuple[Finding, ...]:
    """The DS003 findings the engine makes of a record's structure problems."""
    (report,) = check_records([record], select=["DS003"])
    return tuple(f for f in report.findings if f.code == "DS003")


def _checked(path: Path) -> list[Report]:
    """A fixture read, completed from the reference data and checked with the fixture MUE table."""
    reference = ReferenceData.load([REFERENCE])
    records = [reference.apply(r) for r in _read(path, path.name)]
    return _reports(records, rules=ruleset(mue=load_mue(MUE)))


def _x12_valid(path: Path) -> bool:
    """pyx12's own validator (x12n_document): True when it finds no error."""
    logging.getLogger("pyx12").addHandler(logging.NullHandler())
    with path.open(encoding="latin-1") as src:
        return bool(pyx12.x12n_document.x12n_document(pyx12.params.ParamsBase(), src, None, None))


# --- the project's fixtures: valid 837s, one claim per rule ---------------------------------------

EXPECTED_837P = {
    "CLEAN-P": [],
    "DS002": ["DS002"],
    "DS101": ["DS101"],
    "DS102": ["DS102"],
    "DS103": ["DS103"],
    "DS104": ["DS104"],
    "DS105": ["DS105"],
    "DS106": ["DS106"],
    "DS107": ["DS107"],
    "DS109": ["DS109"],
    "DS110": ["DS110"],
    "DS201": ["DS201"],
    "DS202": ["DS202"],
    "DS203": ["DS203"],
    "DS204": ["DS204"],
    "DS205": ["DS205"],
    "DS301": ["DS301"],
    "DS302": ["DS302"],
    "DS303": ["DS303"],
    "DS304": ["DS304"],
    "DS305": ["DS305"],
    "DS306": ["DS306"],
    "DS307": ["DS307"],
    "DS308": ["DS308"],
    "DS309": ["DS309"],
    "DS310": ["DS310"],
    "DS401": ["DS401"],
    "DS402": ["DS402"],
    "DS403": ["DS403"],
    "DS501": ["DS501"],
    "DS601": ["DS601"],
    "DS603": ["DS603"],
}
EXPECTED_837I = {"CLEAN-I": [], "DS206": ["DS206"], "DS602": ["DS602"]}


@pytest.mark.parametrize("path", [P837, I837], ids=["837P", "837I"])
def test_fixtures_are_valid_for_pyx12(path: Path) -> None:
    assert _x12_valid(path)


def test_pyx12_validator_rejects_the_broken_fixture() -> None:
    assert not _x12_valid(BROKEN)


def test_837p_fixture_claims_raise_exactly_their_rule() -> None:
    reports = _checked(P837)
    assert {r.claim_id: list(r.codes) for r in reports} == EXPECTED_837P
    assert [r.record for r in reports] == list(range(1, len(EXPECTED_837P) + 1))


def test_837i_fixture_claims_raise_exactly_their_rule() -> None:
    reports = _checked(I837)
    assert {r.claim_id: list(r.codes) for r in reports} == EXPECTED_837I


def _finding_sources(reports: list[Report]) -> dict[tuple[str | None, str], str | None]:
    return {(r.claim_id, f.code): f.source for r in reports for f in r.findings}


def test_findings_name_their_x12_position_or_reference_line() -> None:
    sources = _finding_sources(_checked(P837))
    head = "dsmt-837p.837 ISA13=000000101 ST02=0001"
    ref = str(REFERENCE)
    assert sources[("DS104", "DS104")] == f"{head} CLM01=DS104 loop 2400 seg 118"  # SV1 of line 1
    assert sources[("DS203", "DS203")] == f"{head} CLM01=DS203 loop 2010AA seg 257"  # NM1*85
    assert sources[("DS309", "DS309")] == f"{head} CLM01=DS309 loop 2300 seg 477"  # HI
    assert sources[("DS301", "DS301")] == f"{head} CLM01=DS301 loop 2300 seg 325"  # CLM
    assert sources[("DS002", "DS002")] == f"{head} CLM01=DS002 loop 2300 seg 37"
    # facts that came from the reference data name its file and line
    assert sources[("DS105", "DS105")] == f"{ref}:23"  # the session record
    assert sources[("DS302", "DS302")] == f"{ref}:58"  # the referral record
    assert sources[("DS205", "DS205")] == f"{ref}:48"  # the provider record (entity)


def test_837i_finding_sources() -> None:
    sources = _finding_sources(_checked(I837))
    head = "dsmt-837i.837 ISA13=000000102 ST02=0001"
    assert sources[("DS602", "DS602")] == f"{head} CLM01=DS602 loop 2300 seg 64"  # CLM05
    assert sources[("DS206", "DS206")] == f"{head} CLM01=DS206 loop 2400 seg 50"  # SV2


# --- the mapping ----------------------------------------------------------------------------------


def test_837p_claim_mapping() -> None:
    record = _read(P837, "dsmt-837p.837")[0]
    assert record.claim is not None
    assert record.claim.model_dump(mode="json") == {
        "claim_id": "CLEAN-P",
        "form": "professional",
        "beneficiary_id": "MBR001CLEANP",
        "type_of_bill": None,
        "billing_provider": {"npi": "1000000012", "entity": None, "accreditation": None},
        "diagnosis_codes": ["E11.65", "I10"],
        "referral": None,
        "lines": [
            {
                "line_id": "1",
                "hcpcs": "G0109",
                "modifiers": [],
                "units": 2,
                "service_date": "2026-02-02",
                "place_of_service": "11",
                "revenue_code": None,
                "diagnosis_pointers": [1],
                "rendering_npi": None,
                "session_ids": [],
                "charge": "100",  # SV102
            }
        ],
        "sessions": [],
        "history": [],
    }
    assert dict(record.hints) == {"referral_id": "R-77", "referring_npi": "1245319599"}
    head = "dsmt-837p.837 ISA13=000000101 ST02=0001 CLM01=CLEAN-P"
    assert record.position == 1
    assert record.source == f"{head} loop 2300 seg 18"
    assert dict(record.sources) == {
        ("claim_id",): f"{head} loop 2300 seg 18",
        ("billing_provider",): f"{head} loop 2010AA seg 7",
        ("beneficiary_id",): f"{head} loop 2010BA seg 13",
        ("diagnosis_codes", 0): f"{head} loop 2300 seg 20",
        ("diagnosis_codes", 1): f"{head} loop 2300 seg 20",
        ("referral",): f"{head} loop 2300 seg 19",
        ("lines", 0): f"{head} loop 2400 seg 23",
        ("lines", 0, "service_date"): f"{head} loop 2400 seg 24",
    }


def test_837i_claim_mapping() -> None:
    record = _read(I837, "dsmt-837i.837")[0]
    assert record.claim is not None
    claim = record.claim
    assert claim.form.value == "institutional"
    assert claim.type_of_bill == "131"  # CLM05-1 13 + CLM05-3 1
    line = claim.lines[0]
    assert (line.revenue_code, line.hcpcs, line.units, line.place_of_service) == (
        "0942",
        "G0109",
        2,
        None,
    )
    assert line.diagnosis_pointers == [1, 2]  # an 837I line relates to every claim diagnosis
    assert claim.diagnosis_codes == ["E11.65", "I10"]  # HI*ABK then HI*ABF


def _professional(
    *,
    hi: str = "HI*ABK:E1165",
    sv1: str = "SV1*HC:G0109:95*100*UN*2***1",
    extra_2300: str = "",
    patient: str = "",
    line_extra: str = "",
    version: str = "005010X222A1",
    clm05: str = "11:B:1",
) -> bytes:
    """A small 837P with one claim; pieces can be replaced to test the mapping."""
    sub_hl = "HL*2*1*22*1~" if patient else "HL*2*1*22*0~"
    body = (
        "BHT*0019*00*B1*20260301*1200*CH~"
        "NM1*41*2*DSMT PROGRAM*****46*S1~PER*IC*OFFICE*TE*5555550100~"
        "NM1*40*2*MAC*****46*00435~HL*1**20*1~"
        "NM1*85*2*DSMT PROGRAM*****XX*1234567893~N3*1 MAIN~N4*CITY*IL*62701~REF*EI*123456789~"
        f"{sub_hl}SBR*P*18*******MB~NM1*IL*1*DOE*JANE****MI*7QX9PHI4KEEP~"
        "NM1*PR*2*MEDICARE*****PI*00435~"
        f"{patient}"
        f"CLM*C-9*100***{clm05}*Y*A*Y*Y~{extra_2300}{hi}~"
        f"LX*1~{sv1}~DTP*472*D8*20260202~{line_extra}"
    )
    segments = body.count("~") + 2
    isa = (
        "ISA*00*          *00*          *ZZ*SUB            *ZZ*RCV            "
        "*260301*1200*^*00501*000000009*0*T*:~"
    )
    return (
        f"{isa}GS*HC*SUB*RCV*20260301*1200*9*X*{version}~ST*837*0009*{version}~{body}"
        f"SE*{segments}*0009~GE*1*9~IEA*1*000000009~"
    ).encode()


def test_small_837p_reads_clean() -> None:
    (record,) = _read(_professional())
    assert record.structure == ()
    assert record.claim is not None
    assert record.claim.lines[0].modifiers == ["95"]
    assert record.claim.lines[0].place_of_service == "11"  # no SV105: CLM05-1


def test_line_place_of_service_wins_over_the_claim() -> None:
    (record,) = _read(_professional(sv1="SV1*HC:G0109*100*UN*2*02**1"))
    assert record.claim is not None
    assert record.claim.lines[0].place_of_service == "02"


def test_dots_are_restored_and_icd9_is_marked() -> None:
    (record,) = _read(_professional(hi="HI*ABK:E1165*ABF:Z794*BF:25000"))
    assert record.claim is not None
    assert record.claim.diagnosis_codes == ["E11.65", "Z79.4", "ICD9:25000"]


def test_icd9_diagnosis_is_reported_by_ds309() -> None:
    (record,) = _read(_professional(hi="HI*BK:25000"))
    assert record.structure == ()  # BK is valid X12; the code is what is wrong
    (report,) = _reports([record], select=["DS309"])
    assert report.codes == ("DS309",)


def test_referral_number_and_referring_npi_are_hints() -> None:
    (record,) = _read(
        _professional(
            extra_2300="REF*9F*R-5~",
            hi="HI*ABK:E1165~NM1*DN*1*REF*RAY****XX*1245319599",
        )
    )
    assert dict(record.hints) == {"referral_id": "R-5", "referring_npi": "1245319599"}
    assert record.structure == ()


def test_rendering_npi_from_the_line_loop() -> None:
    (record,) = _read(_professional(line_extra="NM1*82*1*RENDER*RITA****XX*1952356107~"))
    assert record.claim is not None
    assert record.claim.lines[0].rendering_npi == "1952356107"
    assert record.sources[("lines", 0, "rendering_npi")].endswith("CLM01=C-9 loop 2420A seg 20")


def test_patient_loop_makes_a_dependent_beneficiary_id() -> None:
    patient = "HL*3*2*23*0~PAT*19~NM1*QC*1*DOE*JOHN~N3*1 ELM~N4*CITY*IL*62701~DMG*D8*20100101*M~"
    (record,) = _read(_professional(patient=patient))
    assert record.structure == ()
    assert record.claim is not None
    member, _, dependent = record.claim.beneficiary_id.partition("/")
    assert member == "7QX9PHI4KEEP"
    assert dependent.startswith("dependent-")
    assert "JOHN" not in record.claim.beneficiary_id
    (again,) = _read(_professional(patient=patient))
    assert again.claim is not None
    assert again.claim.beneficiary_id == record.claim.beneficiary_id  # deterministic
    other = patient.replace("JOHN", "JACK")
    (sibling,) = _read(_professional(patient=other))
    assert sibling.claim is not None
    assert sibling.claim.beneficiary_id != record.claim.beneficiary_id


def test_fractional_units_are_a_ds001_at_the_line() -> None:
    (record,) = _read(_professional(sv1="SV1*HC:G0109*100*UN*1.5***1"), "f.837")
    assert record.claim is None
    assert record.problems == ((("lines", 0, "units"), "Input should be a valid integer"),)
    (report,) = _reports([record])
    assert report.codes == ("DS001",)
    assert report.claim_id == "C-9"
    assert report.findings[0].source == (
        "f.837 ISA13=000000009 ST02=0009 CLM01=C-9 loop 2400 seg 18"
    )


@pytest.mark.parametrize(
    ("declared", "base"),
    [("005010X222A2", "005010X222A1")],
)
def test_errata_version_is_read_with_the_base_map(declared: str, base: str) -> None:
    (plain,) = _read(_professional(version=base))
    (errata,) = _read(_professional(version=declared))
    assert errata.structure == ()
    assert errata.claim == plain.claim


def test_837i_errata_version_reads_like_the_base() -> None:
    text = I837.read_bytes()
    base = _read(text)
    errata = _read(text.replace(b"005010X223A2", b"005010X223A3"))
    assert [r.structure for r in errata] == [(), (), ()]
    assert [r.claim for r in errata] == [r.claim for r in base]


# --- structural errors: DS003 ---------------------------------------------------------------------


def test_broken_file_reports_each_error_where_it_belongs() -> None:
    records = _read(BROKEN, "broken-837p.837", validate=True)
    reports = _reports(records, select=["DS0"])
    summary = [
        (r.record, r.claim_id, rec.claim is not None, [f.source for f in r.findings])
        for rec, r in zip(records, reports, strict=True)
    ]
    one = "broken-837p.837 ISA13=000000201 ST02=0001"
    assert summary == [
        (
            1,
            "C-1",
            True,
            [
                f"{one} CLM01=C-1 loop 2010AA seg 9",  # N4 before the claim: the next claim
                f"{one} CLM01=C-1 loop 2300 seg 18",  # CLM07 in the claim
            ],
        ),
        (2, "C-2", True, [f"{one} CLM01=C-2 loop ST_LOOP seg 44"]),  # SE: once, on the last
        (3, "C-3", True, []),  # the next transaction set is read and clean
        # the GS is named by its file position; GS06 is not echoed (a mangled one may hold PHI)
        (4, None, False, ["broken-837p.837 ISA13=000000202 GS (file segment 75)"]),
        (5, "C-4", True, []),  # the next interchange is read
        (6, None, False, ["broken-837p.837 ISA13=000000203 IEA (file segment 109)"]),
    ]
    messages = [f.message for r in reports for f in r.findings]
    assert messages == [
        "X12 structure error at segment 9 (N4): mandatory element N401 (Billing Provider City "
        "Name) is missing. Correct the 837; a payer rejects it before adjudicating its claims.",
        "X12 structure error at segment 18 (CLM): CLM07 (Assignment or Plan Participation Code) "
        "is not a valid code. Correct the 837; a payer rejects it before adjudicating its claims.",
        "X12 structure error at segment 44 (SE): SE count of 49 for SE02=0001 is wrong. I count "
        "44 (reported once, for the 2 claims of the transaction set). Correct the 837; a payer "
        "rejects it before adjudicating its claims.",
        "X12 structure error at GS (segment 75 of the file): functional group GS01=HC "
        "GS08=004010X098A1 is not an 837P (005010X222A1/A2) or 837I (005010X223A2/A3) claim "
        "group; its transaction sets were not read. Correct the 837; a payer rejects it before "
        "adjudicating its claims.",
        "X12 structure error at IEA (segment 109 of the file): IEA count for IEA02=000000203 is "
        "wrong. Correct the 837; a payer rejects it before adjudicating its claims.",
    ]
    assert all(
        f.code == "DS003" and f.severity.value == "error" for r in reports for f in r.findings
    )


def test_ds003_follows_the_selection_on_claims_but_not_on_claimless_records() -> None:
    reports = _reports(_read(BROKEN, "broken-837p.837"), select=["DS601"])
    assert [list(r.codes) for r in reports] == [[], [], [], ["DS003"], [], ["DS003"]]


def test_ds003_severity_override() -> None:
    reports = _reports(_read(BROKEN, validate=True), select=["DS0"], severity=["DS003=warning"])
    assert {f.severity.value for r in reports for f in r.findings} == {"warning"}
    assert [r.status.value for r in reports][:3] == ["review", "review", "pass"]


def test_line_errors_carry_the_line_id() -> None:
    data = _professional(sv1="SV1*HC:G0109*100*XX*2***1")  # SV103 unit basis: not a valid code
    (record,) = _read(data, validate=True)
    (finding,) = _structure(record)
    assert finding.line_id == "1"
    assert "SV103" in finding.message
    assert finding.source is not None
    assert finding.source.endswith("CLM01=C-9 loop 2400 seg 18")


def test_messages_never_contain_element_values() -> None:
    secret = "ZEBEDIAH" * 12  # a 96-character subscriber name: too long for NM103
    data = _professional().replace(b"NM1*IL*1*DOE*JANE", f"NM1*IL*1*{secret}*JANE".encode())
    (record,) = _read(data, validate=True)
    messages = [f.message for f in _structure(record)]
    assert messages == [
        "X12 structure error at segment 13 (NM1): NM103 (Subscriber Last Name) is too long. "
        "Correct the 837; a payer rejects it before adjudicating its claims."
    ]
    assert not any("ZEBEDIAH" in (f.source or "") + f.message for f in _structure(record))
    assert "7QX9PHI4KEEP" not in repr(_structure(record))


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "not an X12 interchange: the input does not begin with an ISA segment"),
        (
            b'{"claim_id": "C-1"}',
            "not an X12 interchange: the input does not begin with an ISA segment",
        ),
        (b"ISA*00*short~", "the ISA segment is not the fixed 106 characters X12 requires"),
    ],
    ids=["empty", "json", "short-isa"],
)
@pytest.mark.parametrize("validate", [False, True], ids=["fast", "pyx12"])
def test_input_that_is_not_x12_is_one_claimless_record(
    data: bytes, problem: str, validate: bool
) -> None:
    (record,) = _read(data, "x.837", validate=validate)
    assert (record.position, record.claim, record.problems) == (1, None, ())
    (finding,) = _structure(record)
    assert finding.code == "DS003"
    assert problem in finding.message
    assert finding.source == "x.837 ISA (file segment 1)"


ISA = (
    "ISA*00*          *00*          *ZZ*SUB            *ZZ*RCV            "
    "*260301*1200*^*00501*000000009*0*T*:~"
)


def test_segment_pyx12_fails_on_is_reported_and_reading_goes_on() -> None:
    # pyx12's reader raises IndexError on a GE with no GS; the adapter resumes with the next segment
    (record,) = _read(f"{ISA}GE*1*1~IEA*1*000000009~".encode(), "g.837", validate=True)
    assert [f.message for f in _structure(record)] == [
        f"X12 structure error at segment {n} of the file: pyx12 could not read a segment "
        "(IndexError); it was skipped. Correct the 837; a payer rejects it before adjudicating "
        "its claims."
        for n in (2, 3)
    ]
    assert record.source == "g.837 ISA13=000000009 file segment 2"


def test_interchange_without_a_group_is_reported() -> None:
    (record,) = _read(f"{ISA}IEA*1*000000009~".encode(), validate=True)
    problems = [f.message.split(": ", 1)[1].split(". Correct")[0] for f in _structure(record)]
    assert problems == [
        'Mandatory loop "Functional Group Header" (GS_LOOP) missing',
        "IEA count for IEA02=000000009 is wrong",
    ]


def test_input_that_yields_nothing_still_yields_one_record() -> None:
    # the ISA's last character is taken as the segment terminator: here it is wrong
    data = ISA.replace(":~", ":X").encode() + b"GS*HC*SUB*RCV*20260301*1200*9*X*005010X222A1~"
    records = _read(data)
    assert len(records) == 1
    assert records[0].claim is None
    assert {f.code for f in _structure(records[0])} == {"DS003"}


def test_leading_whitespace_and_byte_order_mark_are_skipped() -> None:
    (record,) = _read(b"\xef\xbb\xbf\r\n  " + _professional())
    assert record.claim is not None
    assert record.structure == ()


def test_a_text_stream_reads_too() -> None:
    text = _professional().decode("latin-1")
    (record,) = list(read_records(io.StringIO(text), name="t.837"))
    assert record.claim is not None


def test_truncated_file_keeps_its_claims_and_reports_the_missing_trailers() -> None:
    data = P837.read_bytes()
    cut = data[: data.index(b"CLM*DS101*")]  # ends before the third claim's CLM: no SE, GE, IEA
    records = _read(cut, "cut.837", validate=True)
    assert [r.claim_id for r in records] == ["CLEAN-P", "DS002"]
    last = records[-1]
    messages = [f.message for f in _structure(last)]
    assert any("Transaction Set Trailer" in m for m in messages)
    assert all(r.claim is not None for r in records)


def test_one_file_is_read_again_identically() -> None:
    first = _read(P837)
    second = _read(P837)
    assert first == second


def test_import_dsmt_rules_does_not_import_pyx12() -> None:
    code = "import sys, dsmt_rules, dsmt_rules.reference, dsmt_rules.mue; print('pyx12' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- third-party files: one result per CLM, or a clear finding; never a traceback -----------------


def _third_party_files() -> Iterator[Path]:
    if THIRD_PARTY.is_dir():
        for path in sorted(THIRD_PARTY.rglob("*")):
            if path.is_file() and path.name not in ("LICENSE", "README.md"):
                yield path


def _clm_count(path: Path) -> int | None:
    """CLM segments as pyx12's tokenizer sees them; when it cannot read the file at all (an ISA
    that is not 106 characters), CLM segments after a ``~``; None when there is no ISA."""
    try:
        with path.open(encoding="latin-1") as fh:
            reader = pyx12.x12file.X12Reader(fh)
            return sum(1 for seg in reader if seg.get_seg_id() == "CLM")
    except pyx12.errors.X12Error:
        data = path.read_bytes()
        if not data.lstrip().startswith(b"ISA"):
            return None
        return sum(1 for seg in data.split(b"~") if seg.lstrip().startswith(b"CLM*"))


THIRD_PARTY_FILES = list(_third_party_files())


@pytest.mark.skipif(
    not THIRD_PARTY_FILES,
    reason=f"third-party X12 files not found at {THIRD_PARTY} (../shared beside the project)",
)
@pytest.mark.parametrize("path", THIRD_PARTY_FILES, ids=[p.name for p in THIRD_PARTY_FILES])
def test_third_party_file_yields_one_result_per_claim_or_a_finding(path: Path) -> None:
    records = _read(path, path.name)
    reports = _reports(records)
    assert len(reports) == len(records) >= 1
    assert [r.record for r in reports] == list(range(1, len(records) + 1))
    claims = [rec for rec in records if rec.claim is not None or rec.problems]
    claimless = [rec for rec in records if rec.claim is None and not rec.problems]
    expected = _clm_count(path)
    if expected is None:  # not an interchange: one record that says why
        assert claims == []
        assert len(claimless) == 1
    else:
        assert len(claims) == expected
    for rec in claims:
        assert rec.claim_id is not None
        assert rec.source is not None
        assert rec.source.startswith(f"{path.name} ISA13=")
    for rec in claimless:
        assert _structure(rec), "a record without a claim must say why"
        assert {f.code for f in _structure(rec)} == {"DS003"}
    for report in reports:
        for finding in report.findings:
            assert finding.source is not None
            assert "\n" not in finding.message


def test_errata_third_party_files_are_read_with_the_base_maps() -> None:
    p = THIRD_PARTY / "linuxforhealth-837p" / "demo.example1.837"
    if not p.is_file():
        pytest.skip(f"{p} not found")
    (record,) = _read(p, p.name)
    assert record.structure == ()  # GS08/ST03 005010X222A2: no version error
    assert record.claim is not None
    assert record.claim.diagnosis_codes == ["ICD9:0340", "ICD9:V7389"]  # BK/BF qualifiers


# --- the command line -----------------------------------------------------------------------------


def test_cli_check_with_reference_and_mue(capsys: pytest.CaptureFixture[str]) -> None:
    from dsmt_rules.cli import main

    args = [str(P837), str(I837), "--reference", str(REFERENCE), "--mue-file", str(MUE)]
    status = main(["check", *args, "--format", "jsonl", "--no-progress"])
    out = capsys.readouterr().out
    reports = [json.loads(line) for line in out.splitlines()]
    assert status == 1
    got = {r["claim_id"]: [f["code"] for f in r["findings"]] for r in reports}
    assert got == {**EXPECTED_837P, **EXPECTED_837I}
    ds104 = next(r for r in reports if r["claim_id"] == "DS104")["findings"][0]
    assert ds104["source"] == f"{P837} ISA13=000000101 ST02=0001 CLM01=DS104 loop 2400 seg 118"


def test_cli_without_reference_reads_the_bare_837(capsys: pytest.CaptureFixture[str]) -> None:
    from dsmt_rules.cli import main

    status = main(["check", str(I837), "--format", "jsonl", "--no-progress"])
    reports = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert status == 1
    # No sessions, accreditation, referral content or earlier services in an 837: unknown, not
    # missing. The rules that need them do not run; DS004 (info) names them.
    assert [[f["code"] for f in r["findings"]] for r in reports] == [
        ["DS004"],
        ["DS004", "DS206"],  # bill type 771: an FQHC
        ["DS004", "DS602"],  # bill type 111
    ]
    (ds004, *_) = reports[0]["findings"]
    assert ds004["severity"] == "info"
    assert ds004["ctx"]["rules"] == (
        "DS102, DS103, DS104, DS105, DS106, DS107, DS108, DS201, DS202, DS204, DS301, DS302, "
        "DS303, DS304, DS305, DS306, DS310, DS401, DS402, DS403, DS603"
    )
    assert reports[0]["status"] == "pass"


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--mue-file", "missing.csv", "missing.csv: cannot read the MUE file"),
        ("--reference", "missing.jsonl", "missing.jsonl: cannot read the reference file"),
    ],
)
def test_cli_bad_reference_or_mue_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, option: str, value: str, message: str
) -> None:
    from dsmt_rules.cli import main

    status = main(["check", str(P837), option, str(tmp_path / value), "--no-progress"])
    err = capsys.readouterr().err
    assert status == 2
    assert message in err
    assert err.count("\n") == 1


# --- the default reader's own envelope checks -----------------------------------------------------


def test_default_reader_on_the_broken_file_reports_the_envelope_once() -> None:
    records = _read(BROKEN, "broken-837p.837")
    got = [(r.claim_id, [(p.segment, p.problem) for p in r.structure]) for r in records]
    assert got == [
        ("C-1", []),  # N401 and CLM07 are element errors: --x12-validate finds them
        (
            "C-2",
            [
                (
                    "segment 44 (SE)",
                    "SE01 counts 49 segments; there are 44 (reported once, for the 2 claims of "
                    "the transaction set)",
                )
            ],
        ),
        ("C-3", []),
        (
            None,
            [
                (
                    "GS (segment 75 of the file)",
                    "functional group GS01=HC GS08=004010X098A1 is not an 837P (005010X222A1/A2) "
                    "or 837I (005010X223A2/A3) claim group; its transaction sets were not read",
                )
            ],
        ),
        ("C-4", []),
        (
            None,
            [("IEA (segment 109 of the file)", "IEA01 counts 2 functional groups; there are 1")],
        ),
    ]


@pytest.mark.parametrize(
    ("head", "first"), [(b"GS*HC*SUB*RCV~", "GS"), (b"ST*837*0001*005010X222A1~", "ST")]
)
def test_an_837_without_its_isa_is_one_ds003(head: bytes, first: str) -> None:
    (record,) = _read(head + b"BHT*0019*00*B1*20260301*1200*CH~", "n.837")
    (problem,) = record.structure
    assert record.claim is None
    assert problem.problem.startswith(f"no ISA envelope: the input begins with {first}, not ISA")


def test_hl_links_are_checked() -> None:
    data = _professional().replace(b"HL*2*1*22*0~", b"HL*3*7*22*0~")
    (record,) = _read(data)
    assert record.claim is not None
    assert [(p.segment, p.problem) for p in record.structure] == [
        ("segment 11 (HL)", "HL01 does not number the hierarchical levels 1, 2, 3 in order"),
        ("segment 11 (HL)", "HL02 names a parent level that does not exist"),
    ]
    patient = _professional(patient="HL*3*1*23*0~PAT*19~NM1*QC*1*KID*ANN~")
    (record,) = _read(patient)
    assert [p.problem for p in record.structure] == [
        "HL02: a patient level (23) must have a subscriber level (22) as its parent"
    ]


def test_default_reader_truncated_file_keeps_its_claims() -> None:
    data = P837.read_bytes()
    cut = data[: data.index(b"CLM*DS101*")]  # ends before the third claim's CLM: no SE, GE, IEA
    records = _read(cut, "cut.837")
    assert [r.claim_id for r in records] == ["CLEAN-P", "DS002", None]
    assert [p.problem for p in records[1].structure] == [
        "the input ends before the SE of this transaction set: truncated? (reported once, for "
        "the 2 claims of the transaction set)"
    ]
    assert [p.problem for p in records[2].structure] == [
        "the input ends before the GE of this functional group: truncated?",
        "the input ends before the IEA of this interchange: truncated?",
    ]


def test_default_reader_reports_a_last_segment_without_terminator() -> None:
    data = _professional().rstrip(b"~")  # the IEA is read; its record says what is odd
    claim, trailer = _read(data)
    assert claim.claim is not None
    assert claim.structure == ()
    assert trailer.claim is None
    assert [(p.segment, p.problem) for p in trailer.structure] == [
        (
            "IEA (segment 24 of the file)",
            "the input ends inside this segment (no segment terminator): truncated?",
        )
    ]


def test_default_reader_skips_unrecognized_and_stray_segments() -> None:
    data = _professional().replace(b"LX*1~", b"lx*1~LX*1~").replace(b"GE*1*9~", b"N3*X~GE*1*9~")
    records = _read(data)
    assert records[0].claim is not None
    problems = [p.problem for r in records for p in r.structure]
    assert "a segment with an unrecognized segment id was skipped" in problems
    assert (
        "segment N3 follows the SE of its transaction set, with no ST before it; the segments up "
        "to the next SE were read as part of that transaction set"
    ) in problems


def test_cli_x12_validate_adds_pyx12s_findings(capsys: pytest.CaptureFixture[str]) -> None:
    from dsmt_rules.cli import main

    def ds003(*options: str) -> list[list[str]]:
        main(["check", str(BROKEN), "--format", "jsonl", "--no-progress", *options])
        reports = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        return [
            [f["ctx"]["segment"] for f in r["findings"] if f["code"] == "DS003"] for r in reports
        ]

    default = ds003()
    validated = ds003("--x12-validate")
    assert default[0] == []
    assert validated[0] == ["segment 9 (N4)", "segment 18 (CLM)"]  # element errors: pyx12 only
    assert default[1] == validated[1] == ["segment 44 (SE)"]  # once, on the last claim
    assert len(default) == len(validated) == 6


def test_settings_x12_validate_reaches_the_reader() -> None:
    from dsmt_rules.adapters import open_batch

    with BROKEN.open("rb") as fast, BROKEN.open("rb") as slow:
        plain = list(open_batch([("b.837", fast)]))
        checked = list(open_batch([("b.837", slow)], x12_validate=True))
    assert [len(r.structure) for r in plain] == [0, 1, 0, 1, 0, 1]
    assert [len(r.structure) for r in checked] == [2, 1, 0, 1, 0, 1]


def test_non_ascii_digits_are_not_numbers() -> None:
    # "³".isdigit() is True, int("³") fails: HL01 and SV107 are read as text, never a traceback
    data = _professional(sv1="SV1*HC:G0109*100*UN*2***³").replace(
        b"HL*1**20*1", "HL*³**20*1".encode()
    )
    (record,) = _read(data)
    assert record.claim is None
    assert record.problems == (
        (("lines", 0, "diagnosis_pointers", 0), "Input should be a valid integer"),
    )
    assert [p.problem for p in record.structure] == [
        "HL01 does not number the hierarchical levels 1, 2, 3 in order",
        "HL02 names a parent level that does not exist",  # HL*2*1: no level 1
    ]


# -- a broken first ISA (found by the fuzz harness): every CLM still gets its record --------------


def _fixture_clm01s() -> list[str]:
    """CLM01 of each CLM segment of the 837P fixture, in file order (split by hand, not read)."""
    segments = P837.read_bytes().split(b"~\n")
    return [s.split(b"*")[1].decode() for s in segments if s.startswith(b"CLM*")]


def _pipes() -> bytes:
    """The 837P fixture with '|' element separators and a line break as the segment terminator."""
    return P837.read_bytes().replace(b"~\n", b"\n").replace(b"*", b"|")


def _claim_ids(records: list[Record]) -> list[str]:
    """CLM01 of the records that stand for a CLM (read or not); envelope-only records have none."""
    return [r.claim_id for r in records if r.claim_id is not None]


def _isa_problems(records: list[Record]) -> list[str]:
    return [p.problem for r in records for p in r.structure if p.segment.startswith("ISA")]


def test_isa_with_extra_elements_before_a_valid_isa() -> None:
    # ISA with 18 elements (two extra) on the first line, then the fixture's valid ISA
    data = _pipes()
    isa, _, _rest = data.partition(b"\n")
    broken = isa.replace(b"|00|", b"|00|          |00|", 1)
    assert len(broken.split(b"|")) == 19
    records = _read(broken + b"\n" + data)
    clm01s = _fixture_clm01s()
    assert len(clm01s) == 32
    assert _claim_ids(records) == clm01s
    assert all(r.claim is not None for r in records if r.claim_id is not None)
    assert len(records) == 33  # and the broken ISA's own record, first
    assert records[0].claim_id is None
    assert _isa_problems(records) == [
        "an ISA segment does not have 16 elements",
        "the ISA segment is not the fixed 106 characters X12 requires",
        "ISA12 is not a known X12 version (00401 or 00501)",
        "ISA before the IEA that ends this interchange (IEA missing)",
    ]


def test_isa_with_a_changed_element_separator() -> None:
    # one '|' of the ISA is '}' (15 elements); position 105 is still the terminator, a line
    # break; the GS after it is gone, so counting separators runs into the ST
    data = _pipes()
    at = data.index(b"|ZZ|MEDICAREMAC")
    gs = data.index(b"\nGS|") + 1
    broken = data[:at] + b"}" + data[at + 1 : gs] + data[data.index(b"\n", gs) + 1 :]
    assert broken[105:107] == b"\nS"
    records = _read(broken)
    assert _claim_ids(records) == _fixture_clm01s()
    assert all(r.claim is None for r in records)  # no functional group: none is read
    assert {p.problem for r in records[:32] for p in r.structure} == {
        "this claim was not read: it is not inside a transaction set that is read"
    }
    assert _isa_problems(records) == [
        "an ISA segment does not have 16 elements",
        "the ISA segment is not the fixed 106 characters X12 requires",
        "ISA12 is not a known X12 version (00401 or 00501)",
    ]
    assert len(records) == 33


def test_isa_with_a_changed_element_separator_before_its_gs() -> None:
    data = _pipes()
    at = data.index(b"|ZZ|MEDICAREMAC")
    broken = data[:at] + b"}" + data[at + 1 :]
    records = _read(broken)
    assert _claim_ids(records) == _fixture_clm01s()
    assert all(r.claim is not None for r in records[:32])
    # ISA13 moved one element along: the IEA does not match it (a record of its own)
    assert [p.problem for p in records[32].structure] == [
        "IEA02 does not match ISA13 (the control numbers differ)"
    ]
    assert len(records) == 33
    assert _isa_problems(records) == [
        "an ISA segment does not have 16 elements (reported once, on this first claim of the "
        "interchange)",
        "the ISA segment is not the fixed 106 characters X12 requires (reported once, on this "
        "first claim of the interchange)",
        "ISA12 is not a known X12 version (00401 or 00501) (reported once, on this first claim of "
        "the interchange)",
    ]
    assert [p.problem for p in records[1].structure] == []


def test_truncated_isa_run_into_a_later_segment() -> None:
    # bytes deleted from inside the ISA to inside the NM1*PR before the first CLM ('~' then CRLF),
    # then the fixture again: the first interchange's claims are unread, the second's are read
    data = P837.read_bytes().replace(b"~\n", b"~\r\n")
    cut = data.index(b"*2*MEDICARE*****PI*00435~")
    broken = data[:90] + data[cut:]
    assert broken[105:106] != b"~"
    records = _read(broken + data)
    clm01s = _fixture_clm01s()
    assert _claim_ids(records) == clm01s + clm01s
    unread = records[:32]
    assert all(r.claim is None for r in unread)
    assert {p.problem for r in unread for p in r.structure} == {
        "this claim was not read: it is not inside a transaction set that is read"
    }
    assert all(r.claim is not None for r in records[32:] if r.claim_id is not None)
    # the envelope's problems, the broken ISA's once, in a record of their own after its claims
    assert records[32].claim_id is None
    assert [p.problem for p in records[32].structure] == [
        "an ISA segment does not have 16 elements",
        "the ISA segment is not the fixed 106 characters X12 requires",
        "segment CLM is outside a transaction set (no ST before it); it was skipped",
        "a GE without a GS before it",
        "IEA01 counts 1 functional groups; there are 0",
        "IEA02 does not match ISA13 (the control numbers differ)",
    ]
    assert _isa_problems(records) == _isa_problems(records[32:33])
    assert len(records) == 65


@pytest.mark.parametrize("terminator", [b"~", b"~\r\n", b"\n", b"\x1c", b"\x1d"])
def test_broken_isa_terminator_is_found_after_the_isa(terminator: bytes) -> None:
    # an ISA with an extra element and a value cut short: neither counting separators (17
    # elements) nor position 105 finds the terminator; the segment id after the ISA (GS) does
    data = P837.read_bytes().replace(b"~\n", terminator)
    broken = data.replace(b"ISA*00*", b"ISA*00*00*", 1).replace(b"*DSMTSUBMITTER  *", b"*DS*", 1)
    records = _read(broken)
    assert _claim_ids(records) == _fixture_clm01s()
    assert all(r.claim is not None for r in records[:32])
    assert [p.problem for p in records[32].structure] == [
        "IEA02 does not match ISA13 (the control numbers differ)"  # ISA13 moved along
    ]
    assert len(records) == 33


@pytest.mark.parametrize("space", [b"\t", b" ", b"\t\r\n", b" \r\n  ", b"\x0c\n", b"\x0b"])
def test_spaces_and_tabs_between_segments_lose_no_claim(space: bytes) -> None:
    """Whitespace after a terminator holds no data: the segment after it is read (found by the
    fuzz harness: a tab before CLM skipped the claim)."""
    data = P837.read_bytes().replace(b"~\nCLM*", b"~" + space + b"CLM*")
    records = _read(data)
    assert _claim_ids(records) == _fixture_clm01s()
    assert all(r.claim is not None for r in records)
    assert [c.claim.model_dump() for c in records if c.claim] == [
        c.claim.model_dump() for c in _read(P837) if c.claim
    ]


@pytest.mark.parametrize("appended", [b"*X", b"*" + b"X" * 5000])
@pytest.mark.parametrize("where", ["between", "inside-group"])
def test_later_isa_with_an_appended_element_keeps_the_separators(
    appended: bytes, where: str
) -> None:
    """A later ISA with an element appended has the element separator at the fixed position of
    the terminator: it is a broken segment read with the separators in force, not a switch of
    terminator that loses every CLM after it (found by the fuzz harness)."""
    data = P837.read_bytes()
    isa_end = data.index(b"~")
    broken_isa = data[:isa_end] + appended + b"~\n"
    if where == "between":
        data2 = data + broken_isa + data[isa_end + 2 :]
    else:  # a copy dropped inside the first interchange's functional group
        gs = data.index(b"\nGS*") + 1
        after_gs = data.index(b"\n", gs) + 1
        data2 = data[:after_gs] + broken_isa + data[after_gs:] + data
    records = _read(data2)
    clm01s = _fixture_clm01s()
    assert _claim_ids(records) == clm01s + clm01s
    assert any(
        p.startswith("an ISA segment does not have 16 elements") for p in _isa_problems(records)
    )
    last = [r for r in records if r.claim_id is not None][32:]
    assert all(r.claim is not None for r in last)  # the interchange after it is read
    assert [r.claim.model_dump() for r in last if r.claim] == [
        r.claim.model_dump() for r in _read(P837) if r.claim
    ]


def test_an_hl01_of_thousands_of_digits_is_misnumbered_not_a_crash() -> None:
    """Python will not turn more than 4,300 digits into an int: such an HL01 is reported as
    misnumbered and every claim is read (it ended the input with DS005)."""
    data = P837.read_bytes().replace(b"HL*3**20*1~", b"HL*" + b"3" * 5000 + b"**20*1~", 1)
    records = _read(data)
    assert _claim_ids(records) == _fixture_clm01s()
    assert all(r.claim is not None for r in records)
    problems = [p.problem for r in records for p in r.structure]
    assert "HL01 does not number the hierarchical levels 1, 2, 3 in order" in problems


def test_a_diagnosis_pointer_of_thousands_of_digits_is_ds001_at_the_line() -> None:
    data = P837.read_bytes().replace(b"*UN*2*11**1~", b"*UN*2*11**" + b"1" * 5000 + b"~", 1)
    records = _read(data)
    assert _claim_ids(records) == _fixture_clm01s()
    broken = [r for r in records if r.claim is None]
    assert len(broken) == 1
    assert [loc for loc, _ in broken[0].problems] == [("lines", 0, "diagnosis_pointers", 0)]


@pytest.mark.parametrize("units", [b"1E+5000", b"9" * 16, b"1E15"])
def test_a_quantity_of_more_than_15_digits_is_ds001_at_the_line(units: bytes) -> None:
    """SV104 is R 1/15: a quantity of more digits was read as a Python int of thousands of digits
    that no message can print (DS005 on every claim of the beneficiary)."""
    data = P837.read_bytes().replace(b"*UN*2*11**1~", b"*UN*" + units + b"*11**1~", 1)
    records = _read(data)
    broken = [r for r in records if r.claim is None]
    assert len(broken) == 1
    assert [loc for loc, _ in broken[0].problems] == [("lines", 0, "units")]
    reference = ReferenceData.load([REFERENCE])
    reports = list(check_records(reference.apply(r) for r in records))
    assert len(reports) == 32
    assert not [r for r in reports if "DS005" in r.codes]


def test_a_quantity_of_15_digits_is_a_number() -> None:
    data = P837.read_bytes().replace(b"*UN*2*11**1~", b"*UN*" + b"9" * 15 + b"*11**1~", 1)
    records = _read(data)
    assert all(r.claim is not None for r in records)
    units = [ln.units for r in records if r.claim for ln in r.claim.lines]
    assert 10**15 - 1 in units


def _texts(records: list[Record]) -> str:
    return " ".join(
        f"{p.segment} {p.problem} {p.source}" for r in records for p in r.structure
    ) + " ".join(r.source or "" for r in records)


def test_a_count_that_is_no_count_is_not_echoed() -> None:
    """A mangled file can hold anything in GE01 (the fuzz harness put a DMG birth date there):
    a stated count is shown only when it is a number near the true one."""
    data = P837.read_bytes().replace(b"GE*1*1~", b"GE*19010203*1~")
    records = _read(data)
    assert "19010203" not in _texts(records)
    assert "GE01 counts (a value that is not a count) transaction sets; there are 1" in [
        p.problem for r in records for p in r.structure
    ]
    near = _read(P837.read_bytes().replace(b"SE*618*0001~", b"SE*600*0001~"))
    assert "SE01 counts 600 segments; there are 618" in [
        p.problem.split(" (")[0] for r in near for p in r.structure
    ]


def test_st02_and_st01_that_look_like_phi_are_not_echoed() -> None:
    data = P837.read_bytes().replace(b"ST*837*0001*", b"ST*837*19010203*")
    data = data.replace(b"SE*618*0001~", b"SE*618*19010203~")
    records = _read(data)
    assert all(r.claim is not None for r in records)
    assert "19010203" not in _texts(records)
    assert any("ST02=0001" in (r.source or "") for r in _read(P837))  # a real one is shown
    other = _read(P837.read_bytes().replace(b"ST*837*0001*", b"ST*9QQ9QQ9QQ97*0001*"))
    assert "9QQ9QQ9QQ97" not in _texts(other)
    assert "ST01 (unreadable) is not 837: the transaction set was not read" in [
        p.problem for r in other for p in r.structure
    ]


@pytest.mark.parametrize(
    "change",
    [
        (b"HL*2*1*22*0~\n", b""),  # the first subscriber level is gone
        (b"HL*1**20*1~\n", b"CLM*X-1*100***11:B:1*Y*A*Y*Y~\nHL*1**20*1~\n"),  # a CLM in the header
    ],
)
def test_x12_validate_gives_a_clm_pyx12_cannot_place_its_record(
    change: tuple[bytes, bytes],
) -> None:
    """With --x12-validate, a CLM pyx12 cannot place was dropped: it now gets a claimless record
    with DS003, in file order (found by fuzzing the pyx12 path)."""
    data = P837.read_bytes().replace(*change, 1)
    clm01s = [s.split(b"*")[1].decode() for s in data.split(b"~\n") if s.startswith(b"CLM*")]
    records = _read(data, validate=True)
    assert _claim_ids(records) == clm01s
    unread = [r for r in records if r.claim is None and r.claim_id is not None]
    assert [p.problem for r in unread for p in r.structure] == [
        "this claim was not read: pyx12 could not place it in the 837 structure"
    ]
