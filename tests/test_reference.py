"""Reference data: typed JSON Lines records, the joins of DESIGN.md, and fill-only-what-is-empty."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dsmt_rules import Claim, ConfigError, Record, check_records
from dsmt_rules.reference import ReferenceData, SessionRecord
from dsmt_rules.rules._examples import BASE_CLAIM, apply_patch
from helpers import claim_from, codes_of

MEMBER = "1EG4TE5MK73"
NPI = "1234567893"
ACCREDITATION = {"organization": "ADCES", "effective": "2024-01-01", "expires": "2028-01-01"}
INSTRUCTORS = [{"npi": "1952356107", "credentials": ["RN", "CDCES"]}]


def _session(session_id: str = "S1", **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "kind": "session",
        "session_id": session_id,
        "date": "2026-02-02",
        "minutes": 60,
        "format": "group",
        "attendees": 8,
        "delivery": "in_person",
        "instructors": INSTRUCTORS,
        "roster": [MEMBER],
    }
    record.update(changes)
    return record


def _referral(referral_id: str = "R-77", **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "kind": "referral",
        "beneficiary_id": MEMBER,
        "referral_id": referral_id,
        "date": "2026-01-05",
        "practitioner_npi": "1245319599",
        "practitioner_role": "physician",
        "signed": True,
        "training": "initial",
        "hours_ordered": 10,
    }
    record.update(changes)
    return record


PROVIDER = {
    "kind": "provider",
    "npi": NPI,
    "entity": "hospital_outpatient",
    "accreditation": ACCREDITATION,
}

BARE = {
    "billing_provider": {"entity": None, "accreditation": None},
    "referral": None,
    "sessions": [],
    "lines": [
        {
            "line_id": "1",
            "hcpcs": "G0109",
            "units": 2,
            "service_date": "2026-02-02",
            "place_of_service": "11",
            "diagnosis_pointers": [1],
        }
    ],
}
"""The base claim as an 837 carries it: no accreditation, referral, sessions or history."""


def _data(*records: dict[str, Any]) -> ReferenceData:
    return ReferenceData.from_records(records)


def _write(tmp_path: Path, *lines: str | dict[str, Any], name: str = "ref.jsonl") -> Path:
    path = tmp_path / name
    path.write_text(
        "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    )
    return path


# --- loading ---------------------------------------------------------------------------------------


def test_load_joins_files_and_completes_a_bare_claim(tmp_path: Path) -> None:
    a = _write(tmp_path, PROVIDER, _session(), "", name="a.jsonl")
    b = _write(tmp_path, _referral(), name="b.jsonl")
    data = ReferenceData.load([a, b])
    assert len(data) == 3
    bare = claim_from(BARE)
    assert codes_of(bare) == ["DS107", "DS201", "DS301"]
    completed = data.complete(bare)
    assert codes_of(completed) == []
    assert completed == claim_from(
        {
            "lines": [{**BARE["lines"][0], "session_ids": ["S1"]}],
            "sessions": [{k: v for k, v in _session().items() if k not in ("kind", "roster")}],
            "billing_provider": {"entity": "hospital_outpatient"},
        }
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "ref.jsonl:2: not valid JSON"),
        (
            '{"kind": "clinic"}',
            'ref.jsonl:2: not a reference record: "kind" must be provider, session, referral or history',
        ),
        (
            "[1]",
            "ref.jsonl:2: not a reference record (one JSON object per line)",
        ),
        (
            json.dumps({**PROVIDER, "npi": "1245319599", "colour": "red"}),
            "ref.jsonl:2: invalid reference record: colour: Extra inputs are not permitted",
        ),
        (
            json.dumps({k: v for k, v in _session("S2").items() if k != "minutes"}),
            "ref.jsonl:2: invalid reference record: minutes: Field required",
        ),
        (
            json.dumps(_session("S2", date="02/02/2026", minutes="60")),
            "ref.jsonl:2: invalid reference record: date: Value error, expected an ISO date "
            "YYYY-MM-DD (and 1 more)",
        ),
        (json.dumps(_session("S1")), "ref.jsonl:2: session id used twice on one date (first: "),
    ],
    ids=["json", "kind", "not-object", "extra", "missing", "bad-values", "duplicate-session"],
)
def test_bad_line_is_a_one_line_config_error(tmp_path: Path, line: str, message: str) -> None:
    path = _write(tmp_path, _session("S1"), line)
    with pytest.raises(ConfigError) as info:
        ReferenceData.load([path])
    text = str(info.value)
    assert text.startswith(f"{tmp_path}/{message}")
    assert "\n" not in text


def test_error_messages_do_not_repeat_values(tmp_path: Path) -> None:
    path = _write(tmp_path, _session("S1", roster=[MEMBER, 7]))
    with pytest.raises(ConfigError) as info:
        ReferenceData.load([path])
    assert MEMBER not in str(info.value)


def test_duplicate_provider_and_referral_are_errors() -> None:
    with pytest.raises(ConfigError, match=r"reference\[2\]: a second provider record for one NPI"):
        _data(PROVIDER, PROVIDER)
    with pytest.raises(ConfigError, match=r"referral id used twice for one beneficiary"):
        _data(_referral(), _referral())
    _data(_referral(), _referral(beneficiary_id="OTHER"))  # same id, another beneficiary: fine


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the reference file"):
        ReferenceData.load([tmp_path / "nope.jsonl"])


def test_records_as_models() -> None:
    record = SessionRecord.model_validate(_session())
    data = ReferenceData.from_records([record])
    claim = data.complete(claim_from({**BARE, "billing_provider": {}, "referral": {}}))
    assert claim.lines[0].session_ids == ["S1"]


# --- provider --------------------------------------------------------------------------------------


def test_provider_fills_entity_and_accreditation() -> None:
    claim = _data(PROVIDER).complete(claim_from(BARE))
    assert claim.billing_provider.entity is not None
    assert claim.billing_provider.entity.value == "hospital_outpatient"
    assert claim.billing_provider.accreditation is not None
    assert claim.billing_provider.accreditation.organization == "ADCES"


def test_provider_never_overrides_the_claim() -> None:
    mine = claim_from({"billing_provider": {"entity": "fqhc"}})
    claim = _data({**PROVIDER, "accreditation": None, "entity": "rhc"}).complete(mine)
    assert claim is mine  # nothing empty to fill


def test_provider_joins_by_billing_npi_only() -> None:
    other = {**PROVIDER, "npi": "1245319599"}
    claim = claim_from(BARE)
    assert _data(other).complete(claim) is claim


# --- sessions --------------------------------------------------------------------------------------


def test_sessions_join_by_roster_and_date() -> None:
    data = _data(
        _session("S1"),
        _session("S-OTHER-DAY", date="2026-02-03"),
        _session("S-OTHER-MEMBER", roster=["SOMEONE-ELSE"]),
    )
    claim = data.complete(claim_from(BARE))
    assert claim.lines[0].session_ids == ["S1"]
    assert [s.session_id for s in claim.sessions] == ["S1"]


def test_explicit_session_ids_win() -> None:
    data = _data(_session("S1"), _session("S2", date="2026-02-03"))
    line = {**BARE["lines"][0], "session_ids": ["S2"]}
    claim = data.complete(claim_from({**BARE, "lines": [line]}))
    assert claim.lines[0].session_ids == ["S2"]
    assert [s.session_id for s in claim.sessions] == ["S2"]
    assert codes_of(claim, select=["DS108"]) == ["DS108"]  # the explicit link is kept as is


def test_sessions_already_on_the_claim_are_not_replaced() -> None:
    data = _data(_session("S-20260202-AM", attendees=1))
    claim = data.complete(claim_from({}))
    assert claim.sessions[0].attendees == 8


def test_format_that_fits_the_code_is_preferred() -> None:
    data = _data(_session("S-GROUP"), _session("S-INDIV", format="individual", attendees=1))
    lines = [
        {**BARE["lines"][0], "line_id": "1"},
        {**BARE["lines"][0], "line_id": "2", "hcpcs": "G0108"},
    ]
    claim = data.complete(claim_from({**BARE, "lines": lines}))
    assert [line.session_ids for line in claim.lines] == [["S-GROUP"], ["S-INDIV"]]


def test_only_session_that_day_is_linked_even_if_its_format_does_not_fit() -> None:
    data = _data(_session("S-GROUP"))
    line = {**BARE["lines"][0], "hcpcs": "G0108"}
    claim = data.complete(claim_from({**BARE, "lines": [line]}))
    assert claim.lines[0].session_ids == ["S-GROUP"]
    assert codes_of(claim, select=["DS106"]) == ["DS106"]  # G0108 for a group: visible


def test_lines_of_one_code_and_date_share_out_sessions() -> None:
    data = _data(_session("S-AM", minutes=30), _session("S-PM", minutes=30))
    lines = [
        {**BARE["lines"][0], "line_id": "1", "units": 1},
        {**BARE["lines"][0], "line_id": "2", "units": 1},
    ]
    claim = data.complete(claim_from({**BARE, "lines": lines}))
    assert [line.session_ids for line in claim.lines] == [["S-AM"], ["S-PM"]]


def test_one_line_links_every_session_of_its_day() -> None:
    data = _data(_session("S-AM", minutes=30), _session("S-PM", minutes=30))
    claim = data.complete(claim_from(BARE))
    assert claim.lines[0].session_ids == ["S-AM", "S-PM"]
    assert codes_of(claim, select=["DS103"]) == []  # 2 units for 60 minutes


def test_non_dsmt_lines_get_no_sessions() -> None:
    data = _data(_session("S1"))
    mnt = {**BARE["lines"][0], "line_id": "2", "hcpcs": "97802"}
    claim = data.complete(claim_from({**BARE, "lines": [BARE["lines"][0], mnt]}))
    assert [line.session_ids for line in claim.lines] == [["S1"], []]


# --- referral --------------------------------------------------------------------------------------


def test_referral_by_number() -> None:
    data = _data(_referral("R-1", date="2026-01-02"), _referral("R-2", date="2026-01-20"))
    claim = data.complete(claim_from(BARE), referral_id="R-1")
    assert claim.referral is not None
    assert claim.referral.referral_id == "R-1"


def test_referral_number_not_on_file_means_no_referral() -> None:
    data = _data(_referral("R-1"))
    claim = data.complete(claim_from(BARE), referral_id="R-404")
    assert claim.referral is None
    assert "DS301" in codes_of(claim)


def test_referral_number_of_another_beneficiary_is_not_used() -> None:
    data = _data(_referral("R-1", beneficiary_id="SOMEONE-ELSE"))
    assert data.complete(claim_from(BARE), referral_id="R-1").referral is None


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        (["2026-01-02", "2026-01-20"], "R-2"),  # the latest on or before the date of service
        (["2026-01-02", "2026-02-02"], "R-2"),  # dated the day of service: still before
        (["2026-01-02", "2026-02-03"], "R-1"),  # dated after the service: not used
        (["2026-02-03"], None),
    ],
)
def test_latest_referral_on_or_before_the_first_date_of_service(
    dates: list[str], expected: str | None
) -> None:
    data = _data(*(_referral(f"R-{i}", date=d) for i, d in enumerate(dates, start=1)))
    claim = data.complete(claim_from(BARE))
    assert (claim.referral.referral_id if claim.referral else None) == expected


def test_first_date_of_service_is_the_earliest_dsmt_line() -> None:
    lines = [
        {**BARE["lines"][0], "line_id": "1", "service_date": "2026-02-09"},
        {**BARE["lines"][0], "line_id": "2", "service_date": "2026-02-02"},
    ]
    data = _data(_referral("R-1", date="2026-02-01"), _referral("R-2", date="2026-02-05"))
    claim = data.complete(claim_from({**BARE, "lines": lines}))
    assert claim.referral is not None
    assert claim.referral.referral_id == "R-1"


def test_the_claims_referring_npi_is_kept() -> None:
    data = _data(_referral("R-1", practitioner_npi="1952356107"))
    claim = data.complete(claim_from(BARE), referring_npi="1245319599")
    assert claim.referral is not None
    assert claim.referral.practitioner_npi == "1245319599"


def test_a_referral_on_the_claim_is_kept() -> None:
    mine = claim_from({"billing_provider": {"entity": "physician"}, "sessions": []})
    claim = _data(_referral("R-1", signed=False)).complete(mine)
    assert claim.referral == mine.referral


# --- history ---------------------------------------------------------------------------------------


def _history(day: str, units: int = 2) -> dict[str, Any]:
    return {
        "kind": "history",
        "beneficiary_id": MEMBER,
        "service_date": day,
        "hcpcs": "G0109",
        "units": units,
        "referral_id": "R-77",
    }


def test_history_by_beneficiary_oldest_first() -> None:
    data = _data(
        _history("2026-01-19"),
        _history("2026-01-12"),
        {**_history("2026-01-05"), "beneficiary_id": "X"},
    )
    claim = data.complete(claim_from({}))
    assert [h.service_date.isoformat() for h in claim.history] == ["2026-01-12", "2026-01-19"]


def test_history_on_the_claim_is_kept() -> None:
    mine = claim_from({"history": [{"service_date": "2025-12-01", "hcpcs": "G0109", "units": 2}]})
    claim = _data(_history("2026-01-12")).complete(mine)
    assert claim.history == mine.history


def test_history_from_reference_counts_toward_caps() -> None:
    data = _data(
        *(_history(f"2026-01-{d:02d}", 4) | {"referral_id": None} for d in (5, 6, 7, 8)),
        _history("2026-01-09", 3) | {"referral_id": None},
    )
    assert codes_of(data.complete(claim_from({}))) == ["DS401"]


# --- records ---------------------------------------------------------------------------------------


def test_apply_uses_the_record_hints_and_adds_sources(tmp_path: Path) -> None:
    path = _write(
        tmp_path, PROVIDER, _session(), _referral("R-1"), _referral("R-2", date="2026-01-20")
    )
    data = ReferenceData.load([path])
    record = Record(
        7,
        claim_from(BARE),
        source="in.837 CLM",
        sources={("lines", 0): "in.837 SV1"},
        hints={"referral_id": "R-1", "referring_npi": "1952356107"},
    )
    done = data.apply(record)
    assert done.claim is not None
    assert done.claim.referral is not None
    assert (done.claim.referral.referral_id, done.claim.referral.practitioner_npi) == (
        "R-1",
        "1952356107",
    )
    assert (done.position, done.source, dict(done.hints)) == (7, "in.837 CLM", dict(record.hints))
    assert dict(done.sources) == {
        ("lines", 0): "in.837 SV1",
        ("billing_provider", "entity"): f"{path}:1",
        ("billing_provider", "accreditation"): f"{path}:1",
        ("sessions", 0): f"{path}:2",
        ("referral",): f"{path}:3",
    }


def test_findings_about_reference_facts_name_the_reference_line(tmp_path: Path) -> None:
    path = _write(tmp_path, PROVIDER, _session(attendees=21), _referral())
    record = Record(1, claim_from(BARE), source="in.837 CLM", sources={("lines", 0): "in.837 SV1"})
    (report,) = check_records([ReferenceData.load([path]).apply(record)])
    assert [(f.code, f.loc, f.source) for f in report.findings] == [
        ("DS105", ("sessions", 0, "attendees"), f"{path}:2")
    ]


def test_apply_leaves_records_without_a_claim_alone() -> None:
    record = Record(1, None, (((), "unreadable record"),))
    assert _data(PROVIDER).apply(record) is record


def test_apply_returns_the_record_when_nothing_is_filled() -> None:
    record = Record(1, claim_from({}))
    assert _data(_history("2020-01-01") | {"beneficiary_id": "X"}).apply(record) is record


def test_a_weekly_class_that_reuses_a_session_id_loads_and_joins_by_date(tmp_path: Path) -> None:
    """A session is its id and its date: one id on two dates is two sessions (DS110 none)."""
    week1 = _session("S-WEEKLY", date="2026-02-02")
    week2 = _session("S-WEEKLY", date="2026-02-09")
    data = ReferenceData.load([_write(tmp_path, week1, week2)])
    claims = []
    for n, day in enumerate(("2026-02-02", "2026-02-09"), start=1):
        doc = apply_patch(
            BASE_CLAIM,
            {
                "claim_id": f"C-{n}",
                "lines": [
                    {**BASE_CLAIM["lines"][0], "service_date": day, "session_ids": ["S-WEEKLY"]}
                ],
                "sessions": [],
            },
        )
        (record,) = [data.apply(Record(n, Claim.model_validate(doc)))]
        assert record.claim is not None
        assert [s.date.isoformat() for s in record.claim.sessions] == [day]
        claims.append(record)
    assert [r.codes for r in check_records(claims)] == [(), ()]
