"""Every date the claim document accepts is handled by every rule and by the ledger.

The example claims (with history, referrals and sessions) are moved anywhere in 0001-01-01 ..
9999-12-31, each date on its own or all together, and checked alone and as one batch: no rule and
no history computation may fail (DS005) or raise, whatever the dates.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from dsmt_rules import Claim, check, check_many

_EXAMPLES = Path(__file__).parents[2] / "examples" / "claims.jsonl"


def _valid(line: str) -> Any:
    try:
        document = json.loads(line)
        Claim.model_validate(document)
    except ValueError:
        return None
    return document


_DOCUMENTS = [d for d in map(_valid, _EXAMPLES.read_text().splitlines()) if d is not None]
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MIN, _MAX = dt.date.min.toordinal(), dt.date.max.toordinal()


def _dates(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [d for v in value.values() for d in _dates(v)]
    if isinstance(value, list):
        return [d for v in value for d in _dates(v)]
    return [value] if isinstance(value, str) and _ISO.match(value) else []


def _moved(value: Any, move: Any) -> Any:
    if isinstance(value, dict):
        return {k: _moved(v, move) for k, v in value.items()}
    if isinstance(value, list):
        return [_moved(v, move) for v in value]
    if isinstance(value, str) and _ISO.match(value):
        return move(dt.date.fromisoformat(value)).isoformat()
    return value


def _clamp(ordinal: int) -> dt.date:
    return dt.date.fromordinal(min(max(ordinal, _MIN), _MAX))


def _check_all(documents: list[Any]) -> None:
    claims = [Claim.model_validate(d) for d in documents]
    for report in check_many(claims):
        assert "DS005" not in {f.code for f in report.findings}, report.findings
    for claim in claims:
        assert "DS005" not in {f.code for f in check(claim).findings}


@settings(max_examples=150, deadline=None)
@given(st.integers(_MIN, _MAX), st.booleans())
def test_the_whole_batch_moved_anywhere_in_the_date_range(start: int, backwards: bool) -> None:
    first = min(dt.date.fromisoformat(d).toordinal() for doc in _DOCUMENTS for d in _dates(doc))
    last = max(dt.date.fromisoformat(d).toordinal() for doc in _DOCUMENTS for d in _dates(doc))
    shift = start - (last if backwards else first)
    _check_all([_moved(doc, lambda d: _clamp(d.toordinal() + shift)) for doc in _DOCUMENTS])


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_each_date_anywhere_in_the_date_range(data: st.DataObject) -> None:
    edges = st.sampled_from([_MIN, _MIN + 1, _MAX - 366, _MAX - 1, _MAX])
    pick = st.one_of(edges, st.integers(_MIN, _MAX))

    def move(_d: dt.date) -> dt.date:
        return dt.date.fromordinal(data.draw(pick))

    _check_all([_moved(doc, move) for doc in _DOCUMENTS])


def test_the_last_and_first_days() -> None:
    for day in (dt.date.min, dt.date.max):
        _check_all([_moved(doc, lambda _d, day=day: day) for doc in _DOCUMENTS])
