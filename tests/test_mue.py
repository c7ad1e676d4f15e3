"""The CMS MUE CSV loader: header lines, column names that vary by edition, quoting; bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from dsmt_rules import ConfigError, ruleset
from dsmt_rules.mue import load_mue, parse_mue
from helpers import claim_from, codes_of

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "x12" / "mue-practitioner.csv"

PRACTITIONER = """\
"CPT codes, descriptions and other data only are copyright 2025 American Medical Association."
"All Rights Reserved. Applicable FARS/DFARS Apply."

"HCPCS/CPT Code","Practitioner Services MUE Values","MUE Adjudication Indicator","MUE Rationale"
"0001U","1","2 Date of Service Edit: Policy","CMS Policy"
"G0108","8","3 Date of Service Edit: Clinical","Clinical: Data"
"G0109","12","3 Date of Service Edit: Clinical","Clinical: Data"
"""

OUTPATIENT = """\
CMS MUE table,,,
Outpatient Hospital Services,,,
HCPCS/ CPT Code,Outpatient Hospital Services MUE Values,MUE Adjudication Indicator,MUE Rationale
g0108 ,6,3 Date of Service Edit: Clinical,Nature of Service/Procedure
G0109,10,3 Date of Service Edit: Clinical,Nature of Service/Procedure
,,,
Note: MUE values are subject to change.,,,
"""


def test_the_fixture_file() -> None:
    assert dict(load_mue(FIXTURE)) == {"97802": 8, "G0108": 4, "G0109": 4}


def test_practitioner_edition() -> None:
    assert dict(parse_mue(PRACTITIONER)) == {"0001U": 1, "G0108": 8, "G0109": 12}


def test_outpatient_hospital_edition_unquoted_with_notes() -> None:
    assert dict(parse_mue(OUTPATIENT)) == {"G0108": 6, "G0109": 10}


def test_bytes_with_byte_order_mark_and_cp1252_notice() -> None:
    data = PRACTITIONER.replace("copyright", "\u00a9").encode("cp1252")
    assert dict(parse_mue(b"\xef\xbb\xbf" + PRACTITIONER.encode())) == dict(parse_mue(data))


def test_columns_in_another_order() -> None:
    text = '"MUE Rationale","MUE Values","HCPCS Code"\n"Clinical","3","G0109"\n'
    assert dict(parse_mue(text)) == {"G0109": 3}


def test_the_table_is_read_only() -> None:
    table = parse_mue(PRACTITIONER)
    with pytest.raises(TypeError):
        table["G0109"] = 99  # type: ignore[index]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b,c\n1,2,3\n", "t.csv: no header row naming the HCPCS/CPT code and MUE value columns"),
        ('"HCPCS/CPT Code","MUE Values"\n', "t.csv: the MUE table has no rows"),
        (
            '"HCPCS/CPT Code","MUE Values"\n"G0109","two"\n',
            "t.csv:2: the MUE value of G0109 is not a whole number",
        ),
        (
            '"HCPCS/CPT Code","MUE Values"\n"G0109","1.5"\n',
            "t.csv:2: the MUE value of G0109 is not a whole number",
        ),
        (
            '"HCPCS/CPT Code","MUE Values"\n"G0109","-1"\n',
            "t.csv:2: the MUE value of G0109 is negative",
        ),
        (
            '"HCPCS/CPT Code","MUE Values"\n"G01","4"\n',
            "t.csv:2: the HCPCS/CPT code is not a 5-character code",
        ),
        (
            '"HCPCS/CPT Code","MUE Values"\n"G0109","4"\n"G0109","5"\n',
            "t.csv:3: G0109 is listed twice with different MUE values (4 and 5)",
        ),
    ],
    ids=["no-header", "no-rows", "word", "fraction", "negative", "short-code", "conflict"],
)
def test_bad_tables_are_one_line_config_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_mue(text, origin="t.csv")
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_same_value_listed_twice_is_fine() -> None:
    text = '"HCPCS/CPT Code","MUE Values"\n"G0109","4"\n"G0109","4.0"\n'
    assert dict(parse_mue(text)) == {"G0109": 4}


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.csv: cannot read the MUE file"):
        load_mue(tmp_path / "nope.csv")


def test_feeds_ds109() -> None:
    mue = load_mue(FIXTURE)  # G0109: 4
    at_limit = claim_from(
        {
            "lines": [{**claim_from({}).lines[0].model_dump(mode="json"), "units": 4}],
            "sessions": [{**claim_from({}).sessions[0].model_dump(mode="json"), "minutes": 120}],
        }
    )
    over = claim_from(
        {
            "lines": [{**at_limit.lines[0].model_dump(mode="json"), "units": 5}],
            "sessions": [{**at_limit.sessions[0].model_dump(mode="json"), "minutes": 150}],
        }
    )
    assert codes_of(at_limit, rules=ruleset(mue=mue)) == []
    assert codes_of(over, rules=ruleset(mue=mue)) == ["DS109"]
    assert codes_of(over) == []  # no table, no DS109
