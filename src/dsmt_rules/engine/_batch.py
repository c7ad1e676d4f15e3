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
from dsmt_rules.engine._kernel import (
    Prepared,
    finish,
    finish_with_book,
    prepare,
    quiet_lines,
    unbooked,
)
from dsmt_rules.engine._ruleset import Ruleset
from dsmt_rules.findings import (
    Applicability,
    ClaimSummary,
    Edit,
    Finding,
    Fix,
    Report,
    Severity,
    SummaryLine,
)
from dsmt_rules.history import Book
from dsmt_rules.history._ledger import (
    ClaimFacts,
    Entry,
    LineFacts,
    ReferralFacts,
    Service,
    record_counts,
)
from dsmt_rules.models import Claim, IndividualReason, SpecialNeed, Training
from dsmt_rules.profiles import Profile
from dsmt_rules.records import Record, failure_of

__all__ = [
    "DEFAULT_MEMORY",
    "dumps_report",
    "finish_packed",
    "loads_report",
    "prepare_packed",
    "run",
]

DEFAULT_MEMORY = 64 * 1024 * 1024
"""How many bytes of prepared records and of reports a batch holds before it spills (each)."""

# --- sizes (estimates, for the bound) ----------------------------------------------------------------


def _report_cost(report: Report) -> int:
    return 200 + 600 * len(report.findings)


# --- packing: plain tuples for marshal ----------------------------------------------------------------

_SEVERITIES = {s.value: s for s in Severity}
_APPLICABILITIES = {a.value: a for a in Applicability}
_TRAININGS = {t.value: t for t in Training}
_REASONS = {r.value: r for r in IndividualReason}
_NEEDS = {n.value: n for n in SpecialNeed}
_ORDINAL = dt.date.toordinal
_DATE = dt.date.fromordinal


def _pack_fix(fix: Fix | None) -> tuple[Any, ...] | None:
    if fix is None:
        return None
    return (fix.applicability._value_, fix.title, tuple((e.loc, e.old, e.new) for e in fix.edits))


def _unpack_fix(t: tuple[Any, ...] | None) -> Fix | None:
    if t is None:
        return None
    applicability, title, edits = t
    return Fix(
        _APPLICABILITIES[applicability],
        title,
        tuple(Edit(tuple(loc), old, new) for loc, old, new in edits),
    )


def _pack_finding(f: Finding) -> tuple[Any, ...]:
    return (
        f.code,
        f.severity._value_,
        f.message,
        f.loc,
        f.line_id,
        f.source,
        dict(f.ctx),
        _pack_fix(f.fix),
    )


def _unpack_finding(t: tuple[Any, ...]) -> Finding:
    code, severity, message, loc, line_id, source, ctx, fix = t
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
        _unpack_fix(fix),
    )


def _pack_service(s: Service) -> tuple[Any, ...]:
    training = None if s.training is None else s.training._value_
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
            r.training._value_,
            r.hours_ordered,
            None if r.individual_reason is None else r.individual_reason._value_,
            tuple(n._value_ for n in r.special_needs),
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


def _packed_facts_of(claim: Claim, profile: Profile, seq: int) -> tuple[Any, ...]:
    """``_pack_facts(facts_of(claim, profile, seq=seq))``, made in one step from the claim."""
    codes = profile.ledger_codes
    dsmt = profile.dsmt_codes
    r = claim.referral
    rid = training = referral = None
    if r is not None:
        rid, training = r.referral_id, r.training._value_
        reason = r.individual_reason
        referral = (
            rid,
            training,
            r.hours_ordered,
            None if reason is None else reason._value_,
            tuple([n._value_ for n in r.special_needs]),
        )
    claim_id = claim.claim_id
    services = []
    lines = []
    for i, line in enumerate(claim.lines):
        code = line.hcpcs
        if code not in codes or line.units < 1:  # fewer than 1 unit: no service
            continue
        ids = line.session_ids
        sids = tuple(ids) if len(ids) < 2 else tuple(dict.fromkeys(ids))
        day = _ORDINAL(line.service_date)
        line_id, units = line.line_id, line.units
        services.append((day, claim_id, seq, i, line_id, code, units, rid, training, sids))
        if code in dsmt:
            lines.append((i, (line_id, code, units, day, sids)))
    history: tuple[Any, ...] = ()
    record: tuple[Any, ...] = ()
    if claim.history:
        history = tuple(
            [
                (_ORDINAL(e.service_date), e.hcpcs, e.units, e.referral_id)
                for e in claim.history
                if e.units >= 1
            ]
        )
        record = tuple(
            ((_ORDINAL(k[0]), *k[1:]), n) for k, n in record_counts(claim.history, profile).items()
        )
    return (seq, claim_id, tuple(services), tuple(lines), referral, history, record)


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


