"""The JSON adapter: JSON Lines, a JSON array or one document; every record accounted for."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from dsmt_rules import Record, check_records
from dsmt_rules.adapters.jsonl import parse_document, read_records
from dsmt_rules.rules._examples import BASE_CLAIM, apply_patch

BENEFICIARY = "7QX9PHI4KEEP"
"""A beneficiary id that must never appear in a message."""


def _doc(patch: dict[str, Any] | None = None, **top: Any) -> bytes:
    return json.dumps(apply_patch(BASE_CLAIM, {**(patch or {}), **top})).encode()


def _stream(data: bytes) -> io.BufferedReader:
    return io.BufferedReader(io.BytesIO(data))


def _read(data: bytes, **options: Any) -> list[Record]:
    return list(read_records(_stream(data), **options))


def _summary(records: list[Record]) -> list[tuple[int, str | None, bool, tuple[Any, ...]]]:
    """(position, claim_id, read as a claim?, problems) for each record."""
    return [(r.position, r.claim_id, r.claim is not None, r.problems) for r in records]


NOT_OBJECT = (((), "not a JSON object (a claim document is one object)"),)


# --- JSON Lines ----------------------------------------------------------------------------------


def test_jsonl_with_blank_lines_numbers_records_by_line() -> None:
    data = b"\n" + _doc(claim_id="A") + b"\n\n   \n" + _doc(claim_id="B") + b"\r\n\n"

    records = _read(data)

    assert _summary(records) == [(2, "A", True, ()), (5, "B", True, ())]
    assert records[0].claim is not None
    assert records[0].claim.lines[0].units == 2


def test_last_line_without_newline_is_read() -> None:
    assert _summary(_read(_doc(claim_id="A") + b"\n" + _doc(claim_id="B"))) == [
        (1, "A", True, ()),
        (2, "B", True, ()),
    ]


def test_empty_input_has_no_records() -> None:
    assert _read(b"") == []
    assert _read(b"\n \n") == []


def test_bad_lines_are_reported_and_the_batch_continues() -> None:
    lines = [
        _doc(claim_id="A"),
        b"not json",
        b"[1, 2]",
        b"42",
        b'"a string"',
        b"null",
        _doc(claim_id="B"),
    ]

    records = _read(b"\n".join(lines) + b"\n")

    assert _summary(records) == [
        (1, "A", True, ()),
        (2, None, False, (((), "not valid JSON: expected ident at line 1 column 2"),)),
        (3, None, False, NOT_OBJECT),
        (4, None, False, NOT_OBJECT),
        (5, None, False, NOT_OBJECT),
        (6, None, False, NOT_OBJECT),
        (7, "B", True, ()),
    ]


def test_model_invalid_line_names_each_location_and_keeps_the_claim_id() -> None:
    line = _doc({"lines": [{**BASE_CLAIM["lines"][0], "units": "2", "hcpcs": "g0109"}]}, x=1)

    (record,) = _read(line + b"\n")

    assert record.claim is None
    assert record.claim_id == "C-1001"
    assert [loc for loc, _ in record.problems] == [
        ("lines", 0, "hcpcs"),
        ("lines", 0, "units"),
        ("x",),
    ]
    assert [msg for _, msg in record.problems] == [
        "String should match pattern '^[A-Z0-9]{5}$'",
        "Input should be a valid integer",
        "Extra inputs are not permitted",
    ]


def test_invalid_claim_id_is_not_reported_as_the_claim_id() -> None:
    (record,) = _read(_doc(claim_id="C" * 65) + b"\n")

    assert record.claim_id is None
    assert record.problems == ((("claim_id",), "String should have at most 64 characters"),)


def test_non_utf8_line_is_a_ds001_record_and_the_next_line_is_read() -> None:
    bad = _doc().replace(b'"C-1001"', b'"C-\xe9"')  # Latin-1, not UTF-8

    records = _read(bad + b"\n" + _doc(claim_id="B") + b"\n")

    assert _summary(records) == [
        (1, None, False, (((), "not valid JSON: invalid unicode code point at line 1 column 17"),)),
        (2, "B", True, ()),
    ]


def test_utf8_bom_is_skipped() -> None:
    data = b"\xef\xbb\xbf" + _doc(claim_id="A") + b"\n" + _doc(claim_id="B") + b"\n"

    assert _summary(_read(data)) == [(1, "A", True, ()), (2, "B", True, ())]


def test_unicode_in_ids_is_read_raw_or_escaped() -> None:
    raw = json.dumps(apply_patch(BASE_CLAIM, {"claim_id": "C-é"}), ensure_ascii=False).encode()

    records = _read(raw + b"\n" + _doc(claim_id="C-é") + b"\n")

    assert b"\xc3\xa9" in raw
    assert _summary(records) == [(1, "C-é", True, ()), (2, "C-é", True, ())]


# --- over-long records ---------------------------------------------------------------------------


def test_over_long_line_is_reported_and_the_next_record_is_read() -> None:
    good = _doc(claim_id="A")
    limit = len(good)
    long = b'{"claim_id": "' + b"x" * (3 * limit) + b'"}'

    records = _read(
        good + b"\n" + long + b"\n" + _doc(claim_id="B") + b"\n", max_record_bytes=limit
    )

    assert _summary(records) == [
        (1, "A", True, ()),
        (2, None, False, (((), f"record longer than {limit} bytes; not read"),)),
        (3, "B", True, ()),
    ]


def test_record_of_exactly_the_limit_is_read_and_one_byte_more_is_not() -> None:
    exact = _doc(claim_id="A")
    over = _doc(claim_id="BB")
    limit = len(exact)

    records = _read(exact + b"\n" + over + b"\n" + exact, max_record_bytes=limit)

    assert _summary(records) == [
        (1, "A", True, ()),
        (2, None, False, (((), f"record longer than {limit} bytes; not read"),)),
        (3, "A", True, ()),
    ]


def test_over_long_last_line_without_newline() -> None:
    records = _read(_doc(claim_id="A") + b"\n" + b"x" * 5000, max_record_bytes=2000)

    assert _summary(records) == [
        (1, "A", True, ()),
        (2, None, False, (((), "record longer than 2000 bytes; not read"),)),
    ]


# --- a JSON array, one document ------------------------------------------------------------------


def test_json_array_numbers_records_by_index() -> None:
    values = [
        apply_patch(BASE_CLAIM, {"claim_id": "A"}),
        5,
        apply_patch(BASE_CLAIM, {"claim_id": "B", "lines": []}),
        apply_patch(BASE_CLAIM, {"claim_id": "C", "form": "dental"}),
    ]

    records = _read(b"\n  " + json.dumps(values, indent=2).encode())

    assert _summary(records) == [
        (1, "A", True, ()),
        (2, None, False, NOT_OBJECT),
        (3, "B", True, ()),
        (4, "C", False, ((("form",), "Input should be 'professional' or 'institutional'"),)),
    ]


def test_json_array_with_bom() -> None:
    data = b"\xef\xbb\xbf[" + _doc(claim_id="A") + b"]"

    assert _summary(_read(data)) == [(1, "A", True, ())]


def test_json_array_and_json_lines_give_the_same_claims() -> None:
    docs = [_doc(claim_id=f"C-{i}") for i in range(3)]

    as_lines = [r.claim for r in _read(b"\n".join(docs))]
    as_array = [r.claim for r in _read(b"[" + b",".join(docs) + b"]")]

    assert as_lines == as_array
    assert None not in as_lines


def test_broken_json_array_is_one_ds001_record() -> None:
    assert _summary(_read(b"[" + _doc() + b",")) == [
        (1, None, False, (((), "not valid JSON: Expecting value"),)),
    ]


def test_non_utf8_json_array_is_one_ds001_record() -> None:
    assert _summary(_read(b'[{"claim_id": "\xe9"}]')) == [
        (1, None, False, (((), "not valid JSON: not UTF-8 text"),)),
    ]


def test_single_pretty_printed_document() -> None:
    text = json.dumps(apply_patch(BASE_CLAIM, {"claim_id": "P"}), indent=2).encode()

    assert _summary(_read(text)) == [(1, "P", True, ())]
    assert _summary(_read(b"\xef\xbb\xbf" + text + b"\n")) == [(1, "P", True, ())]
    assert _summary(_read(b"\n\n" + text)) == [(1, "P", True, ())]


def test_invalid_pretty_printed_document_is_one_record() -> None:
    text = json.dumps(apply_patch(BASE_CLAIM, {"lines": [{"units": 1}]}), indent=2).encode()

    (record,) = _read(text)

    assert record.position == 1
    assert record.claim_id == "C-1001"
    assert [loc for loc, _ in record.problems] == [
        ("lines", 0, "line_id"),
        ("lines", 0, "hcpcs"),
        ("lines", 0, "service_date"),
    ]


def test_parse_document_accepts_text_and_bytes() -> None:
    text = _doc(claim_id="T").decode()

    record = parse_document(text, position=9, source="inline")

    assert (record.position, record.claim_id, record.source) == (9, "T", "inline")
    assert parse_document(text.encode()).claim == record.claim


# --- PHI -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (12345678901, "Input should be a valid string"),
        (BENEFICIARY * 6, "String should have at most 64 characters"),
        ([BENEFICIARY], "Input should be a valid string"),
        ({"id": BENEFICIARY}, "Input should be a valid string"),
    ],
)
def test_no_beneficiary_id_in_any_ds001_message(value: Any, message: str) -> None:
    line = _doc(beneficiary_id=value)

    reports = list(check_records(read_records(_stream(line + b"\n"))))

    (report,) = reports
    assert report.codes == ("DS001",)
    (finding,) = report.findings
    assert finding.loc == ("beneficiary_id",)
    assert finding.message == f"Record 1: {message} (at beneficiary_id)."
    output = json.dumps(report.to_dict())
    assert BENEFICIARY not in output
    assert "12345678901" not in output


def test_no_input_values_in_messages_of_a_badly_typed_document() -> None:
    secret = "SECRET-NAME-0"
    doc = apply_patch(
        BASE_CLAIM,
        {
            "beneficiary_id": secret,
            "form": secret + "1",
            "lines": [{**BASE_CLAIM["lines"][0], "service_date": secret + "2", "units": secret}],
            "referral": {"date": secret + "3", "practitioner_role": secret + "4"},
        },
    )

    (report,) = check_records(read_records(_stream(json.dumps(doc).encode())))

    assert len(report.findings) == 5
    assert secret not in json.dumps(report.to_dict())


BIG = "9" * 5000  # more digits than Python turns into an int (sys.get_int_max_str_digits())


def test_an_integer_of_thousands_of_digits_is_ds001_at_its_field_in_an_array() -> None:
    """``json.loads`` raises ValueError on such a number: the whole array was one DS001 ("not
    UTF-8 text"); now only the document that holds it is invalid, at its field."""
    good = _doc(claim_id="A").decode()
    bad = good.replace('"units": 2', f'"units": {BIG}', 1)
    assert bad != good
    records = _read(f"[{good}, {bad}, {good}]".encode())
    assert [(r.position, r.claim_id, r.claim is not None) for r in records] == [
        (1, "A", True),
        (2, "A", False),
        (3, "A", True),
    ]
    assert [loc for loc, _ in records[1].problems] == [("lines", 0, "units")]


def test_an_integer_of_thousands_of_digits_in_json_lines_keeps_the_claim_id() -> None:
    bad = _doc(claim_id="A").decode().replace('"units": 2', f'"units": {BIG}', 1)
    records = _read(bad.encode() + b"\n" + _doc(claim_id="B"))
    assert [(r.position, r.claim_id, r.claim is not None) for r in records] == [
        (1, "A", False),
        (2, "B", True),
    ]
