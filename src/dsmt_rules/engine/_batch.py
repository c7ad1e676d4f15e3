"""The single-process batch driver: one pass over the records, grouped by beneficiary, bounded memory.

Batch semantics (DESIGN.md): a beneficiary's claims in a batch are history for each other, so no
report is final until the beneficiary's last claim has been read, which may be the batch's last
record. :func:`run` reads each record once and runs the kernel's first stage on it
(:func:`~dsmt_rules.engine._kernel.prepare`): what it keeps is a small :class:`Prepared` value per
record (the claim-rule findings and the claim's facts; never the claim). Prepared values are
grouped by beneficiary in memory up to ``memory`` bytes; past that they are spilled to a temporary
directory in runs sorted by beneficiary and merged at the end. Each beneficiary's group then goes
through the kernel's second stage, and the reports are put back into input order, spilled in sorted
runs too when they pass the bound. Without an enabled history rule there is nothing to wait for:
each record's report is yielded as soon as it is read.

The spill files hold :mod:`marshal` data of plain tuples (codes, counts, dates as ordinals, ids,
the beneficiary key): no claim document, and they are deleted when the run ends. Memory is bounded
by ``memory`` plus one beneficiary's group, whatever the size of the batch.
"""

from __future__ import annotations

import datetime as dt
import heapq
import marshal
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from dsmt_rules.catalog import rule_for
from dsmt_rules.engine._kernel import Prepared, finish, prepare
from dsmt_rules.engine._ruleset import Ruleset
from dsmt_rules.findings import Finding, Report, Severity
from dsmt_rules.history._ledger import (
    ClaimFacts,
    Entry,
    LineFacts,
    ReferralFacts,
    Service,
)
from dsmt_rules.models import IndividualReason, SpecialNeed, Training
from dsmt_rules.records import Record

__all__ = ["DEFAULT_MEMORY", "run"]

DEFAULT_MEMORY = 64 * 1024 * 1024
"""How many bytes of prepared records and of reports a batch holds before it spills (each)."""

# --- sizes (estimates, for the bound) ----------------------------------------------------------------


def _cost(p: Prepared) -> int:
    facts = p.facts
    services = len(facts.services) + len(facts.history) if facts is not None else 0
    return 400 + 250 * services + 600 * len(p.findings) + 120 * len(p.sources)


def _report_cost(report: Report) -> int:
    return 200 + 600 * len(report.findings)


# --- packing: plain tuples for marshal ----------------------------------------------------------------

_SEVERITIES = {s.value: s for s in Severity}
_TRAININGS = {t.value: t for t in Training}
_REASONS = {r.value: r for r in IndividualReason}
_NEEDS = {n.value: n for n in SpecialNeed}
_ORDINAL = dt.date.toordinal
_DATE = dt.date.fromordinal


def _pack_finding(f: Finding) -> tuple[Any, ...]:
    return (f.code, f.severity.value, f.message, f.loc, f.line_id, f.source, dict(f.ctx))


def _unpack_finding(t: tuple[Any, ...]) -> Finding:
    code, severity, message, loc, line_id, source, ctx = t
    rule = rule_for(code)
    return Finding(
        code,
        rule.name,
        _SEVERITIES[severity],
        message,
        tuple(loc),
        line_id,
        source,
        rule.citation,
        rule.carc_hint,
        rule.doc_url(),
        ctx,
    )


def _pack_service(s: Service) -> tuple[Any, ...]:
    training = None if s.training is None else s.training.value
    return (_ORDINAL(s.service_date), *s[1:8], training, s.session_ids)


def _unpack_service(t: tuple[Any, ...]) -> Service:
    day, claim_id, seq, line, line_id, hcpcs, units, rid, training, ids = t
    return Service(
        _DATE(day),
        claim_id,
        seq,
        line,
        line_id,
        hcpcs,
        units,
        rid,
        None if training is None else _TRAININGS[training],
        ids,
    )


def _pack_facts(f: ClaimFacts) -> tuple[Any, ...]:
    referral = None
    if f.referral is not None:
        r = f.referral
        referral = (
            r.referral_id,
            r.training.value,
            r.hours_ordered,
            None if r.individual_reason is None else r.individual_reason.value,
            tuple(n.value for n in r.special_needs),
        )
    return (
        f.seq,
        f.claim_id,
        tuple(_pack_service(s) for s in f.services),
        tuple(
            (i, (*line[:3], _ORDINAL(line.service_date), line.session_ids))
            for i, line in f.dsmt_lines
        ),
        referral,
        tuple((_ORDINAL(e.service_date), *e[1:]) for e in f.history),
        tuple(((_ORDINAL(k[0]), *k[1:]), n) for k, n in f.record),
    )


def _unpack_facts(t: tuple[Any, ...]) -> ClaimFacts:
    seq, claim_id, services, lines, referral, history, record = t
    r = None
    if referral is not None:
        rid, training, hours, reason, needs = referral
        r = ReferralFacts(
            rid,
            _TRAININGS[training],
            hours,
            None if reason is None else _REASONS[reason],
            tuple(_NEEDS[n] for n in needs),
        )
    return ClaimFacts(
        seq,
        claim_id,
        tuple(_unpack_service(s) for s in services),
        tuple(
            (i, LineFacts(lid, code, units, _DATE(day), ids))
            for i, (lid, code, units, day, ids) in lines
        ),
        r,
        tuple(Entry(_DATE(day), code, units, rid) for day, code, units, rid in history),
        tuple(((_DATE(k[0]), *k[1:]), n) for k, n in record),
    )