def _pack_report(seq: int, r: Report) -> tuple[Any, ...]:
    summary = None if r.claim is None else (r.claim[0], tuple(tuple(x) for x in r.claim[1]))
    return (seq, r.record, r.claim_id, tuple(_pack_finding(f) for f in r.findings), summary)


def _unpack_summary(t: tuple[Any, ...] | None) -> ClaimSummary | None:
    if t is None:
        return None
    npi, lines = t
    return ClaimSummary(npi, tuple(SummaryLine(*line) for line in lines))


def _unpack_report(t: tuple[Any, ...]) -> Report:
    _seq, record, claim_id, findings, summary = t
    return Report(
        claim_id,
        tuple(_unpack_finding(f) for f in findings),
        record,
        claim=_unpack_summary(summary),
    )


def dumps_report(seq: int, report: Report) -> bytes:
    """A report (claim summary included) as marshal bytes of plain values, to hold or ship
    (:func:`loads_report` gives it back)."""
    return marshal.dumps(_pack_report(seq, report))


def loads_report(blob: bytes) -> Report:
    """The report of :func:`dumps_report` bytes."""
    return _unpack_report(marshal.loads(blob))


_FOLLOW_UP = Training.FOLLOW_UP.value
_dumps = marshal.dumps
_loads = marshal.loads

# --- runs on disk -------------------------------------------------------------------------------------


class _Spill:
    """A temporary directory of sorted runs (deleted on close)."""

    def __init__(self, parent: str | None) -> None:
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._parent = parent
        self._count = 0
        self.runs: list[Path] = []

    def write(self, items: Iterable[tuple[Any, ...]]) -> None:
        self.write_raw(_dumps(item) for item in items)

    def write_raw(self, items: Iterable[bytes]) -> None:
        """Write a run of items already marshalled (each ``marshal.dumps`` of a tuple)."""
        if self._dir is None:
            self._dir = tempfile.TemporaryDirectory(prefix="dsmt-rules-", dir=self._parent)
        self._count += 1
        path = Path(self._dir.name) / f"run-{self._count:05d}"
        with path.open("wb") as out:
            out.writelines(items)
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
    # Held as marshal bytes of packed tuples: the garbage collector does not walk bytes, so a big
    # batch held in memory costs no collection time (a list of objects per claim did, a third of
    # the time of a 50 000-claim batch).
    groups: dict[str, list[bytes]] = {}
    held = 0
    prepared_runs: list[Path] = []
    order = _Order(memory, spill)
    count = 0
    for seq, record in enumerate(records):
        count = seq + 1
        key, packed, report = prepare_packed(record, seq, rules)
        if key is None:  # not a claim: its report is final already
            assert report is not None
            order.add(seq, report)
            continue
        blobs = groups.get(key)
        if blobs is None:
            groups[key] = [packed]
        else:
            blobs.append(packed)
        held += len(packed) + 64
        if held > memory:
            spill.write_raw(x for key in sorted(groups) for x in groups[key])
            prepared_runs.append(spill.runs[-1])
            groups.clear()
            held = 0
    if prepared_runs:
        if groups:
            spill.write_raw(x for key in sorted(groups) for x in groups[key])
            prepared_runs.append(spill.runs[-1])
            groups.clear()
        merged = heapq.merge(*(_read_run(path) for path in prepared_runs), key=_run_key)
        for items in _runs_of_groups(merged):
            _finish_group(items, rules, order)
    else:
        for packed_group in groups.values():
            _finish_group(packed_group, rules, order)
        groups.clear()
    yield from order.reports(count)


def prepare_packed(
    record: Record, seq: int, rules: Ruleset
) -> tuple[str | None, bytes, Report | None]:
    """The kernel's first stage for one record, as bytes to hold or ship: ``(beneficiary key,
    marshalled prepared claim, None)``, or ``(None, b"", report)`` for a record that is not a claim
    (its report is final). The bytes hold plain values only (codes, counts, ordinal dates, ids).

    Guarded as :func:`~dsmt_rules.engine._kernel.prepare` is: a claim whose facts cannot be
    packed gets DS005 for the history rules and its report at once."""
    p = prepare(record, seq, rules, facts=False)
    claim = record.claim
    if p.key is None or claim is None:
        return None, b"", finish((p,), rules)[0]
    try:
        packed = _dumps(
            (
                seq,
                p.position,
                p.claim_id,
                p.key,
                tuple([_pack_finding(f) for f in p.findings]),
                _packed_facts_of(claim, rules.profile, seq),
                p.dsmt,
                p.source,
                tuple(p.sources.items()),
                tuple(sorted(p.unknown)),
                None if p.claim is None else (p.claim[0], tuple(tuple(x) for x in p.claim[1])),
            )
        )
    except Exception as exc:  # the guard: the claim cannot join its beneficiary's group
        failure = failure_of("the history rules", exc)
        return None, b"", unbooked((p,), failure)[0]
    return p.key, packed, None


def finish_packed(blobs: Sequence[bytes], rules: Ruleset) -> list[tuple[int, Report]]:
    """The kernel's second stage for one beneficiary's claims from :func:`prepare_packed`:
    ``(seq, report)`` each, in their order (any order in, the same out)."""
    out: list[tuple[int, Report]] = []

    class _Collect:
        def add(self, seq: int, report: Report) -> None:
            out.append((seq, report))

        def add_packed(self, seq: int, packed: tuple[Any, ...]) -> None:
            out.append((seq, _unpack_report(packed)))

    _finish_group(blobs, rules, _Collect())  # type: ignore[arg-type]
    return out


def _finish_group(blobs: Sequence[bytes], rules: Ruleset, order: _Order) -> None:
    """The second stage for one beneficiary's marshalled claims, each report into ``order``.

    A quiet group (the usual one) costs no book and no objects. Otherwise the book is made of
    every claim's facts, and each claim is unpacked, finished and dropped in turn: a beneficiary
    with very many claims holds its claims' facts and marshalled bytes, nothing more. The guard:
    if the group's book cannot be made, each of its claims gets DS005 for the history rules.
    """
    try:
        quiet = _quiet_group(blobs, rules)
        if not quiet:
            facts = [_unpack_facts(_loads(blob)[5]) for blob in blobs]
            book = Book.of(facts, rules.profile)
    except Exception as exc:  # the guard
        failure = failure_of("the history rules", exc)
        for blob in blobs:
            p = _prepared_of(_loads(blob), None)
            order.add(p.seq, unbooked((p,), failure)[0])
        return
    if quiet:
        for blob in blobs:
            t = _loads(blob)
            order.add_packed(t[0], _packed_report(t))
        return
    for blob, f in zip(blobs, facts, strict=True):
        p = _prepared_of(_loads(blob), f)
        order.add(p.seq, finish_with_book(p, book, rules))


def _prepared_of(t: tuple[Any, ...], facts: ClaimFacts | None) -> Prepared:
    """The :class:`Prepared` of a packed prepared claim, with its unpacked ``facts``."""
    seq, position, claim_id, key, findings, _facts, dsmt, source, sources, unknown, summary = t
    return Prepared(
        seq,
        position,
        claim_id,
        key,
        tuple(_unpack_finding(x) for x in findings),
        facts,
        dsmt,
        source,
        {tuple(loc): where for loc, where in sources},
        frozenset(unknown),
        _unpack_summary(summary),
    )