def _pack(p: Prepared) -> tuple[Any, ...]:
    return (
        p.seq,
        p.position,
        p.claim_id,
        p.key,
        tuple(_pack_finding(f) for f in p.findings),
        None if p.facts is None else _pack_facts(p.facts),
        p.dsmt,
        p.source,
        tuple(p.sources.items()),
    )


def _unpack(t: tuple[Any, ...]) -> Prepared:
    seq, position, claim_id, key, findings, facts, dsmt, source, sources = t
    return Prepared(
        seq,
        position,
        claim_id,
        key,
        tuple(_unpack_finding(f) for f in findings),
        None if facts is None else _unpack_facts(facts),
        dsmt,
        source,
        {tuple(loc): where for loc, where in sources},
    )


def _pack_report(seq: int, r: Report) -> tuple[Any, ...]:
    return (seq, r.record, r.claim_id, tuple(_pack_finding(f) for f in r.findings))


def _unpack_report(t: tuple[Any, ...]) -> Report:
    _seq, record, claim_id, findings = t
    return Report(claim_id, tuple(_unpack_finding(f) for f in findings), record)


# --- runs on disk -------------------------------------------------------------------------------------


class _Spill:
    """A temporary directory of sorted runs (deleted on close)."""

    def __init__(self, parent: str | None) -> None:
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._parent = parent
        self._count = 0
        self.runs: list[Path] = []

    def write(self, items: Iterable[tuple[Any, ...]]) -> None:
        if self._dir is None:
            self._dir = tempfile.TemporaryDirectory(prefix="dsmt-rules-", dir=self._parent)
        self._count += 1
        path = Path(self._dir.name) / f"run-{self._count:05d}"
        with path.open("wb") as out:
            for item in items:
                marshal.dump(item, out)
        self.runs.append(path)

    def close(self) -> None:
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None


def _read_run(path: Path) -> Iterator[Any]:
    with path.open("rb", buffering=1 << 16) as stream:
        while True:
            try:
                yield marshal.load(stream)
            except EOFError:
                return


# --- the driver ---------------------------------------------------------------------------------------


def run(
    records: Iterable[Record],
    rules: Ruleset,
    *,
    memory: int = DEFAULT_MEMORY,
    temp_dir: str | None = None,
) -> Iterator[Report]:
    """One report per record, in input order (module docstring)."""
    if not rules.ledger_rules:
        for seq, record in enumerate(records):
            yield finish((prepare(record, seq, rules),), rules)[0]
        return
    spill = _Spill(temp_dir)
    try:
        yield from _grouped(records, rules, memory, spill)
    finally:
        spill.close()


def _grouped(
    records: Iterable[Record], rules: Ruleset, memory: int, spill: _Spill
) -> Iterator[Report]:
    groups: dict[str, list[Prepared]] = {}
    held = 0
    prepared_runs: list[Path] = []
    order = _Order(memory, spill)
    count = 0
    for seq, record in enumerate(records):
        count = seq + 1
        p = prepare(record, seq, rules)
        if p.key is None:  # not a claim: its report is final already
            order.add(seq, finish((p,), rules)[0])
            continue
        group = groups.get(p.key)
        if group is None:
            groups[p.key] = [p]
        else:
            group.append(p)
        held += _cost(p)
        if held > memory:
            spill.write(_pack(x) for key in sorted(groups) for x in groups[key])
            prepared_runs.append(spill.runs[-1])
            groups.clear()
            held = 0
    if prepared_runs:
        if groups:
            spill.write(_pack(x) for key in sorted(groups) for x in groups[key])
            prepared_runs.append(spill.runs[-1])
            groups.clear()
        merged = heapq.merge(*(_read_run(path) for path in prepared_runs), key=_run_key)
        for group in _runs_of_groups(merged):
            for p, report in zip(group, finish(group, rules), strict=True):
                order.add(p.seq, report)
    else:
        for group in groups.values():
            for p, report in zip(group, finish(group, rules), strict=True):
                order.add(p.seq, report)
        groups.clear()
    yield from order.reports(count)


def _run_key(t: tuple[Any, ...]) -> tuple[str, int]:
    return (t[3], t[0])


def _runs_of_groups(merged: Iterator[tuple[Any, ...]]) -> Iterator[list[Prepared]]:
    group: list[Prepared] = []
    key: str | None = None
    for t in merged:
        if t[3] != key and group:
            yield group
            group = []
        key = t[3]
        group.append(_unpack(t))
    if group:
        yield group


class _Order:
    """Reports back into input order: held by sequence number, spilled in sorted runs past the bound."""

    def __init__(self, memory: int, spill: _Spill) -> None:
        self._memory = memory
        self._spill = spill
        self._held: list[tuple[int, Report]] = []
        self._size = 0
        self._runs: list[Path] = []

    def add(self, seq: int, report: Report) -> None:
        self._held.append((seq, report))
        self._size += _report_cost(report)
        if self._size > self._memory:
            self._flush()

    def _flush(self) -> None:
        self._held.sort(key=_first)
        self._spill.write(_pack_report(seq, r) for seq, r in self._held)
        self._runs.append(self._spill.runs[-1])
        self._held = []
        self._size = 0

    def reports(self, count: int) -> Iterator[Report]:
        if not self._runs:
            self._held.sort(key=_first)
            for _, report in self._held:
                yield report
            return
        if self._held:
            self._flush()
        for t in heapq.merge(*(_read_run(path) for path in self._runs), key=_first):
            yield _unpack_report(t)


def _first(item: Sequence[Any]) -> Any:
    return item[0]