def _quiet_group(blobs: Sequence[bytes], rules: Ruleset) -> bool:
    """Whether no history rule can report on any claim of a group (packed, as held).

    The test of :func:`~dsmt_rules.engine._kernel.quiet_lines` over every claim's lines and
    record at once, with the smallest of their orders' hours; a group with a follow-up order
    goes to the book.
    """
    lines: list[tuple[str, int, int, Sequence[str]]] = []
    record: list[tuple[str, int, int]] = []
    hours: float | None = None
    for blob in blobs:
        _seq, _claim_id, services, _lines, referral, history, _record = _loads(blob)[5]
        if referral is not None:
            if referral[1] == _FOLLOW_UP:
                return False
            hours = referral[2] if hours is None else min(hours, referral[2])
        for day, _c, _s, _l, _i, code, units, _r, _t, ids in services:
            lines.append((code, units, day, ids))
        for day, code, units, _rid in history:
            record.append((code, units, day))
    return quiet_lines(lines, record, None, hours, rules)


def _packed_report(t: tuple[Any, ...]) -> tuple[Any, ...]:
    """The packed report of a packed prepared claim that nothing more is added to."""
    seq, position, claim_id, _key, findings, _facts, _dsmt, _source, sources, _unknown, summary = t
    if sources and findings:
        places = {tuple(loc): where for loc, where in sources}
        findings = tuple(_position_packed(f, places) for f in findings)
    return (seq, position, claim_id, findings, summary)


def _position_packed(f: tuple[Any, ...], places: dict[tuple[Any, ...], str]) -> tuple[Any, ...]:
    loc = tuple(f[3])
    for end in range(len(loc), 0, -1):
        where = places.get(loc[:end])
        if where is not None:
            return (*f[:5], where, *f[6:])
    return f


def _run_key(t: tuple[Any, ...]) -> tuple[str, int]:
    return (t[3], t[0])


def _runs_of_groups(merged: Iterator[tuple[Any, ...]]) -> Iterator[list[bytes]]:
    group: list[bytes] = []
    key: str | None = None
    for t in merged:
        if t[3] != key and group:
            yield group
            group = []
        key = t[3]
        group.append(_dumps(t))
    if group:
        yield group


class _Order:
    """Reports back into input order: held by sequence number, spilled in sorted runs past the bound."""

    def __init__(self, memory: int, spill: _Spill) -> None:
        self._memory = memory
        self._spill = spill
        self._held: list[tuple[int, bytes]] = []
        """(seq, marshalled packed report): bytes, which the garbage collector does not walk."""
        self._size = 0
        self._runs: list[Path] = []

    def add(self, seq: int, report: Report) -> None:
        self._held.append((seq, _dumps(_pack_report(seq, report))))
        self._size += _report_cost(report)
        if self._size > self._memory:
            self._flush()

    def add_packed(self, seq: int, packed: tuple[Any, ...]) -> None:
        """Add a report already packed (:func:`_pack_report`)."""
        self._held.append((seq, _dumps(packed)))
        self._size += 200 + 600 * len(packed[3])
        if self._size > self._memory:
            self._flush()

    def _flush(self) -> None:
        self._held.sort(key=_first)
        self._spill.write_raw(blob for _, blob in self._held)
        self._runs.append(self._spill.runs[-1])
        self._held = []
        self._size = 0

    def reports(self, count: int) -> Iterator[Report]:
        if not self._runs:
            self._held.sort(key=_first)
            for _, blob in self._held:
                yield _unpack_report(_loads(blob))
            return
        if self._held:
            self._flush()
        for t in heapq.merge(*(_read_run(path) for path in self._runs), key=_first):
            yield _unpack_report(t)


def _first(item: Sequence[Any]) -> Any:
    return item[0]
